"""The MinHash checks where a hunt against an exact-Jaccard oracle found them wrong: LSH buckets of
more than 50 rows (many copies of one prompt, as in real logs), and texts with no words at all."""

from __future__ import annotations

import pytest

from prefdata.check import check
from tests.check.rows import write_rows

TRAIN_PROMPT = "What is the capital city of France, and why is it famous?"
TEST_PROMPT = "what is the capital city of france and why is it famous"  # the same words: Jaccard 1.0


@pytest.mark.parametrize("copies", [40, 60])
def test_near_leakage_is_found_whatever_the_number_of_training_copies(tmp_path, copies):
    """60 training copies put the prompt's bucket over 50 rows; its members were linked to the
    smallest row only, a test row, so the other test rows never met a training copy (1 of 3 found)."""
    rows = [{"prompt": TRAIN_PROMPT, "chosen": f"Paris, answer {i}.", "rejected": f"Lyon, reply {i}."} for i in range(copies)]
    rows += [{"prompt": TEST_PROMPT, "chosen": f"Paris is the capital {i}", "rejected": f"Marseille {i}", "split": "test"} for i in range(3)]
    outcome = check(write_rows(tmp_path, rows), write=False).check("prompt_leakage_near")
    assert outcome.offending_count == 3


@pytest.mark.parametrize("copies", [10, 60])
def test_near_duplicates_are_counted_whatever_the_number_of_exact_copies(tmp_path, copies):
    """N exact copies and one copy edited in case and punctuation: all N + 1 pairs have a near copy
    (the exact copies are also exact_duplicates). Over 50 copies, every row was linked to the first,
    an exact copy the check leaves out, and only 2 were counted."""
    pair = {"prompt": "Name a large city in France please", "chosen": "Paris is a large city in France",
            "rejected": "Berlin is a large city in Germany"}
    edited = {k: v.lower() + "!" for k, v in pair.items()}
    outcome = check(write_rows(tmp_path, [pair] * copies + [edited]), write=False).check("near_duplicates")
    assert outcome.offending_count == copies + 1


def test_responses_without_words_are_not_near_identical(tmp_path):
    """``"=="`` and ``"="`` have no word shingles; two empty sets counted as Jaccard 1.0, so a right
    and a wrong answer were a "trivial edit"."""
    rows = [{"prompt": "Which operator tests equality in C?", "chosen": "==", "rejected": "="},
            {"prompt": "How do you feel about this?", "chosen": ":)", "rejected": ":("},
            {"prompt": "Say it again", "chosen": "Paris is the capital of France", "rejected": "paris is the capital of france!"}]
    outcome = check(write_rows(tmp_path, rows), write=False).check("near_identical_responses")
    assert outcome.offending_count == 1


def test_pairs_whose_prompts_have_no_words_are_near_duplicates_only_with_the_same_prompt(tmp_path):
    """A prompt of punctuation alone ("?") is a copy of another only when its text is the same."""
    a = {"prompt": "?", "chosen": "Paris is a large city in France", "rejected": "Berlin is a large city in Germany"}
    rows = [a, {**a, "chosen": a["chosen"] + "!"}, {**a, "prompt": "??", "rejected": a["rejected"].upper()}]
    outcome = check(write_rows(tmp_path, rows), write=False).check("near_duplicates")
    assert outcome.offending_count == 2


def _shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    import re

    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(max(len(words) - n + 1, 0))} if len(words) >= n else ({tuple(words)} if words else set())


@pytest.mark.parametrize(("prompts", "per_prompt"), [(3, 20), (8, 12)])
def test_near_duplicate_clusters_in_one_big_bucket_are_all_found(tmp_path, prompts, per_prompt):
    """One long answer shared by every pair puts them all in one LSH bucket; its members were linked to
    the first four pairs only, so the clusters of the other prompts were never compared (20 of 60 found)."""
    base = " ".join(f"word{j}" for j in range(200))
    rows = [{"prompt": f"tell me a story about topic number {p}", "chosen": f"{base} ending {i}", "rejected": f"{base} other end {i} z"}
            for i in range(per_prompt) for p in range(prompts)]
    outcome = check(write_rows(tmp_path, rows), write=False).check("near_duplicates")
    # oracle: exact word-trigram Jaccard >= 0.8 on every field, then connected components
    sets = [{f: _shingles(r[f]) for f in ("prompt", "chosen", "rejected")} for r in rows]
    linked = {i for i in range(len(rows)) for j in range(len(rows)) if i != j
              and all(len(sets[i][f] & sets[j][f]) >= 0.8 * len(sets[i][f] | sets[j][f]) for f in sets[i])}
    assert len(linked) == prompts * per_prompt
    assert outcome.offending_count == len(linked) and outcome.statistic["clusters"] == prompts


def test_a_jaccard_of_exactly_min_jaccard_is_near_identical(tmp_path):
    """README: near_identical_responses flags responses whose word-3-gram Jaccard *reaches* min_jaccard
    (0.8): chosen is the first 10 of 12 words (8 shingles), rejected all 12 (10 shingles, the 8 among
    them), so the Jaccard is 8/10 = 0.8 exactly."""
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"]
    chosen, rejected = " ".join(words[:10]), " ".join(words)
    assert len(_shingles(chosen) & _shingles(rejected)) / len(_shingles(chosen) | _shingles(rejected)) == 0.8
    rows = [{"prompt": "q", "chosen": chosen, "rejected": rejected}]
    rows += [{"prompt": f"other {i}", "chosen": f"yes {i} indeed", "rejected": f"no way {i} at all"} for i in range(5)]
    outcome = check(write_rows(tmp_path, rows), write=False).check("near_identical_responses")
    assert outcome.offending_count == 1 and outcome.statistic["min_jaccard_found"] == 0.8


def test_min_jaccard_found_is_the_least_jaccard_among_the_flagged_pairs(tmp_path):
    """near_identical_responses' ``min_jaccard_found`` is the least Jaccard flagged: with the 12 words
    above, 10 vs 12 words is 8/10 = 0.8 and 10 vs 11 words 8/9; the statistic is 0.8."""
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"]
    ten = " ".join(words[:10])
    assert len(_shingles(ten) & _shingles(" ".join(words[:11]))) / len(_shingles(ten) | _shingles(" ".join(words[:11]))) == 8 / 9
    rows = [{"prompt": "q one", "chosen": ten, "rejected": " ".join(words)},
            {"prompt": "q two", "chosen": ten, "rejected": " ".join(words[:11])}]
    rows += [{"prompt": f"other {i}", "chosen": f"yes {i} indeed", "rejected": f"no way {i} at all"} for i in range(5)]
    outcome = check(write_rows(tmp_path, rows), write=False).check("near_identical_responses")
    assert outcome.offending_count == 2 and outcome.statistic["min_jaccard_found"] == 0.8


def test_near_duplicate_share_counts_pairs_and_the_message_counts_clusters(tmp_path):
    """near_duplicates: 3 copies of one pair differing in case and punctuation are 1 cluster of 3 pairs
    linked by 3 verified edges, among 10 pairs. ``share`` is pairs_in_clusters / pairs (0.3, as every count
    check's share), and the message names the pairs and the clusters: "3 pairs in 1 near-duplicate cluster"."""
    base = ("how do i sort a list of numbers in python quickly", "use the sorted function on the list it returns a new list",
            "write a bubble sort by hand with two nested loops over it")
    rows = [{"prompt": v(base[0]), "chosen": v(base[1]), "rejected": v(base[2])}
            for v in (str, str.upper, lambda s: s.capitalize() + "!")]
    rows += [{"prompt": f"unrelated question number {i} about topic {i * 7}", "chosen": f"answer {i} is yes because {i * 3}",
              "rejected": f"answer {i} is no since {i * 5} differs"} for i in range(7)]
    outcome = check(write_rows(tmp_path, rows), write=False).check("near_duplicates")
    s = outcome.statistic
    assert (s["clusters"], s["pairs_in_clusters"], s["verified_edges"], s["share"]) == (1, 3, 3, 0.3)
    assert outcome.message == "3 pairs in 1 near-duplicate cluster"


def test_near_leakage_counts_each_matched_training_pair_once(tmp_path):
    """prompt_leakage_near: two test prompts that are punctuation variants of ONE training prompt are 2
    leaked pairs and 1 ``train_pairs_matched`` (distinct training pairs, not matches)."""
    q = "how do i sort a list of numbers in python quickly and correctly please"
    rows = [{"prompt": q, "chosen": "use sorted", "rejected": "bubble sort"}]
    rows += [{"prompt": f"unrelated training question number {i} about {i * 7} things", "chosen": f"yes {i}", "rejected": f"no {i}"}
             for i in range(4)]
    rows += [{"prompt": q + "!", "chosen": "sorted()", "rejected": "by hand", "split": "test"},
             {"prompt": q + "?", "chosen": "list.sort", "rejected": "no idea", "split": "test"},
             {"prompt": "a test question unlike any training one at all", "chosen": "a", "rejected": "b", "split": "test"}]
    s = check(write_rows(tmp_path, rows), write=False).check("prompt_leakage_near").statistic
    assert (s["leaked_pairs"], s["train_pairs_matched"]) == (2, 1)

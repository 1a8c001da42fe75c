"""Verdicts that depend on what counts as "the same": equal lengths in the length-bias share, the
overall share of "A wins", prompts equal up to Unicode whitespace or case, and message lists that
join to the same text but split it into messages differently."""

from __future__ import annotations

import json
import unicodedata

import polars as pl
import pytest

import prefdata
from prefdata.check import check
from tests.check.rows import ids_of, write_rows


def _pair(prompt, chosen, rejected, **extra):
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected, **extra}


def test_equal_lengths_are_left_out_of_the_length_share(tmp_path):
    rows = [_pair(f"q{i}", "A", "B") for i in range(30)] + [_pair(f"r{i}", "longer", "short") for i in range(10)]
    outcome = check(write_rows(tmp_path, rows), write=False).check("length_bias")
    assert outcome.statistic["pairs_differing_in_length"] == 10
    assert outcome.statistic["share_chosen_longer"] == 1.0
    assert outcome.statistic["share_equal_length"] == 0.75
    assert outcome.passed  # 10 differing pairs: fewer than min_pairs (30), not judged
    assert "30 pairs of equal length not counted" in outcome.message


def test_one_token_answers_do_not_read_as_a_bias(tmp_path):
    rows = [_pair(f"What is {i} + {i}?", str(2 * i % 10), str((2 * i + 1) % 10)) for i in range(60)]
    outcome = check(write_rows(tmp_path, rows), write=False).check("length_bias")
    assert outcome.passed and outcome.statistic["share_chosen_longer"] is None
    assert outcome.message == "no pairs whose responses differ in length"


def test_position_bias_is_judged_overall_too(tmp_path):
    rows = [_pair(f"q{i}", "yes", "no", source=f"judge{i % 10}", chosen_position="a") for i in range(200)]
    outcome = check(write_rows(tmp_path, rows), write=False).check("position_bias")
    assert not outcome.passed and outcome.statistic["failing"] == {"overall": True, "sources": []}
    assert outcome.offending_count == 200
    assert all(s["pairs"] == 20 for s in outcome.statistic["by_source"].values())  # each below min_pairs


def test_pairs_without_a_source_are_their_own_group(tmp_path):
    """Not merged with a source called "None", nor with one called "(no source)": four groups of 20
    pairs, each below min_pairs, balanced overall, so nothing fails; merged, the 40 pairs without a
    source or of source "None" (all longer-chosen, all "A wins") would fail both checks."""
    biased = {"chosen": "a longer yes", "rejected": "no", "chosen_position": "a"}
    other = {"chosen": "no", "rejected": "a longer yes", "chosen_position": "b"}
    groups = [(None, biased), ("None", biased), ("(no source)", other), ("x", other)]
    rows = [{"prompt": f"q{g}-{i}", "source": source, **kind} for g, (source, kind) in enumerate(groups) for i in range(20)]
    result = check(write_rows(tmp_path, rows), write=False)
    for check_id in ("length_bias", "position_bias"):
        outcome = result.check(check_id)
        pairs = {k: v["pairs"] for k, v in outcome.statistic["by_source"].items()}
        assert pairs == {"(no source 2)": 20, "None": 20, "(no source)": 20, "x": 20}
        assert outcome.passed and outcome.statistic["failing"] == {"overall": False, "sources": []}


def test_failing_tells_the_overall_group_from_sources_named_empty_or_overall(tmp_path):
    """``failing`` was a list of names with "overall" for the whole dataset, and ``src or "overall"``
    turned a failing source named "" into "overall": checks.json said the dataset was biased when the
    overall share passed. A source named "overall" could not be told from the overall group either."""
    biased = {"chosen": "a long detailed answer with many words", "rejected": "short", "chosen_position": "a"}
    rows = [{"prompt": f"{source}-{i}", "source": source, **biased} for source in ("", "overall") for i in range(40)]
    rows += [_pair(f"b{i}", *(("longer answer here", "brief") if i % 2 else ("brief", "longer answer here")),
                   source="b", chosen_position="ab"[i % 2]) for i in range(400)]
    result = check(write_rows(tmp_path, rows), write=False)
    for check_id in ("length_bias", "position_bias"):
        outcome = result.check(check_id)
        assert not outcome.passed and outcome.offending_count == 80
        assert outcome.statistic["failing"] == {"overall": False, "sources": ["", "overall"]}


@pytest.mark.parametrize("space", ["\u00a0", "\u2009", "\u3000", "\x0b", "\x0c", "\u200b"])
def test_leakage_sees_through_unicode_whitespace(tmp_path, space):
    rows = [_pair("What is the capital of France?", "Paris.", "Lyon."),
            _pair(f"What{space}is the capital of France?", "Paris.", "Nice.", split="test")]
    out = write_rows(tmp_path, rows)
    outcome = check(out, write=False).check("prompt_leakage_exact")
    assert outcome.offending_ids == sorted(ids_of(out, lambda p: space in p))


@pytest.mark.parametrize("space", [" ", "\u00a0", "\u200b", "\ufeff", ""])
def test_a_capital_sigma_before_any_whitespace_is_one_prompt(tmp_path, space):
    """Lower-casing turns a capital sigma into the final "ς" before a space but into "σ" before a
    zero-width space or a letter, and the key removed whitespace after lower-casing: the same Greek
    prompt with U+200B for a space was another prompt to both checks. The key reads "ς" as "σ"."""
    rows = [_pair("\u03a0\u039f\u03a5 \u0395\u0399\u039d\u0391\u0399 \u039f \u03a3\u03a4\u0391\u0398\u039c\u039f\u03a3 \u039b\u0391\u03a1\u0399\u03a3\u0397\u03a3;", "A.", "B."),
            _pair(f"\u03a0\u039f\u03a5 \u0395\u0399\u039d\u0391\u0399 \u039f \u03a3\u03a4\u0391\u0398\u039c\u039f\u03a3{space}\u039b\u0391\u03a1\u0399\u03a3\u0397\u03a3;", "B.", "A.", split="test")]
    result = check(write_rows(tmp_path, rows), write=False)
    assert result.check("contradictory_pairs").offending_count == 2
    assert result.check("prompt_leakage_exact").offending_count == 1


def test_build_keeps_prompts_equal_up_to_unicode_whitespace_in_one_split(tmp_path):
    raw = tmp_path / "raw.jsonl"
    lines = []
    for i in range(40):
        lines.append({"prompt": f"Tell me fact number {i}.", "chosen": f"Fact {i} is true.", "rejected": "No."})
        lines.append({"prompt": f"Tell\u00a0me fact number {i}.", "chosen": f"Fact {i} is true!", "rejected": "Nope."})
    raw.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    out = tmp_path / "out"
    prefdata.build(raw, out, test_fraction=0.3, quiet=True)
    frame = pl.read_parquet(out / "data" / "*.parquet", include_file_paths="file")
    split = frame.select(n=pl.col("prompt").list.first().struct.field("content").str.replace("\u00a0", " "), s=pl.col("file"))
    assert split.group_by("n").agg(pl.col("s").n_unique()).get_column("s").max() == 1
    assert prefdata.check(out, write=False).check("prompt_leakage_exact").passed


@pytest.mark.parametrize(
    "nfc",
    [
        "Qu\u00e9 significa caf\u00e9?",
        "\u00c9T\u00c9 \u00c0 PARIS",
        "Vi\u1ec7t Nam",
        "\u1fbc\u0391\u0399 \u1f08",
        "\ud55c\uad6d\uc5b4",
    ],
)
def test_leakage_and_split_see_through_unicode_normalization(tmp_path, nfc):
    """The same text in NFC and NFD (e + U+0301, Hangul as jamo) renders the same: one prompt."""
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    out = write_rows(tmp_path / "ds", [_pair(nfc, "Yes.", "No."), _pair(nfd.lower(), "Yes.", "Nope.", split="test")])
    assert check(out, write=False).check("prompt_leakage_exact").offending_ids == sorted(ids_of(out, lambda p: p != nfc))
    raw = tmp_path / "raw.jsonl"
    lines = [
        _pair(form(f"{nfc} {i}"), f"Answer {i} {k}.", f"No {k}.")
        for i in range(40)
        for k, form in enumerate((str, lambda t: unicodedata.normalize("NFD", t)))
    ]
    raw.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    prefdata.build(raw, tmp_path / "out", test_fraction=0.3, quiet=True)
    frame = pl.read_parquet(tmp_path / "out" / "data" / "*.parquet", include_file_paths="file")
    prompts = frame.select(p=pl.col("prompt").list.first().struct.field("content").str.normalize("NFC"), s=pl.col("file"))
    assert prompts.get_column("s").n_unique() == 2  # both splits have pairs
    assert prompts.group_by("p").agg(pl.col("s").n_unique()).get_column("s").max() == 1


def test_contradictions_compare_prompts_up_to_case_and_spacing(tmp_path):
    rows = [_pair("What is 2+2?", "4", "5"), _pair("what is 2+2? ", "5", "4")]
    out = write_rows(tmp_path, rows)
    assert check(out, write=False).check("contradictory_pairs").offending_count == 2


def _turns(*messages):
    return [{"role": role, "content": content} for role, content in messages]


def test_contradictions_and_leakage_count_roles_and_turns(tmp_path):
    """A prompt is its turns, roles included: ``[system, user]`` is not the one user turn holding the
    same words, nor is a three-turn dialogue the one turn its words join to, so preferring the other
    answer there is no contradiction and no leak. Up to case, spacing and NFC, turn by turn, the same
    prompt still is."""
    pirate = _turns(("system", "Answer as a pirate."), ("user", "Say hello"))
    dialogue = _turns(("user", "Hi"), ("assistant", "Hello"), ("user", "How are you?"))
    rows = [
        _pair(pirate, "Arr, ahoy!", "Hello."),
        _pair(_turns(("user", "Answer as a pirate. Say hello")), "Hello.", "Arr, ahoy!"),
        _pair(dialogue, "Fine.", "Bad."),
        _pair(_turns(("user", "Hi Hello How are you?")), "Bad.", "Fine."),
        _pair(_turns(("user", "Hi"), ("user", "Hello How are you?")), "Bad.", "Fine."),
        _pair(_turns(("system", "answer as a  PIRATE."), ("user", "say hello ")), "Hello.", "Arr, ahoy!"),  # contradicts the first
    ]
    out = write_rows(tmp_path / "pairs", rows)
    contradictions = check(out, write=False).check("contradictory_pairs")
    assert contradictions.offending_count == 2 and contradictions.statistic["contradicting_groups"] == 1
    assert set(contradictions.offending_ids) == ids_of(out, lambda p: "pirate" in p.lower() and "Say" not in p)

    # training: the pirate and the dialogue; evaluation: the other four prompts
    test = [{**row, "split": "test", "chosen": row["chosen"] + " Really."} for row in (rows[1], *rows[3:])]
    out = write_rows(tmp_path / "leak", [rows[0], rows[2], *test])
    leakage = check(out, write=False).check("prompt_leakage_exact")
    assert leakage.offending_ids == sorted(ids_of(out, lambda p: p == "answer as a  PIRATE."))


def test_a_build_never_leaks_prompts_that_differ_in_roles_or_turns(tmp_path):
    """``build`` splits by the first user turn; prompts that join to the same text but split it into
    other roles or turns may land in both splits, and that is no leak."""
    lines = []
    for i in range(30):
        lines.append({"prompt": _turns(("system", f"You are helper {i}."), ("user", "Say hello")), "chosen": f"Hello {i}.", "rejected": "No."})
        lines.append({"prompt": _turns(("user", f"You are helper {i}. Say hello")), "chosen": f"Hi {i}.", "rejected": "No."})
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    prefdata.build(raw, tmp_path / "out", test_fraction=0.5, quiet=True)
    frame = pl.read_parquet(tmp_path / "out" / "data" / "*.parquet", include_file_paths="file")
    assert frame.get_column("file").n_unique() == 2
    assert check(tmp_path / "out", write=False).check("prompt_leakage_exact").passed


def test_messages_split_differently_are_different_responses(tmp_path):
    a = [{"role": "assistant", "content": "Sure."}, {"role": "assistant", "content": "Step 1\n\nStep 2"}]
    b = [{"role": "assistant", "content": "Sure.\n\nStep 1"}, {"role": "assistant", "content": "Step 2"}]
    system_user = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi\n\nthere"}]
    merged = [{"role": "system", "content": "Be brief.\n\nHi"}, {"role": "user", "content": "there"}]
    rows = [_pair("Explain.", a, b), _pair(system_user, "Hello.", "Go away."), _pair(merged, "Hello.", "Go away.")]
    result = check(write_rows(tmp_path, rows), write=False)
    assert result.check("identical_responses").passed
    assert result.check("exact_duplicates").passed


def test_length_statistics_are_exactly_rounded_so_any_thread_count_gives_the_same_bits(tmp_path):
    """polars summed floats in an order set by its threads: cohens_d differed in the last digits between
    1 and 2 cores. Means and variances now come from exact integer sums, the mean ratio from fsum."""
    import math
    import random
    from fractions import Fraction

    rng = random.Random(3)
    rows = [{"prompt": f"q{i}", "chosen": "c" * rng.randint(1, 3000), "rejected": "r" * rng.randint(0, 3000) or "r"} for i in range(500)]
    stats = check(write_rows(tmp_path, rows), write=False).check("length_bias").statistic
    c = [len(r["chosen"]) for r in rows]
    r = [len(r["rejected"]) for r in rows]
    n = len(rows)
    mean_c, mean_r = Fraction(sum(c), n), Fraction(sum(r), n)
    var_c = Fraction(n * sum(x * x for x in c) - sum(c) ** 2, n * (n - 1))
    var_r = Fraction(n * sum(x * x for x in r) - sum(r) ** 2, n * (n - 1))
    assert stats["mean_chosen_chars"] == float(mean_c) and stats["mean_rejected_chars"] == float(mean_r)
    assert stats["cohens_d"] == (float(mean_c) - float(mean_r)) / math.sqrt((float(var_c) + float(var_r)) / 2)
    assert stats["mean_length_ratio"] == math.fsum(a / b for a, b in zip(c, r)) / n


def test_identical_responses_are_equal_after_nfc_and_trimming_blank_ends(tmp_path):
    """As ``build``'s rule reads them: ``é`` precomposed or as ``e`` + U+0301 is one text, and so are
    texts that differ only in blank characters at their ends (U+001F, BOM, zero-width space). These
    pairs are identical_responses', not near_identical_responses' too; ids and exact duplicates stay
    byte for byte."""
    cafe = "Un caf\u00e9 cr\u00e8me, s'il vous pla\u00eet, avec du lait."
    rows = [
        _pair("q1", cafe, unicodedata.normalize("NFD", cafe)),
        _pair("q2", "Yes, it is.\x1f", "\ufeffYes, it is.\u200b"),
        _pair("q3", "Yes.", "No."),
        _pair("q4", "A zero\u200bwidth space inside.", "A zerowidth space inside."),  # not at an end: different
        _pair("q5", cafe, "Fine."),
        _pair("q5", unicodedata.normalize("NFD", cafe), "Fine."),  # another pair: not an exact duplicate
    ]
    out = write_rows(tmp_path, rows)
    result = check(out, write=False)
    identical = result.check("identical_responses")
    assert set(identical.offending_ids) == ids_of(out, lambda p: p in ("q1", "q2"))
    assert not set(result.check("near_identical_responses").offending_ids) & set(identical.offending_ids)
    assert result.check("exact_duplicates").passed


def test_a_turn_of_invisible_or_separator_characters_is_blank_to_role_structure(tmp_path):
    rows = [_pair("q1", "\u200b", "No."), _pair("\ufeff", "Yes.", "No."), _pair("q3", "Yes.", "\x1c\u2060"), _pair("q4", "Yes.", "No.")]
    out = write_rows(tmp_path, rows)
    outcome = check(out, write=False).check("role_structure")
    assert set(outcome.offending_ids) == ids_of(out, lambda p: p != "q4")


def test_a_share_exactly_on_a_bound_of_the_band_passes(tmp_path):
    """README (checks table): length_bias passes with the share "within [0.35, 0.65]", bounds included:
    26 of 40 differing pairs (0.65) and 14 of 40 (0.35) prefer the longer response."""
    for longer, shorter in ((26, 14), (14, 26)):
        rows = [_pair(f"q{i}", "a longer answer", "short") for i in range(longer)]
        rows += [_pair(f"r{i}", "short", "a longer answer") for i in range(shorter)]
        outcome = check(write_rows(tmp_path / str(longer), rows), write=False).check("length_bias")
        assert outcome.statistic["share_chosen_longer"] == longer / 40
        assert outcome.passed and outcome.offending_count == 0, outcome.message


def test_z_is_the_normal_approximation_of_the_share_against_one_half(tmp_path):
    """README: length_bias and position_bias report z, the z-score of the share against 0.5 over the
    pairs the share counts: z = (k - n/2) / sqrt(n/4). length_bias: 30 of the 40 pairs that differ in
    length (the 8 of equal length are left out); position_bias: 30 "A wins" of all 48."""
    rows = [_pair(f"q{i}", "a longer answer", "short", chosen_position="a") for i in range(30)]
    rows += [_pair(f"r{i}", "short", "a longer answer", chosen_position="b") for i in range(10)]
    rows += [_pair(f"e{i}", "same!", "equal", chosen_position="b") for i in range(8)]
    result = check(write_rows(tmp_path, rows), write=False)
    assert result.check("length_bias").statistic["z"] == pytest.approx((30 - 20) / 10 ** 0.5, rel=1e-12)
    assert result.check("position_bias").statistic["z"] == pytest.approx((30 - 24) / 12 ** 0.5, rel=1e-12)


def test_too_few_a_wins_offend_with_the_pairs_b_won(tmp_path):
    """README/docs/contracts.md: a failing bias group's offending pairs are those that follow the bias;
    with "A wins" too rare (10 of 40, below 0.4) they are the 30 pairs where B won."""
    rows = [_pair(f"b{i}", "yes", "no", chosen_position="b") for i in range(30)]
    rows += [_pair(f"a{i}", "yes", "no", chosen_position="a") for i in range(10)]
    data = write_rows(tmp_path, rows)
    outcome = check(data, write=False).check("position_bias")
    assert not outcome.passed
    assert outcome.offending_count == 30
    assert set(outcome.offending_ids) == ids_of(data, lambda p: p.startswith("b"))


def test_position_bias_overall_is_not_judged_below_min_pairs(tmp_path):
    """README: position_bias is judged in groups of min_pairs (30) pairs or more, the overall group
    too: 10 pairs that all say "A wins" are reported, not failed."""
    rows = [_pair(f"q{i}", "yes", "no", chosen_position="a") for i in range(10)]
    outcome = check(write_rows(tmp_path, rows), write=False).check("position_bias")
    assert outcome.passed and outcome.statistic["failing"] == {"overall": False, "sources": []}
    assert outcome.statistic["share_a_wins"] == 1.0


def test_a_pair_with_an_empty_rejected_response_has_no_length_ratio(tmp_path):
    """length_bias's mean/median chosen/rejected length ratio leave out a pair whose rejected response
    has no characters (no ratio), instead of a division by zero: 5 ratios of 2 and 5 of 0.5."""
    rows = [_pair(f"q{i}", "abcd", "ab") for i in range(5)]
    rows += [_pair(f"r{i}", "abc", "abc!!!") for i in range(5)]
    rows += [_pair("z", "abc", "")]
    statistic = check(write_rows(tmp_path, rows), write=False).check("length_bias").statistic
    assert statistic["mean_length_ratio"] == pytest.approx((5 * 2 + 5 * 0.5) / 10)
    assert statistic["median_length_ratio"] == pytest.approx((0.5 + 2) / 2)

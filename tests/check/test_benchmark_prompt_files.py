"""``--benchmark-prompts`` reads every prompt a file holds, whatever field each record uses, and
matches copies that differ only in typography."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest

from prefdata.check import check
from prefdata.check.checks.contamination import load_benchmark_prompts
from prefdata.check.errors import InputFileError
from tests.check.rows import ids_of, write_rows

LONG = "Which planet in the solar system has the largest number of known moons today?"


def test_each_record_uses_its_own_prompt_field(tmp_path):
    bench = tmp_path / "bench.jsonl"
    bench.write_text("\n".join(json.dumps(x) for x in [{"prompt": "alpha beta"}, {"question": "gamma delta"}, {"instruction": "epsilon"}]), encoding="utf-8")
    assert load_benchmark_prompts(bench).to_list() == ["alpha beta", "gamma delta", "epsilon"]


def test_a_record_without_a_prompt_field_is_named(tmp_path):
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps([{"prompt": "alpha"}, {"answer": "beta"}]), encoding="utf-8")
    with pytest.raises(InputFileError, match="item 1: no prompt field"):
        load_benchmark_prompts(bench)


def test_a_line_that_is_not_json_is_named_by_its_1_based_number(tmp_path):
    """The error names the line as an editor and ``sed -n 2p`` count it, so the user can find it."""
    bench = tmp_path / "bench.jsonl"
    bench.write_text('"first prompt"\n{not json\n"third"\n', encoding="utf-8")
    with pytest.raises(InputFileError, match="line 2 is not JSON"):
        load_benchmark_prompts(bench)


def test_json_lines_in_a_dot_json_file_are_read(tmp_path):
    bench = tmp_path / "bench.json"
    bench.write_text('{"prompt": "alpha"}\n{"prompt": "beta"}\n', encoding="utf-8")
    assert load_benchmark_prompts(bench).to_list() == ["alpha", "beta"]


@pytest.mark.parametrize(
    "variant",
    [LONG.replace("'", "\u2019").replace("planet", "\u201cplanet\u201d"), LONG.replace(" ", "\u00a0"), "\ufeff" + LONG,
     LONG.replace("solar", "ｓｏｌａｒ")],
)
def test_typographic_copies_are_contaminated(tmp_path, variant):
    bench = tmp_path / "bench.txt"
    bench.write_text("\ufeff" + LONG + "\n", encoding="utf-8")
    out = write_rows(tmp_path / "ds", [{"prompt": variant, "chosen": "Saturn.", "rejected": "Mars."},
                                       {"prompt": "Name a prime number.", "chosen": "7", "rejected": "8"}])
    outcome = check(out, benchmark_prompts=bench, write=False).check("contamination")
    assert set(outcome.offending_ids) == ids_of(out, lambda p: p == variant)


def test_a_merged_file_with_null_fields_keeps_both_benchmarks(tmp_path):
    bench = tmp_path / "bench.jsonl"
    bench.write_text('{"prompt": "alpha", "question": null}\n{"prompt": null, "question": "beta"}\n', encoding="utf-8")
    assert load_benchmark_prompts(bench).to_list() == ["alpha", "beta"]


def test_one_object_in_a_dot_json_file_is_one_prompt(tmp_path):
    bench = tmp_path / "bench.json"
    bench.write_text('{"prompt": "alpha"}', encoding="utf-8")
    assert load_benchmark_prompts(bench).to_list() == ["alpha"]


def _contaminated(tmp_path, prompts: list, bench_lines: list[str]) -> set[int]:
    """The positions in ``prompts`` (a string or a message list each) that the contamination check flags."""
    bench = tmp_path / "bench.txt"
    bench.write_text("\n".join(bench_lines) + "\n", encoding="utf-8")
    out = write_rows(tmp_path / "ds", [{"prompt": p, "chosen": f"answer {i}", "rejected": "no"} for i, p in enumerate(prompts)])
    flagged = set(check(out, benchmark_prompts=bench, write=False).check("contamination").offending_ids)
    frame = pl.read_parquet(out / "data" / "*.parquet")
    return {int(c[0]["content"].split()[1]) for pid, c in zip(frame["id"], frame["chosen"]) if pid in flagged}


def _turns(*texts: str) -> list[dict]:
    roles = ["user", "assistant"]
    return [{"role": roles[i % 2], "content": t} for i, t in enumerate(texts)]


def test_ngrams_do_not_run_across_turns(tmp_path):
    # the benchmark prompt's eight words are the end of one turn and the start of the next
    head, tail = "tell me about the four largest", "moons of jupiter please"
    bench = f"{head} {tail}"
    prompts = [
        _turns(f"Could you {head}", "Which planet?", f"{tail} and their sizes"),  # split by a turn: not a copy
        _turns(f"Could you {head}", f"{tail} and their sizes"),  # still split by a turn
        _turns("Hello there", f"Could you {bench} and their sizes"),  # a copy inside the last turn
        _turns(f"Could you {bench}", "Sure.", "Thanks, one more question"),  # a copy inside an earlier turn
    ]
    assert _contaminated(tmp_path, prompts, [bench]) == {2, 3}


def test_a_short_benchmark_prompt_matches_only_a_whole_last_message(tmp_path):
    prompts = [
        _turns("Thanks!", "Sure.", "What is the capital of France?"),  # short prompt as an earlier turn
        _turns("What is the capital of France?", "Paris.", "Thanks!"),  # short prompt as the last turn
        "Thanks! What is the capital of France?",  # inside a longer message
        "thanks",  # the same after normalization
    ]
    assert _contaminated(tmp_path, prompts, ["Thanks!"]) == {1, 3}


def test_an_earlier_turn_of_exactly_ngram_words_is_matched_by_its_ngram(tmp_path):
    """README: a pair is contaminated when a message of its prompt shares a word n-gram (ngram 8) with
    a benchmark prompt; only a benchmark prompt *shorter* than n words is matched whole and only as the
    last message. An earlier turn of exactly 8 words equal to an 8-word benchmark prompt shares its
    one 8-gram; a 7-word benchmark prompt in an earlier turn is not matched."""
    bench = "what is the capital city of france today"
    prompts = [
        _turns(bench, "Paris.", "Thanks, and Spain?"),
        _turns("what is the capital city of france", "Paris.", "Thanks, and Spain?"),
        "unrelated question",
    ]
    assert _contaminated(tmp_path, prompts, [bench, "what is the capital city of france"]) == {0}


def test_swapped_words_make_other_ngrams(tmp_path):
    """The n-gram hash shared one multiplier between alternate positions, so swapping two words an even
    distance apart often kept the hash: "cats and dogs" matched a benchmark's "dogs and cats" 8-grams."""
    nouns = ["dogs", "cats", "birds", "trees", "boats", "stars", "clouds", "rivers"]
    swapped = [f"Write a poem about {a} and {b} in the rain" for a in nouns for b in nouns if a != b]
    bench = [f"Write a poem about {b} and {a} in the rain" for a in nouns for b in nouns if a < b]
    flagged = _contaminated(tmp_path, swapped, bench)
    truly = {i for i, text in enumerate(swapped) if text in set(bench)}  # the same sentence: a real copy
    assert flagged == truly and len(truly) == 28


def test_unicode_punctuation_does_not_hide_a_copy(tmp_path):
    # "¿" and "«»" were kept on their words: "¿cuál" and "cuál" differed, and a short benchmark prompt must equal the message
    prompts = ["¿Cuál es la capital de Francia?", "«Cuál es la capital de Francia»", "Cuál es la capital de Italia?"]
    assert _contaminated(tmp_path, prompts, ["Cuál es la capital de Francia?"]) == {0, 1}


@pytest.mark.parametrize("suffix", [".jsonl", ".txt"])
def test_lines_end_at_newline_only(tmp_path, suffix):
    # json.dumps(ensure_ascii=False) writes U+2028 raw; str.splitlines also splits at it and at \x85, \v, \f, \x1c
    prompts = ["First line\u2028second line", "a\x85b\x0bc\x0cd\x1ce\u2029f", "plain"]
    bench = tmp_path / f"bench{suffix}"
    lines = [json.dumps({"prompt": p}, ensure_ascii=False) if suffix == ".jsonl" else p for p in prompts]
    bench.write_bytes(("\r\n".join(lines[:2]) + "\n" + lines[2] + "\n").encode("utf-8"))
    assert load_benchmark_prompts(bench).to_list() == prompts


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".txt", ".jsonl"])
def test_a_file_name_that_is_not_utf8_is_read(tmp_path, suffix):
    # polars takes a str holding surrogate escapes for a file object ("does not have a .read() method")
    bench = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"bench\xe9" + suffix.encode())))
    prompts = ["What is the capital of France?", "caf\u00e9 cr\u00e8me"]
    if suffix == ".parquet":
        with open(bench, "wb") as fh:
            pl.DataFrame({"prompt": prompts}).write_parquet(fh)
    elif suffix == ".csv":
        bench.write_bytes(pl.DataFrame({"prompt": prompts}).write_csv().encode("utf-8"))
    else:
        lines = [json.dumps({"prompt": p}) for p in prompts] if suffix == ".jsonl" else prompts
        bench.write_bytes("".join(line + "\n" for line in lines).encode("utf-8"))
    assert load_benchmark_prompts(bench).to_list() == prompts

"""The split at its edges: a fraction so small it rounds to nothing, and the warning about a test
share far from the fraction, which must say the cause the counts show."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import prefdata
from prefdata.build import rules
from prefdata.build.pipeline import _split_warning


def _raw(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "raw.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"question {i}", "chosen": "yes", "rejected": f"no {i}"}) + "\n" for i in range(n)))
    return path


def _test_rows(out: Path) -> int:
    return sum(pq.read_metadata(p).num_rows for p in (out / "data").glob("test-*.parquet"))


@pytest.mark.parametrize("fraction", [1e-3, 1e-19, 1e-20, 5e-324])
def test_any_fraction_above_zero_gets_the_forced_test_group(tmp_path: Path, fraction: float) -> None:
    """README: a single-partition build with two prompt groups or more always gets a test group. Below
    2**-64 the threshold rounded to 0, which also read as "no test split": test stayed empty, unsaid."""
    said: list[str] = []
    result = prefdata.build(_raw(tmp_path, 5), tmp_path / "out", test_fraction=fraction, log=said.append)
    assert result.manifest["split"]["test_group_forced"] is True and _test_rows(tmp_path / "out") == 1
    assert [line for line in said if line.startswith("note: ") and "(1 pair) was put in test" in line]
    assert rules.test_threshold(fraction) >= 1 and rules.test_threshold(0.0) == 0


def test_a_zero_fraction_still_means_no_test_split(tmp_path: Path) -> None:
    result = prefdata.build(_raw(tmp_path, 5), tmp_path / "out", test_fraction=0)
    assert result.counts["pairs_by_split"]["test"] == 0 and result.manifest["split"]["test_group_forced"] is False


def test_a_forced_group_under_a_tiny_fraction_is_a_note_not_a_warning_about_openings(tmp_path: Path) -> None:
    """60 prompts, each its own opening, --test-fraction 0.0001: the build forces one group into test,
    and warned that "a few openings ... hold most pairs" (false: each holds one), "0.0001 ... not about 0%"."""
    said: list[str] = []
    result = prefdata.build(_raw(tmp_path, 60), tmp_path / "out", test_fraction=0.0001, log=said.append)
    assert result.manifest["split"]["test_group_forced"] is True
    assert not result.warnings and not [line for line in said if line.startswith("warning:")]
    assert [line for line in said if line.startswith("note: ") and "test_fraction 0.0001" in line]


def test_the_split_warning_says_its_cause_and_prints_small_fractions() -> None:
    forced = _split_warning(0.2, {"train": 2, "test": 60}, forced=True)
    assert forced is not None and "(96.8%), not about 20%" in forced and "smallest hash" in forced and "openings" not in forced
    empty = _split_warning(1e-20, {"train": 2303, "test": 0})
    assert empty is not None and "not about 1e-18%" in empty and "less than any prompt group" in empty and "openings" not in empty
    lopsided = _split_warning(0.005, {"train": 600, "test": 0})
    assert lopsided is not None and "(0%), not about 0.5%" in lopsided and "opening user turn" in lopsided
    assert _split_warning(0.001, {"train": 4990, "test": 10}) is None  # 0.2% is twice 0.1%: no warning at the edge
    tiny = _split_warning(0.001, {"train": 4980, "test": 20})
    assert tiny is not None and "(0.4%), not about 0.1%" in tiny
    assert _split_warning(0.0001, {"train": 2301, "test": 2}, forced=True) is None  # the note says it
    assert _split_warning(0.05, {"train": 95, "test": 5}) is None


def test_one_prompt_group_is_not_forced_into_test(tmp_path: Path) -> None:
    """README (Split): forcing needs "at least two prompt groups". Pairs that all open with one user
    turn are one group: forcing it would put the whole dataset in test and leave train empty."""
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps({"prompt": "Hello there!", "chosen": f"hi {i}", "rejected": f"go away {i}"}) + "\n" for i in range(8)))
    result = prefdata.build(raw, tmp_path / "out", test_fraction=1e-12, partitions=1)
    assert result.manifest["split"]["test_group_forced"] is False
    assert result.counts["pairs_by_split"] == {"train": 8, "test": 0} and _test_rows(tmp_path / "out") == 0


def test_a_build_of_several_partitions_forces_no_group_into_test(tmp_path: Path) -> None:
    """README (Split): only "a single-partition build" forces its smallest-hash group into test. Forcing
    per partition would put one group of each partition in test while the manifest and the KTO export
    know only one forced key (the others' KTO rows would go to train: a prompt in both splits)."""
    result = prefdata.build(_raw(tmp_path, 40), tmp_path / "out", test_fraction=1e-12, partitions=4)
    assert result.manifest["split"]["test_group_forced"] is False
    assert result.counts["pairs_by_split"] == {"train": 40, "test": 0} and _test_rows(tmp_path / "out") == 0


def test_the_forced_test_group_is_the_one_with_the_smallest_hash(tmp_path: Path) -> None:
    """README (Split): when no group's hash falls below test_fraction, "the group with the smallest hash
    is put in test". Oracle: the `xxhash` package's seeded xxh3_64 of each first user turn, lower-cased
    with whitespace removed (ASCII prompts: NFC changes nothing)."""
    xxhash = pytest.importorskip("xxhash")
    prompts = [f"Question {i}" for i in range(12)]
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps({"prompt": p, "chosen": "yes", "rejected": "no"}) + "\n" for p in prompts))
    result = prefdata.build(raw, tmp_path / "out", test_fraction=1e-12, partitions=1)
    seed = result.manifest["split"]["seed"]
    hashes = {p: xxhash.xxh3_64_intdigest("".join(p.lower().split()).encode(), seed=seed) for p in prompts}
    assert len(set(hashes.values())) == len(prompts)
    smallest = min(prompts, key=hashes.__getitem__)
    test = pq.read_table(next((tmp_path / "out" / "data").glob("test-*.parquet"))).column("prompt").to_pylist()
    assert result.manifest["split"]["test_group_forced"] is True
    assert test == [[{"role": "user", "content": smallest}]]


def test_a_test_share_of_exactly_half_the_fraction_is_no_warning() -> None:
    """README (Split): a warning is for a test share "under half or over twice" the fraction; exactly
    half is neither (the upper edge is pinned above)."""
    assert _split_warning(0.1, {"train": 95, "test": 5}) is None  # 5% is half of 10%
    under = _split_warning(0.1, {"train": 96, "test": 4})
    assert under is not None and "(4%), not about 10%" in under


def _test_prompts(out: Path) -> list[str]:
    return sorted(r["prompt"][0]["content"] for f in (out / "data").glob("test-*.parquet") for r in pq.read_table(f, columns=["prompt"]).to_pylist())


def test_a_build_that_pairs_feedback_splits_by_the_seed_as_ready_made_pairs_do(tmp_path: Path) -> None:
    """README (Split): "deterministic and seeded: a pair is in `test` when the seeded hash of its prompt's
    first user turn ... falls below `test_fraction`", whatever the shape the pair came from. The same 40
    prompts as feedback votes and as ready-made pairs go to the same split under each seed, and seeds 0
    and 1 put different prompts in test."""
    fb, ready = tmp_path / "fb.jsonl", tmp_path / "ready.jsonl"
    fb.write_text("".join(json.dumps({"prompt": f"Question {i}?", "response": r, "rating": label}) + "\n"
                          for i in range(40) for r, label in (("Good.", "up"), ("Bad.", "down"))))
    ready.write_text("".join(json.dumps({"prompt": f"Question {i}?", "chosen": "Good.", "rejected": "Bad."}) + "\n" for i in range(40)))
    feedback = {"sources": [{"shape": "feedback", "columns": {"prompt": "prompt", "response": "response", "label": "rating"}, "labels": {"up": ["up"], "down": ["down"]}}]}
    preference = {"sources": [{"shape": "preference", "columns": {"prompt": "prompt"}}]}
    in_test = {}
    for seed in (0, 1):
        prefdata.build(fb, tmp_path / f"fb{seed}", config=feedback, seed=seed, test_fraction=0.5, partitions=1)
        prefdata.build(ready, tmp_path / f"ready{seed}", config=preference, seed=seed, test_fraction=0.5, partitions=1)
        in_test[seed] = _test_prompts(tmp_path / f"fb{seed}")
        assert in_test[seed] == _test_prompts(tmp_path / f"ready{seed}"), seed
        assert 0 < len(in_test[seed]) < 40
    assert in_test[0] != in_test[1]


def test_the_split_key_is_the_first_user_turn_not_a_shared_system_turn(tmp_path: Path) -> None:
    """README (Split) and the manifest's split key: "first user turn of the prompt, lower-cased,
    whitespace removed". 40 questions, each asked once after a system turn all prompts share and once
    without it: a question's two pairs share a split, and the shared system turn does not make all the
    prompts that carry it one group (both splits hold pairs with it)."""
    raw = tmp_path / "r.jsonl"
    records = []
    for i in range(40):
        user = {"role": "user", "content": f"Question {i}?"}
        records.append({"prompt": [{"role": "system", "content": "You are a helpful assistant."}, user],
                        "chosen": [{"role": "assistant", "content": f"Good {i}."}], "rejected": [{"role": "assistant", "content": f"Bad {i}."}]})
        records.append({"prompt": [user], "chosen": [{"role": "assistant", "content": f"Fine {i}."}], "rejected": [{"role": "assistant", "content": f"Poor {i}."}]})
    raw.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "out"
    prefdata.build(raw, out, test_fraction=0.5, partitions=1)
    splits: dict[tuple[str, bool], str] = {}
    for f in (out / "data").glob("*.parquet"):
        for r in pq.read_table(f, columns=["prompt"]).to_pylist():
            question = next(m["content"] for m in r["prompt"] if m["role"] == "user")
            splits[question, r["prompt"][0]["role"] == "system"] = f.name.split("-")[0]
    assert len(splits) == 80
    assert all(splits[f"Question {i}?", True] == splits[f"Question {i}?", False] for i in range(40))
    assert {split for (_, system), split in splits.items() if system} == {"train", "test"}


def test_a_fraction_of_exactly_one_pair_is_not_less_than_one_pair() -> None:
    """README (Split): a forced group "where the fraction asks for less than one pair is the `note:`
    alone"; _split_warning's docstring: only then "no warning". 2**-6 of 64 pairs is exactly one pair,
    not less: a forced group holding 16 of them (25%, not about 1.5625%) is warned of, and an empty
    unforced test split is not blamed on a fraction of less than one pair. _split_warning is private;
    it is called directly (as above) because no build reaches this edge with a forced group of 16."""
    assert 2**-6 * 64 == 1
    forced = _split_warning(2**-6, {"train": 48, "test": 16}, forced=True)
    assert forced == (
        "the test split holds 16 of 64 pairs (25%), not about 1.56%: no prompt group's hash fell below test_fraction, so the build put "
        "the one with the smallest hash in test, and the share is that one group's (the pairs whose prompts open with its user turn)"
    )
    empty = _split_warning(2**-6, {"train": 64, "test": 0})
    assert empty is not None and empty.startswith("the test split holds 0 of 64 pairs (0%), not about 1.56%: pairs are split by the opening user turn")

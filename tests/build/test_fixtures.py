"""Every raw fixture builds to exactly the pairs and rejects written next to it in fixtures/expected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import prefdata
from tests.conftest import FIXTURES
from tests.support.dataset import assert_reconciled, assert_reconciled_by_source, manifest, pairs, rejects

EXPECTED = sorted((FIXTURES / "expected").rglob("*.expected.jsonl"))
# Files whose layout detection reads exactly as the demo config does (the others need their config:
# an ambiguous verdict encoding, a dirty score column, a message filter, a custom function...).
AUTO_DETECTABLE = [
    FIXTURES / "expected" / f"{name}.expected.jsonl"
    for name in (
        "preference/strings.jsonl",
        "preference/messages.jsonl",
        "preference/sharegpt.json",
        "preference/ultrafeedback_style.jsonl",
        "transcript/hh.jsonl",
        "transcript/messages.jsonl",
        "pairwise/arena.jsonl",
        "ranked/ranked.jsonl",
    )
]
AMBIGUOUS = ["preference/table.csv", "pairwise/winner_01.jsonl", "pairwise/signed.jsonl", "pairwise/winner_12.jsonl", "pairwise/float_pref.jsonl", "rated/parallel_scores.jsonl"]


def _raw_name(expected: Path) -> str:
    return expected.relative_to(FIXTURES / "expected").as_posix().removesuffix(".expected.jsonl")


def actual_entries(out: Path, raw_name: str | None = None) -> list[dict]:
    """The build's pairs and rejects as fixture entries (see fixtures/expected), in a stable order."""
    got = []
    for row in pairs(out).iter_rows(named=True):
        lin = row["lineage"]
        if raw_name is not None and lin[0]["file"] != raw_name:
            continue
        entry: dict = {"file": lin[0]["file"], "record": lin[0]["record"]}
        if len(lin) > 1:
            entry["lineage"] = [[x["file"], x["record"]] for x in lin]
        entry |= {"prompt": row["prompt"], "chosen": row["chosen"], "rejected": row["rejected"]}
        keys = ("score_chosen", "score_rejected", "chosen_model", "rejected_model", "chosen_position")
        entry |= {k: row[k] for k in keys if row[k] is not None}
        got.append(entry)
    for row in rejects(out).iter_rows(named=True):
        if raw_name is None or row["file"] == raw_name:
            got.append({"file": row["file"], "record": row["record"], "reject": row["reason"], "field": row["field"]})
    got.sort(key=lambda e: (e["file"], e["record"], "reject" in e, json.dumps({k: v for k, v in e.items() if k != "file"}, ensure_ascii=False)))
    if raw_name is not None:
        for e in got:
            del e["file"]
    return got


def _actual(out: Path, raw_name: str) -> list[dict]:
    return actual_entries(out, raw_name)


@pytest.fixture(scope="module")
def fixture_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fixtures") / "out"
    prefdata.build(FIXTURES / "raw", out, config=FIXTURES / "configs" / "fixtures.yaml")
    return out


@pytest.mark.parametrize("expected", EXPECTED, ids=_raw_name)
def test_fixture_gives_expected_pairs(fixture_build: Path, expected: Path) -> None:
    want = [json.loads(line) for line in expected.read_text().splitlines()]
    assert _actual(fixture_build, _raw_name(expected)) == want


def test_fixture_build_reconciles_per_file_and_per_source(fixture_build: Path) -> None:
    assert_reconciled(fixture_build)
    assert_reconciled_by_source(fixture_build)
    assert len(manifest(fixture_build)["counts"]["by_source"]) == len(list((FIXTURES / "raw").rglob("*.*")))


@pytest.mark.parametrize("expected", AUTO_DETECTABLE, ids=_raw_name)
def test_detection_alone_gives_the_same_pairs(tmp_path: Path, expected: Path) -> None:
    raw_name = _raw_name(expected)
    out = tmp_path / "out"
    prefdata.build(FIXTURES / "raw" / raw_name, out)
    want = [json.loads(line) for line in expected.read_text().splitlines()]
    assert _actual(out, Path(raw_name).name) == want
    assert_reconciled(out)


@pytest.mark.parametrize("raw_name", AMBIGUOUS)
def test_ambiguous_layouts_stop_with_a_suggested_config(tmp_path: Path, raw_name: str) -> None:
    from prefdata.errors import AmbiguousLayoutError

    with pytest.raises(AmbiguousLayoutError) as err:
        prefdata.build(FIXTURES / "raw" / raw_name, tmp_path / "out")
    assert "sources:" in err.value.suggested_config and "shape:" in err.value.suggested_config
    assert not (tmp_path / "out").exists()

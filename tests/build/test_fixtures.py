"""Every raw fixture builds to exactly the pairs and rejects written next to it in fixtures/expected."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import prefdata
from tests.conftest import FIXTURES
from tests.support.dataset import assert_reconciled, pairs, rejects

EXPECTED = sorted((FIXTURES / "expected").rglob("*.expected.jsonl"))
AUTO_DETECTABLE = [p for p in EXPECTED if not p.name.startswith("table.csv")]


def _raw_name(expected: Path) -> str:
    return expected.relative_to(FIXTURES / "expected").as_posix().removesuffix(".expected.jsonl")


def _actual(out: Path, raw_name: str) -> list[dict]:
    got = []
    for row in pairs(out).iter_rows(named=True):
        lin = row["lineage"]
        if lin[0]["file"] != raw_name:
            continue
        entry = {"record": lin[0]["record"], "prompt": row["prompt"], "chosen": row["chosen"], "rejected": row["rejected"]}
        entry |= {k: row[k] for k in ("score_chosen", "score_rejected", "chosen_model", "rejected_model") if row[k] is not None}
        got.append(entry)
    for row in rejects(out).filter(pl.col("file") == raw_name).iter_rows(named=True):
        got.append({"record": row["record"], "reject": row["reason"], "field": row["field"]})
    return sorted(got, key=lambda e: e["record"])


@pytest.fixture(scope="module")
def fixture_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fixtures") / "out"
    prefdata.build(FIXTURES / "raw", out, config=FIXTURES / "configs" / "fixtures.yaml")
    return out


@pytest.mark.parametrize("expected", EXPECTED, ids=_raw_name)
def test_fixture_gives_expected_pairs(fixture_build: Path, expected: Path) -> None:
    want = [json.loads(line) for line in expected.read_text().splitlines()]
    assert _actual(fixture_build, _raw_name(expected)) == want


def test_fixture_build_reconciles(fixture_build: Path) -> None:
    assert_reconciled(fixture_build)


@pytest.mark.parametrize("expected", AUTO_DETECTABLE, ids=_raw_name)
def test_detection_alone_gives_the_same_pairs(tmp_path: Path, expected: Path) -> None:
    raw_name = _raw_name(expected)
    out = tmp_path / "out"
    prefdata.build(FIXTURES / "raw" / raw_name, out)
    want = [json.loads(line) for line in expected.read_text().splitlines()]
    assert _actual(out, Path(raw_name).name) == want
    assert_reconciled(out)

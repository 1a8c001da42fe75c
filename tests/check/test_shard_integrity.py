"""``shard_integrity``: ``check`` compares a built dataset's shards with its ``manifest.json``.

``train`` refuses shards that are not the ones the manifest lists (the record's dataset hash would
name other data), so ``check``, the gate users run first, must fail on them too, naming the shard,
and must not judge a dataset that has no manifest to compare with.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

import prefdata
from prefdata.cli import cli

TRAIN = "data/train-00000-of-00001.parquet"
TEST = "data/test-00000-of-00001.parquet"


@pytest.fixture
def built(tmp_path) -> Path:
    raw = tmp_path / "raw.jsonl"
    raw.write_text(
        "".join(
            json.dumps({"prompt": f"Question number {i} about topic {i * 7}?", "chosen": f"A careful answer {i}, with reasons.",
                        "rejected": f"A quick answer {i}."}) + "\n"
            for i in range(40)
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    prefdata.build(raw, out, test_fraction=0.25, quiet=True)
    return out


def _ids(path: Path) -> list[str]:
    return pl.read_parquet(path).get_column("id").to_list()


def test_shards_as_built_pass(built):
    outcome = prefdata.check(built, write=False).check("shard_integrity")
    assert outcome.passed and outcome.skipped is None, outcome.message
    assert outcome.statistic == {"shards": 2, "added": [], "missing": [], "changed": []}


def test_a_changed_shard_fails_with_its_pairs(built):
    kept = pl.read_parquet(built / TRAIN).head(5)
    kept.write_parquet(built / TRAIN)
    outcome = prefdata.check(built, write=False).check("shard_integrity")
    assert not outcome.passed and outcome.severity == "error"
    assert outcome.statistic["changed"] == [TRAIN]
    assert sorted(outcome.offending_ids) == sorted(kept.get_column("id").to_list())
    assert f"{TRAIN} is not the shard manifest.json lists" in outcome.message


def test_an_added_and_a_missing_shard_are_both_reported(built):
    (built / TEST).rename(built / "data/test-00000-of-00002.parquet")
    outcome = prefdata.check(built, write=False).check("shard_integrity")
    assert not outcome.passed
    assert outcome.statistic["added"] == ["data/test-00000-of-00002.parquet"]
    assert outcome.statistic["missing"] == [TEST]
    assert outcome.statistic["changed"] == []
    assert sorted(outcome.offending_ids) == sorted(_ids(built / "data/test-00000-of-00002.parquet"))


def test_no_manifest_skips(built):
    (built / "manifest.json").unlink()
    outcome = prefdata.check(built, write=False).check("shard_integrity")
    assert outcome.passed and outcome.skipped and "no manifest.json" in outcome.message


def test_an_unreadable_manifest_fails_and_says_why(built):
    (built / "manifest.json").write_text('{"outputs": 3}', encoding="utf-8")
    outcome = prefdata.check(built, write=False).check("shard_integrity")
    assert not outcome.passed
    assert "manifest.json: cannot read the list of shards" in outcome.message


def test_cli_exits_1_on_drift_and_0_once_disabled(built, tmp_path):
    pl.read_parquet(built / TRAIN).head(5).write_parquet(built / TRAIN)
    result = CliRunner().invoke(cli, ["check", str(built), "--no-write"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "shard_integrity" in result.output
    config = tmp_path / "off.yaml"
    config.write_text("checks:\n  shard_integrity: {enabled: false}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(built), "--no-write", "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 0, result.output

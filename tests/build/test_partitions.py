"""The default partition count follows the pairs a build will hold, whatever the format stores them in."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from prefdata.build import pipeline
from prefdata.build.plan import plan_build
from prefdata.config import parse_config


def _partitions(raw: Path, config: dict | None = None) -> int:
    return pipeline._default_partitions(plan_build(raw, parse_config(config) if config else None))


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_short_records_get_a_partition_per_partition_rows_pairs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    monkeypatch.setattr(pipeline, "PARTITION_ROWS", 100)
    rows = pl.DataFrame({"prompt": [f"q{i}" for i in range(1000)], "chosen": [f"yes {i}" for i in range(1000)], "rejected": [f"no {i}" for i in range(1000)]})
    path = tmp_path / f"short.{fmt}"
    {"jsonl": rows.write_ndjson, "csv": rows.write_csv, "parquet": rows.write_parquet}[fmt](path)
    config = {"sources": [{"shape": "preference", "columns": {"prompt": "prompt"}}]} if fmt == "csv" else None
    # 1,000 pairs at 100 a partition: Parquet's count is exact, the others estimated from a sample
    assert 8 <= _partitions(path, config) <= 13


def test_all_pairs_counts_the_pairs_each_record_makes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "PARTITION_ROWS", 100)
    path = tmp_path / "rated.jsonl"
    records = [{"q": f"p{i}", "c": [{"t": f"r{i}-{k}", "s": k} for k in range(10)]} for i in range(20)]  # 45 pairs each
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    config = {"sources": [{"shape": "rated", "columns": {"prompt": "q", "completions": "c", "text": "t", "score": "s"}, "binarize": {"policy": "all_pairs"}}]}
    assert 9 <= _partitions(path, config) <= 12  # 900 pairs (records estimated from the sample: json.dumps adds spaces)
    assert _partitions(path, {**config, "sources": [{**config["sources"][0], "binarize": {"policy": "best_vs_worst"}}]}) == 1

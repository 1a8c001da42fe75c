"""Read a built dataset back for assertions."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl


def pairs(out: Path, split: str | None = None) -> pl.DataFrame:
    pattern = f"{split}-*.parquet" if split else "*.parquet"
    return pl.read_parquet(Path(out) / "data" / pattern)


def rejects(out: Path) -> pl.DataFrame:
    return pl.read_parquet(Path(out) / "rejects" / "*.parquet")


def manifest(out: Path) -> dict:
    return json.loads((Path(out) / "manifest.json").read_text())


def assert_reconciled(out: Path) -> None:
    """records_read == distinct (file, record) in output lineage + records_rejected, per file and overall."""
    m = manifest(out)
    lineage = pairs(out).select(pl.col("lineage")).explode("lineage").unnest("lineage").unique()
    rej = rejects(out)
    assert rej.select("file", "record").is_duplicated().sum() == 0, "a record is rejected twice"
    overlap = lineage.join(rej.select("file", "record"), on=["file", "record"], how="inner")
    assert overlap.height == 0, f"records both in output and in rejects: {overlap.head(5).to_dicts()}"
    for item in m["inputs"]:
        used = lineage.filter(pl.col("file") == item["path"]).height
        rejected = rej.filter(pl.col("file") == item["path"]).height
        assert used + rejected == item["records"], (item["path"], used, rejected, item["records"])
    c = m["counts"]
    assert c["records_read"] == lineage.height + rej.height
    assert c["records_rejected"] == rej.height
    assert sum(c["rejected_by_reason"].values()) == rej.height
    assert c["pairs_written"] == pairs(out).height == sum(c["pairs_by_split"].values())


def assert_reconciled_by_source(out: Path) -> None:
    """Per-source counts add up to the totals, and match the rows and rejects on disk."""
    m = manifest(out)
    c = m["counts"]
    by_source = c["by_source"]
    assert sum(s["records_read"] for s in by_source.values()) == c["records_read"]
    assert sum(s["records_rejected"] for s in by_source.values()) == c["records_rejected"]
    written = dict(pairs(out).group_by("source").len().iter_rows())
    rejected = dict(rejects(out).group_by("source").len().iter_rows())
    for name, s in by_source.items():
        assert s["pairs_written"] == written.get(name, 0), name
        assert s["records_rejected"] == rejected.get(name, 0) == sum(s["rejected_by_reason"].values()), name
    files_by_source: dict[str, int] = {}
    for item in m["inputs"]:
        files_by_source[item["source"]] = files_by_source.get(item["source"], 0) + item["records"]
    assert files_by_source == {k: v["records_read"] for k, v in by_source.items()}

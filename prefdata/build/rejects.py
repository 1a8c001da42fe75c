"""Turn dropped rows into ``rejects/``: one row per raw record that gave no pair, with its raw text.

A record is rejected when none of its pairs reached the output; its reason is that of its first
dropped row (reading errors come before shape rules, which come before dedup). Rows dropped by
pass 2 (duplicates, unpaired feedback) carry no raw text; it is fetched back from the raw file by
record number, so rejects always show exactly what the raw file held.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from prefdata.io.records import LineIndex, fetch_records
from prefdata.schema import REJECT_SCHEMA


def record_rejects(drops: pl.DataFrame, output_records: pl.DataFrame) -> pl.DataFrame:
    """Drop rows of records that have no output pair, first reason per record, in raw order."""
    key = ["_file_idx", "_record"]
    pending = drops.join(output_records, on=key, how="anti", maintain_order="left")  # repeats on the right are harmless
    return pending.sort(key, maintain_order=True).unique(subset=key, keep="first", maintain_order=True)


def pair_drops(drops: pl.DataFrame, output_records: pl.DataFrame) -> pl.DataFrame:
    """Dropped rows of records that *did* give other pairs (multi-pair shapes): counted, not rejects."""
    return drops.join(output_records, on=["_file_idx", "_record"], how="semi")


def fill_raw(rejects: pl.DataFrame, files: Sequence, line_indexes: dict[int, LineIndex] | None = None) -> pl.DataFrame:
    """Fetch the raw text of rejects that lack it (``files[i]`` is the InputFile of ``_file_idx`` i).

    Plain JSON-lines files and JSON arrays answer from their :class:`LineIndex` (one ``pread`` per
    record); other files are read through again.
    """
    line_indexes = line_indexes or {}
    missing = rejects.filter(pl.col("_raw").is_null())
    if missing.height == 0:
        return rejects
    found: list[pl.DataFrame] = []
    for (file_idx,), group in missing.group_by("_file_idx", maintain_order=True):
        wanted = group.get_column("_record").unique()
        index = line_indexes.get(int(file_idx))
        hit = index.fetch(wanted) if index is not None else fetch_records(files[int(file_idx)], wanted)
        found.append(hit.select(pl.lit(int(file_idx), pl.UInt32).alias("_file_idx"), "_record", pl.col("_line").alias("_fetched")))
    if not found:
        return rejects
    fetched = pl.concat(found)
    return (
        rejects.join(fetched, on=["_file_idx", "_record"], how="left", maintain_order="left")
        .with_columns(pl.coalesce("_raw", "_fetched").alias("_raw"))
        .drop("_fetched")
    )


def to_reject_table(rejects: pl.DataFrame, file_names: Sequence[str]) -> pl.DataFrame:
    names = pl.Series(list(file_names), dtype=pl.String)
    return rejects.select(
        pl.col("_file_idx").map_batches(lambda s: names.gather(s), return_dtype=pl.String).alias("file"),
        pl.col("_record").alias("record"),
        "source",
        pl.col("_reason").alias("reason"),
        pl.col("_field").alias("field"),
        pl.col("_detail").alias("detail"),
        pl.col("_raw").alias("raw"),
    ).cast(dict(REJECT_SCHEMA))

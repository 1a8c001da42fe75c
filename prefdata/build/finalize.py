"""Pass 2, one hash partition at a time: drop exact duplicates, assign the split, shape the output.

Everything here is local to a partition (all copies of a pair share one, see ``rules.with_keys``),
so it runs unchanged per partition on any engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from prefdata.schema import CANONICAL_SCHEMA


@dataclass
class Finalized:
    train: pl.DataFrame
    test: pl.DataFrame
    drops: pl.DataFrame  # duplicate pairs, as drop rows (see spill.DROP_SCHEMA)
    record_keys: pl.Series  # raw_order keys of the records in the output pairs' lineage, each once
    #: the split key of the group ``ensure_test`` put in test (None when the fraction picked one): the
    #: KTO rows of that group follow it, so no prompt is in both splits
    forced_test_key: int | None = None


#: Room for any record number in the low bits of :func:`raw_order` (a file holds fewer than 2**40 records).
RECORD_BITS = 40


def raw_order(file_idx: pl.Expr, record: pl.Expr) -> pl.Expr:
    """``(file index, record)`` as one sortable number: the raw order (``_order``) rows keep."""
    return file_idx.cast(pl.UInt64) * (1 << RECORD_BITS) + record.cast(pl.UInt64)


def lineage_records(df: pl.DataFrame, file_index: dict[str, int]) -> pl.DataFrame:
    """Explode each row's lineage into ``(_file_idx, _record)`` rows."""
    exploded = df.select(pl.col("lineage")).explode("lineage").unnest("lineage")
    return exploded.select(
        pl.col("file").replace_strict(file_index, return_dtype=pl.UInt32).alias("_file_idx"),
        pl.col("record").alias("_record"),
    )


def record_keys(records: pl.DataFrame) -> pl.Series:
    """The :func:`raw_order` keys of ``(_file_idx, _record)`` rows, each once and sorted: one number a
    record (a build of 15 million short records holds 120 MB of them), and no two-column distinct."""
    keys = records.select(raw_order(pl.col("_file_idx"), pl.col("_record")).alias("_key")).to_series()
    return keys.unique().sort()


def in_raw_order(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows sorted by ``_order`` (file, record). Spilled pair rows usually arrive sorted already, and
    a sort would copy every message of the partition, so it only runs when needed."""
    return rows if rows.get_column("_order").is_sorted() else rows.sort("_order", maintain_order=True)


def dedup(rows: pl.DataFrame, file_index: dict[str, int]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keep the first occurrence (in raw order) of each ``id``; the others become drop rows."""
    rows = in_raw_order(rows)
    first = rows.select(pl.col("id").is_first_distinct()).to_series()
    if first.all():
        return rows, _no_drops()
    kept, dups = rows.filter(first), rows.filter(~first)
    origin = kept.select("id", pl.col("lineage").list.first().alias("_first")).unnest("_first")
    dups = dups.join(origin, on="id", how="left", maintain_order="left").with_columns(
        pl.lit("duplicate_pair").alias("_reason"),
        pl.lit("id").alias("_field"),
        pl.format("same prompt/chosen/rejected as {} record {} (id {})", pl.col("file"), pl.col("record"), pl.col("id").str.slice(0, 12)).alias("_detail"),
    )
    return kept, lineage_drops(dups, file_index)


def lineage_drops(df: pl.DataFrame, file_index: dict[str, int]) -> pl.DataFrame:
    """Rows with a reason and a lineage -> one drop row per raw record they came from."""
    return (
        df.select("lineage", "source", "_reason", "_field", "_detail")
        .explode("lineage")
        .unnest("lineage")
        .select(
            pl.col("file").replace_strict(file_index, return_dtype=pl.UInt32).alias("_file_idx"),
            pl.col("record").alias("_record"),
            "source",
            "_reason",
            "_field",
            "_detail",
            pl.lit(None, pl.String).alias("_raw"),
        )
    )


def _no_drops() -> pl.DataFrame:
    from prefdata.build.spill import DROP_SCHEMA

    return pl.DataFrame(schema=DROP_SCHEMA)


def assign_split(rows: pl.DataFrame, threshold: int, *, ensure_test: bool) -> tuple[pl.Series, int | None]:
    """True for test rows: a split group (prompts sharing their first user turn) is in test when its
    seeded hash is below the threshold.

    With ``ensure_test`` (a single-partition build) and at least two prompt groups, a dataset too small
    for the fraction to pick any group still gets one test group: the one with the smallest hash,
    whose key is returned too (None otherwise).
    """
    keys = rows.get_column("_split_key")
    is_test = keys < threshold
    if ensure_test and threshold > 0 and not is_test.any() and keys.n_unique() >= 2:
        forced = keys.min()
        return keys == forced, int(forced)  # type: ignore[arg-type]
    return is_test, None


def finalize_partition(
    rows: pl.DataFrame, *, threshold: int, ensure_test: bool, file_index: dict[str, int], drop_duplicates: bool = True
) -> Finalized:
    if drop_duplicates:
        kept, drops = dedup(rows, file_index)
    else:
        kept, drops = in_raw_order(rows), _no_drops()
    is_test, forced = assign_split(kept, threshold, ensure_test=ensure_test)
    canonical = kept.select([pl.col(n).cast(t) for n, t in CANONICAL_SCHEMA.items()])
    return Finalized(
        train=canonical.filter(~is_test),
        test=canonical.filter(is_test),
        drops=drops,
        record_keys=record_keys(lineage_records(kept, file_index)),
        forced_test_key=forced,
    )

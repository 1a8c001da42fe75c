"""Morsel sizing for streaming scans: rows from bytes, bounded, restored, and the user's setting wins."""

from __future__ import annotations

import os

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prefdata.io import morsels
from prefdata.io.morsels import (
    MAX_MORSEL_ROWS,
    MIN_MORSEL_ROWS,
    TARGET_MORSEL_BYTES,
    collect_streaming,
    mean_row_bytes,
    morsel_rows,
    parquet_footer,
    streaming_morsels,
)


def test_morsel_rows_follow_row_width_within_bounds():
    assert morsel_rows(1024) == TARGET_MORSEL_BYTES // 1024
    assert morsel_rows(10 * 1024) < morsel_rows(1024)
    assert morsel_rows(1) == MAX_MORSEL_ROWS
    assert morsel_rows(0) == MAX_MORSEL_ROWS  # an empty dataset: polars' own default
    assert morsel_rows(10**9) == MIN_MORSEL_ROWS


def test_mean_row_bytes():
    assert mean_row_bytes([(10, 1000), (30, 1000)]) == 50.0
    assert mean_row_bytes([]) == 0.0
    assert mean_row_bytes([(0, 0)]) == 0.0


def test_parquet_footer_reads_rows_and_uncompressed_bytes(tmp_path):
    path = tmp_path / "x.parquet"
    pl.DataFrame({"text": [f"{i:06d}" + "x" * 994 for i in range(500)]}).write_parquet(path, compression="zstd")
    rows, size, empty_first_group = parquet_footer(path)
    assert rows == 500 and not empty_first_group
    assert size >= 500 * 1000 > path.stat().st_size  # uncompressed, not the file size


def test_parquet_footer_sees_an_empty_first_row_group(tmp_path):
    empty = pa.table({"text": pa.array([], pa.string())})
    pq.write_table(empty, tmp_path / "pyarrow.parquet")  # one row group of 0 rows
    pl.from_arrow(empty).write_parquet(tmp_path / "polars.parquet")  # no row group
    assert parquet_footer(tmp_path / "pyarrow.parquet") == (0, parquet_footer(tmp_path / "pyarrow.parquet").uncompressed_bytes, True)
    assert parquet_footer(tmp_path / "polars.parquet") == (0, 0, False)


def test_parquet_footer_looks_at_the_first_row_group_not_the_last(tmp_path):
    """``empty_first_group`` is about the first row group (the batch size datasets' reader takes from
    it): an empty group after a full one is not it. The groups are as pyarrow's metadata lists them."""
    schema = pa.schema([("x", pa.int64())])
    empty, full = pa.table({"x": pa.array([], pa.int64())}), pa.table({"x": [1, 2, 3]})
    for name, tables, flagged in [("first_empty", [empty, full], True), ("last_empty", [full, empty], False)]:
        path = tmp_path / f"{name}.parquet"
        with pq.ParquetWriter(path, schema) as writer:
            for table in tables:
                writer.write_table(table)
        meta = pq.read_metadata(path)
        assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [t.num_rows for t in tables]
        footer = parquet_footer(path)
        assert (footer.rows, footer.empty_first_group) == (3, flagged)


def _current() -> str | None:
    return os.environ.get(morsels.ENV_VAR)


def test_streaming_morsels_sets_and_restores(monkeypatch):
    monkeypatch.delenv(morsels.ENV_VAR, raising=False)
    with streaming_morsels(4096):
        assert _current() == str(morsel_rows(4096))
    assert _current() is None


def test_streaming_morsels_restores_after_an_error(monkeypatch):
    monkeypatch.delenv(morsels.ENV_VAR, raising=False)
    with pytest.raises(RuntimeError), streaming_morsels(4096):
        raise RuntimeError
    assert _current() is None


def test_a_users_morsel_size_wins(monkeypatch):
    monkeypatch.setenv(morsels.ENV_VAR, "777")
    with streaming_morsels(4096):
        assert _current() == "777"
    assert _current() == "777"


def test_collect_streaming_gives_the_same_frame_as_polars(monkeypatch):
    monkeypatch.delenv(morsels.ENV_VAR, raising=False)
    lf = pl.LazyFrame({"a": list(range(5000)), "t": [f"text {i}" for i in range(5000)]}).with_columns(
        n=pl.col("t").str.len_bytes() + pl.col("a")
    )
    small = collect_streaming(lf, TARGET_MORSEL_BYTES / 300)  # ~300-row morsels: many of them
    assert small.equals(lf.collect())

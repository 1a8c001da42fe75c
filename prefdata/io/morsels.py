"""Size polars' streaming morsels by bytes, not rows, for scans over text-heavy Parquet.

polars' streaming engine cuts its input into morsels of a fixed number of rows (100,000 unless
``POLARS_IDEAL_MORSEL_SIZE`` says otherwise). A preference pair holds kilobytes of text, so a
100,000-row morsel is a hundred megabytes or more, and every expression that derives a column from
the text (the flattened view, JSON for the id, hashes, regexes) makes another buffer of that size
per thread. Morsels of about 2 MB of data keep those buffers in cache and bound memory by the
morsel, not by the row group.

Measured with ``benchmarks/check_throughput.py`` (1M pairs, 1.4 KB each, two cores): the suite plus
the row-local checks went from 4.3-4.6 s at 1.40-1.54 GB peak RSS with the default to 3.8-3.9 s at
0.86-1.06 GB with 1,000-2,000-row morsels; 500 rows was slower again (4.2 s).

A ``POLARS_IDEAL_MORSEL_SIZE`` set by the user always wins.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import polars as pl
import pyarrow.parquet as pq

#: Uncompressed bytes of data per morsel the scans aim for.
TARGET_MORSEL_BYTES = 2 * 1024 * 1024
#: Bounds on rows per morsel: tiny morsels cost more in per-morsel overhead than they save.
MIN_MORSEL_ROWS = 256
MAX_MORSEL_ROWS = 100_000
ENV_VAR = "POLARS_IDEAL_MORSEL_SIZE"


class ParquetFooter(NamedTuple):
    """What a Parquet file's footer says about its size."""

    rows: int
    uncompressed_bytes: int
    #: The first row group holds no rows (pyarrow and pandas write one for an empty table; polars writes
    #: none): ``datasets``' Parquet reader takes that group's row count as its batch size, and fails.
    empty_first_group: bool


def parquet_footer(path: str | Path) -> ParquetFooter:
    """Rows, uncompressed bytes and first row group of a Parquet file, from its footer alone."""
    meta = pq.read_metadata(path)
    groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
    return ParquetFooter(meta.num_rows, sum(g.total_byte_size for g in groups), bool(groups) and groups[0].num_rows == 0)


def morsel_rows(row_bytes: float) -> int:
    """Rows per morsel for rows of ``row_bytes`` uncompressed bytes on average."""
    if row_bytes <= 0:
        return MAX_MORSEL_ROWS
    return int(min(MAX_MORSEL_ROWS, max(MIN_MORSEL_ROWS, TARGET_MORSEL_BYTES // row_bytes)))


def mean_row_bytes(sizes: Iterable[tuple[int, int]]) -> float:
    """Average uncompressed row size over (rows, bytes) pairs; 0.0 when there are no rows."""
    rows = total = 0
    for n, size in sizes:
        rows += n
        total += size
    return total / rows if rows else 0.0


@contextmanager
def streaming_morsels(row_bytes: float) -> Iterator[None]:
    """Within the block, streaming queries use morsels of about :data:`TARGET_MORSEL_BYTES`.

    The setting is process-wide while the block runs (polars has no per-query knob) and is restored
    on exit; a ``POLARS_IDEAL_MORSEL_SIZE`` the user set is left alone.
    """
    if ENV_VAR in os.environ:
        yield
        return
    with pl.Config(streaming_chunk_size=morsel_rows(row_bytes)):
        yield


def collect_streaming(lf: pl.LazyFrame, row_bytes: float) -> pl.DataFrame:
    """``lf.collect(engine="streaming")`` with morsels sized for rows of ``row_bytes``."""
    with streaming_morsels(row_bytes):
        return lf.collect(engine="streaming")

"""What each pass-1 worker processes: one batch of one file, or several small files joined into one.

Every batch costs polars a fixed few milliseconds of shape, rule and key queries, whatever its size,
so a folder of one file per conversation spent almost all its time on that: 20,000 three-record
files took minutes. Whole small files whose records are read alike (the same adapter state, see
``Shape.batch_key``, the same filters and fields) are therefore joined into one batch of about a
read block. In a joined batch each record's number becomes ``position << RECORD_BITS | record``
(``position``: the file's place in the batch), so records stay distinct and in reading order through
the shape, and :meth:`Work.file_columns` gives each row its file, source and record back.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from prefdata.build.finalize import RECORD_BITS
from prefdata.build.plan import FilePlan
from prefdata.io.records import BATCH_ROWS, BLOCK_BYTES, RecordBatch

#: Files up to this size on disk may be joined with others. Past it a file's own batch costs far more
#: than the fixed cost joining saves (about half a megabyte of records' worth of work).
SMALL_FILE_BYTES = 1024 * 1024
#: A joined batch ends at about this much record text or this many records, as a file's own batches do.
JOINED_BYTES = BLOCK_BYTES
JOINED_ROWS = BATCH_ROWS


@dataclass
class FileColumns:
    """Expressions giving each row of a batch its input file's index, source and name, and its record number."""

    file_idx: pl.Expr
    source: pl.Expr
    file_name: pl.Expr
    record: pl.Expr


@dataclass
class Work:
    """A batch and the files its records came from (one, or several joined small files)."""

    plans: list[FilePlan]
    batch: RecordBatch

    @property
    def plan(self) -> FilePlan:
        """The plan whose adapter, decode spec and filters read every record (alike for all files)."""
        return self.plans[0]

    def file_columns(self) -> FileColumns:
        if len(self.plans) == 1:
            p = self.plans[0]
            return FileColumns(pl.lit(p.index, pl.UInt32), pl.lit(p.source_name, pl.String), pl.lit(p.file.name, pl.String), pl.col("_record"))
        position = pl.col("_record") // (1 << RECORD_BITS)

        def lookup(values: list, dtype: pl.DataType) -> pl.Expr:
            return pl.lit(pl.Series(values, dtype=dtype)).gather(position)

        return FileColumns(
            lookup([p.index for p in self.plans], pl.UInt32),
            lookup([p.source_name for p in self.plans], pl.String),
            lookup([p.file.name for p in self.plans], pl.String),
            pl.col("_record") % (1 << RECORD_BITS),
        )


def join_key(p: FilePlan) -> Hashable | None:
    """What must be equal for two files to share a batch; ``None`` when ``p`` reads in its own batches."""
    if p.file.bytes > SMALL_FILE_BYTES or p.shape.combines:
        return None
    shape = p.shape.batch_key()
    if shape is None:
        return None
    return (shape, repr(p.spec), tuple(f.text for f in p.filters))


class Joiner:
    """Collects whole small files of one layout and hands them out as joined batches, in reading order."""

    def __init__(self, *, max_bytes: int = JOINED_BYTES, max_rows: int = JOINED_ROWS) -> None:
        self.max_bytes, self.max_rows = max_bytes, max_rows
        self._held: list[tuple[FilePlan, RecordBatch]] = []
        self._key: Hashable | None = None
        self._bytes = self._rows = 0

    def add(self, key: Hashable, p: FilePlan, batch: RecordBatch) -> Iterator[Work]:
        """Hold ``p``'s only batch; yields the batch held so far first when ``p`` cannot join it."""
        size = batch.text_bytes()
        if self._held and (key != self._key or self._bytes + size > self.max_bytes or self._rows + batch.records > self.max_rows):
            yield from self.flush()
        self._held.append((p, batch))
        self._key = key
        self._bytes += size
        self._rows += batch.records

    def flush(self) -> Iterator[Work]:
        """The held files as one batch (none when nothing is held)."""
        if not self._held:
            return
        held, self._held, self._bytes, self._rows = self._held, [], 0, 0
        if len(held) == 1:
            yield Work([held[0][0]], held[0][1])
            return
        yield Work([p for p, _ in held], _joined([b for _, b in held]))


def _joined(batches: list[RecordBatch]) -> RecordBatch:
    def renumbered(frames: list[pl.DataFrame]) -> pl.DataFrame:
        """The frames in one, each record number plus its frame's position (one query for all frames)."""
        heights = [f.height for f in frames]
        positions = np.repeat(np.arange(len(frames), dtype=np.int64) << RECORD_BITS, heights)
        return pl.concat(frames).with_columns(pl.col("_record") + pl.Series(positions))

    return RecordBatch(
        lines=renumbered([b.lines for b in batches]),
        rejects=renumbered([b.rejects for b in batches]),
        blank_lines=sum(b.blank_lines for b in batches),
        bytes_read=sum(b.bytes_read for b in batches),
    )

"""Turn dropped rows into ``rejects/``: one row per raw record that gave no pair, with its raw text.

A record is rejected when none of its pairs reached the output; its reason is that of its first
dropped row (reading errors come before shape rules, which come before dedup). Rows dropped by
pass 2 (duplicates, unpaired feedback) carry no raw text; it is fetched back from the raw file by
record number, so rejects always show exactly what the raw file held.

The rejects file is streamed: pass 1's drops (which carry raw text) are read back about
``STEP_BYTES`` at a time, in reading order and so in record order; pass 2's drops, spilled as runs
sorted by record (a partition's duplicates, and each feedback source's unpaired and bad rows), are
read back a piece of each run at a time; the two are merged
by record number (:func:`merge_first`), and the raw text of pass 2's rejects is read back in pieces
of about a read block. Memory holds one step and a piece of each run, so a log that is all rejects,
or all duplicates, costs no more to build than one that is all pairs.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from prefdata.build.finalize import raw_order
from prefdata.build.output import ParquetStream, content_bytes
from prefdata.errors import ReconciliationError, writing
from prefdata.io.discover import InputFile
from prefdata.io.records import LineIndex, RecordCursor
from prefdata.schema import REJECT_SCHEMA

KEY = "_key"


def _keyed(df: pl.DataFrame) -> pl.DataFrame:
    """Add ``_key``: ``(file index, record)`` as one sortable number."""
    return df.with_columns(raw_order(pl.col("_file_idx"), pl.col("_record")).alias(KEY))


@dataclass
class RejectCounts:
    """What the rejects file holds, counted as it is written (the manifest's ``counts`` come from here)."""

    by_file_source_reason: Counter[tuple[int, str, str]] = field(default_factory=Counter)
    pairs_dropped_by_reason: Counter[str] = field(default_factory=Counter)

    @property
    def rows(self) -> int:
        return sum(self.by_file_source_reason.values())

    def by_file(self) -> Counter[int]:
        out: Counter[int] = Counter()
        for (file_idx, _, _), n in self.by_file_source_reason.items():
            out[file_idx] += n
        return out

    def by_reason(self, source: str | None = None) -> dict[str, int]:
        """Rejected records per reason (of one source, or all), in reason order."""
        out: Counter[str] = Counter()
        for (_, src, reason), n in self.by_file_source_reason.items():
            if source is None or src == source:
                out[reason] += n
        return dict(sorted(out.items()))

    def add(self, rejects: pl.DataFrame) -> None:
        for file_idx, source, reason, n in rejects.group_by("_file_idx", "source", "_reason").len().iter_rows():
            self.by_file_source_reason[(file_idx, source, reason)] += n

    def add_pair_drops(self, drops: pl.DataFrame) -> None:
        for reason, n in drops.group_by("_reason").len().iter_rows():
            self.pairs_dropped_by_reason[reason] += n


class RawText:
    """Fills in the raw text of rejects that lack it; asked in ascending (file, record) order.

    Plain JSON-lines files and JSON arrays answer from their :class:`LineIndex` (one ``pread`` per
    record); other files from a :class:`RecordCursor`, which reads each file once however many
    times it is asked.
    """

    def __init__(self, files: Sequence[InputFile], line_indexes: dict[int, LineIndex]) -> None:
        self._files = files
        self._indexes = line_indexes
        self._cursors: dict[int, RecordCursor] = {}

    def fill(self, rejects: pl.DataFrame) -> Iterator[pl.DataFrame]:
        """``rejects`` (in file and record order) with their raw text, in order, in pieces of about
        a read block of fetched text: a run of pass-2 rejects is never fetched whole."""
        for (file_idx,), group in rejects.group_by("_file_idx", maintain_order=True):
            missing = group.filter(pl.col("_raw").is_null()).get_column("_record")
            if missing.len() == 0:
                yield group
                continue
            index = self._indexes.get(int(file_idx))
            if index is not None:
                pieces = index.fetch_pieces(missing)
            else:
                self._close_before(int(file_idx))  # asked in file order: earlier files are done
                pieces = self._cursors.setdefault(int(file_idx), RecordCursor(self._files[int(file_idx)])).take(missing)
            records = group.get_column("_record")
            done = 0  # rows of ``group`` already given
            for hit in _naming(pieces, self._files[int(file_idx)]):
                end = int(records.search_sorted(int(hit.get_column("_record").max()), side="right"))
                part = group.slice(done, end - done)
                done = end
                yield part.join(hit.rename({"_line": "_fetched"}), on="_record", how="left", maintain_order="left").with_columns(
                    pl.coalesce("_raw", "_fetched").alias("_raw")
                ).drop("_fetched")
            if done < group.height:
                yield group.slice(done)

    def _close_before(self, file_idx: int) -> None:
        for done in [i for i in self._cursors if i < file_idx]:
            self._cursors.pop(done).close()

    def close(self) -> None:
        """Close every file still open: at most one, as earlier ones are closed when a later one is asked."""
        self._close_before(len(self._files))


def _naming(pieces: Iterator[pl.DataFrame], file: InputFile) -> Iterator[pl.DataFrame]:
    """``pieces``, with a read error that names no file (``os.pread`` on a failing disk) naming the
    RAW file read back, so the user knows which disk to look at."""
    try:
        yield from pieces
    except OSError as exc:
        if exc.filename is not None or exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror, os.fspath(file.path)) from exc


def _first_per_record(drops: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """Each record's first drop row, sorted by record: first by ``by``, then in the order written."""
    return drops.sort([KEY, *by], maintain_order=True).unique(subset=KEY, keep="first", maintain_order=True)


def _between(keys: pl.Series, lo: int, hi: int) -> pl.Series:
    """The sorted ``keys`` with ``lo <= key <= hi``."""
    start, end = int(keys.search_sorted(lo, side="left")), int(keys.search_sorted(hi, side="right"))
    return keys.slice(start, end - start)


#: Pass-1 drop batches are taken together up to this size: fewer, larger steps cost less per reject.
STEP_BYTES = 32 * 1024 * 1024


def _in_steps(groups: Iterable[pl.DataFrame], step_bytes: int) -> Iterator[pl.DataFrame]:
    """Consecutive drop batches joined into frames of about ``step_bytes``."""
    held: list[pl.DataFrame] = []
    size = 0
    for group in groups:
        if group.height == 0:
            continue
        held.append(group)
        size += content_bytes(group)
        if size >= step_bytes:
            yield pl.concat(held)
            held, size = [], 0
    if held:
        yield pl.concat(held)


def rejected_records(
    early: Iterable[pl.DataFrame],
    late: Iterable[Iterable[pl.DataFrame]],
    done: pl.Series,
    counts: RejectCounts,
    *,
    step_bytes: int = STEP_BYTES,
) -> Iterator[pl.DataFrame]:
    """Reject rows in (file, record) order, a piece at a time, with ``_key``; pair drops go to ``counts``.

    ``early`` yields pass 1's drops batch by batch in reading order, taken ``step_bytes`` at a time;
    ``late`` holds pass 2's drops as runs, each a sequence of pieces sorted by (file, record), in the
    order they were written; ``done`` the sorted keys of the records that gave pairs
    (``finalize.record_keys``). A record that gave a pair is no reject: its dropped rows are counted
    as pair drops. A record dropped in both passes is rejected for its pass-1 reason, which came
    first; one dropped more than once in pass 2 (several of its pairs, in several partitions) for its
    drop that sorts first by ``LATE_ORDER``, so the rejects do not depend on the partition count.
    """

    def not_in_output(frame: pl.DataFrame) -> pl.DataFrame:
        keys = frame.get_column(KEY)
        gave_pairs = keys.is_in(_between(done, int(keys.min()), int(keys.max())).implode())
        counts.add_pair_drops(frame.filter(gave_pairs))
        return frame.filter(~gave_pairs)

    def early_rows() -> Iterator[pl.DataFrame]:
        last = -1
        for group in _in_steps(early, step_bytes):
            group = _keyed(group)
            lo = int(group.get_column(KEY).min())
            if lo <= last:
                raise ReconciliationError(f"pass-1 drops out of record order ({lo} after {last}; a bug in prefdata)")
            last = int(group.get_column(KEY).max())
            yield _first_per_record(not_in_output(group))

    def late_rows(run: Iterable[pl.DataFrame]) -> Iterator[pl.DataFrame]:
        for piece in run:
            if piece.height:
                yield not_in_output(_keyed(piece))

    yield from merge_first([early_rows(), *(late_rows(run) for run in late)], tie=LATE_ORDER)


#: Among pass 2's drop rows of one record (a record of several pairs, duplicated in several
#: partitions), the one kept: the first by these columns, whichever partition each fell in.
LATE_ORDER = ("_reason", "_detail")


def merge_first(streams: Sequence[Iterator[pl.DataFrame]], *, tie: Sequence[str] = ()) -> Iterator[pl.DataFrame]:
    """Streams of frames sorted by ``_key``, merged into frames in ``_key`` order, a piece at a time.

    Of the rows with one key, the first stream's row is kept; among the other streams' rows of that
    key (when the first has none), the first by ``tie``, then stream and row order. Each round takes,
    from every stream, the rows up to the smallest last key any stream holds (reading on while a
    stream's next piece still holds that key), so memory holds about one piece per stream and no key
    is given out before all its rows are in hand. Streams with nothing up to that key are passed over
    at the cost of one comparison, so a build of hundreds of runs does not pay per run per round.
    """
    held: list[tuple[pl.DataFrame, np.ndarray] | None] = [None] * len(streams)

    def ready(i: int) -> bool:
        """Whether stream ``i`` holds rows, reading its next pieces if it holds none."""
        while held[i] is None or len(held[i][1]) == 0:  # type: ignore[index]
            frame = next(streams[i], None)
            if frame is None:
                held[i] = None
                return False
            held[i] = (frame, frame.get_column(KEY).to_numpy())
        return True

    def take(i: int, bound: int) -> list[pl.DataFrame]:
        """Stream ``i``'s rows with keys up to ``bound``, from as many pieces as hold them."""
        parts = []
        while ready(i):
            frame, keys = held[i]  # type: ignore[misc]
            if keys[0] > bound:
                break
            cut = int(np.searchsorted(keys, bound, side="right"))
            parts.append(frame.slice(0, cut).with_columns(pl.lit(0 if i == 0 else 1, pl.UInt8).alias("__tier")))
            held[i] = (frame.slice(cut), keys[cut:])
            if cut < len(keys):
                break
        return parts

    live = [i for i in range(len(streams)) if ready(i)]
    while live:
        bound = min(int(held[i][1][-1]) for i in live)  # type: ignore[index]
        rows = pl.concat([part for i in live for part in take(i, bound)])
        yield _first_per_record(rows, by=["__tier", *tie]).drop("__tier")
        live = [i for i in live if ready(i)]


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


def write_rejects(
    early: Iterable[pl.DataFrame],
    late: Iterable[Iterable[pl.DataFrame]],
    done: pl.Series,
    raw: RawText,
    file_names: Sequence[str],
    path: Path,
    compression: str,
) -> RejectCounts:
    """Write ``rejects/`` at ``path`` (see the module docstring) and return what it holds."""
    counts = RejectCounts()
    # ``writing`` wraps the writes alone: a read of the spill or of RAW (the rejects' raw text) that
    # fails is the read's error, not a refused write of the rejects shard
    with writing(path):
        stream = ParquetStream(path, REJECT_SCHEMA, compression, long_text=("detail", "raw"))
    try:
        for rows in rejected_records(early, late, done, counts):
            counts.add(rows)
            for piece in raw.fill(rows):
                table = to_reject_table(piece, file_names)
                with writing(path):
                    stream.write(table)
    finally:
        raw.close()
        with writing(path):
            stream.close()
    return counts

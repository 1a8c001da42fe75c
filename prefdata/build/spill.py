"""Pass-1 spill: Arrow IPC files on local disk, laid out by hash partition.

Cross-record steps need some rows together: dedup the copies of a pair, feedback pairing every row
of one prompt (the split needs none: its key is a hash). Writing pass-1 rows into ``partitions``
buckets by such a hash (``_bucket``, see ``rules.with_keys``) makes those steps local to a bucket, so
memory is bounded by one bucket rather than by the dataset, and the same layout maps onto a
distributed engine's hash repartition.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.ipc

from prefdata.errors import writing

#: Late runs are written in record batches of this many rows, and read back a few batches a run at a
#: time: about ``LATE_BUFFER_ROWS`` rows (some 150 bytes each) for all runs together, or one batch a
#: run when there are more than 128 runs.
LATE_BATCH_ROWS = 8192
LATE_BUFFER_ROWS = 1 << 20

DROP_SCHEMA = pl.Schema(
    {
        "_file_idx": pl.UInt32,
        "_record": pl.Int64,
        "source": pl.String,
        "_reason": pl.String,
        "_field": pl.String,
        "_detail": pl.String,
        "_raw": pl.String,
    }
)


class Spill:
    """Pass-1 rows by kind and bucket. With one partition (input up to one partition's size) they
    stay in memory: writing and re-reading them would cost a third of a small build.

    Worker threads write concurrently, each with a sequence number the reading thread reserved in
    reading order (:meth:`reserve`): every bucket reads back in that order, whatever the thread timing.
    """

    def __init__(self, root: Path, partitions: int, *, in_memory: bool | None = None) -> None:
        self.root = root
        self.partitions = partitions
        self.in_memory = partitions == 1 if in_memory is None else in_memory
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._frames: dict[tuple[str, ...], list[tuple[tuple[int, int], pl.DataFrame]]] = {}
        root.mkdir(parents=True, exist_ok=True)

    def reserve(self) -> int:
        """The next sequence number: frames written with it read back after all earlier ones."""
        with self._lock:
            return next(self._seq)

    def _write(self, df: pl.DataFrame, parts: tuple[str, ...], key: tuple[int, int]) -> None:
        if df.height == 0:
            return
        if self.in_memory:
            with self._lock:
                self._frames.setdefault(parts, []).append((key, df))
            return
        folder = self.root.joinpath(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{key[0]:010d}-{key[1]:04d}.arrow"
        with writing(path):
            df.write_ipc(path, compression="uncompressed")

    def _read_grouped(self, *parts: str) -> Iterator[list[pl.DataFrame]]:
        """Frames in sequence order, those written under one sequence number together, read as iterated."""
        if self.in_memory:
            keyed = sorted(self._frames.get(parts, []), key=lambda kv: kv[0])
            for _, group in itertools.groupby(keyed, key=lambda kv: kv[0][0]):
                yield [df for _, df in group]
            return
        folder = self.root.joinpath(*parts)
        files = sorted(folder.glob("*.arrow")) if folder.exists() else []
        for _, group in itertools.groupby(files, key=lambda f: f.name.split("-", 1)[0]):
            yield [pl.scan_ipc(f, glob=False).collect() for f in group]  # the path literally: OUT may be named "[v1]"

    def _read(self, *parts: str) -> list[pl.DataFrame]:
        return [df for frames in self._read_grouped(*parts) for df in frames]

    def write_rows(self, kind: str, df: pl.DataFrame, seq: int | None = None) -> None:
        """Rows with a ``_bucket`` column, split into their buckets (``kind`` names the row type)."""
        if df.height == 0:
            return
        key = (self.reserve() if seq is None else seq, 0)
        if self.partitions == 1:
            self._write(df, (kind, "00000"), key)
            return
        for (bucket,), part in df.partition_by("_bucket", as_dict=True, maintain_order=True).items():
            self._write(part, (kind, f"{int(bucket):05d}"), key)

    def write_drops(self, frames: pl.DataFrame | list[pl.DataFrame], seq: int | None = None, *, late: bool = False) -> None:
        """Drop rows (one frame or several, read back in the order given).

        Pass 1 writes each batch's drops under its reserved number (:meth:`drop_groups` reads them
        back batch by batch); pass 2 writes ``late`` drops, which carry no raw text, each frame one
        run sorted by (file, record) (:meth:`late_runs`).
        """
        seq = self.reserve() if seq is None else seq
        for i, df in enumerate([frames] if isinstance(frames, pl.DataFrame) else frames):
            df = df.select(DROP_SCHEMA.names()).cast(dict(DROP_SCHEMA))
            if late:
                self._write_run(df.sort("_file_idx", "_record", maintain_order=True), (seq, i))
            else:
                self._write(df, ("drops",), (seq, i))

    def _write_run(self, df: pl.DataFrame, key: tuple[int, int]) -> None:
        """A late run on disk in record batches of ``LATE_BATCH_ROWS``, so it can be read back a piece at a time."""
        if df.height == 0 or self.in_memory:
            self._write(df, ("late-drops",), key)
            return
        folder = self.root / "late-drops"
        folder.mkdir(parents=True, exist_ok=True)
        table, path = df.to_arrow(), folder / f"{key[0]:010d}-{key[1]:04d}.arrow"
        with writing(path), pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table, max_chunksize=LATE_BATCH_ROWS)

    def late_runs(self) -> list[Iterator[pl.DataFrame]]:
        """Pass-2 drop rows (duplicates, unpaired feedback) as runs, each sorted by (file, record) and
        read a piece at a time, in the order they were written: memory holds a piece of each run, not
        every duplicate of the build (13 million short records, each written twice: 1.4 GB peak; 15 million,
        each twice, with every duplicate held: 3.9 GB)."""
        if self.in_memory:
            return [_pieces(df, LATE_BATCH_ROWS) for df in self._read("late-drops")]
        folder = self.root / "late-drops"
        files = sorted(folder.glob("*.arrow")) if folder.exists() else []
        return [_read_run(f, max(1, LATE_BUFFER_ROWS // (LATE_BATCH_ROWS * len(files)))) for f in files]

    def read_rows(self, kind: str, bucket: int) -> pl.DataFrame | None:
        frames = self._read(kind, f"{bucket:05d}")
        return pl.concat(frames, how="vertical_relaxed") if frames else None

    def drop_groups(self) -> Iterator[pl.DataFrame]:
        """Pass-1 drop rows one batch at a time, in reading order: memory holds one batch's drops."""
        for frames in self._read_grouped("drops"):
            yield pl.concat(frames)



def _pieces(df: pl.DataFrame, rows: int) -> Iterator[pl.DataFrame]:
    for start in range(0, df.height, rows):
        yield df.slice(start, rows)


def _read_run(path: Path, batches: int) -> Iterator[pl.DataFrame]:
    """A late run ``batches`` record batches at a time; the file is open only while a piece is read,
    so a build of a thousand partitions does not hold a thousand files open."""
    done = 0
    while True:
        with pa.OSFile(str(path), "rb") as source:
            reader = pa.ipc.open_file(source)
            upto = min(reader.num_record_batches, done + batches)
            got = [reader.get_batch(i) for i in range(done, upto)]
        if not got:
            return
        done = upto
        yield pl.from_arrow(pa.Table.from_batches(got))  # type: ignore[misc]

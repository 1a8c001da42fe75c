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
        df.write_ipc(folder / f"{key[0]:010d}-{key[1]:04d}.arrow", compression="uncompressed")

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
            yield [pl.read_ipc(f) for f in group]

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
        back batch by batch); pass 2 writes ``late`` drops, which carry no raw text (:meth:`late_drops`).
        """
        seq = self.reserve() if seq is None else seq
        for i, df in enumerate([frames] if isinstance(frames, pl.DataFrame) else frames):
            self._write(df.select(DROP_SCHEMA.names()).cast(dict(DROP_SCHEMA)), ("late-drops" if late else "drops",), (seq, i))

    def read_rows(self, kind: str, bucket: int) -> pl.DataFrame | None:
        frames = self._read(kind, f"{bucket:05d}")
        return pl.concat(frames, how="vertical_relaxed") if frames else None

    def drop_groups(self) -> Iterator[pl.DataFrame]:
        """Pass-1 drop rows one batch at a time, in reading order: memory holds one batch's drops."""
        for frames in self._read_grouped("drops"):
            yield pl.concat(frames)

    def late_drops(self) -> pl.DataFrame:
        """Pass-2 drop rows (duplicates, unpaired feedback), all at once: no raw text, about 150 bytes each."""
        frames = self._read("late-drops")
        return pl.concat(frames) if frames else pl.DataFrame(schema=DROP_SCHEMA)

"""Pass-1 spill: Arrow IPC files on local disk, laid out by hash partition of the prompt.

Cross-record steps (pairing feedback, dedup, split) need every row of one prompt together. Writing
pass-1 rows into ``partitions`` buckets by prompt hash makes those steps local to a bucket, so memory
is bounded by one bucket rather than by the dataset, and the same layout maps onto a distributed
engine's hash repartition.
"""

from __future__ import annotations

import itertools
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
    stay in memory: writing and re-reading them would cost a third of a small build."""

    def __init__(self, root: Path, partitions: int, *, in_memory: bool | None = None) -> None:
        self.root = root
        self.partitions = partitions
        self.in_memory = partitions == 1 if in_memory is None else in_memory
        self._seq = itertools.count()
        self._frames: dict[tuple[str, ...], list[pl.DataFrame]] = {}
        root.mkdir(parents=True, exist_ok=True)

    def _write(self, df: pl.DataFrame, *parts: str) -> None:
        if df.height == 0:
            return
        if self.in_memory:
            self._frames.setdefault(parts, []).append(df)
            return
        folder = self.root.joinpath(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        df.write_ipc(folder / f"{next(self._seq):08d}.arrow", compression="uncompressed")

    def _read(self, *parts: str) -> list[pl.DataFrame]:
        if self.in_memory:
            return self._frames.get(parts, [])
        folder = self.root.joinpath(*parts)
        return [pl.read_ipc(f) for f in sorted(folder.glob("*.arrow"))] if folder.exists() else []

    def write_rows(self, kind: str, df: pl.DataFrame) -> None:
        """Rows with a ``_bucket`` column, split into their buckets (``kind`` names the row type)."""
        if df.height == 0:
            return
        if self.partitions == 1:
            self._write(df, kind, "00000")
            return
        for (bucket,), part in df.partition_by("_bucket", as_dict=True, maintain_order=True).items():
            self._write(part, kind, f"{int(bucket):05d}")

    def write_drops(self, df: pl.DataFrame) -> None:
        self._write(df.select(DROP_SCHEMA.names()).cast(dict(DROP_SCHEMA)), "drops")

    def read_rows(self, kind: str, bucket: int) -> pl.DataFrame | None:
        frames = self._read(kind, f"{bucket:05d}")
        return pl.concat(frames, how="vertical_relaxed") if frames else None

    def drops(self) -> pl.DataFrame:
        frames = self._read("drops")
        return pl.concat(frames) if frames else pl.DataFrame(schema=DROP_SCHEMA)

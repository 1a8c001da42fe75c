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
    def __init__(self, root: Path, partitions: int) -> None:
        self.root = root
        self.partitions = partitions
        self._seq = itertools.count()
        root.mkdir(parents=True, exist_ok=True)

    def _write(self, df: pl.DataFrame, *parts: str) -> None:
        if df.height == 0:
            return
        folder = self.root.joinpath(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        df.write_ipc(folder / f"{next(self._seq):08d}.arrow", compression="uncompressed")

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
        folder = self.root / kind / f"{bucket:05d}"
        files = sorted(folder.glob("*.arrow")) if folder.exists() else []
        if not files:
            return None
        return pl.concat([pl.read_ipc(f) for f in files], how="vertical_relaxed")

    def drops(self) -> pl.DataFrame:
        folder = self.root / "drops"
        files = sorted(folder.glob("*.arrow")) if folder.exists() else []
        if not files:
            return pl.DataFrame(schema=DROP_SCHEMA)
        return pl.concat([pl.read_ipc(f) for f in files])

    def kinds(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and p.name != "drops")

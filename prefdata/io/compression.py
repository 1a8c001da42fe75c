"""Open raw files that may be gzip- or zstd-compressed, as binary streams."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import BinaryIO


def open_binary(path: Path, compression: str | None) -> BinaryIO:
    """A readable binary stream of the decompressed bytes."""
    if compression is None:
        return open(path, "rb")
    if compression == "gzip":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if compression == "zstd":
        import zstandard

        raw = open(path, "rb")  # noqa: SIM115 (handed to the reader, which closes it: closefd=True)
        reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return io.BufferedReader(reader)  # type: ignore[arg-type]
    raise ValueError(f"unknown compression {compression!r}")

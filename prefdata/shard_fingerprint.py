"""Which version of a dataset's shards a ``checks.json`` describes, read in a few KB per shard.

The report shows check results only for the data they were computed on. Modification times cannot
tell (``cp -r`` and ``git clone`` change them on identical files, and an older file copied in keeps
its own), and hashing every byte again would cost ``check`` a second read of the data. A Parquet
file's footer (its schema, and per row group the rows, offsets, sizes and column statistics) and its
length change whenever its content does; an edit that keeps every one of them is not seen.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

#: The Parquet trailer: a 4-byte footer length, then the magic ``PAR1``.
_TRAILER = 8


def fingerprint(path: Path) -> str:
    """sha256 of the file's length and its Parquet footer (the whole file if it has no valid trailer)."""
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        start = 0
        if size >= _TRAILER:
            f.seek(size - _TRAILER)
            trailer = f.read(_TRAILER)
            footer = int.from_bytes(trailer[:4], "little")
            if trailer[4:] == b"PAR1" and footer <= size - _TRAILER:
                start = size - _TRAILER - footer
        f.seek(start)
        digest = hashlib.sha256(size.to_bytes(8, "little"))
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprints(files: dict[str, Path]) -> dict[str, str]:
    """``{name in the dataset: fingerprint}`` in name order, as ``checks.json`` records them."""
    return {name: fingerprint(files[name]) for name in sorted(files)}

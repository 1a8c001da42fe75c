"""Which version of a dataset's shards a ``checks.json`` describes: the sha256 of each shard.

The report shows check results only for the data they were computed on. Modification times cannot
tell (``cp -r`` and ``git clone`` change them on identical files, and an older file copied in keeps
its own), and a Parquet footer cannot either: builds write no column statistics, so an edit of the
same length leaves it as it was. ``check`` hashes every shard anyway for ``shard_integrity`` (the
manifest lists each shard's sha256); the hash is computed once per file version in a process.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from prefdata.build.output import sha256_file


def fingerprint(path: Path) -> str:
    """sha256 (hex) of the file, as ``manifest.json`` lists it."""
    st = os.stat(path)
    return _sha256(os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ino)


@lru_cache(maxsize=4096)
def _sha256(path: str, size: int, mtime_ns: int, inode: int) -> str:
    """Cached by the file's version: ``check`` asks once for shard_integrity and once for checks.json."""
    return sha256_file(Path(path))


def fingerprints(files: dict[str, Path]) -> dict[str, str]:
    """``{name in the dataset: sha256}`` in name order, as ``checks.json`` records them."""
    return {name: fingerprint(files[name]) for name in sorted(files)}

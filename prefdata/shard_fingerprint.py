"""Which version of a dataset's shards a ``checks.json`` describes: the sha256 of each shard.

The report shows check results only for the data they were computed on. Modification times cannot
tell (``cp -r`` and ``git clone`` change them on identical files, and an older file copied in keeps
its own), and a Parquet footer cannot either: builds write no column statistics, so an edit of the
same length leaves it as it was. ``check`` hashes every shard anyway for ``shard_integrity`` (the
manifest lists each shard's sha256); the hash is computed once per file version in a process.

A hash is of the version of a shard that was read, never of whatever lies at its path later: a
rebuild that swaps OUT in while ``check`` runs must not have the old pairs' results stamped with the
new shards' hashes. ``check`` notes each shard's version (:func:`file_version`) as it opens it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from prefdata.build.output import sha256_stream
from prefdata.errors import PrefdataError

#: One version of a file: (device, inode, size, mtime_ns, ctime_ns). A build swaps a new OUT in whole,
#: so a shard it replaced is another inode at the same path. The ctime is there for a file rewritten
#: in place with its size and mtime put back (``cp -p``, ``rsync --inplace -t``, ``os.utime``): nothing
#: but the kernel sets it, so such a copy is a new version whose hash is computed again.
FileVersion = tuple[int, int, int, int, int]
#: Hashes by file version: ``check`` asks once for shard_integrity and once for checks.json.
_HASHES: dict[FileVersion, str] = {}
_MAX_CACHED = 4096


class ShardChangedError(PrefdataError):
    """A shard is no longer the version that was read (a rebuild swapped OUT in, or it was edited)."""


def file_version(path: Path) -> FileVersion:
    """The version of the file at ``path`` now (``OSError`` when it is gone)."""
    return _version(os.stat(path))


def _version(st: os.stat_result) -> FileVersion:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def fingerprint(path: Path, version: FileVersion | None = None) -> str:
    """sha256 (hex) of the file, as ``manifest.json`` lists it; with ``version``, of that version only.

    The bytes hashed are those of the file opened, whose version is read from the same descriptor:
    a file replaced between a stat and the read cannot lend its hash to the other. A file that is
    not ``version``, or that changes while it is hashed, is a :class:`ShardChangedError`.
    """
    if version is not None and version in _HASHES:
        return _HASHES[version]
    try:
        with open(path, "rb") as fh:
            found = _version(os.fstat(fh.fileno()))
            if version is not None and found != version:
                raise ShardChangedError(f"{path}: replaced or changed while it was being read")
            if found not in _HASHES:
                digest = sha256_stream(fh)
                if _version(os.fstat(fh.fileno())) != found:
                    raise ShardChangedError(f"{path}: changed while it was being hashed")
                if len(_HASHES) >= _MAX_CACHED:
                    _HASHES.clear()
                _HASHES[found] = digest
            return _HASHES[found]
    except FileNotFoundError:
        if version is None:
            raise
        raise ShardChangedError(f"{path}: removed while it was being read") from None


def fingerprints(files: dict[str, Path], versions: Mapping[str, FileVersion] | None = None) -> dict[str, str]:
    """``{name in the dataset: sha256}`` in name order, as ``checks.json`` records them; with
    ``versions`` (by name), of the versions that were read (:func:`fingerprint`)."""
    versions = versions or {}
    return {name: fingerprint(files[name], versions.get(name)) for name in sorted(files)}


def changed(files: dict[str, Path], versions: Mapping[str, FileVersion]) -> list[str]:
    """The names in ``versions`` whose file is gone or is another version now, in name order."""
    out = []
    for name in sorted(versions):
        try:
            now = file_version(files[name])
        except OSError:
            now = None
        if now != versions[name]:
            out.append(name)
    return out

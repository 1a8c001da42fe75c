"""Compare a dataset's ``data/`` shards with the ``manifest.json`` that lists them.

``manifest.json`` lists every shard ``build`` wrote with its sha256, and a training record names its
dataset by the manifest's own hash. That name only means something while the shards are the listed
ones: a shard filtered, replaced, added or removed after the build is a different dataset under the
same name, and the manifest's counts (which ``report`` prints) no longer describe it. So ``check``
reports such drift (the ``shard_integrity`` check) and ``train`` refuses it. Hashing costs about a
second per GB of shards.

A dataset without ``manifest.json`` (built elsewhere) has nothing to compare with: :func:`shard_drift`
returns None and the callers say so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from prefdata.config_files import parse_json
from prefdata.shard_fingerprint import fingerprint

MANIFEST = "manifest.json"


class ManifestUnreadable(ValueError):
    """``manifest.json`` exists but its list of shards cannot be read; the message says why."""


@dataclass(frozen=True)
class ShardDrift:
    """Shards (paths relative to the dataset root, e.g. ``data/train-00000-of-00001.parquet``) that
    differ from the manifest: present but not listed, listed but absent, or with another sha256."""

    added: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.missing or self.changed)

    def problems(self) -> list[str]:
        """One line per drifted shard, in path order within added, missing, changed."""
        return (
            [f"{rel} is not listed in {MANIFEST} (added after the build)" for rel in self.added]
            + [f"{rel}, listed in {MANIFEST}, is missing" for rel in self.missing]
            + [f"{rel} is not the shard {MANIFEST} lists (its sha256 differs: changed after the build)" for rel in self.changed]
        )


def listed_shards(manifest: Path) -> dict[str, str | None]:
    """``{relative path: sha256}`` of the ``data/`` shards ``manifest`` lists."""
    try:
        doc = parse_json(manifest.read_text(encoding="utf-8"))
        return {str(o["path"]): o.get("sha256") for o in doc["outputs"] if str(o["path"]).startswith("data/")}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ManifestUnreadable(f"{manifest}: cannot read the list of shards ({type(exc).__name__}: {exc})") from None


def shard_drift(root: Path, shards: Iterable[Path]) -> ShardDrift | None:
    """How the ``shards`` found under ``root`` differ from ``root/manifest.json``; None when there is
    no manifest. Raises :class:`ManifestUnreadable` for a manifest whose shard list cannot be read."""
    manifest = root / MANIFEST
    if not manifest.is_file():
        return None
    listed = listed_shards(manifest)
    present = {Path(f).relative_to(root).as_posix(): Path(f) for f in shards}
    return ShardDrift(
        added=tuple(sorted(present.keys() - listed.keys())),
        missing=tuple(sorted(listed.keys() - present.keys())),
        changed=tuple(rel for rel, path in sorted(present.items()) if rel in listed and fingerprint(path) != listed[rel]),
    )

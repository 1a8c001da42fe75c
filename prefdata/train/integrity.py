"""Hold a dataset's shards to the ``manifest.json`` that lists them, before training on them.

A training record identifies its dataset by the sha256 of ``manifest.json``, which lists every
shard's sha256 and row count. That identity only means something if the shards are the ones the
manifest lists: a shard edited, replaced, added or removed after the build would train a different
model under the same dataset hash. Hashing the shards costs about a second per GB, nothing next to
training, so a mismatch is an error rather than a note in the record.
"""

from __future__ import annotations

import json
from pathlib import Path

from prefdata.build.output import sha256_file
from prefdata.train.data import TrainingData
from prefdata.train.errors import DataError

_FIX = (
    "rebuild it with `prefdata build`, or delete manifest.json to train on the shards as they are "
    "(the training record then hashes each shard instead)"
)


def listed_shards(manifest: Path) -> dict[str, dict]:
    """``{relative path: output entry}`` of the ``data/`` shards ``manifest`` lists."""
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        outputs = doc["outputs"]
        return {o["path"]: o for o in outputs if str(o["path"]).startswith("data/")}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{manifest}: cannot read the list of shards ({type(exc).__name__}: {exc}); {_FIX}") from None


def verify_shards(data: TrainingData) -> None:
    """Raise :class:`DataError` naming the first shard that is not exactly as ``manifest.json`` lists it."""
    if data.manifest is None:
        return
    listed = listed_shards(data.manifest)
    present = {f.relative_to(data.root).as_posix(): f for files in data.shards.values() for f in files}
    for rel in sorted(present.keys() - listed.keys()):
        raise DataError(f"{data.root}: {rel} is not listed in manifest.json (added after the build); {_FIX}")
    for rel in sorted(listed.keys() - present.keys()):
        raise DataError(f"{data.root}: {rel}, listed in manifest.json, is missing; {_FIX}")
    for rel, path in sorted(present.items()):
        if sha256_file(path) != listed[rel].get("sha256"):
            raise DataError(f"{data.root}: {rel} is not the shard manifest.json lists (its sha256 differs: changed after the build); {_FIX}")

"""Hold a dataset's shards to the ``manifest.json`` that lists them, before training on them.

A training record identifies its dataset by the sha256 of ``manifest.json``, which lists every
shard's sha256 and row count. That identity only means something if the shards are the ones the
manifest lists (:mod:`prefdata.manifest_shards`): a shard edited, replaced, added or removed after
the build would train a different model under the same dataset hash. Hashing the shards costs about
a second per GB, nothing next to training, so a mismatch is an error rather than a note in the record.
"""

from __future__ import annotations

from prefdata.manifest_shards import ManifestUnreadable, shard_drift
from prefdata.train.data import TrainingData
from prefdata.train.errors import DataError

_FIX = (
    "rebuild it with `prefdata build`, or delete manifest.json to train on the shards as they are "
    "(the training record then hashes each shard instead)"
)


def verify_shards(data: TrainingData) -> None:
    """Raise :class:`DataError` naming the first shard that is not exactly as ``manifest.json`` lists it."""
    if data.manifest is None:
        return
    try:
        drift = shard_drift(data.root, data.on_disk or tuple(f for files in data.shards.values() for f in files))
    except ManifestUnreadable as exc:
        raise DataError(f"{exc}; {_FIX}") from None
    if drift:
        raise DataError(f"{data.root}: {drift.problems()[0]}; {_FIX}")

"""A dataset's shards against its manifest (``manifest_shards``) and the hash of the version of a
shard that was read (``shard_fingerprint``): what ``check``'s shard_integrity, ``checks.json`` and
``train``'s verify_shards rely on. Expected hashes are hashlib's, orders ``sorted``'s."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

import prefdata.shard_fingerprint as sf
from prefdata.manifest_shards import shard_drift
from prefdata.shard_fingerprint import ShardChangedError, file_version, fingerprint, fingerprints


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _dataset(root: Path, shards: dict[str, bytes], listed: dict[str, str] | None = None) -> dict[str, Path]:
    """``root`` with ``data/`` shards and a manifest listing each (or ``listed``: path -> sha256)."""
    (root / "data").mkdir(parents=True)
    paths = {}
    for name, data in shards.items():
        paths[name] = root / "data" / name
        paths[name].write_bytes(data)
    listed = listed if listed is not None else {f"data/{n}": _sha(d) for n, d in shards.items()}
    (root / "manifest.json").write_text(json.dumps({"outputs": [{"path": p, "sha256": s} for p, s in listed.items()]}), encoding="utf-8")
    return paths


def test_a_shard_edited_in_place_is_drift(tmp_path: Path) -> None:
    """A shard with another sha256 than the manifest lists is drift (module doc: "a shard filtered,
    replaced ... is a different dataset under the same name"): train's verify_shards refuses a dataset
    on ``if drift:``, so a drift made of a changed shard alone must be truthy."""
    shards = _dataset(tmp_path, {"train-00000-of-00001.parquet": b"original bytes", "test-00000-of-00001.parquet": b"other shard"})
    drift = shard_drift(tmp_path, shards.values())
    assert drift is not None and not drift
    shards["train-00000-of-00001.parquet"].write_bytes(b"edited! bytes")  # same path and size, other content
    drift = shard_drift(tmp_path, shards.values())
    assert drift is not None and bool(drift)
    assert (drift.added, drift.missing, drift.changed) == ((), (), ("data/train-00000-of-00001.parquet",))
    assert drift.problems() == [
        "data/train-00000-of-00001.parquet is not the shard manifest.json lists (its sha256 differs: changed after the build)"
    ]


def test_missing_shards_are_named_in_path_order(tmp_path: Path) -> None:
    """``problems()`` lists drifted shards "in path order within added, missing, changed" (its doc), so
    train names the same first missing shard every run. Twelve names: a set's order is sorted by chance
    about once in 479 million."""
    names = [f"data/train-{i:05d}-of-00012.parquet" for i in range(12)]
    _dataset(tmp_path, {}, listed={n: "0" * 64 for n in reversed(names)})
    drift = shard_drift(tmp_path, [])
    assert drift is not None and drift.missing == tuple(names)
    assert drift.problems()[0] == "data/train-00000-of-00012.parquet, listed in manifest.json, is missing"


def test_fingerprints_are_in_name_order(tmp_path: Path) -> None:
    """``{name in the dataset: sha256} in name order, as checks.json records them`` (its doc), whatever
    the order of the dict it is given."""
    files = {}
    for name in ("train-00001-of-00002.parquet", "test-00000-of-00001.parquet", "train-00000-of-00002.parquet"):
        (tmp_path / name).write_bytes(name.encode())
        files[f"data/{name}"] = tmp_path / name
    got = fingerprints(files)
    assert list(got) == ["data/test-00000-of-00001.parquet", "data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"]
    assert got == {n: _sha(p.name.encode()) for n, p in files.items()}


def test_a_version_replaced_since_it_was_read_is_not_hashed(tmp_path: Path) -> None:
    """``fingerprint(path, version)`` hashes that version only (module doc): after a rebuild swaps a new
    shard in at the path, the new file's hash must not be stamped on results computed from the old."""
    shard = tmp_path / "train.parquet"
    shard.write_bytes(b"old pairs")
    read = file_version(shard)
    (tmp_path / "new.parquet").write_bytes(b"new pairs")
    os.replace(tmp_path / "new.parquet", shard)
    with pytest.raises(ShardChangedError, match="replaced or changed while it was being read"):
        fingerprint(shard, read)
    assert fingerprint(shard) == _sha(b"new pairs")


def test_a_shard_appended_to_while_it_is_hashed_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that changes while it is hashed is a ShardChangedError (``fingerprint``'s doc), not a hash
    of bytes that are no longer the file's."""
    path = tmp_path / "s.parquet"
    path.write_bytes(b"x" * 1000)
    real = sf.sha256_stream

    def appended_while_read(fh):  # type: ignore[no-untyped-def]
        digest = real(fh)
        with open(path, "ab") as other:
            other.write(b"more")
        return digest

    monkeypatch.setattr(sf, "sha256_stream", appended_while_read)
    with pytest.raises(ShardChangedError, match="changed while it was being hashed"):
        fingerprint(path)
    monkeypatch.setattr(sf, "sha256_stream", real)
    assert fingerprint(path) == _sha(b"x" * 1000 + b"more")


def test_a_shard_listed_without_a_sha256_is_drift(tmp_path: Path) -> None:
    """The manifest vouches for a shard by its sha256 (module doc: "the manifest lists every shard with its
    sha256"; README: train refuses a shard whose sha256 is not the one the manifest lists). A hand-edited
    manifest entry without one vouches for no bytes: the shard is changed, not certified whatever it holds."""
    train = "train-00000-of-00001.parquet"
    shards = _dataset(tmp_path, {train: b"any bytes", "test-00000-of-00001.parquet": b"other shard"})
    (tmp_path / "manifest.json").write_text(json.dumps({"outputs": [
        {"path": f"data/{train}"},
        {"path": "data/test-00000-of-00001.parquet", "sha256": _sha(b"other shard")},
    ]}), encoding="utf-8")
    drift = shard_drift(tmp_path, shards.values())
    assert drift is not None and drift
    assert (drift.added, drift.missing, drift.changed) == ((), (), (f"data/{train}",))

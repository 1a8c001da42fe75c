"""The seeded-defect fixture (fixtures/check/seeded/) written out as a dataset in the canonical layout.

``pairs.jsonl`` holds one row per pair with two extra keys: ``key`` (a readable name used by
``planted.json``) and ``shard`` (the Parquet file it goes to). Shards whose rows carry ``"raw": true``
are written with the types the rows have (plain-string messages, an extra column, extra message
fields) instead of being cast to the canonical schema: those are the TRL-trap shards.

``manifest.json`` lists every shard with its sha256, as ``build`` writes it, except shards whose rows
carry ``"unlisted": true``: those stand for a shard added after the build (``shard_integrity``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import polars as pl

from prefdata.build.output import sha256_file
from prefdata.schema import CANONICAL_SCHEMA

ROOT = Path(__file__).resolve().parents[2]
SEEDED = ROOT / "fixtures" / "check" / "seeded"
META = ("key", "shard", "raw", "unlisted")


def rows() -> list[dict]:
    return [json.loads(line) for line in (SEEDED / "pairs.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


def planted() -> dict[str, list[str]]:
    return json.loads((SEEDED / "planted.json").read_text(encoding="utf-8"))


def ids_by_key() -> dict[str, str]:
    return {r["key"]: r["id"] for r in rows()}


def planted_ids() -> dict[str, set[str]]:
    keys = ids_by_key()
    return {check: {keys[k] for k in names} for check, names in planted().items()}


def _null_to_string(dtype: pl.DataType) -> pl.DataType:
    """Parquet cannot store an all-null column of type Null: make such fields nullable strings."""
    if dtype == pl.Null:
        return pl.String
    if isinstance(dtype, pl.List):
        return pl.List(_null_to_string(dtype.inner))
    if isinstance(dtype, pl.Struct):
        return pl.Struct({f.name: _null_to_string(f.dtype) for f in dtype.fields})
    return dtype


def materialize(out: Path, *, keys: set[str] | None = None) -> Path:
    """Write the fixture (or only the rows whose key is in ``keys``) to ``out/data/*.parquet``."""
    shards: dict[str, list[dict]] = defaultdict(list)
    for row in rows():
        if keys is None or row["key"] in keys:
            shards[row["shard"]].append(row)
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    listed = []
    for name, members in sorted(shards.items()):
        raw = any(r.get("raw") for r in members)
        records = [{k: v for k, v in r.items() if k not in META} for r in members]
        if raw:
            frame = pl.DataFrame(records, infer_schema_length=None)
            frame = frame.cast({c: _null_to_string(t) for c, t in frame.schema.items()})
        else:
            frame = pl.DataFrame(records, schema=CANONICAL_SCHEMA)
        path = data / f"{name}.parquet"
        frame.write_parquet(path)
        if not any(r.get("unlisted") for r in members):
            listed.append({"path": f"data/{path.name}", "sha256": sha256_file(path), "rows": frame.height})
    (out / "manifest.json").write_text(json.dumps({"outputs": listed}, indent=2), encoding="utf-8")
    return out


def clean_keys() -> set[str]:
    return {r["key"] for r in rows() if r["key"].startswith("clean-")}

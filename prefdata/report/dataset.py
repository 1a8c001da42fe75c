"""Find what a dataset directory holds: shards per split, manifest, rejects and check results.

The report reads only what earlier stages wrote to disk (docs/contracts.md). A dataset someone else
built is accepted with just ``data/*.parquet``; everything else is optional and the report says
what it could not show and why, rather than guessing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from prefdata.build.output import shards_by_split
from prefdata.report.errors import ChecksFileError, DatasetError
from prefdata.schema import MESSAGES

#: Columns the report cannot do without; the other canonical columns only enable parts of it.
REQUIRED_COLUMNS = ("prompt", "chosen", "rejected")
#: Where a pairwise source records which displayed position won ("a"/"b"); null for other shapes.
#: Canonical (prefdata/schema.py), but optional here so that datasets built elsewhere still report.
POSITION_COLUMNS = ("chosen_position",)
SEVERITIES = ("error", "warn", "info")


@dataclass(frozen=True)
class Dataset:
    """A dataset directory as the report sees it (all paths absolute)."""

    root: Path
    shards: dict[str, list[Path]]
    schema: pl.Schema
    manifest: dict[str, Any] | None
    rejects: list[Path]
    checks: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)

    @property
    def splits(self) -> list[str]:
        return list(self.shards)

    @property
    def position_column(self) -> str | None:
        return next((c for c in POSITION_COLUMNS if c in self.schema), None)

    def scan(self, columns: list[str] | None = None) -> pl.LazyFrame:
        """All shards as one LazyFrame with a ``split`` column, in split order then file order."""
        frames = []
        for split, files in self.shards.items():
            lf = pl.scan_parquet(files)
            if columns is not None:
                lf = lf.select([c for c in columns if c in self.schema])
            frames.append(lf.with_columns(pl.lit(split).alias("split")))
        return pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]


def split_order(split: str) -> tuple[int, str]:
    """train, validation, test first (as the Hub lists them), then any other split by name."""
    return ({"train": 0, "validation": 1, "test": 2}.get(split, 3), split)


def open_dataset(path: str | Path, *, checks: dict[str, Any] | None = None) -> Dataset:
    """Inspect ``path`` and return what it holds; raises :class:`DatasetError` if it has no canonical data.

    ``checks`` (a ``checks.json`` document already in memory, e.g. from ``prefdata.check``) takes the
    place of ``OUT/checks.json``.
    """
    root = Path(path).resolve()
    if not root.is_dir():
        raise DatasetError(f"{path}: no such directory (expected a dataset written by `prefdata build`)")
    shards = shards_by_split(root)
    if not shards:
        raise DatasetError(f"{path}: no data/*.parquet shards; is this the OUT directory of `prefdata build`?")
    shards = {s: shards[s] for s in sorted(shards, key=split_order)}

    schema = _schema(shards)
    notes: list[str] = []
    manifest = _read_json(root / "manifest.json", DatasetError)
    if manifest is None:
        notes.append("No manifest.json: read/rejected counts come from the data and rejects/ alone.")
    rejects = sorted((root / "rejects").glob("*.parquet"))

    if checks is None:
        checks_path = root / "checks.json"
        checks = _read_json(checks_path, ChecksFileError)
        shard_times = (f.stat().st_mtime for fs in shards.values() for f in fs)
        if checks is not None and max(shard_times) > checks_path.stat().st_mtime:
            notes.append("checks.json is older than the data shards: the check results may be stale.")
    if checks is not None:
        validate_checks(checks)
    return Dataset(root=root, shards=shards, schema=schema, manifest=manifest, rejects=rejects, checks=checks, notes=notes)


def _schema(shards: dict[str, list[Path]]) -> pl.Schema:
    schemas = {}
    for files in shards.values():
        for f in files:
            try:
                schemas[f] = pl.read_parquet_schema(f)
            except Exception as exc:  # polars raises several types for unreadable files
                raise DatasetError(f"{f}: not a readable Parquet file ({exc})") from exc
    first_file, schema = next(iter(schemas.items()))
    for f, other in schemas.items():
        for name in REQUIRED_COLUMNS:
            if name not in other:
                raise DatasetError(f"{f}: missing canonical column {name!r} (see prefdata/schema.py)")
            if other[name] != MESSAGES:
                raise DatasetError(f"{f}: column {name!r} is {other[name]}, expected {MESSAGES} (a list of messages)")
        if other != schema:
            raise DatasetError(f"{f}: columns differ from {first_file.name}; every shard must have the same schema")
    return pl.Schema(schema)


def _read_json(path: Path, error: type[Exception]) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise error(f"{path}: expected a JSON object at the top level")
    return doc


def validate_checks(doc: dict[str, Any]) -> None:
    """Check the fields the report relies on (docs/contracts.md); unknown fields are allowed."""

    def fail(where: str, what: str) -> None:
        raise ChecksFileError(f"checks.json: {where}: {what} (see docs/contracts.md)")

    for key in ("checks", "expectations"):
        if key in doc and not isinstance(doc[key], list):
            fail(key, "must be a list")
    for i, check in enumerate(doc.get("checks", [])):
        where = f"checks[{i}]"
        if not isinstance(check, dict):
            fail(where, "must be an object")
        if not isinstance(check.get("id"), str):
            fail(f"{where}.id", "must be a string")
        if check.get("severity") not in SEVERITIES:
            fail(f"{where}.severity", f"must be one of {', '.join(SEVERITIES)}, got {check.get('severity')!r}")
        if not isinstance(check.get("passed"), bool):
            fail(f"{where}.passed", "must be true or false")
        ids = check.get("offending_ids", [])
        if not isinstance(ids, list) or not all(isinstance(x, str) for x in ids):
            fail(f"{where}.offending_ids", "must be a list of pair ids")
    for i, exp in enumerate(doc.get("expectations", [])):
        where = f"expectations[{i}]"
        if not isinstance(exp, dict) or not isinstance(exp.get("expectation_type"), str):
            fail(where, "must be an object with an expectation_type")
        if not isinstance(exp.get("success"), bool):
            fail(f"{where}.success", "must be true or false")

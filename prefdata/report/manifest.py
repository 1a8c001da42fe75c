"""Read ``manifest.json`` for the counts it adds to the report, and refuse to trust a malformed one.

The manifest is metadata: the shards are the truth for pairs, and the manifest only adds how many
records were read and rejected, and the card's split -> files map. So a manifest that is not valid
JSON, or whose counts have the wrong types, does not stop the report: it is ignored as a whole (a
manifest wrong in one field cannot be trusted in the others), the report says which field is wrong,
and the card is not rewritten from it. Only the fields the report and the card read are checked
(docs/contracts.md); unknown fields are allowed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefdata.config_files import parse_json

COUNT_FIELDS = ("records_read", "pairs_written", "records_rejected")
COUNT_MAPS = ("rejected_by_reason", "pairs_by_split")
#: Fields of ``outputs``/``inputs`` items the card slices (so null breaks it); the others it only prints.
SLICED = ("path", "sha256")


class ManifestProblem(ValueError):
    """``manifest.json`` cannot be used; the message names the field."""


def read_json_object(path: Path, error: type[Exception], prefix: str = "") -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when there is no such file; ``error`` (its message
    starting with ``prefix``) when the file is not JSON or not an object."""
    if not path.exists():
        return None
    try:
        doc = parse_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{prefix}not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise error(f"{prefix}expected a JSON object at the top level")
    return doc


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest at ``path``, or None when there is none; :class:`ManifestProblem` when it is unusable."""
    doc = read_json_object(path, ManifestProblem)
    if doc is not None:
        validate_manifest(doc)
    return doc


def _show(value: Any, limit: int = 60) -> str:
    """A wrong value as JSON, cut short: the message names the field, not a whole nested object."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ManifestProblem(f"{where}: expected a whole number >= 0, got {_show(value)}")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ManifestProblem(f"{where}: expected an object, got {_show(value)}")
    return value


def _count_map(value: Any, where: str) -> None:
    for key, n in _object(value, where).items():
        _count(n, f"{where}.{key}")


def validate_manifest(doc: dict[str, Any]) -> None:
    """Raise :class:`ManifestProblem` naming the first field the report or the card cannot read."""
    counts = _object(doc.get("counts", {}), "counts")
    for key in COUNT_FIELDS:
        if key in counts:
            _count(counts[key], f"counts.{key}")
    for key in COUNT_MAPS:
        if key in counts:
            _count_map(counts[key], f"counts.{key}")
    for source, entry in _object(counts.get("by_source", {}), "counts.by_source").items():
        for key in COUNT_FIELDS:  # pairs_written too: the report compares it with the shards
            if key in _object(entry, f"counts.by_source.{source}"):
                _count(entry[key], f"counts.by_source.{source}.{key}")
    _files(doc, "outputs", ("split",), ("rows",))
    _files(doc, "inputs", ("source", "shape", "sha256"), ("records",))


def _text(value: Any, where: str, *, nullable: bool) -> None:
    if not (isinstance(value, str) or (nullable and value is None)):
        raise ManifestProblem(f"{where}: expected a string, got {_show(value)}")


def _files(doc: dict[str, Any], key: str, texts: tuple[str, ...], numbers: tuple[str, ...]) -> None:
    """``outputs``/``inputs``: lists of objects with a ``path``, names as strings, sizes as counts (the card formats them)."""
    items = doc.get(key, [])
    if not isinstance(items, list):
        raise ManifestProblem(f"{key}: expected a list, got {_show(items)}")
    for i, item in enumerate(items):
        _object(item, f"{key}[{i}]")
        for name in ("path", *texts):
            if name == "path" or name in item:
                _text(item.get(name), f"{key}[{i}].{name}", nullable=name not in SLICED)
        for name in numbers:
            if name in item:
                _count(item[name], f"{key}[{i}].{name}")

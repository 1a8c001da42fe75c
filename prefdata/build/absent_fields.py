"""Config field paths that no sampled record holds: the mark of a misspelt field.

A misspelt required field rejects every record as ``missing_field``, which shows. A misspelt optional
one (``system``, ``score_chosen``, a template's second field, a filter's field) reads as absent in
every record, and the build succeeds with the system turns, the scores or the context silently gone.
So ``build`` warns, before it reads on, about each path that none of its source's sampled records
(the first 200 of each file) holds with a value; a field that only appears later in the data is
named too, which is worth a look as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prefdata.config import SourceBase
from prefdata.shapes.base import Shape, sample_values
from prefdata.shapes.fields import parse_path
from prefdata.shapes.filters import Filter
from prefdata.shapes.prompt import template_fields


@dataclass
class _Sampled:
    """One source's sampled records so far, and the paths none of them holds (in reading order)."""

    source: SourceBase
    unseen: dict[str, tuple[str | int, ...]]  # each path and its tokens (a custom shape's field names are not parsed)
    records: int = 0
    files: int = 0


class AbsentFields:
    """Per configured source, the field paths it reads that no sampled record of its files holds."""

    def __init__(self) -> None:
        self._by_source: dict[int, _Sampled] = {}

    def add(self, index: int, source: SourceBase, shape: Shape, filters: Sequence[Filter], sample: Sequence[Mapping[str, Any]]) -> None:
        """Count one file's sample of source ``index`` (read through ``shape`` and ``filters``)."""
        if index not in self._by_source:
            paths = [(leaf.path, leaf.tokens()) for leaf in shape.leaves()] + [(flt.path, parse_path(flt.path)) for flt in filters]
            self._by_source[index] = _Sampled(source, dict(paths))
        sampled = self._by_source[index]
        for path in [p for p, tokens in sampled.unseen.items() if sample_values(sample, tokens)]:
            del sampled.unseen[path]
        sampled.records += len(sample)
        sampled.files += 1

    def warnings(self) -> list[str]:
        """One line per absent path, naming the source, the key that gives it, and what was sampled."""
        lines = []
        for s in self._by_source.values():
            if not s.records:  # no record of its files parses (each becomes a reject): nothing says a name is wrong
                continue
            sampled = f"{s.records:,} sampled record{'s' if s.records != 1 else ''} of {s.files:,} file{'s' if s.files != 1 else ''}"
            for path in s.unseen:
                lines.append(f"{s.source.where(_key_of(s.source, path))}: field '{path}' is in none of the {sampled}; is it misspelt?")
        return lines


def _key_of(source: SourceBase, path: str) -> str:
    """The config key that names ``path``: ``columns.system``, ``columns.prompt_template``, ``filters``..."""
    columns = getattr(source, "columns", None)
    if columns is not None:
        for key, value in columns.model_dump(exclude_none=True).items():
            if value == path or (isinstance(value, list) and path in value):
                return f"columns.{key}"
            if key == "prompt_template" and path in template_fields(value):
                return f"columns.{key}"
    if path in getattr(source, "fields", ()):  # a custom source's fields, each a name as the records spell it
        return "fields"
    models_from = getattr(source, "models_from", None)
    if models_from is not None and models_from.field == path:
        return "models_from.field"
    if any(path in text for text in source.filters):
        return "filters"
    return "columns"


__all__ = ["AbsentFields"]

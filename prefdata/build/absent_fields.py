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
from typing import Any

from prefdata.config import SourceBase
from prefdata.shapes.base import Shape, sample_values
from prefdata.shapes.filters import Filter
from prefdata.shapes.prompt import template_fields


class AbsentFields:
    """Per configured source, the field paths it reads that no sampled record of its files holds."""

    def __init__(self) -> None:
        self._unseen: dict[int, dict[str, None]] = {}  # source index -> paths, in reading order
        self._sources: dict[int, SourceBase] = {}
        self._records: dict[int, int] = {}
        self._files: dict[int, int] = {}

    def add(self, index: int, source: SourceBase, shape: Shape, filters: Sequence[Filter], sample: Sequence[Mapping[str, Any]]) -> None:
        """Count one file's sample of source ``index`` (read through ``shape`` and ``filters``)."""
        if index not in self._unseen:
            paths = [leaf.path for leaf in shape.leaves()] + [flt.path for flt in filters]
            self._unseen[index] = dict.fromkeys(paths)
            self._sources[index] = source
        unseen = self._unseen[index]
        for path in [p for p in unseen if sample_values(sample, p)]:
            del unseen[path]
        self._records[index] = self._records.get(index, 0) + len(sample)
        self._files[index] = self._files.get(index, 0) + 1

    def warnings(self) -> list[str]:
        """One line per absent path, naming the source, the key that gives it, and what was sampled."""
        lines = []
        for index, unseen in self._unseen.items():
            source, records, files = self._sources[index], self._records[index], self._files[index]
            sampled = f"{records:,} sampled record{'s' if records != 1 else ''} of {files:,} file{'s' if files != 1 else ''}"
            for path in unseen:
                lines.append(f"{source.where(_key_of(source, path))}: field '{path}' is in none of the {sampled}; is it misspelt?")
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
    models_from = getattr(source, "models_from", None)
    if models_from is not None and models_from.field == path:
        return "models_from.field"
    if any(path in text for text in source.filters):
        return "filters"
    return "columns"


__all__ = ["AbsentFields"]

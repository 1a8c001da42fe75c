"""``prefdata inspect RAW``: what prefdata sees in raw files, before building anything.

For each file: its format, the fields of a sample of records (how often each appears, its JSON types,
typical text length), a few records, the shape detection's verdict, and a config that would build
it, or, when the layout is ambiguous, a config skeleton to complete.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from prefdata.arguments import require_path, require_whole
from prefdata.build.plan import columns_read, detect_file, read_as_built, unreadable_column
from prefdata.config import BuildConfig, dump_config
from prefdata.errors import AmbiguousLayoutError, InputError, UnreadableFileError
from prefdata.io.decode import json_kind
from prefdata.io.discover import InputFile, SkippedFile, discover, no_object_reason, shown_name
from prefdata.io.parquet_records import Undecoded, named_twice, unimportable_values
from prefdata.io.records import DETECTION_SAMPLE, first_damage, iter_batches, read_sample
from prefdata.shapes import make_shape


@dataclass
class FieldStats:
    name: str
    present: int
    types: dict[str, int]
    mean_chars: float | None


@dataclass
class FileReport:
    path: str
    format: str
    compression: str | None
    bytes: int
    sampled: int
    fields: list[FieldStats]
    examples: list[dict[str, Any]]
    shape: str | None
    description: str | None
    config_yaml: str
    problem: str | None = None
    #: the sample ran into damage (``record 140: the gzip stream ends ...``): the build keeps the
    #: records before it and rejects the rest as one ``damaged_file`` record
    damage: str | None = None
    #: Parquet columns damaged before the first record (``column 'note' of row group 1 of 3 cannot be
    #: read (...)``), unread in the sample: the build skips the file without a config, and builds the
    #: rest with one whose source does not read them
    unread: str | None = None


@dataclass
class InspectResult:
    files: list[FileReport] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


def field_stats(sample: list[dict], undecoded: Mapping[int, Mapping[str, Undecoded]] | None = None) -> list[FieldStats]:
    """Per field: how many records hold it, its types, its mean length as text. ``undecoded``
    (:attr:`~prefdata.io.records.Sample.undecoded`): values the sample holds as null because their
    bytes are not UTF-8 or polars cannot import their type, counted as what they are (``binary``,
    ``decimal256(40, 2)``): an image column is not empty."""
    present: Counter[str] = Counter()
    types: dict[str, Counter[str]] = defaultdict(Counter)
    chars: dict[str, list[int]] = defaultdict(list)
    undecoded = undecoded or {}
    for i, rec in enumerate(sample):
        nulled = undecoded.get(i, {})
        for key, value in rec.items():
            present[key] += 1
            types[key][nulled[key].type_name if key in nulled else json_kind(value).replace('array', 'list')] += 1
            if isinstance(value, str):
                chars[key].append(len(value))
    return [
        FieldStats(k, present[k], dict(types[k]), (sum(chars[k]) / len(chars[k])) if chars[k] else None)
        for k in sorted(present, key=lambda k: (-present[k], k))
    ]


def inspect(raw: str | os.PathLike[str], *, sample_size: int = 200, examples: int = 2) -> InspectResult:
    """Describe every raw file under RAW (a file, folder or glob) without building anything."""
    require_path("raw", raw, InputError)
    # any size above the least: more than the file holds is all of it
    sample_size = require_whole("sample_size", sample_size, InputError, least=1)
    examples = require_whole("examples", examples, InputError, least=0)
    inputs, skipped = discover(raw)
    result = InspectResult(skipped=skipped)
    for f in inputs:
        try:
            taken = read_sample(f, max(sample_size, DETECTION_SAMPLE))
        except UnreadableFileError as exc:  # the build skips it too, and goes on with the other files
            result.skipped.append(SkippedFile.unreadable(f, exc))
            continue
        read = taken.records
        sample, detection = read[:sample_size], read[:DETECTION_SAMPLE]
        if not sample:  # the build skips it, with this reason
            result.skipped.append(SkippedFile(f.name, no_object_reason(f, taken.problem)))
            continue
        undecoded = dict(taken.undecoded)
        fields = field_stats(sample, undecoded)
        # a Parquet column polars cannot import is all null in the sample: only then read it apart
        if f.format == "parquet" and any(set(s.types) == {"null"} for s in fields):
            values = unimportable_values(f, len(sample))
            for i, found in enumerate(values):
                if found:
                    undecoded[i] = {**undecoded.get(i, {}), **found}
            if any(values):
                fields = field_stats(sample, undecoded)
        shown = [_with_undecoded(rec, undecoded.get(i, {})) for i, rec in enumerate(sample[:examples])]
        lost = taken.column_damage
        damage = str(taken.damage) if taken.damage is not None and lost is None else None
        report = FileReport(f.name, f.format, f.compression, f.bytes, len(sample), fields, shown, None, None, "", damage=damage,
                            unread=lost.detail if lost is not None else None)
        try:
            source = detect_file(f, detection)
            shape = make_shape(source, detection)
            reads = columns_read(shape)
            # as the build skips it (without a config: a damaged column the shape reads is one detection missed)
            if (unreadable := named_twice(f, taken.columns, reads) or (taken.undetected(f) if taken.reads_damaged(reads) else None)) is not None:
                result.skipped.append(SkippedFile.unreadable(f, unreadable))
                continue
            if (unreadable := unreadable_column(f, shape)) is not None:  # a decimal256 column the shape reads
                result.skipped.append(SkippedFile.unreadable(f, unreadable))
                continue
            if taken.damage is not None and f.format == "parquet":
                report.damage = _parquet_damage(read_as_built(f, shape), max(sample_size, DETECTION_SAMPLE))
            report.shape, report.description = shape.name, shape.describe()
            report.config_yaml = dump_config(BuildConfig(sources=[source]))
        except AmbiguousLayoutError as exc:
            report.problem = str(exc)
            report.config_yaml = exc.suggested_config
        result.files.append(report)
    return result


def _parquet_damage(f: InputFile, rows: int) -> str | None:
    """The damage the build meets in ``f`` (read as built) within its first ``rows`` rows, the sample's
    reach; asked when the sample, which reads every column, met damage: damage in a column the build
    never reads is none (the build keeps those rows), and the build may meet damage of its own later."""
    try:
        for batch in iter_batches(f):
            if (damage := first_damage(batch)) is not None:
                return str(damage)
            if batch.lines.height and batch.lines.get_column("_record").max() >= rows:  # type: ignore[operator]
                return None
    except UnreadableFileError as exc:  # the build skips it: say so
        return str(exc).removeprefix(f"{shown_name(f.name)}: ")
    return None


def _with_undecoded(record: dict[str, Any], nulled: Mapping[str, Undecoded]) -> dict[str, Any]:
    """``record`` as an example shows it: a value held as null because its bytes are not UTF-8 as
    ``"<9 bytes, not UTF-8>"`` (the bytes themselves are neither JSON nor text to print)."""
    return {k: nulled[k].describe() if k in nulled else v for k, v in record.items()} if nulled else record

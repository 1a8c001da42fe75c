"""Decide what to read and how: which files belong to which source, and each file's shape adapter.

With a config, each source's ``path`` (a file, folder or glob relative to RAW) selects its files;
a file two sources claim is an error, and a file no source claims is skipped with a reason. Without a
config every file is its own source and its shape is detected from a sample of its records.
"""

from __future__ import annotations

import fnmatch
import glob as globlib
import itertools
import posixpath
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import orjson
import polars as pl

from prefdata.build.absent_fields import AbsentFields
from prefdata.config import BuildConfig, SourceBase
from prefdata.errors import AmbiguousLayoutError, ConfigError, InputError, UnreadableFileError
from prefdata.io.decode import DecodeSpec
from prefdata.io.discover import InputFile, SkippedFile, discover, names_files, no_object_reason, shown_name
from prefdata.io.parquet_records import columns_to_read, named_twice, parquet_file
from prefdata.io.records import Sample, read_sample
from prefdata.shapes import make_shape
from prefdata.shapes.base import Shape
from prefdata.shapes.detect import detect
from prefdata.shapes.fields import Leaf, field_specs
from prefdata.shapes.filters import Filter, parse_filters


@dataclass
class FilePlan:
    index: int
    file: InputFile
    source: SourceBase
    shape: Shape
    spec: DecodeSpec
    detected: bool
    filters: list[Filter] = field(default_factory=list)
    #: Mean bytes of JSON text per record in the detection sample: how many records the file holds,
    #: which sizes pass 2's partitions as much as its bytes do (a short record costs a row all the same).
    record_bytes: float = 1024.0

    @property
    def source_name(self) -> str:
        return self.source.name or default_source_name(self.file.name)


@dataclass
class BuildPlan:
    files: list[FilePlan]
    skipped: list[SkippedFile]
    config: BuildConfig
    #: config field paths in none of their source's sampled records (see :mod:`.absent_fields`)
    warnings: list[str] = field(default_factory=list)


#: From this many consecutive files read alike on, they are described in one line: a folder of
#: 20,000 conversation files prints one line, not 20,000.
RUN_LINES = 4


def describe_files(files: Sequence[FilePlan]) -> list[str]:
    """How each file is read, one line per file, except that a run of ``RUN_LINES`` or more
    consecutive files read alike (the same description and the same settings, which say more: a
    pairwise verdict's value map) is one line naming the first and the last."""

    def alike(p: FilePlan) -> tuple[str, str]:
        return ("detected " if p.detected else "") + p.shape.describe(), p.source.settings_key()

    lines = []
    for (description, _), run in itertools.groupby(files, key=alike):
        run = list(run)
        if len(run) >= RUN_LINES:
            lines.append(f"{shown_name(run[0].file.name)} to {shown_name(run[-1].file.name)} ({len(run):,} files): {description}")
        else:
            lines += [f"{shown_name(p.file.name)}: {description}" for p in run]
    return lines


def default_source_name(name: str) -> str:
    """``sub/data.jsonl.zst`` -> ``sub/data``."""
    p = Path(name)
    while p.suffix and p.suffix.lower() in {".jsonl", ".ndjson", ".json", ".csv", ".parquet", ".gz", ".zst", ".zstd"}:
        p = p.with_suffix("")
    return p.as_posix()


def detect_file(f: InputFile, sample: list[dict]) -> SourceBase:
    """The source auto-detection gives one file: named as the build names it (``logs.jsonl.gz`` ->
    ``logs``), with a ``path`` that selects that file alone (``[ab].jsonl`` escaped, not a glob), so the
    config printed for it gives the same build when passed back."""
    source = detect(sample, name=default_source_name(f.name), what="file", path=f.name)
    return source.model_copy(update={"path": globlib.escape(f.name)})


def _with_format(f: InputFile, fmt: str) -> InputFile:
    return f if fmt == "auto" else replace(f, format=fmt)


def glob_match(name: str, pattern: str) -> bool:
    """Whether ``name`` (a path relative to RAW) matches ``pattern`` as RAW globs do (Python's
    ``glob(recursive=True)``): ``*``, ``?`` and ``[...]`` match within one folder name, a ``**``
    component spans any number of folders, none included.

    >>> [glob_match(n, "**/hh*") for n in ("hh.jsonl", "sub/hh2.jsonl", "sub/x.jsonl")]
    [True, True, False]
    >>> [glob_match(n, "*.jsonl") for n in ("a.jsonl", "sub/a.jsonl")], glob_match("x/y.jsonl", "x[!a]y.jsonl")
    ([True, False], False)
    """
    return _match_parts(name.split("/"), pattern.split("/"))


def _match_parts(names: list[str], parts: list[str]) -> bool:
    if not parts:
        return not names
    head, rest = parts[0], parts[1:]
    if head == "**":
        return any(_match_parts(names[i:], rest) for i in range(len(names) + 1))
    return bool(names) and fnmatch.fnmatchcase(names[0], head) and _match_parts(names[1:], rest)


def _matches(name: str, pattern: str) -> bool:
    """Whether a source's ``path`` (a file, a folder, or a glob relative to RAW) selects file ``name``;
    written as a path is (``./a.jsonl``, ``logs//day1``, ``.`` for RAW itself)."""
    pattern = posixpath.normpath(pattern.strip("/") or ".")
    if pattern == ".":
        return True
    return name == pattern or name.startswith(pattern + "/") or glob_match(name, pattern)


def plan_build(raw: str | Path, config: BuildConfig | None, *, exclude: Path | None = None) -> BuildPlan:
    """Resolve RAW (+ config) into per-file plans. Raises InputError when nothing is readable."""
    inputs, skipped = discover(raw, exclude=exclude, formats=_configured_format(config) if config is not None else None)
    plans: list[FilePlan] = []
    if config is None:
        sources: list[SourceBase] = []
        for f in inputs:
            sample = _sample(f, skipped)
            if sample is None:
                continue
            if not sample.records:
                skipped.append(SkippedFile(f.name, no_object_reason(f, sample.problem)))
                continue
            if (undetected := sample.undetected(f)) is not None:  # a damaged column may be what the shape needs
                _skip(f, undetected, skipped)
                continue
            source = detect_file(f, sample.records)
            if (planned := _plan(len(plans), f, source, sample, skipped, detected=True)) is not None:
                sources.append(source)
                plans.append(planned)
        if not plans:
            raise InputError(_nothing_readable(raw, skipped))
        return BuildPlan(plans, skipped, BuildConfig(sources=sources), _kind_splits(plans))

    claimed: dict[str, int] = {}
    for i, source in enumerate(config.sources):
        for f in inputs:
            if source.path is None or _matches(f.name, source.path):
                if f.name in claimed:
                    other = config.sources[claimed[f.name]]
                    raise ConfigError(
                        f"file {shown_name(f.name)} is matched by sources[{claimed[f.name]}] ({other.name or other.shape}) "
                        f"and sources[{i}] ({source.name or source.shape}); give each source a path that selects its own files"
                    )
                claimed[f.name] = i
    absent = AbsentFields()
    for f in inputs:
        if f.name not in claimed:
            skipped.append(SkippedFile(f.name, "not matched by any source's path in the config"))
            continue
        source = config.sources[claimed[f.name]]
        f = _with_format(f, source.format)
        sample = _sample(f, skipped)
        if sample is not None and (planned := _plan(len(plans), f, source, sample, skipped, detected=False)) is not None:
            plans.append(planned)
            absent.add(claimed[f.name], source, planned.shape, planned.filters, sample.records)
    if not plans:
        raise InputError(_nothing_readable(raw, skipped))
    return BuildPlan(plans, skipped, config, absent.warnings() + _kind_splits(plans))


def _kind_splits(plans: Sequence[FilePlan]) -> list[str]:
    """A warning per file and field whose sampled values are of more than one kind (text beside
    message lists): the minority kind is rejected, which is said here, not only in the counts."""
    return [f"file {shown_name(p.file.name)}: {note}" for p in plans for note in p.shape.kind_splits]


def _configured_format(config: BuildConfig) -> Callable[[str, bool], str | None]:
    """The format (other than ``auto``) of the source whose ``path`` names a file, by the file's name
    (and whether RAW itself names it): an explicit ``format`` reads ``logs.txt`` as JSON lines, where
    its name says no format. Only a file the path (or RAW) names is read so (:func:`_names`): a source
    with no path, or a folder or bare wildcard, would read the LICENSE and logo.png beside the data
    as records, all rejects. (A file two sources select is refused when the sources claim their files.)"""
    explicit = [s for s in config.sources if s.format != "auto"]

    def configured(name: str, raw_names: bool) -> str | None:
        return next((s.format for s in explicit if _names(name, s.path, raw_names)), None)

    return configured


def _names(name: str, path: str | None, raw_names: bool) -> bool:
    """Whether a source's ``path`` (or RAW, ``raw_names``, where the path takes all of it) selects file
    ``name`` by naming it: the file's own path, or a glob whose last part names files (:func:`names_files`)."""
    if path is None or posixpath.normpath(path.strip("/") or ".") == ".":
        return raw_names
    pattern = posixpath.normpath(path.strip("/"))
    return name == pattern or (names_files(pattern) and glob_match(name, pattern))


def _sample(f: InputFile, skipped: list[SkippedFile]) -> Sample | None:
    """The file's first records, or None (and the file among ``skipped``, with the reason) when it
    cannot be read at all."""
    try:
        return read_sample(f)
    except UnreadableFileError as exc:
        _skip(f, exc, skipped)
        return None


def _skip(f: InputFile, exc: UnreadableFileError, skipped: list[SkippedFile]) -> None:
    skipped.append(SkippedFile.unreadable(f, exc))


def _plan(index: int, f: InputFile, source: SourceBase, sample: Sample, skipped: list[SkippedFile], *, detected: bool) -> FilePlan | None:
    """How to read ``f``, or None (the file among ``skipped``) when a column its source reads is
    named twice in the file (a name given twice that nothing reads is no reason to skip it), or is
    damaged before the first record (damage in a column nothing reads loses nothing)."""
    shape = make_shape(source, sample.records)
    filters = parse_filters(source.filters)
    spec, read = _reads(shape, filters)
    if (unreadable := named_twice(f, sample.columns, read) or sample.unreadable_for(f, read)) is not None:
        _skip(f, unreadable, skipped)
        return None
    f = file_as_read(f, spec, read)
    return FilePlan(index, f, source, shape, spec, detected, filters, _record_bytes(f, sample.records))


def file_as_read(f: InputFile, spec: DecodeSpec, read: tuple[str, ...] | None) -> InputFile:
    """``f`` with the columns (CSV, Parquet) and struct fields (Parquet) that ``spec`` reads: Parquet
    columns it never reads are never decoded, so only those it reads can fail the file."""
    if f.format in ("parquet", "csv"):
        f = replace(f, columns=read)
    if f.format == "parquet" and read is not None:
        f = replace(f, fields=tuple(path for fs in spec.fields for path in _field_paths(fs.dtype, (fs.name,))))
    return f


def unreadable_column(f: InputFile, shape: Shape) -> UnreadableFileError | None:
    """The error a Parquet file gives the build when a column ``shape`` reads is of a type polars
    cannot import (a ``decimal256``), or None: ``inspect`` asks it so as not to propose a config for
    a file the build then refuses."""
    if f.format != "parquet":
        return None
    spec, read = _reads(shape)
    try:
        with parquet_file(f) as parquet:
            columns_to_read(parquet.schema_arrow, file_as_read(f, spec, read))  # type: ignore[attr-defined]
    except UnreadableFileError as exc:
        return exc
    return None


def _field_paths(dtype: pl.DataType, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """The paths of the values a decoded type reads (a list's items passed over), for
    :attr:`InputFile.fields`: ``meta: {lang: str}`` reads ``("meta", "lang")``."""
    if isinstance(dtype, pl.List):
        yield from _field_paths(dtype.inner, path)
    elif isinstance(dtype, pl.Struct) and dtype.fields:
        for fld in dtype.fields:
            yield from _field_paths(fld.dtype, (*path, fld.name))
    else:
        yield path


def _reads(shape: Shape, filters: Sequence[Filter] = ()) -> tuple[DecodeSpec, tuple[str, ...] | None]:
    """How a file read by ``shape`` and ``filters`` is decoded, and the top-level fields it needs (None:
    every field, for a shape that reads the whole record)."""
    spec = DecodeSpec(field_specs(shape.leaves() + [Leaf(flt.path, pl.String) for flt in filters]))
    return spec, None if shape.reads_whole_record else tuple(spec.names)


def read_as_built(f: InputFile, shape: Shape) -> InputFile:
    """``f`` with the columns and struct fields the build reads through ``shape`` (no filters):
    ``inspect`` re-reads a Parquet sample's damage this way, since the sample reads every column."""
    return file_as_read(f, *_reads(shape))


def columns_read(shape: Shape) -> tuple[str, ...] | None:
    """The top-level fields a file read by ``shape`` (no filters) needs, None for all (``inspect``, which
    skips a file as the build does)."""
    return _reads(shape)[1]


def _record_bytes(f: InputFile, sample: list[dict]) -> float:
    """Mean bytes a sampled record takes in the file: a CSV row is its cells and commas, a JSON record its text."""
    if not sample:
        return 1024.0
    if f.format == "csv":
        sizes = [sum(len(str(v).encode()) for v in r.values()) + len(r) for r in sample]
    else:
        sizes = [n for r in sample if (n := _json_bytes(r))]
    return max(1.0, sum(sizes) / len(sizes)) if sizes else 1024.0


def _json_bytes(record: dict) -> int:
    """A record's JSON text length, + its newline or comma; 0 for one nested deeper than orjson writes
    (255 levels; it reads 1024, and the shapes reject what they cannot walk): left out of the mean."""
    try:
        return len(orjson.dumps(record, default=str)) + 1
    except orjson.JSONEncodeError:
        return 0


def _nothing_readable(raw: str | Path, skipped: list[SkippedFile]) -> str:
    lines = [f"nothing readable in RAW '{raw}'"]
    for s in skipped:
        lines.append(f"  {shown_name(s.name)}: skipped ({s.reason})")
    return "\n".join(lines)


__all__ = ["AmbiguousLayoutError", "BuildPlan", "FilePlan", "describe_files", "plan_build"]

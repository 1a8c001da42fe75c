"""Open a dataset in the canonical layout as one normalized lazy frame, whoever built it.

``check`` must work on datasets prefdata did not build, including the broken ones it exists to catch:
a shard whose ``prompt`` is a plain string while ``chosen`` holds messages, message structs with extra
``None``-filled fields, an ``image`` column, a missing metadata column. Each shard's Parquet schema is
read first (cheap), every shard is normalized lazily to the same columns, and what was irregular is
kept as per-row flag columns for the checks to count — so one lazy pass still covers everything.

Columns of :meth:`Dataset.scan` (besides the canonical ones, with ``prompt``/``chosen``/``rejected``
as ``list[struct{role, content}]`` and ``id`` recomputed when the shard has none):

- ``_row`` (u32): position in the concatenation of the shards, sorted by path; stable between scans.
- ``split`` (str): the shard's split, named as the Hugging Face loader names it (:mod:`prefdata.splits`:
  by the dataset card's ``configs:`` where it names the file, else ``train-00000-of-00001.parquet``
  and ``train_0.parquet`` are train).
- ``chosen_position`` (str, nullable): "a"/"b" (lowercased), whether the chosen response was shown first.
- ``_fmt_prompt``/``_fmt_chosen``/``_fmt_rejected`` (str): "messages", "string", "missing" or "null"
  (a column typed null: every row null).
- ``_none_filled`` (bool): a message has a null role/content or a null extra struct field.
- ``_image_column`` (bool): the shard has an ``image`` or ``images`` column.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import polars as pl

from prefdata.arguments import require_path
from prefdata.build.output import default_config_shards, parquet_schema, visible_parquet
from prefdata.card_configs import CARD, CardSplits
from prefdata.check.errors import DatasetError
from prefdata.coerce import coerce, is_dictionary_text, lossless, text
from prefdata.io.morsels import collect_streaming, mean_row_bytes, parquet_footer
from prefdata.non_utf8_paths import scan_parquet
from prefdata.non_utf8_paths import source as parquet_source
from prefdata.schema import CANONICAL_SCHEMA, FORBIDDEN_COLUMNS, MESSAGE, id_expr
from prefdata.shard_fingerprint import FileVersion, changed, file_version
from prefdata.splits import loader_reads, name_problems, split_names

MESSAGE_COLUMNS = ("prompt", "chosen", "rejected")
#: Which response was shown first ("a": the chosen one) in pairwise sources; null elsewhere.
POSITION_COLUMN = "chosen_position"
#: Nullable metadata a dataset built elsewhere may lack: reported, filled with nulls, not a failure.
OPTIONAL_COLUMNS = ("source", "score_chosen", "score_rejected", "chosen_model", "rejected_model", POSITION_COLUMN, "lineage")
#: Role a plain-string column is wrapped as, the way ``build`` wraps plain-string raw data.
WRAP_ROLE = {"prompt": "user", "chosen": "assistant", "rejected": "assistant"}
#: Message fields the checks read; other types are read as text (:mod:`prefdata.coerce`) and reported.
MESSAGE_FIELDS = ("role", "content")


@dataclass(frozen=True)
class SchemaProblem:
    """A shard column that is missing or does not have the canonical type."""

    shard: str
    column: str
    expected: str
    found: str

    def describe(self) -> str:
        if not self.column:  # about the shard itself (its name), not one of its columns
            return f"{self.shard}: {self.found}"
        return f"{self.shard}: column {self.column!r} is {self.found}, expected {self.expected}"


@dataclass(frozen=True)
class Shard:
    path: Path
    name: str  # relative to the dataset root, e.g. data/train-00000-of-00001.parquet
    split: str
    schema: pl.Schema
    rows: int
    uncompressed_bytes: int  # from the Parquet footer
    formats: dict[str, str] = field(default_factory=dict)
    extra_message_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    image_columns: tuple[str, ...] = ()
    empty_first_group: bool = False  # :class:`prefdata.io.morsels.ParquetFooter`
    version: FileVersion | None = None  # the file read (:mod:`prefdata.shard_fingerprint`)


@dataclass(frozen=True)
class Dataset:
    root: Path
    shards: tuple[Shard, ...]
    problems: tuple[SchemaProblem, ...]
    #: Shards with pairs that ``datasets.load_dataset`` leaves out (one beside the Hub-sharded files, one
    #: the card does not name): checked and shown, but not what a trainer loads (``train`` skips them).
    unread: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.shards)

    @property
    def row_bytes(self) -> float:
        """Mean uncompressed bytes per row: what the streaming scans size their morsels by."""
        return mean_row_bytes((s.rows, s.uncompressed_bytes) for s in self.shards)

    def collect(self, lf: pl.LazyFrame) -> pl.DataFrame:
        """Run a streaming query over this dataset with morsels sized for its rows (:mod:`prefdata.io.morsels`)."""
        return collect_streaming(lf, self.row_bytes)

    def locate(self, row: int) -> str:
        """Where row ``row`` (a ``_row`` number) lies, for pairs with no id to name them by:
        "row 3 of data/train-00000-of-00001.parquet" (0-based within the shard, as Parquet readers count)."""
        starts = self._starts
        i = bisect.bisect_right(starts, row) - 1
        if not 0 <= i < len(self.shards) or row >= starts[i] + self.shards[i].rows:
            raise IndexError(row)
        return f"row {row - starts[i]} of {self.shards[i].name}"

    @cached_property
    def _starts(self) -> list[int]:
        """The first ``_row`` of each shard: rows are numbered through the shards in order."""
        return list(itertools.accumulate((s.rows for s in self.shards[:-1]), initial=0))

    def shard_rows(self, name: str) -> tuple[int, int]:
        """The ``_row`` range [start, end) of a shard: shards are numbered through in order."""
        for shard, start in zip(self.shards, self._starts):
            if shard.name == name:
                return start, start + shard.rows
        raise KeyError(name)

    @property
    def has_position(self) -> bool:
        return any(POSITION_COLUMN in s.schema for s in self.shards)

    def scan(self) -> pl.LazyFrame:
        """All shards as one normalized lazy frame (see the module docstring for the columns)."""
        frames = [_normalize(shard) for shard in self.shards]
        return pl.concat(frames, how="vertical").with_row_index("_row")

    @property
    def files(self) -> dict[str, Path]:
        """``{shard name: its file}``."""
        return {s.name: s.path for s in self.shards}

    @property
    def versions(self) -> dict[str, FileVersion]:
        """``{shard name: the version of the file opened}``."""
        return {s.name: s.version for s in self.shards if s.version is not None}

    @contextmanager
    def unchanged(self) -> Iterator[None]:
        """Every shard stays the file opened while the block reads it, or :class:`DatasetError`.

        The shards are read by path, several times; a rebuild that swaps OUT in meanwhile would make a
        vanished shard a traceback, or results computed on the old pairs look like the new ones'. An
        error raised inside while a shard changed, and a shard changed by the block's end, are this.
        """
        try:
            yield
        except Exception as exc:
            if moved := changed(self.files, self.versions):
                raise DatasetError(_changed_message(self.root, moved)) from exc
            raise
        if moved := changed(self.files, self.versions):
            raise DatasetError(_changed_message(self.root, moved))


def _changed_message(root: Path, names: list[str]) -> str:
    more = f" and {len(names) - 1} more shard(s)" if len(names) > 1 else ""
    return (f"{root}: {names[0]}{more} changed while being checked (replaced by a build, or edited); "
            "no result is given for a mix of versions: run check again")


def open_dataset(path: str | Path) -> Dataset:
    """Find and inspect the shards of a dataset directory (``PATH/data/*.parquet``)."""
    require_path("the dataset", path, DatasetError)
    root = Path(path)
    if not root.exists():
        raise DatasetError(f"{root}: no such dataset directory")
    if not root.is_dir():
        raise DatasetError(f"{root}: expected a dataset directory holding data/*.parquet, got a file")
    files = visible_parquet(root / "data")
    if not files:
        found = list((root / "data").glob("*.parquet"))
        hidden = f"; {len(found)} hidden file(s) named .* ignored" if found else ""
        raise DatasetError(f"{root}: no data/*.parquet shards (is this a dataset written by `prefdata build`?){hidden}")
    shards = []
    problems: list[SchemaProblem] = []
    files, card = default_config_shards(root)  # another config's files (an sft config's) are no pairs
    for file, split in split_names(files, card).items():
        shard, shard_problems = _inspect(root, file, split)
        shards.append(shard)
        problems.extend(shard_problems)
    problems.extend(_null_beside_typed(shards))
    read = set(loader_reads(files, card))
    problems.extend(_unloadable(shards, read))
    problems.extend(_card_problems(card, shards))
    for file, problem in name_problems(files, card).items():
        problems.append(SchemaProblem(file.relative_to(root).as_posix(), "", "a name that gives one split", problem))
    unread = tuple(s.name for s in shards if s.path not in read and s.rows)
    return Dataset(root=root, shards=tuple(shards), problems=tuple(problems), unread=unread)


def _null_beside_typed(shards: list[Shard]) -> list[SchemaProblem]:
    """A message column typed null (an empty pandas shard) in a split whose other shards hold messages.

    Alone, such a shard reads as an empty split; beside typed shards the Hugging Face loader cannot
    combine the two schemas and ``load_dataset`` fails on the split, so it is a schema problem.
    """
    typed: dict[tuple[str, str], str] = {}  # (split, column) -> the first shard that types the column
    for shard in shards:
        for column in MESSAGE_COLUMNS:
            if shard.formats.get(column) not in ("null", None):
                typed.setdefault((shard.split, column), shard.name)
    problems = []
    for shard in shards:
        for column in MESSAGE_COLUMNS:
            beside = typed.get((shard.split, column))
            if shard.formats.get(column) == "null" and beside is not None:
                problems.append(SchemaProblem(
                    shard.name, column, "list[struct{role, content}]",
                    f"typed null beside shards of the {shard.split} split that hold messages ({beside}): "
                    "datasets.load_dataset cannot combine them; write the empty shard with the canonical schema or drop it",
                ))
    return problems


def _card_problems(card: CardSplits, shards: list[Shard]) -> list[SchemaProblem]:
    """What in the dataset card makes ``datasets.load_dataset(OUT)`` fail, or give other pairs than
    the ``data/`` shards checked here (not said of a dataset with no pairs, such as a build that
    wrote only the KTO export, whose card's only config is ``kto``)."""
    if card.problem:
        return [SchemaProblem(card.problem_at, "", "", card.problem)]
    if not any(s.rows for s in shards):
        return []
    if card.outside:
        first, split = next(iter(card.outside.items()))
        more = f" and {len(card.outside) - 1} more" if len(card.outside) > 1 else ""
        who = "the dataset card's default config reads" if card.followed else "with no card to say otherwise, datasets.load_dataset(OUT) reads"
        return [SchemaProblem(CARD if card.followed else first, "", "", (
            f"{who} {first} (as {split}){more} outside data/, which check does not read: datasets.load_dataset(OUT) "
            "gives pairs that were not checked; move them into data/" + ("" if card.followed else " or map the files in a card")
        ))]
    if not card.followed:
        return []
    if not card.splits:
        return [SchemaProblem(CARD, "", "", (
            "the dataset card's default config reads none of the data/ shards: datasets.load_dataset(OUT) "
            "gives none of the pairs checked here"
        ))]
    return []


def _unloadable(shards: list[Shard], read: set[Path]) -> list[SchemaProblem]:
    """Shards of a split ``datasets.load_dataset`` reads (``read``) that make it fail, so that a dataset
    ``check`` passes is one a trainer can load: an empty shard with a 0-row row group (as pyarrow and
    pandas write an empty table), and a split whose shards hold no rows at all. ``build`` writes an
    empty split's shard without row groups and leaves it out of the card, so its datasets load."""
    problems, by_split = [], {}
    for shard in shards:
        if shard.path not in read:
            continue
        by_split.setdefault(shard.split, []).append(shard)
        if shard.empty_first_group:
            fix = ("rewrite it without the empty row group" if shard.rows
                   else "delete the empty shard (and any card pattern that names only it)")
            problems.append(SchemaProblem(
                shard.name, "", "", "its first row group holds 0 rows: datasets.load_dataset fails on it "
                f"(\"BatchSize must be greater than 0\"); {fix}",
            ))
    no_pairs = not any(s.rows for s in shards)
    for split, members in by_split.items():
        if not any(s.rows for s in members) and not any(s.empty_first_group for s in members):
            # with no pair anywhere (a build that rejected every record) there is nothing to delete: say so
            fix = ("the dataset holds no pair at all, so there is nothing to train on" if no_pairs
                   else "delete its shards (and any card pattern that names only them)")
            problems.append(SchemaProblem(
                members[0].name, "", "", f"the {split} split holds no rows: datasets.load_dataset fails on it "
                f"(\"Instruction '{split}' corresponds to no data\"); {fix}",
            ))
    return problems


def _describe(dtype: pl.DataType) -> str:
    return str(dtype)


def _message_fields(name: str, column: str, fields: dict[str, pl.DataType]) -> list[SchemaProblem]:
    """Problems of the role/content fields of a message struct; a field no text can be read from is fatal."""
    problems = []
    for f in MESSAGE_FIELDS:
        if fields[f] in (pl.String, pl.Null) or is_dictionary_text(fields[f]):
            continue  # an all-null field is the None-filled trap: trl_traps and role_structure count its rows
        if text(pl.lit(None), fields[f]) is None:
            raise DatasetError(
                f"{name}: column {column!r}: message field {f!r} has type {_describe(fields[f])}, which cannot be read as text"
            )
        problems.append(SchemaProblem(name, column, f"messages with a string {f}", f"messages whose {f} is {_describe(fields[f])}"))
    return problems


def _inspect(root: Path, file: Path, split: str) -> tuple[Shard, list[SchemaProblem]]:
    name = file.relative_to(root).as_posix()
    try:
        version = file_version(file)  # before reading: a file replaced after it is another version
        schema = parquet_schema(file)
        with parquet_source(file) as src:
            footer = parquet_footer(src)
    except Exception as exc:  # polars raises several types for unreadable files
        raise DatasetError(f"{name}: cannot read Parquet: {exc}") from exc
    problems = []
    formats: dict[str, str] = {}
    extra: dict[str, tuple[str, ...]] = {}
    for column in MESSAGE_COLUMNS:
        dtype = schema.get(column)
        if dtype is None:
            if column != "prompt":
                raise DatasetError(f"{name}: no {column!r} column; a preference pair needs prompt, chosen and rejected")
            formats[column] = "missing"
            problems.append(SchemaProblem(name, column, "list[struct{role, content}]", "missing"))
        elif dtype == pl.Null:
            # every row null (a 0-row or all-null shard written by pandas): role_structure counts the rows
            formats[column] = "null"
        elif dtype in (pl.String, pl.Binary) or is_dictionary_text(dtype):
            formats[column] = "string"
            found = "a plain string" if dtype == pl.String else f"plain text stored as {_describe(dtype)}"
            problems.append(SchemaProblem(name, column, "list[struct{role, content}]", found))
        elif isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
            fields = {f.name: f.dtype for f in dtype.inner.fields}
            if "role" not in fields or "content" not in fields:
                raise DatasetError(
                    f"{name}: column {column!r} holds structs with fields {sorted(fields)}; messages need 'role' and 'content'"
                )
            formats[column] = "messages"
            problems.extend(_message_fields(name, column, fields))
            extra[column] = tuple(f for f in fields if f not in ("role", "content"))
            if extra[column]:
                problems.append(
                    SchemaProblem(name, column, "messages with exactly role and content", f"messages with extra fields {list(extra[column])}")
                )
        else:
            raise DatasetError(
                f"{name}: column {column!r} has type {_describe(dtype)}; expected a list of {{role, content}} messages or a string"
            )
    for column, dtype in CANONICAL_SCHEMA.items():
        if column in MESSAGE_COLUMNS:
            continue
        if column not in schema:
            if column not in OPTIONAL_COLUMNS:
                problems.append(SchemaProblem(name, column, _describe(dtype), "missing"))
        elif not lossless(schema[column], dtype) and schema[column] != pl.Null:
            found = _describe(schema[column])
            if coerce(pl.col(column), schema[column], dtype) is None:
                found += ", which cannot be read as the canonical type (checked as nulls)"
            problems.append(SchemaProblem(name, column, _describe(dtype), found))
    images = tuple(c for c in FORBIDDEN_COLUMNS if c in schema)
    shard = Shard(
        path=file, name=name, split=split, schema=schema, rows=footer.rows, uncompressed_bytes=footer.uncompressed_bytes,
        formats=formats, extra_message_fields=extra, image_columns=images, empty_first_group=footer.empty_first_group,
        version=version,
    )
    return shard, problems


def _messages(shard: Shard, column: str) -> tuple[pl.Expr, pl.Expr]:
    """(normalized message list, per-row "has a None-filled field") for one message column."""
    fmt = shard.formats[column]
    if fmt == "missing":
        return pl.lit([], dtype=pl.List(MESSAGE)), pl.lit(False)
    if fmt == "null":
        return pl.lit(None, dtype=pl.List(MESSAGE)), pl.lit(False)
    if fmt == "string":
        content = text(pl.col(column), shard.schema[column])
        wrapped = pl.when(pl.col(column).is_not_null()).then(
            pl.concat_list(pl.struct(role=pl.lit(WRAP_ROLE[column]), content=content))
        )
        return wrapped.cast(pl.List(MESSAGE)), pl.lit(False)
    el = pl.element().struct
    if shard.schema[column] == pl.List(MESSAGE):
        normalized = pl.col(column)  # already canonical: no per-message rebuild
    else:
        types = {f.name: f.dtype for f in shard.schema[column].inner.fields}
        # _inspect has refused the field types text() cannot read
        normalized = pl.col(column).list.eval(pl.struct(**{f: text(el.field(f), types[f]) for f in MESSAGE_FIELDS}))
    fields = ("role", "content", *shard.extra_message_fields[column])
    none_filled = (
        pl.col(column)
        .list.eval(pl.any_horizontal(*[el.field(f).is_null() for f in fields]))
        .list.any()
        .fill_null(False)
    )
    return normalized, none_filled


def _normalize(shard: Shard) -> pl.LazyFrame:
    lf = scan_parquet(shard.path)
    exprs: dict[str, pl.Expr] = {}
    none_filled = []
    for column in MESSAGE_COLUMNS:
        messages, filled = _messages(shard, column)
        exprs[column] = messages
        none_filled.append(filled)
    for column, dtype in CANONICAL_SCHEMA.items():
        if column in MESSAGE_COLUMNS:
            continue
        read = coerce(pl.col(column), shard.schema[column], dtype) if column in shard.schema else None
        # a type that cannot be read as the canonical one is checked as nulls (the schema check reports it)
        exprs[column] = pl.lit(None, dtype=dtype) if read is None else read
    exprs[POSITION_COLUMN] = exprs[POSITION_COLUMN].str.to_lowercase()
    lf = lf.select(
        *[e.alias(c) for c, e in exprs.items()],
        pl.lit(shard.split).alias("split"),
        *[pl.lit(shard.formats[c]).alias(f"_fmt_{c}") for c in MESSAGE_COLUMNS],
        pl.any_horizontal(*none_filled).alias("_none_filled"),
        pl.lit(bool(shard.image_columns)).alias("_image_column"),
    )
    if "id" not in shard.schema:
        lf = lf.with_columns(id_expr())
    return lf

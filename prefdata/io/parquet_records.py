"""Raw Parquet files as records: every row as JSON text, whatever its column types.

Four things stand between a Parquet file and prefdata's one decoding path (JSON text per record):

- **Binary columns.** Some writers store text as ``binary`` rather than ``string``, and polars'
  JSON encoder cannot write binary at all (it panics). Binary leaves are read as UTF-8 text; a row
  whose bytes are not UTF-8 becomes an ``invalid_utf8`` reject naming the column, and the others go on.
- **Compression around the file.** A ``.parquet.gz`` is decompressed to a temporary file first:
  Parquet's footer is at the end, so the file cannot be streamed.
- **Damage.** A file that is not Parquet, or a compressed one cut short, has no readable row; it
  raises :class:`~prefdata.errors.UnreadableFileError`, which the build reports as a skipped file.
- **Columns nobody reads.** The build reads only the columns its shape and filters name
  (:attr:`~prefdata.io.discover.InputFile.columns`), and of a struct only the fields they name
  (:attr:`~prefdata.io.discover.InputFile.fields`, :func:`read_schema`): an image, a UUID's bytes,
  a ``decimal256`` id beside the text, or inside ``meta`` beside ``meta.lang``, never decide whether
  a record builds. A column read that polars cannot import, and
  a name the file gives two columns read, are errors naming the column (:func:`columns_to_read`); the
  sample that detection reads shows every column, one polars cannot import as null and a name given
  twice once, by its first column (``lenient``).
"""

from __future__ import annotations

import functools
import math
import shutil
import tempfile
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import orjson
import polars as pl

from prefdata.errors import UnreadableFileError
from prefdata.io.compression import CorruptStreamError, open_binary
from prefdata.io.discover import InputFile, shown_name


@contextmanager
def parquet_file(f: InputFile) -> Iterator[object]:
    """A ``pyarrow.parquet.ParquetFile`` of ``f``, decompressed first if ``f`` is compressed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with _seekable(f) as source:
        try:
            yield pq.ParquetFile(source)
        except (pa.ArrowInvalid, OSError) as exc:
            raise UnreadableFileError(f"{shown_name(f.name)}: not a readable Parquet file ({exc})") from None


@contextmanager
def _seekable(f: InputFile) -> Iterator[IO[bytes]]:
    """``f`` as a file pyarrow can seek in. An open file, never a path: pyarrow encodes a path as
    UTF-8, which a name that is not (a RAW folder named in Latin-1) cannot be."""
    if f.compression is None:
        try:
            fh = open(f.path, "rb")  # noqa: SIM115 (closed below, once the caller is done with it)
        except OSError as exc:
            raise UnreadableFileError(f"{shown_name(f.name)}: not a readable Parquet file ({exc})") from None
        with fh:
            yield fh
        return
    with tempfile.TemporaryFile() as tmp:
        try:
            with open_binary(f.path, f.compression) as fh:
                shutil.copyfileobj(fh, tmp, 16 * 1024 * 1024)
        except CorruptStreamError as exc:
            raise UnreadableFileError(f"{shown_name(f.name)}: {exc}; a Parquet file cannot be read without its end (the footer)") from None
        tmp.seek(0)
        yield tmp


def columns_to_read(schema, f: InputFile, *, lenient: bool = False) -> list[str] | None:  # type: ignore[no-untyped-def]
    """The names of ``schema`` to read for ``f`` (``None``: all, as the file orders them).

    Unless ``lenient`` (the detection sample, which shows what it can), a name given to two columns
    read makes the record ambiguous (which one is ``chosen``?) and fails the file, as damage does
    (:func:`named_twice`), and so does a column read whose type polars cannot import; the sample shows
    a name given twice once (its first column: :func:`_parquet_batch` selects by first position).
    Columns ``f`` does not read are not checked: they are never decoded.
    """
    names = schema.names
    wanted = list(dict.fromkeys(names if f.columns is None else [n for n in names if n in f.columns]))
    if not lenient and (twice := named_twice(f, names, wanted)) is not None:
        raise twice
    pruned = read_schema(schema, f, wanted)
    unreadable = _unreadable(pruned, wanted)
    if unreadable and not lenient:
        name, why = next(iter(unreadable.items()))
        raise UnreadableFileError(f"{shown_name(f.name)}: column {name!r} ({pruned.field(name).type}) cannot be read: {why}")
    if f.columns is None and not unreadable and len(wanted) == len(names):
        return None
    return [n for n in wanted if n not in unreadable]


def unimportable_values(f: InputFile, rows: int) -> list[dict[str, Undecoded]]:
    """For each of the first ``rows`` rows (the lenient sample's records, one per row), the values of the file's columns polars
    cannot import (a ``decimal256``) that are there (not null), as :class:`Undecoded`: the sample shows
    such a column as null, and ``inspect`` should not call a column of values empty. Read by pyarrow
    apart from the sample, row group by row group up to the last row asked; a row group that fails
    (damage in a column nothing else reads) leaves its values unknown, shown as null as before, rather
    than failing the sample the build detects its shapes from."""
    import pyarrow as pa

    found: list[dict[str, Undecoded]] = [{} for _ in range(rows)]
    try:
        with parquet_file(f) as parquet:
            schema = parquet.schema_arrow  # type: ignore[attr-defined]
            names = list(dict.fromkeys(schema.names))
            unimportable = list(_unreadable(schema, names))
            valid: dict[int, dict[str, bool]] = {}  # by row, from 1
            first = 1
            for group in range(parquet.metadata.num_row_groups if unimportable else 0):  # type: ignore[attr-defined]
                if first > rows:
                    break
                size = parquet.metadata.row_group(group).num_rows  # type: ignore[attr-defined]
                try:
                    table = parquet.read_row_group(group, columns=unimportable)  # type: ignore[attr-defined]
                except (pa.ArrowException, OSError):
                    first += size
                    continue
                for name in unimportable:
                    for i, there in enumerate(table.column(table.schema.names.index(name)).is_valid().to_pylist()):
                        valid.setdefault(first + i, {})[name] = there
                first += size
    except UnreadableFileError:
        return found
    for i in range(rows):
        for name, there in valid.get(i + 1, {}).items():
            if there:
                found[i][name] = Undecoded("unreadable", arrow_type=str(_field(schema, name).type))
    return found


def named_twice(f: InputFile, names: Sequence[str] | None, read: Collection[str] | None) -> UnreadableFileError | None:
    """The error for a column the build reads (``read``; None: every column) that the file's column
    names (a CSV header, a Parquet schema) give twice, or None.

    A record holds one value per name, so one of the two columns' text would be lost unsaid (or polars
    refuses the frame). A name given twice that is never read costs nothing, so it is no reason to
    refuse the file (a spreadsheet export's two ``notes`` columns); nor is a blank name (a CSV
    header's trailing commas give several), which no config can name.
    """
    counts = Counter(names or ())
    twice = next((n for n, k in counts.items() if k > 1 and n.strip() and (read is None or n in read)), None)
    if twice is None:
        return None
    where = ", ".join(str(i + 1) for i, n in enumerate(names or ()) if n == twice)
    return UnreadableFileError(f"{shown_name(f.name)}: column {twice!r} appears {counts[twice]} times (columns {where}) and is read; "
                               "a record holds one value per name, so one column's text would be lost: rename or drop one")


def read_schema(schema, f: InputFile, names: list[str]):  # type: ignore[no-untyped-def]
    """The Arrow schema of the columns ``names`` as the build reads them: a struct (in a list too) cut
    to the fields ``f`` reads (:attr:`InputFile.fields`), as decoding would cut it, so a subfield
    nobody reads (a UUID's bytes, a ``decimal256``) is never handed to polars. pyarrow's cast to it
    keeps the children read as they are (no copy)."""
    import pyarrow as pa

    kept = _kept(f.fields)
    return pa.schema([_field(schema, n).with_type(_pruned(_field(schema, n).type, kept.get(n) if kept is not None else None)) for n in names])


def _kept(paths: tuple[tuple[str, ...], ...] | None) -> dict | None:  # type: ignore[type-arg]
    """Field paths as a tree: ``{name: subtree}``, None where everything below is read."""
    if paths is None:
        return None
    tree: dict = {}  # type: ignore[type-arg]
    for path in sorted(paths, key=len):  # a shorter path (all below it) before a longer one under it
        node = tree
        for i, name in enumerate(path):
            if name in node and node[name] is None:
                break  # all of it is read already
            if i == len(path) - 1:
                node[name] = None
            else:
                node = node.setdefault(name, {})
    return tree


def _pruned(t, kept: dict | None):  # type: ignore[no-untyped-def,type-arg]
    """Arrow type ``t`` with its structs cut to the fields of ``kept`` (None: ``t`` whole)."""
    import pyarrow as pa

    if kept is None:
        return t
    if pa.types.is_struct(t):
        fields = [t.field(i) for i in range(t.num_fields) if t.field(i).name in kept]
        return pa.struct([fld.with_type(_pruned(fld.type, kept[fld.name])) for fld in fields])
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = t.value_field.with_type(_pruned(t.value_type, kept))
        return pa.list_(inner) if pa.types.is_list(t) else pa.large_list(inner)
    return t  # a value read as a whole (text, a number), or one the decoder will call the wrong type


def _unreadable(schema, names: list[str]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """``{name: why}`` for the columns of ``names`` polars cannot import."""
    why = _import_failures(tuple(_field(schema, n).type for n in names))
    return {n: w for n, w in zip(names, why) if w is not None}


def _field(schema, name: str):  # type: ignore[no-untyped-def]
    """The first field of ``schema`` named ``name`` (``Schema.field`` refuses a name given twice)."""
    return schema.field(schema.names.index(name))


@functools.lru_cache(maxsize=256)
def _import_failures(types: tuple) -> tuple[str | None, ...]:  # type: ignore[type-arg]
    """Why polars cannot import a column of each Arrow type (None where it can), asked of empty
    columns, so no data is read: one import for all when all can (the usual case), and once per set
    of types, not per file (a folder of 20,000 files of one schema). ``decimal256`` imports empty and
    panics on data (a ``BaseException`` that stopped the whole build), so it is named by type."""
    import pyarrow as pa

    def failure(*checked) -> str | None:  # type: ignore[no-untyped-def]
        try:
            pl.from_arrow(pa.schema([pa.field(f"c{i}", t) for i, t in enumerate(checked)]).empty_table())
        except (pl.exceptions.PolarsError, pa.ArrowException, TypeError, ValueError) as exc:
            return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None

    if not any(map(_has_decimal256, types)) and failure(*types) is None:
        return (None,) * len(types)
    return tuple("polars has no 256-bit decimal type" if _has_decimal256(t) else failure(t) for t in types)


def _has_decimal256(t) -> bool:  # type: ignore[no-untyped-def]
    import pyarrow as pa

    if pa.types.is_decimal256(t):
        return True
    if isinstance(t, pa.ExtensionType):
        return _has_decimal256(t.storage_type)
    if pa.types.is_dictionary(t):
        return _has_decimal256(t.value_type)
    return any(_has_decimal256(t.field(i).type) for i in range(t.num_fields))


def utf8_checked(table):  # type: ignore[no-untyped-def]
    """``table``, or when a text column holds bytes that are not UTF-8 (a writer that does not check,
    a flipped byte pyarrow reads without a word), the same with text read as bytes: polars panicked on
    such a column (the whole build stopped); as bytes, :func:`as_text` makes each bad row a reject."""
    import pyarrow as pa

    try:
        table.validate(full=True)
        return table
    except pa.ArrowInvalid:
        pass
    return table.cast(pa.schema([fld.with_type(_strings_as_binary(fld.type)) for fld in table.schema]))


def _strings_as_binary(t):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    if pa.types.is_string(t):
        return pa.binary()
    if pa.types.is_large_string(t):
        return pa.large_binary()
    if pa.types.is_string_view(t):
        return pa.binary_view()
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(_strings_as_binary(t.value_type)))
    if pa.types.is_large_list(t):
        return pa.large_list(t.value_field.with_type(_strings_as_binary(t.value_type)))
    if pa.types.is_fixed_size_list(t):
        return pa.list_(t.value_field.with_type(_strings_as_binary(t.value_type)), t.list_size)
    if pa.types.is_struct(t):
        return pa.struct([t.field(i).with_type(_strings_as_binary(t.field(i).type)) for i in range(t.num_fields)])
    if pa.types.is_map(t):
        return pa.map_(_strings_as_binary(t.key_type), t.item_field.with_type(_strings_as_binary(t.item_type)))
    return t


def text_types(dtype: pl.DataType) -> pl.DataType:
    """``dtype`` with every binary leaf (at any depth) read as a string."""
    if dtype == pl.Binary:
        return pl.String()
    if isinstance(dtype, pl.List):
        return pl.List(text_types(dtype.inner))
    if isinstance(dtype, pl.Array):
        return pl.Array(text_types(dtype.inner), dtype.shape)
    if isinstance(dtype, pl.Struct):
        return pl.Struct({fld.name: text_types(fld.dtype) for fld in dtype.fields})
    return dtype


def as_text(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[tuple[int, str, str]]]:
    """``frame`` with binary leaves as text, and ``(row, column, raw)`` for each row whose bytes are
    not UTF-8 (those rows are left out of the frame)."""
    target = {name: text_types(dtype) for name, dtype in frame.schema.items()}
    changed = [name for name, dtype in frame.schema.items() if target[name] != dtype]
    if not changed:
        return frame, []
    try:
        return frame.cast(target), []  # type: ignore[arg-type]
    except pl.exceptions.PolarsError:  # some bytes are not UTF-8: find their rows
        pass
    bad = _rows_that_fail(frame.select(changed), {c: target[c] for c in changed}, 0, frame.height)
    rows = [(i, _bad_column(frame.slice(i, 1), changed, target), _raw_with_bytes(frame.slice(i, 1))) for i in bad]
    keep = pl.Series([True] * frame.height).scatter(bad, False)
    return frame.filter(keep).cast(target), rows  # type: ignore[arg-type]


#: How a float that is no number is written in a record's JSON text (JSON has no NaN or infinity).
_NON_FINITE_TEXT = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def non_finite_rows(frame: pl.DataFrame) -> pl.Series | None:
    """A mask of the rows holding a NaN or an infinity in a float (at any depth), or None when no
    row does. Only columns with a float leaf are scanned, in one vectorised pass."""
    flags = [e for name, dtype in frame.schema.items() if (e := _non_finite(pl.col(name), dtype)) is not None]
    if not flags:
        return None
    mask = frame.select(pl.any_horizontal(flags).fill_null(False)).to_series()
    return mask if mask.any() else None


def _non_finite(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    if dtype.is_float():
        return (expr.is_nan() | expr.is_infinite()).fill_null(False)
    if isinstance(dtype, pl.Array):
        return _non_finite(expr.arr.to_list(), pl.List(dtype.inner))
    if isinstance(dtype, pl.List):
        inner = _non_finite(pl.element(), dtype.inner)
        return None if inner is None else expr.list.eval(inner).list.any().fill_null(False)
    if isinstance(dtype, pl.Struct):
        inner = [e for fld in dtype.fields if (e := _non_finite(expr.struct.field(fld.name), fld.dtype)) is not None]
        return pl.any_horizontal(inner).fill_null(False) if inner else None
    return None


def json_with_non_finite(row: dict) -> str:  # type: ignore[type-arg]
    """One row as JSON text with a NaN or infinity written as the text ``"NaN"``, ``"Infinity"`` or
    ``"-Infinity"``: polars' JSON encoder (and orjson) write them as ``null``, which would read as a
    missing score, and a reject's raw text would hide what the file holds. As text, a score reads
    as "not a number" (``wrong_type``), as ``"nan"`` in JSON lines or CSV does."""

    def fix(value):  # type: ignore[no-untyped-def]
        if isinstance(value, float) and not math.isfinite(value):
            return _NON_FINITE_TEXT[str(value)]
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    return orjson.dumps(fix(row), default=str).decode("utf-8")


@dataclass(frozen=True)
class Undecoded:
    """A value of the detection sample shown as null because its bytes are not UTF-8 (:func:`text_or_null`)
    or its column's type is one polars cannot import (a ``decimal256``), or was left unread since the
    column is damaged before the first record: ``inspect`` counts it as what it is, not as a missing value."""

    kind: str  # "binary" (bytes), "object" or "list" (holding such bytes), "unreadable" or "unread"
    size: int | None = None  # the bytes' length, for "binary"
    arrow_type: str | None = None  # the column's type, for "unreadable"

    @property
    def type_name(self) -> str:
        """The type ``inspect``'s field table counts the value as: ``binary``, ``decimal256(40, 2)``."""
        return self.arrow_type if self.kind == "unreadable" and self.arrow_type else self.kind

    def describe(self) -> str:
        """``<9 bytes, not UTF-8>``, ``<an object (a list) holding bytes that are not UTF-8>``, or
        ``<a decimal256(40, 2) value, which polars cannot read>``."""
        if self.kind == "binary":
            return f"<{self.size:,} byte{'' if self.size == 1 else 's'}, not UTF-8>"
        if self.kind == "unreadable":
            return f"<a {self.arrow_type} value, which polars cannot read>"
        if self.kind == "unread":  # :attr:`~prefdata.io.records.Damage.columns`
            return "<not read: the column is damaged before the first record>"
        return f"<{'an object' if self.kind == 'object' else 'a list'} holding bytes that are not UTF-8>"


def text_or_null(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[tuple[int, str, Undecoded]]]:
    """``frame`` with binary leaves as text, and a value whose bytes are not UTF-8 as null: for the
    detection sample, which must see a file's columns even when one (a UUID's or an image's bytes)
    holds no text in any row; the build rejects such a value only where it reads it (:func:`as_text`).
    Each value so nulled is ``(row, column, what it was)``: an image column is no empty column."""
    nulled: list[tuple[int, str, Undecoded]] = []
    for name, dtype in frame.schema.items():
        target = text_types(dtype)
        if target == dtype:
            continue
        try:
            frame = frame.with_columns(pl.col(name).cast(target))
        except pl.exceptions.PolarsError:
            values = frame.get_column(name).to_list()  # rebuilt: a null over the bytes still fails the cast
            kind = "binary" if dtype == pl.Binary else "object" if isinstance(dtype, pl.Struct) else "list"
            for i in _rows_that_fail(frame.select(name), {name: target}, 0, frame.height):
                nulled.append((i, name, Undecoded(kind, len(values[i]) if kind == "binary" else None)))
                values[i] = None
            frame = frame.with_columns(pl.Series(name, values, dtype=dtype).cast(target))
    return frame, nulled


def _rows_that_fail(frame: pl.DataFrame, target: dict[str, pl.DataType], lo: int, hi: int) -> list[int]:
    """Rows in ``[lo, hi)`` whose cast fails, found by halving: a few casts per bad row, not one per row."""
    if hi <= lo:
        return []
    try:
        frame.slice(lo, hi - lo).cast(target)  # type: ignore[arg-type]
        return []
    except pl.exceptions.PolarsError:
        if hi - lo == 1:
            return [lo]
    mid = (lo + hi) // 2
    return _rows_that_fail(frame, target, lo, mid) + _rows_that_fail(frame, target, mid, hi)


def _bad_column(row: pl.DataFrame, changed: list[str], target: dict[str, pl.DataType]) -> str:
    for name in changed:
        try:
            row.select(pl.col(name).cast(target[name]))
        except pl.exceptions.PolarsError:
            return name
    return changed[0]


def _raw_with_bytes(row: pl.DataFrame) -> str:
    """The row as JSON, bytes shown as text with ``\\xNN`` escapes for what is not UTF-8."""

    def show(value: object) -> str:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value).decode("utf-8", "backslashreplace")
        return str(value)  # a decimal, a duration: shown as written, not a crash of the whole build

    return orjson.dumps(row.to_dicts()[0], default=show).decode("utf-8")

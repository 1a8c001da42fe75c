"""Field paths in raw records: ``prompt``, ``meta.lang``, ``turns[0].text``, ``turns[-1]``.

A shape reads a handful of fields; this module turns their paths into (a) the nested polars type the
decoder extracts and (b) the polars expression that reads the value from the decoded columns. So a
config can point at nested data without any code, and only the fields a shape reads are decoded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl

from prefdata.errors import ConfigError
from prefdata.io.decode import ANY, FieldSpec, column_of

_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[(-?\d+)\]")


def parse_path(path: str) -> tuple[str | int, ...]:
    """``"a.b[0].c"`` -> ``("a", "b", 0, "c")``.

    >>> parse_path("turns[-1].text")
    ('turns', -1, 'text')
    """
    tokens: list[str | int] = []
    pos = 0
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m or m.end() == pos:
            raise ConfigError(f"invalid field path {path!r} (use names separated by '.', and [i] for list items)")
        tokens.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if not tokens or not isinstance(tokens[0], str):
        raise ConfigError(f"invalid field path {path!r}: it must start with a field name")
    return tuple(tokens)


def expr_for(path: str) -> pl.Expr:
    """The expression reading ``path`` from a frame whose columns are the decoded top-level fields
    (:func:`prefdata.io.decode.column_of`)."""
    tokens = parse_path(path)
    expr = pl.col(column_of(str(tokens[0])))
    for token in tokens[1:]:
        expr = expr.list.get(token, null_on_oob=True) if isinstance(token, int) else expr.struct.field(token)
    return expr


@dataclass(frozen=True)
class Leaf:
    """One path to decode, the type of its value, whether its text leaves are strict, and whether a
    blank string there is a missing value (an optional list, a LLaMA-Factory ``"history": ""``)."""

    path: str
    dtype: pl.DataType
    strict: tuple[tuple[str, ...], ...] = ()  # text leaves inside the value (() = the value itself)
    blank_is_missing: bool = False
    #: ``path`` is one top-level field's name as the record spells it, not a path to parse: a custom
    #: shape hands its function every field a record holds, and a CSV header or a JSON key may be
    #: ``""`` (a trailing comma), ``a.b`` or ``x[0]``, which as a path would be an error or another field.
    literal: bool = False

    def tokens(self) -> tuple[str | int, ...]:
        return (self.path,) if self.literal else parse_path(self.path)


def _wrap(tokens: Sequence[str | int], dtype: pl.DataType) -> pl.DataType:
    for token in reversed(tokens):
        dtype = pl.List(dtype) if isinstance(token, int) else pl.Struct({token: dtype})
    return dtype


def _merge(a: pl.DataType, b: pl.DataType, where: str) -> pl.DataType:
    if a == b:
        return a
    if isinstance(a, pl.Struct) and isinstance(b, pl.Struct):
        fields = {f.name: f.dtype for f in a.fields}
        for f in b.fields:
            fields[f.name] = _merge(fields[f.name], f.dtype, f"{where}.{f.name}") if f.name in fields else f.dtype
        return pl.Struct(fields)
    if isinstance(a, pl.List) and isinstance(b, pl.List):
        return pl.List(_merge(a.inner, b.inner, f"{where}[]"))
    raise ConfigError(f"field {where!r} is read both as {a} and as {b}; map it once")


def field_specs(leaves: Iterable[Leaf]) -> tuple[FieldSpec, ...]:
    """Merge leaf paths into one :class:`FieldSpec` per top-level field."""
    dtypes: dict[str, pl.DataType] = {}
    strict: dict[str, list[tuple[str, ...]]] = {}
    blank: dict[str, list[tuple[str, ...]]] = {}
    for leaf in leaves:
        tokens = leaf.tokens()
        top, rest = str(tokens[0]), tokens[1:]
        dtype = _wrap(rest, leaf.dtype)
        dtypes[top] = _merge(dtypes[top], dtype, top) if top in dtypes else dtype
        prefix = tuple(ANY if isinstance(t, int) else t for t in rest)
        strict.setdefault(top, []).extend(prefix + s for s in leaf.strict)
        blank.setdefault(top, []).extend([prefix] if leaf.blank_is_missing else [])
    return tuple(FieldSpec(name, dtypes[name], tuple(dict.fromkeys(strict[name])), tuple(dict.fromkeys(blank[name]))) for name in dtypes)


def blank_as_null(raw: pl.Expr) -> pl.Expr:
    """``raw`` (decoded as text) with a blank value (empty or whitespace only) as null.

    CSV has no null: pandas, Excel and the csv module write a missing value as an empty cell. So an
    optional field (a score, a model name) reads a blank value as missing, as JSON ``null`` and a
    Parquet null are, and the same table builds the same pairs in every format. Text a pair needs
    is not read through this: a blank response stays an ``empty_field`` reject.
    """
    return pl.when(raw.cast(pl.String).str.strip_chars() != "").then(raw)


def optional_field(path: str | None) -> pl.Expr:
    """The optional text field at ``path`` (a model name), blank as null; null when no path is configured."""
    return blank_as_null(expr_for(path)) if path else pl.lit(None, pl.String)


def as_number(raw: pl.Expr) -> pl.Expr:
    """A raw value (decoded as text) as a finite float, or null when it is not one.

    ``"8"`` and ``8`` read as 8.0; ``"NaN"`` and ``"inf"`` cast to floats too, but they are no score:
    NaN sorts above every number (a NaN completion would be "best") and compares true against
    anything in polars, so they count as values that are not numbers, which the shapes report.
    """
    value = raw.cast(pl.Float64, strict=False)
    return pl.when(value.is_finite()).then(value)


def value_text(raw: pl.Expr) -> pl.Expr:
    """A raw label or verdict as the text configured values are matched against: trimmed and
    lower-cased, a whole number written as an integer (JSON ``1``, ``1.0`` and CSV ``"1.0"`` are one
    value, however the batch was decoded), and a blank value (an empty CSV cell) as missing.
    :func:`prefdata.config.value_key` is the same for a value from the config."""
    text = raw.cast(pl.String).str.strip_chars().str.to_lowercase()
    num = text.cast(pl.Float64, strict=False)
    whole = num.is_finite() & (num == num.floor()) & (num.abs() < 2**53)
    return pl.when(text == "").then(None).when(whole).then(num.cast(pl.Int64).cast(pl.String)).otherwise(text)

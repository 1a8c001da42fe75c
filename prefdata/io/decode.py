"""Decode JSON records strictly against the fields a shape needs.

polars decodes a whole batch in one vectorized call, but it is lenient: a JSON ``true`` or ``5``
where a string belongs comes out as the string ``"true"``/``"5"``, and one malformed line fails the
whole batch. prefdata must never coerce text silently and never lose a batch to one bad line, so:

1. the batch is decoded by polars (fast path);
2. rows whose text fields *could* have been coerced (the decoded value is exactly ``true``,
   ``false`` or a JSON number), and rows with a one-item list of single values that may be a
   scalar polars wrapped (``"x"`` read as ``["x"]``, see :class:`_LoneList`), are re-decoded one by
   one with orjson and checked exactly;
3. a batch polars refuses (malformed JSON, a list where text belongs) is checked line by line, and
   the lines that pass are decoded by polars again, so every record decodes the same whatever
   else its batch holds (polars and orjson differ on duplicate keys and on how a number becomes
   text: ``1.0`` is ``"1"`` to polars, ``"1.0"`` to orjson).

Also re-decoded with orjson: lines with a ``\\uD800``-``\\uDFFF`` escape. polars turns a *lone*
surrogate (invalid JSON: it encodes no character) into a NUL character without a word; orjson
rejects it, and decodes valid surrogate pairs (emoji written by ``ensure_ascii``) the same as polars.

Only ``String``, ``List`` and ``Struct`` types are used: scalars that are not text (scores, labels,
winners) are read as strings and interpreted by the shape, which can then say why a value is wrong.
Text leaves (messages, prompts, responses) are *strict*: they must be JSON strings.
"""

from __future__ import annotations

import functools
import json
import re
import reprlib
from dataclasses import dataclass, field

import orjson
import polars as pl

#: Marks "every item of a list" in a leaf path.
ANY = "*"
_NUMBER = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
#: A blank text as polars' ``strip_chars`` sees it (Unicode White_Space), as an optional score's
#: blank is read (``prefdata.shapes.fields.blank_as_null``): Python's ``\s`` also counts \x1c-\x1f.
_BLANK = re.compile(r"[^\S\x1c-\x1f]*")

#: A ``\\uDxxx`` escape, which every surrogate escape is (two literal scans, at memchr speed).
_SURROGATE_ESCAPE = pl.col("_line").str.contains_any(["\\ud", "\\uD"])

DECODE_ERROR_SCHEMA = {"_reason": pl.String, "_field": pl.String, "_detail": pl.String}


@dataclass(frozen=True)
class FieldSpec:
    """One top-level field a shape reads: its decoded type and which of its leaves must be text.

    ``strict`` holds leaf paths relative to the field (``()`` when the field itself is text;
    ``("*", "content")`` for the content of every message of a list). ``blank`` holds paths, in the
    same form, of optional lists where a blank JSON string (empty or whitespace only, as a converter
    writes an empty field) is read as missing, as ``null`` is, not as a string where a list belongs.
    """

    name: str
    dtype: pl.DataType
    strict: tuple[tuple[str, ...], ...] = ()
    blank: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class DecodeSpec:
    fields: tuple[FieldSpec, ...]
    dtype: pl.Struct = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "dtype", pl.Struct({f.name: f.dtype for f in self.fields}))

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]


def decode(lines: pl.DataFrame, spec: DecodeSpec) -> pl.DataFrame:
    """``_record``, ``_line`` -> the same plus one column per field (named by :func:`column_of`) and
    ``_reason/_field/_detail``.

    A row with a non-null ``_reason`` could not be decoded (its fields are null); the reason is one
    of ``malformed_json``, ``malformed_record``, ``non_text_content``, ``wrong_type``.
    """
    if lines.height == 0:
        return _empty(lines, spec)
    try:
        rec = lines.get_column("_line").str.json_decode(spec.dtype)
    except pl.exceptions.PolarsError:
        return _decode_refused(lines, spec)
    return _decoded(lines, rec, spec)


def _decoded(lines: pl.DataFrame, rec: pl.Series, spec: DecodeSpec) -> pl.DataFrame:
    """The fast path's result: polars' decode ``rec``, with suspect rows decoded again exactly."""
    frame = lines.with_columns(rec.alias("_rec"))
    is_null_record = pl.col("_rec").is_null()
    frame = frame.with_columns(
        pl.when(is_null_record).then(pl.lit("malformed_record")).alias("_reason"),
        pl.lit(None, pl.String).alias("_field"),
        pl.when(is_null_record).then(pl.lit("expected a JSON object, got null")).alias("_detail"),
    )
    suspect = pl.any_horizontal([e for e in (_suspect_expr(spec), _SURROGATE_ESCAPE) if e is not None])
    flagged = frame.select(suspect.fill_null(False)).to_series() | _wrapped_scalars(frame, spec)
    if flagged.any():
        fixed = _decode_slow(frame.filter(flagged).select("_record", "_line"), spec)
        frame = _unnest(frame.filter(~flagged), spec)
        return pl.concat([frame, fixed]).sort("_record")
    return _unnest(frame, spec)


def _decode_refused(lines: pl.DataFrame, spec: DecodeSpec) -> pl.DataFrame:
    """A batch polars refused: each line checked exactly, and those that pass decoded by polars.

    polars and orjson agree on what is valid JSON (lone surrogates aside, which always take the
    exact path), so the lines that pass are the ones polars would have decoded in a batch of their own.
    """
    checked = _decode_slow(lines, spec)
    passed = checked.get_column("_reason").is_null()
    if not passed.any():
        return checked
    good = checked.filter(passed).select("_record", "_line")
    try:
        rec = good.get_column("_line").str.json_decode(spec.dtype)
    except pl.exceptions.PolarsError:  # polars refuses what orjson took: keep the exact decode
        return checked
    return pl.concat([checked.filter(~passed), _decoded(good, rec, spec)]).sort("_record")


#: Put before every decoded field's name to name its column (:func:`column_of`): none of prefdata's
#: own columns starts with it, and the same mark before every name keeps distinct names distinct.
_RAW = "\x00"


def column_of(name: str) -> str:
    """The column the decoded top-level field ``name`` is in: its name after a mark no key starts with.

    The frame of a batch holds the decoder's own columns (``_record``, ``_reason``) beside the raw
    fields, and each shape adds working columns of its own (``__prompt``, ``__winner``, ``__n``);
    a raw field of the same name crashed the build (a duplicate column) or was silently replaced
    (a ``__winner`` prompt written as "a"). Marked, no raw field shares a column with anything.
    Shapes read fields through :func:`prefdata.shapes.fields.expr_for`, which applies the mark.
    """
    return _RAW + name


def _unnest(frame: pl.DataFrame, spec: DecodeSpec) -> pl.DataFrame:
    """The decoded fields as columns (:func:`column_of`). ``unnest`` is linear in the fields, a
    ``struct.field`` each is quadratic in polars (a custom source reading 3,000 fields took 9 s a
    batch); renaming a struct's fields only relabels them."""
    rec = pl.col("_rec").struct.rename_fields([column_of(n) for n in spec.names])
    return frame.select("_record", "_line", rec, "_reason", "_field", "_detail").unnest("_rec")


def _empty(lines: pl.DataFrame, spec: DecodeSpec) -> pl.DataFrame:
    schema = {"_record": pl.Int64, "_line": pl.String, **{column_of(f.name): f.dtype for f in spec.fields}, **DECODE_ERROR_SCHEMA}
    return pl.DataFrame(schema=schema)


# -- suspects: values polars may have coerced into text -------------------------------------------


def _suspect_expr(spec: DecodeSpec) -> pl.Expr | None:
    exprs = []
    for f in spec.fields:
        for leaf in f.strict:
            e = _leaf_suspect(pl.col("_rec").struct.field(f.name), f.dtype, leaf)
            if e is not None:
                exprs.append(e)
    # a one-item list with a list on the way to it (a history pair) is read again whenever it occurs
    exprs += [lone.held for lone in _lone_lists(spec) if lone.path is None]
    if not exprs:
        return None
    return pl.any_horizontal(exprs)


def _leaf_suspect(expr: pl.Expr, dtype: pl.DataType, path: tuple[str, ...]) -> pl.Expr | None:
    if not path:
        if dtype != pl.String:
            return None
        return expr.is_in(["true", "false"]) | expr.str.contains(_NUMBER)
    head, rest = path[0], path[1:]
    if head == ANY:
        assert isinstance(dtype, pl.List)
        inner = _leaf_suspect(pl.element(), dtype.inner, rest)
        return None if inner is None else expr.list.eval(inner.fill_null(False)).list.any()
    assert isinstance(dtype, pl.Struct)
    sub = {f.name: f.dtype for f in dtype.fields}[head]
    return _leaf_suspect(expr.struct.field(head), sub, rest)


@dataclass(frozen=True)
class _LoneList:
    """A place in the decoded value where a list of single values (``List(String)``) may hold one
    item: what polars makes of a JSON string, number or boolean where such a list belongs (``"x"``
    is ``["x"]``, ``["a", "b"]`` where pairs belong ``[["a"], ["b"]]``; ``[]`` would be refused).
    Read exactly, the record says the value is not a list (a LLaMA-Factory ``"history": ""``, a
    ``"scores": 7`` read as ``scores[0]``, text where a custom source's sample held lists), not that
    the list holds one item."""

    held: pl.Expr  # the row holds a one-item list here
    #: JSONPath of that list's first item in the raw line, where no list lies on the way ($.tags[0],
    #: $.meta.tags[0]); None: every row holding one is read again
    path: str | None = None
    first: pl.Expr | None = None  # the decoded first item


_JSONPATH_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@functools.cache
def _lone_lists(spec: DecodeSpec) -> tuple[_LoneList, ...]:
    """Every :class:`_LoneList` of ``spec``, built once per spec (each batch's suspect rows and
    wrapped scalars both ask)."""
    found: list[_LoneList] = []
    for f in spec.fields:
        if _holds_value_list(f.dtype):  # no expression for the others: a custom source may read thousands of fields
            found += _lone_in(pl.col("_rec").struct.field(f.name), f.dtype, f"$.{f.name}" if _JSONPATH_KEY.fullmatch(f.name) else None)
    return tuple(found)


def _holds_value_list(dtype: pl.DataType) -> bool:
    if isinstance(dtype, pl.Struct):
        return any(_holds_value_list(f.dtype) for f in dtype.fields)
    return isinstance(dtype, pl.List) and (dtype.inner == pl.String or _holds_value_list(dtype.inner))


def _lone_in(expr: pl.Expr, dtype: pl.DataType, path: str | None) -> list[_LoneList]:
    if isinstance(dtype, pl.Struct):
        found: list[_LoneList] = []
        for f in dtype.fields:
            inner = f"{path}.{f.name}" if path is not None and _JSONPATH_KEY.fullmatch(f.name) else None
            found += _lone_in(expr.struct.field(f.name), f.dtype, inner)
        return found
    if not isinstance(dtype, pl.List):
        return []
    if dtype.inner == pl.String:
        one = expr.list.len() == 1
        return [_LoneList(one, f"{path}[0]", expr.list.first()) if path is not None else _LoneList(one)]
    inner = _lone_in(pl.element(), dtype.inner, None)
    if not inner:
        return []
    return [_LoneList(expr.list.eval(pl.any_horizontal([lone.held for lone in inner]).fill_null(False)).list.any())]


def _wrapped_scalars(frame: pl.DataFrame, spec: DecodeSpec) -> pl.Series:
    """Rows with a one-item list a JSONPath reaches (:class:`_LoneList`) whose raw line does not hold
    that same first item there: a scalar polars wrapped, read again exactly. A real one-item list
    (``"tags": ["en"]`` in every record) costs one JSONPath match of its row instead of an exact
    decode, which took nine times the batch's decode.

    The JSONPath writes a number as the line does and polars as it reads it (``7.0`` is ``"7"``,
    ``1e+20`` ``"100000000000000000000"``), so texts that read as the same number are the same item,
    as are a JSON ``null`` item and polars' null: every record of ``"ratings": [7.0]`` (Python's
    ``json.dumps`` of a float) was read again, and decoded ``"7.0"`` where ``[7.0, 8.0]`` gives
    ``"7"``. A scalar polars wrapped (``"ratings": 7``) has no item at the path (null) and a null
    item only comes from ``[null]``: a wrapped scalar is never null, so both still tell apart."""
    lone = [x for x in _lone_lists(spec) if x.path is not None]
    if not lone:
        return pl.repeat(False, frame.height, eager=True)
    held = frame.select(pl.any_horizontal([x.held for x in lone]).fill_null(False)).to_series()
    if not held.any():
        return held
    line = pl.col("_line")
    differs = []
    for x in lone:
        at = line.str.json_path_match(str(x.path))  # null where the path matches nothing (a scalar) or a JSON null
        first = x.first
        assert first is not None  # set with path
        same = (at == first) | (at.cast(pl.Float64, strict=False) == first.cast(pl.Float64, strict=False)) | (at.is_null() & first.is_null())
        differs.append((x.held & ~same.fill_null(False)).fill_null(False))
    wrapped = frame.filter(held).select(pl.any_horizontal(differs)).to_series()
    return held.scatter(held.arg_true(), wrapped)


# -- exact, one record at a time ------------------------------------------------------------------


class _Mismatch(Exception):
    def __init__(self, reason: str, where: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.where, self.detail = reason, where, detail


def is_blank_text(value: object) -> bool:
    """Whether ``value`` is a JSON string with nothing in it (empty or Unicode White_Space only)."""
    return isinstance(value, str) and _BLANK.fullmatch(value) is not None


def json_kind(value: object) -> str:
    """The JSON type name of a decoded value (``boolean``, ``number``, ``string``, ``array``, ``object``, ``null``)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def json_text(value: object, *, ensure_ascii: bool = True) -> str:
    """``json.dumps(value)`` for a message or a preview, also for valid JSON nested deeper than
    ``json.dumps`` recurses (orjson reads 1,024 levels): arrays and objects below 8 levels are
    shown as ``[...]`` and ``{...}``."""
    try:
        return json.dumps(value, ensure_ascii=ensure_ascii)
    except RecursionError:
        return _clipped_json(value, 8, ensure_ascii)


def _clipped_json(value: object, depth: int, ensure_ascii: bool) -> str:
    if isinstance(value, list):
        return "[...]" if depth == 0 else "[" + ", ".join(_clipped_json(v, depth - 1, ensure_ascii) for v in value) + "]"
    if isinstance(value, dict):
        if depth == 0:
            return "{...}"
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=ensure_ascii)}: {_clipped_json(v, depth - 1, ensure_ascii)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=ensure_ascii)


@dataclass(frozen=True)
class _Rules:
    """The leaf paths (field name first) of a spec's strict text and of its lists read as missing when blank."""

    strict: frozenset[tuple[str, ...]]
    blank: frozenset[tuple[str, ...]]

    @classmethod
    def of(cls, spec: DecodeSpec) -> _Rules:
        return cls(
            frozenset((f.name, *leaf) for f in spec.fields for leaf in f.strict),
            frozenset((f.name, *leaf) for f in spec.fields for leaf in f.blank),
        )


def _conform(value: object, dtype: pl.DataType, where: str, rules: _Rules, path: tuple[str, ...]) -> object:
    if value is None:
        return None
    if isinstance(dtype, pl.Struct):
        if not isinstance(value, dict):
            raise _Mismatch("wrong_type", where, f"{where}: expected an object, got {json_kind(value)}")
        return {f.name: _conform(value.get(f.name), f.dtype, f"{where}.{f.name}", rules, (*path, f.name)) for f in dtype.fields}
    if isinstance(dtype, pl.List):
        if not isinstance(value, list):
            if path in rules.blank and is_blank_text(value):
                return None  # an empty field a converter wrote where an optional list belongs: missing
            raise _Mismatch("wrong_type", where, f"{where}: expected an array, got {json_kind(value)}")
        return [_conform(v, dtype.inner, f"{where}[{i}]", rules, (*path, ANY)) for i, v in enumerate(value)]
    # String leaf
    if isinstance(value, str):
        return value
    kind = json_kind(value)
    if path in rules.strict:
        raise _Mismatch("non_text_content", where, f"{where}: expected text, got {kind} {_preview(value)}")
    if kind in ("object", "array"):
        raise _Mismatch("wrong_type", where, f"{where}: expected a single value, got {kind}")
    return orjson.dumps(value).decode()


def _preview(value: object) -> str:
    """The start of a value's JSON for a reject's detail; a value nested deeper than orjson writes
    (255 levels) is shown by ``reprlib``, which stops at a few levels."""
    try:
        return orjson.dumps(value).decode()[:80]
    except orjson.JSONEncodeError:
        return reprlib.repr(value)[:80]


def _decode_slow(lines: pl.DataFrame, spec: DecodeSpec) -> pl.DataFrame:
    rules = _Rules.of(spec)
    values: list[dict | None] = []
    reasons: list[str | None] = []
    fields: list[str | None] = []
    details: list[str | None] = []
    for line in lines.get_column("_line"):
        value, reason, where, detail = None, None, None, None
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            reason, detail = "malformed_json", str(exc)
        else:
            if not isinstance(obj, dict):
                reason, detail = "malformed_record", f"expected a JSON object, got {json_kind(obj)}"
            else:
                try:
                    value = {f.name: _conform(obj.get(f.name), f.dtype, f.name, rules, (f.name,)) for f in spec.fields}
                except _Mismatch as m:
                    reason, where, detail = m.reason, m.where, m.detail
        values.append(value)
        reasons.append(reason)
        fields.append(where)
        details.append(detail)
    rec = pl.Series("_rec", values, dtype=spec.dtype, strict=True)
    frame = lines.select("_record", "_line").with_columns(
        rec,
        pl.Series("_reason", reasons, dtype=pl.String),
        pl.Series("_field", fields, dtype=pl.String),
        pl.Series("_detail", details, dtype=pl.String),
    )
    return _unnest(frame, spec)

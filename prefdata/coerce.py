"""Read foreign column types as the canonical ones, or say that they cannot be.

``check`` and ``report`` exist to look at datasets other tools wrote, whose types drift from the
canonical schema: message ``content`` stored as bytes (sometimes not even valid UTF-8), as a list of
``{type, text}`` parts (the OpenAI/multimodal shape), ``lineage`` as a plain string, columns or
struct fields in another order. Both read such data through these functions, so a dataset one of
them reads the other reads the same way, instead of a polars cast error aborting the whole run.
:func:`coerce` returns ``None`` for a type it cannot read, and the caller decides whether that is
fatal (a message column) or a column of nulls (nullable metadata).
"""

from __future__ import annotations

import polars as pl

#: Separator between the text parts of a ``[{type, text}, ...]`` message content. Chat templates that
#: accept parts render the text parts back to back, so the checks see the text the model would.
PART_SEPARATOR = ""


def _decode_lossy(s: pl.Series) -> pl.Series:
    """Bytes to text with invalid UTF-8 replaced by U+FFFD: polars' cast aborts the whole scan instead."""
    return pl.Series(s.name, [None if b is None else b.decode("utf-8", "replace") for b in s.to_list()], dtype=pl.String)


def _is_text_like(dtype: pl.DataType) -> bool:
    return dtype in (pl.String, pl.Null, pl.Categorical, pl.Binary) or isinstance(dtype, (pl.Categorical, pl.Enum))


def is_dictionary_text(dtype: pl.DataType) -> bool:
    """A dictionary-encoded string (pandas ``category``, Arrow ``dictionary<string>``): polars reads it
    as ``Categorical`` or ``Enum``, the Hugging Face loader as plain strings."""
    return isinstance(dtype, (pl.Categorical, pl.Enum))


def lossless(found: pl.DataType, target: pl.DataType) -> bool:
    """Whether values of ``found`` read as ``target`` without loss or guessing: the same values stored
    another way (a dictionary-encoded string, an integer or float32 score, struct fields in another
    order). Such a column is not a schema problem; a string score or a plain-text message column is.
    """
    if found == target:
        return True
    if target == pl.String:
        return is_dictionary_text(found)
    if target.is_float():
        return found.is_integer() or found == pl.Float32
    if target.is_integer():
        return found.is_integer() and _fits(found, target)
    if isinstance(target, pl.List) and isinstance(found, pl.List):
        return lossless(found.inner, target.inner)
    if isinstance(target, pl.Struct) and isinstance(found, pl.Struct):
        have = {f.name: f.dtype for f in found.fields}
        return set(have) == {f.name for f in target.fields} and all(lossless(have[f.name], f.dtype) for f in target.fields)
    return False


#: The range of each integer type, for :func:`lossless`.
_INT_RANGE = {
    **{t: (-(2 ** (b - 1)), 2 ** (b - 1) - 1) for t, b in ((pl.Int8, 8), (pl.Int16, 16), (pl.Int32, 32), (pl.Int64, 64))},
    **{t: (0, 2**b - 1) for t, b in ((pl.UInt8, 8), (pl.UInt16, 16), (pl.UInt32, 32), (pl.UInt64, 64))},
}


def _fits(found: pl.DataType, target: pl.DataType) -> bool:
    """Every value of integer type ``found`` is one of integer type ``target``."""
    kind = lambda dtype: dtype if isinstance(dtype, type) else type(dtype)
    (lo, hi), (tlo, thi) = _INT_RANGE.get(kind(found), (1, 0)), _INT_RANGE.get(kind(target), (0, -1))
    return tlo <= lo and hi <= thi


def text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    """``expr`` (of type ``dtype``) as text, or None when ``dtype`` has no faithful text reading.

    Read: strings, categoricals, bytes (lossy UTF-8), numbers and booleans, and lists of strings or of
    ``{type, text}`` parts (text parts joined). Anything else (structs, nested lists of numbers) is not
    guessed at.
    """
    if dtype == pl.String:
        return expr
    if dtype == pl.Binary:
        return expr.map_batches(_decode_lossy, return_dtype=pl.String)
    if _is_text_like(dtype) or dtype.is_numeric() or dtype == pl.Boolean:
        return expr.cast(pl.String)
    if isinstance(dtype, pl.List):
        inner = dtype.inner
        if isinstance(inner, pl.Struct):
            fields = {f.name: f.dtype for f in inner.fields}
            if "text" not in fields:
                return None
            part = text(pl.element().struct.field("text"), fields["text"])
        else:
            part = text(pl.element(), inner) if _is_text_like(inner) else None
        return None if part is None else expr.list.eval(part).list.join(PART_SEPARATOR)
    return None


def coerce(expr: pl.Expr, found: pl.DataType, target: pl.DataType) -> pl.Expr | None:
    """``expr`` read as ``target``, or None when ``found`` cannot be read as it without guessing.

    Values that do not parse (a score of "n/a") become null rather than failing the scan.
    """
    if found == target:
        return expr
    if found == pl.Null:
        return expr.cast(target)
    if target == pl.String:
        return text(expr, found)
    if target.is_numeric():
        if found.is_numeric() or found == pl.Boolean:
            return expr.cast(target, strict=False)
        as_text = text(expr, found) if _is_text_like(found) else None
        return None if as_text is None else as_text.cast(target, strict=False)
    if isinstance(target, pl.List) and isinstance(target.inner, pl.Struct):
        return _coerce_struct_list(expr, found, target.inner)
    return None


def _coerce_struct_list(expr: pl.Expr, found: pl.DataType, target: pl.Struct) -> pl.Expr | None:
    """A list of structs with the target's fields (missing ones null), each field coerced."""
    if not (isinstance(found, pl.List) and isinstance(found.inner, pl.Struct)):
        return None
    have = {f.name: f.dtype for f in found.inner.fields}
    if not any(f.name in have for f in target.fields):
        return None
    el = pl.element().struct
    fields = {}
    for f in target.fields:
        value = coerce(el.field(f.name), have[f.name], f.dtype) if f.name in have else pl.lit(None, dtype=f.dtype)
        if value is None:
            return None
        fields[f.name] = value
    return expr.list.eval(pl.struct(**fields)).cast(pl.List(target))

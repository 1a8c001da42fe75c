"""Read every shard as the canonical schema, whatever column order and compatible types it was written with.

``prefdata check`` reads shards one by one and normalizes each (prefdata/check/dataset.py), so a
dataset whose shards list their columns in different orders, whose message structs are
``{content, role}`` or carry dictionary-encoded roles, or where an optional column such as
``chosen_position`` exists in only some shards, passes ``check``. The report must read the same
datasets, so it plans each shard's columns the same way: by name, cast to the canonical type.

It does not import check's normalizer, which is private to ``check`` and shaped by what the checks
need (per-row flags, ids recomputed for every shard without them). The report differs on purpose in
one place: it refuses plain-string message columns, which ``check`` wraps, because it would show
conversations that are not in the data. A metadata column that cannot be read at all (``lineage``
as a plain string) is read as missing, and the report says so instead of failing the whole pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from prefdata.report.errors import DatasetError
from prefdata.schema import CANONICAL_SCHEMA

#: Columns the report cannot do without; the other canonical columns only enable parts of it.
REQUIRED_COLUMNS = ("prompt", "chosen", "rejected")


@dataclass(frozen=True)
class ShardPlan:
    """How to read one shard: an expression per canonical column, and what the reader should be told.

    ``columns`` holds the canonical columns the shard provides in a usable type (cast where needed);
    ``unusable`` maps a column present in an unusable type to a note; ``recast`` maps a column read
    through a cast that may lose values (text to number) or change them (number to text) to a note.
    """

    columns: dict[str, pl.Expr]
    unusable: dict[str, str] = field(default_factory=dict)
    recast: dict[str, str] = field(default_factory=dict)


def _is_scalar(dtype: pl.DataType) -> bool:
    return dtype.is_numeric() or isinstance(dtype, (pl.String, pl.Boolean, pl.Categorical, pl.Enum))


def conform(expr: pl.Expr, found: pl.DataType, target: pl.DataType) -> pl.Expr | None:
    """``expr`` (of type ``found``) as ``target``, or None when no faithful reading exists.

    Structs inside lists are matched by field name (so field order and extra fields do not matter)
    and their fields conformed recursively; scalars are cast non-strictly (a text that is not a
    number becomes null rather than failing the whole scan); a column of nulls becomes typed nulls.
    """
    if found == target:
        return expr
    if isinstance(found, pl.Null):
        return pl.lit(None, dtype=target)
    if isinstance(target, pl.List) and isinstance(target.inner, pl.Struct):
        return _conform_struct_list(expr, found, target)
    if _is_scalar(found) and not isinstance(target, (pl.List, pl.Struct)):
        if isinstance(found, (pl.Categorical, pl.Enum)):
            expr = expr.cast(pl.String)
        return expr.cast(target, strict=False)
    return None


def _conform_struct_list(expr: pl.Expr, found: pl.DataType, target: pl.List) -> pl.Expr | None:
    if not (isinstance(found, pl.List) and isinstance(found.inner, pl.Struct)):
        return None
    have = {f.name: f.dtype for f in found.inner.fields}
    fields: dict[str, pl.Expr] = {}
    for wanted in target.inner.fields:
        if wanted.name not in have:
            return None
        inner = conform(pl.element().struct.field(wanted.name), have[wanted.name], wanted.dtype)
        if inner is None:
            return None
        fields[wanted.name] = inner
    return expr.list.eval(pl.struct(**fields))


def _is_lossy(found: pl.DataType, target: pl.DataType) -> bool:
    """A cast the reader should hear about: text read as numbers (non-numbers become missing), or numbers as text."""
    if isinstance(found, (pl.Null, pl.List, pl.Struct)) or found == target:
        return False
    widening = found.is_numeric() and target.is_numeric()
    categorical = isinstance(found, (pl.Categorical, pl.Enum)) and target == pl.String
    return not (widening or categorical)


def plan_shard(schema: pl.Schema, name: str) -> ShardPlan:
    """Plan how to read a shard with Parquet schema ``schema`` (``name`` is only used in messages).

    Raises :class:`DatasetError` naming the shard and column when a message column is missing or is
    not a list of ``{role, content}`` structs: the report has nothing to show without them.
    """
    columns: dict[str, pl.Expr] = {}
    unusable: dict[str, str] = {}
    recast: dict[str, str] = {}
    for column, target in CANONICAL_SCHEMA.items():
        found = schema.get(column)
        if found is None:
            if column in REQUIRED_COLUMNS:
                raise DatasetError(f"{name}: missing canonical column {column!r} (see prefdata/schema.py)")
            continue
        expr = conform(pl.col(column), found, target)
        if expr is None and column in REQUIRED_COLUMNS:
            raise DatasetError(f"{name}: column {column!r} is {found}, expected {target} (a list of messages)")
        if expr is None:
            unusable[column] = f"column {column!r} is {found}, expected {target}; the report ignores it (shown as missing)"
            continue
        columns[column] = expr
        if _is_lossy(found, target):
            what = "values that are not numbers are shown as missing" if target.is_numeric() else f"read as {target}"
            recast[column] = f"column {column!r} is {found}, expected {target}; {what}"
    return ShardPlan(columns=columns, unusable=unusable, recast=recast)

"""Read every shard as the canonical schema, whatever column order and compatible types it was written with.

``prefdata check`` reads shards one by one and reads foreign types through :mod:`prefdata.coerce`,
so a dataset whose shards list their columns in different orders, whose message structs are
``{content, role}``, carry dictionary-encoded roles, bytes or ``{type, text}`` parts as content, or
where an optional column such as ``chosen_position`` exists in only some shards, passes ``check``.
The report reads the same datasets through the same functions, planned per shard.

The report is stricter in two places, on purpose, because it shows conversations and must not
show any that are not in the data: it refuses plain-string message columns (which ``check`` wraps
into one user turn) and messages without a ``role`` or ``content`` field (which ``check`` reads as
null). A metadata column that cannot be read at all (``lineage`` as a plain string) is read as
missing, and the report says so instead of failing the whole pass; so is an ``id`` of such a type
(a struct), as check reads it: ids are computed from the messages only where a shard has no ``id``.
A column typed null (an empty shard written by pandas) reads as nulls, message columns included.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from prefdata.coerce import coerce
from prefdata.report.errors import DatasetError
from prefdata.schema import CANONICAL_SCHEMA

#: Columns the report cannot do without; the other canonical columns only enable parts of it.
REQUIRED_COLUMNS = ("prompt", "chosen", "rejected")


@dataclass(frozen=True)
class ShardPlan:
    """How to read one shard: an expression per canonical column, and what the reader should be told.

    ``columns`` holds the canonical columns the shard provides in a usable type (cast where needed), and
    an ``id`` of an unusable type as nulls;
    ``unusable`` maps a column present in an unusable type to a note; ``recast`` maps a column read
    through a cast that may lose values (text to number) or change them (number to text) to a note.
    """

    columns: dict[str, pl.Expr]
    unusable: dict[str, str] = field(default_factory=dict)
    recast: dict[str, str] = field(default_factory=dict)


def conform(expr: pl.Expr, found: pl.DataType, target: pl.DataType) -> pl.Expr | None:
    """``expr`` (of type ``found``) as ``target`` (:func:`prefdata.coerce.coerce`), or None when no
    faithful reading exists; message structs must also carry every field of the target.

    A column typed null (every row null, as pandas types the columns of an empty frame) reads as
    nulls of ``target``, messages included, as check reads it.
    """
    if isinstance(target, pl.List) and isinstance(target.inner, pl.Struct) and found != pl.Null:
        if not (isinstance(found, pl.List) and isinstance(found.inner, pl.Struct)):
            return None
        have = {f.name for f in found.inner.fields}
        if any(f.name not in have for f in target.inner.fields):
            return None
    return coerce(expr, found, target)


def _is_lossy(found: pl.DataType, target: pl.DataType) -> bool:
    """A cast the reader should hear about: text read as numbers (non-numbers become missing), numbers
    as text, or message fields read as text from bytes or ``{type, text}`` parts."""
    if isinstance(found, pl.List) and isinstance(found.inner, pl.Struct) and isinstance(target, pl.List):
        have = {f.name: f.dtype for f in found.inner.fields}
        return any(isinstance(have[f.name], pl.List) or _is_lossy(have[f.name], f.dtype) for f in target.inner.fields)
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
        if expr is None and column == "id":
            # check reads it as null and names these pairs by place; it computes ids only where the column is absent
            columns[column] = pl.lit(None, dtype=target)
            unusable[column] = (f"column 'id' is {found}, expected {target}; ids are read as missing, as check reads them, "
                                "so offending pairs are named by place")
            continue
        if expr is None:
            unusable[column] = f"column {column!r} is {found}, expected {target}; the report ignores it (shown as missing)"
            continue
        columns[column] = expr
        if _is_lossy(found, target):
            if isinstance(target, pl.List):
                what = "message fields are read as text (bytes decoded, text parts joined)"
            elif target.is_numeric():
                what = "values that are not numbers are shown as missing"
            else:
                what = f"read as {target}"
            recast[column] = f"column {column!r} is {found}, expected {target}; {what}"
    return ShardPlan(columns=columns, unusable=unusable, recast=recast)

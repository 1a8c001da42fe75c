"""Read each record by its own form: a field holding text in one record and turns in another.

A shape reads its turn fields (a prompt, the responses, a transcript) as the kind most sampled
records hold (:meth:`prefdata.shapes.base.Shape.kinds`), and the decoder reads a field as one type.
A file may mix the documented layouts, a plain-string ``prompt``/``chosen``/``rejected`` beside
message lists: read as one kind, the records holding the other were rejects, and which records
depended on the order of the file. So the records the decoder refuses for a value's type are read
again by the kinds their own values have, each kind set by a copy of the shape
(:meth:`~prefdata.shapes.base.Shape.with_kinds`), and build exactly as a file of their kind alone
builds them (the canonical output is message lists either way).

Only refused records are looked at (one ``orjson`` parse each, as the decoder's exact path already
made): a file of one kind decodes as before, with nothing to read again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
import polars as pl

from prefdata.io.decode import decode
from prefdata.shapes.base import Shape, sample_values
from prefdata.shapes.messages import Kind, kind_of

if TYPE_CHECKING:
    from prefdata.build.plan import FilePlan

#: Decode reasons a value of another kind gives (text where a list belongs, or the reverse).
KIND_REASONS = ("wrong_type", "non_text_content")


def decode_by_form(lines: pl.DataFrame, plan: FilePlan) -> list[tuple[Shape, pl.DataFrame]]:
    """``lines`` of ``plan``'s file decoded as :func:`~prefdata.io.decode.decode` does, in
    ``(shape, decoded)`` parts: the plan's shape reads the first, a copy of it each further part,
    whose records hold other kinds in their turn fields. Each part's records keep their order; the
    parts together hold every record once (sort by ``_record`` for the file's order)."""
    from prefdata.build.plan import decode_spec

    shape, decoded = plan.shape, decode(lines, plan.spec)
    fields = shape.kinds()
    if not fields or decoded.height == 0:
        return [(shape, decoded)]
    refused = decoded.get_column("_reason").is_in(KIND_REASONS).fill_null(False)
    if not refused.any():
        return [(shape, decoded)]
    read_as = tuple(kind for _, kind in fields)
    groups: dict[tuple[Kind, ...], list[int]] = {}
    for row, line in zip(refused.arg_true().to_list(), decoded.filter(refused).get_column("_line").to_list(), strict=True):
        kinds = _own_kinds(line, fields)
        if kinds is not None and kinds != read_as:
            groups.setdefault(kinds, []).append(row)
    parts: list[tuple[Shape, pl.DataFrame]] = []
    again = pl.repeat(False, decoded.height, eager=True)
    for kinds, rows in groups.items():
        other = shape.with_kinds(kinds)
        if other is None:
            continue
        parts.append((other, decode(lines[rows], decode_spec(other, plan.filters))))
        again = again.scatter(rows, True)
    return [(shape, decoded.filter(~again)), *parts] if parts else [(shape, decoded)]


def _own_kinds(line: str, fields: tuple[tuple[str, Kind], ...]) -> tuple[Kind, ...] | None:
    """The kind each of ``fields`` has in this raw record: a field missing, null or of no kind keeps
    the kind it is read as (its reject is the same either way). None: the line is no JSON object."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    kinds = []
    for path, kind in fields:
        values = sample_values([record], path)
        own = kind_of(values[0]) if values else None
        kinds.append(own or kind)
    return tuple(kinds)

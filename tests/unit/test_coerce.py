"""coerce.py: which foreign column types are the canonical ones stored another way (``lossless``), and
how ``coerce`` reads the others that ``check`` and ``report`` meet in datasets other tools wrote
(module docstring: a type is read, or ``None`` when it cannot be without guessing)."""

from __future__ import annotations

import polars as pl
import pytest

from prefdata.coerce import coerce, lossless
from prefdata.schema import LINEAGE, MESSAGES


@pytest.mark.parametrize(("found", "expected"), [
    (pl.List(pl.Struct({"content": pl.String, "role": pl.String})), True),  # struct fields in another order
    (pl.List(pl.Struct({"role": pl.String, "content": pl.String, "name": pl.String})), False),  # one field more
    (pl.List(pl.Struct({"role": pl.String})), False),  # one field fewer
])
def test_a_message_struct_is_lossless_only_with_the_same_fields(found: pl.DataType, expected: bool) -> None:
    """lossless: "struct fields in another order" are the same values stored another way; a struct with
    a field more or fewer holds other values, a schema problem."""
    assert lossless(found, MESSAGES) is expected


@pytest.mark.parametrize(("found", "expected"), [
    (pl.Int32, True), (pl.UInt64, True), (pl.Float32, True),
    (pl.Decimal(38, 20), False),  # exact base-10 values: as float64 they round
    (pl.String, False),
])
def test_a_float_score_is_lossless_only_from_an_integer_or_float32_column(found: pl.DataType, expected: bool) -> None:
    """lossless: "an integer or float32 score" is a score stored another way; a decimal is not."""
    assert lossless(found, pl.Float64) is expected


@pytest.mark.parametrize("target", [MESSAGES, LINEAGE, pl.Float64, pl.String])
def test_an_all_null_column_reads_as_nulls_of_any_target(target: pl.DataType) -> None:
    """A column of polars type Null (every value null, e.g. a shard where nothing set it) holds no
    value to guess about: it reads as nulls of the target, message and lineage lists included."""
    frame = pl.DataFrame({"x": [None, None]}, schema={"x": pl.Null})
    expr = coerce(pl.col("x"), pl.Null, target)
    assert expr is not None
    got = frame.select(expr.alias("y"))["y"]
    assert (got.dtype, got.to_list()) == (target, [None, None])


@pytest.mark.parametrize(("value", "target", "expected"), [
    ([{"file": "a.jsonl"}], LINEAGE, [{"file": "a.jsonl", "record": None}]),  # lineage without its record
    ([{"content": "hi"}], MESSAGES, [{"role": None, "content": "hi"}]),  # a message without its role
])
def test_a_struct_list_missing_a_field_reads_it_as_null(value: list, target: pl.DataType, expected: list) -> None:
    """_coerce_struct_list: "a list of structs with the target's fields (missing ones null)"; only a
    struct with none of the target's fields is not read."""
    frame = pl.DataFrame({"x": [value]})
    expr = coerce(pl.col("x"), frame.schema["x"], target)
    assert expr is not None
    assert frame.select(expr.alias("y"))["y"].to_list() == [expected]
    unrelated = pl.DataFrame({"x": [[{"other": "hi"}]]})
    assert coerce(pl.col("x"), unrelated.schema["x"], target) is None

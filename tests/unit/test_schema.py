"""The ``id`` column is the documented sha256 of the pair's compact JSON, for any text."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from prefdata.schema import MESSAGES, id_expr, pair_id

message = st.fixed_dictionaries({"role": st.sampled_from(["system", "user", "assistant", "tool"]), "content": st.text()})
messages = st.lists(message, min_size=1, max_size=3)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(messages, messages, messages), min_size=1, max_size=5))
def test_polars_id_equals_reference_definition(rows: list[tuple[list, list, list]]) -> None:
    df = pl.DataFrame(
        {"prompt": [r[0] for r in rows], "chosen": [r[1] for r in rows], "rejected": [r[2] for r in rows]},
        schema={"prompt": MESSAGES, "chosen": MESSAGES, "rejected": MESSAGES},
    )
    assert df.select(id_expr()).to_series().to_list() == [pair_id(*r) for r in rows]

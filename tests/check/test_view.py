"""The flat view expectation suites see (``prefdata.check.view``; its columns are tabled in that
module's docstring and README's suite section): computed here on one hand-written row."""

from __future__ import annotations

import polars as pl

from prefdata.check.view import view_frame
from prefdata.schema import CANONICAL_SCHEMA


def _view(**columns) -> dict:
    row = {k: None for k in CANONICAL_SCHEMA}
    row.update(id="x", lineage=[], **columns)
    frame = pl.DataFrame([row], schema=CANONICAL_SCHEMA).lazy().with_columns(pl.lit("train").alias("split"))
    return view_frame(frame).collect().row(0, named=True)


def test_message_contents_are_joined_with_a_blank_line_a_null_content_as_empty():
    """view.py: "message contents joined with a blank line" ("\\n\\n"), a null content counting as ""."""
    v = _view(prompt=[{"role": "system", "content": "sys"}, {"role": "user", "content": "a"},
                      {"role": "user", "content": None}],
              chosen=[{"role": "assistant", "content": "c1"}, {"role": "assistant", "content": "c2"}],
              rejected=[{"role": "assistant", "content": "r"}])
    assert (v["prompt_text"], v["chosen_text"], v["rejected_text"]) == ("sys\n\na\n\n", "c1\n\nc2", "r")
    assert (v["prompt_roles"], v["prompt_turns"], v["chosen_turns"]) == ("system,user,user", 3, 2)


def test_prompt_last_role_is_the_role_of_the_last_prompt_message():
    """A system turn first: the last role is the user's, which a suite checks the prompt ends with."""
    v = _view(prompt=[{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
              chosen=[{"role": "assistant", "content": "c"}], rejected=[{"role": "assistant", "content": "r"}])
    assert v["prompt_last_role"] == "user"
    assert _view(prompt=[], chosen=[], rejected=[])["prompt_last_role"] is None  # null for an empty prompt

"""The flat view that expectation suites see: message lists flattened to text once.

Great Expectations' built-in expectations work on scalar columns, so suites are written against this
view rather than the nested canonical columns. Both engines get exactly these columns (the GX engine
converts the same polars frame to pandas), which is what makes their counts comparable.

| column | type | meaning |
|---|---|---|
| id, source, split, chosen_model, rejected_model, chosen_position | str | as in the dataset |
| score_chosen, score_rejected | f64 | as in the dataset, NaN as missing (as pandas, so GX, reads it) |
| prompt_text, chosen_text, rejected_text | str | message contents joined with a blank line |
| prompt_turns, chosen_turns, rejected_turns | i64 | number of messages |
| prompt_last_role | str | role of the last prompt message (null for an empty prompt) |
| prompt_roles, chosen_roles, rejected_roles | str | roles of the messages joined with "," |
| lineage_records | i64 | number of raw records the pair came from |
"""

from __future__ import annotations

import polars as pl

#: Separator between messages in the ``*_text`` columns.
MESSAGE_SEPARATOR = "\n\n"


def content_text(column: str) -> pl.Expr:
    """Contents of a message list joined with :data:`MESSAGE_SEPARATOR` (a null content counts as "")."""
    return (
        pl.col(column)
        .list.eval(pl.element().struct.field("content").fill_null(""))
        .list.join(MESSAGE_SEPARATOR)
        .fill_null("")
    )


def roles_text(column: str) -> pl.Expr:
    return pl.col(column).list.eval(pl.element().struct.field("role").fill_null("")).list.join(",").fill_null("")


VIEW_EXPRS: dict[str, pl.Expr] = {
    # pandas takes NaN for missing, polars for a number above every other: without this the engines
    # disagree on any expectation over a score column that holds NaN
    "score_chosen": pl.col("score_chosen").fill_nan(None),
    "score_rejected": pl.col("score_rejected").fill_nan(None),
    "prompt_text": content_text("prompt"),
    "chosen_text": content_text("chosen"),
    "rejected_text": content_text("rejected"),
    "prompt_turns": pl.col("prompt").list.len().fill_null(0).cast(pl.Int64),
    "chosen_turns": pl.col("chosen").list.len().fill_null(0).cast(pl.Int64),
    "rejected_turns": pl.col("rejected").list.len().fill_null(0).cast(pl.Int64),
    "prompt_last_role": pl.col("prompt").list.last().struct.field("role"),
    "prompt_roles": roles_text("prompt"),
    "chosen_roles": roles_text("chosen"),
    "rejected_roles": roles_text("rejected"),
    "lineage_records": pl.col("lineage").list.len().cast(pl.Int64),
}

PASSTHROUGH = (
    "id", "source", "split", "score_chosen", "score_rejected", "chosen_model", "rejected_model", "chosen_position",
)
VIEW_COLUMNS: tuple[str, ...] = (*PASSTHROUGH, *(c for c in VIEW_EXPRS if c not in PASSTHROUGH))


def with_view(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Add the view columns to a normalized dataset frame (:meth:`Dataset.scan`)."""
    return lf.with_columns(**VIEW_EXPRS)


def view_frame(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Only the view columns, in :data:`VIEW_COLUMNS` order (what the GX engine validates)."""
    return with_view(lf).select(VIEW_COLUMNS)

"""``pairwise``: a prompt, two responses and a verdict (arena logs, judge comparisons, annotations).

The verdict is one field (any encoding: ``1``/``2``, ``0``/``1``, ``"model_a"``/``"model_b"``,
``-1``/``+1``, a float preference with a tie band) or the majority of several annotator fields.
Ties, "both bad", no majority and unknown values are rejects with that reason. PandaLM, for example::

    {"instruction": "Rewrite...", "input": "If you have...", "response1": "...", "response2": "...",
     "cmp_key": "bloom-7b_llama-7b", "annotator1": 2, "annotator2": 2, "annotator3": 1}

with ``winner_values: {a: [1], b: [2], tie: [0]}`` gives chosen = response2 (2 of 3 votes),
``chosen_model = "llama-7b"``, ``chosen_position = "b"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from prefdata.config import PairwiseSource, value_map
from prefdata.shapes.base import (
    RawNames,
    Shape,
    finish_pairs,
    keep_reason,
    null_pairs_where_rejected,
    sample_values,
    sniffed_splits,
)
from prefdata.shapes.fields import Leaf, as_number, expr_for, optional_field, value_text
from prefdata.shapes.messages import ROLE_ALIASES, TEXT, Kind, non_text_parts, sniff_kind, to_messages
from prefdata.shapes.preference import strip_repeated_prompt
from prefdata.shapes.prompt import PromptPlan

LABELS = ("a", "b", "tie", "both_bad")


def verdict_label(raw: pl.Expr, source: PairwiseSource) -> pl.Expr:
    """A raw verdict value -> ``a``/``b``/``tie``/``both_bad``, or null when it matches no configured value.

    Values are compared as text, case-insensitively (JSON ``1`` matches a configured ``1`` or ``"1"``).
    """
    if source.winner_threshold is not None:
        t = source.winner_threshold
        value = as_number(raw)
        return (
            pl.when(value < t.a_below).then(pl.lit("a")).when(value > t.b_above).then(pl.lit("b")).when(value.is_not_null()).then(pl.lit("tie"))
        )
    mapping = value_map((v, label) for label in LABELS for v in getattr(source.winner_values, label))
    return value_text(raw).replace_strict(mapping, default=None, return_dtype=pl.String)


def majority(labels: list[pl.Expr]) -> tuple[pl.Expr, pl.Expr]:
    """(winning label, number of votes cast): a label wins with more than half of the votes cast."""
    votes = pl.concat_list([l.cast(pl.String) for l in labels]).list.drop_nulls()
    n = votes.list.len()
    counts = {label: votes.list.eval((pl.element() == label).cast(pl.Int32)).list.sum() for label in LABELS}
    winner = pl.lit(None, pl.String)
    for label in LABELS:
        winner = pl.when(counts[label] * 2 > n).then(pl.lit(label)).otherwise(winner)
    return winner, n


class PairwiseShape(Shape):
    name = "pairwise"
    record_local = True

    def __init__(self, source: PairwiseSource, sample: Sequence[Mapping[str, Any]]):
        self.source = source
        c = source.columns
        self.prompt = PromptPlan.sniff(c, sample)
        self.kind_a = sniff_kind(sample_values(sample, c.response_a)) or TEXT
        self.kind_b = sniff_kind(sample_values(sample, c.response_b)) or TEXT
        self.aliases = {**ROLE_ALIASES, **source.roles}
        self.kind_splits = sniffed_splits(sample, [(c.prompt, self.prompt.kind), (c.response_a, self.kind_a), (c.response_b, self.kind_b)])

    def _verdict_fields(self) -> list[str]:
        c = self.source.columns
        return [c.winner] if c.winner else list(c.annotators)

    def leaves(self) -> list[Leaf]:
        c = self.source.columns
        leaves = self.prompt.leaves()
        leaves += [Leaf(c.response_a, self.kind_a.dtype, self.kind_a.strict), Leaf(c.response_b, self.kind_b.dtype, self.kind_b.strict)]
        leaves += [Leaf(f, pl.String) for f in self._verdict_fields()]
        leaves += [Leaf(f, pl.String) for f in (c.model_a, c.model_b) if f]
        if self.source.models_from:
            leaves.append(Leaf(self.source.models_from.field, pl.String))
        return leaves

    def _models(self) -> tuple[pl.Expr, pl.Expr]:
        c, mf = self.source.columns, self.source.models_from
        if mf is not None:
            # "bloom-7b_llama-7b" names two models; "a_b_v1.1", "llama-7b" or "_b" do not say which
            # part is whose, so both names stay unknown rather than half right
            parts = expr_for(mf.field).str.split(mf.separator)
            two = (parts.list.len() == 2) & (parts.list.eval(pl.element().str.strip_chars() != "").list.all())
            # "m1 _ m2" names "m1" and "m2": the spaces around the separator are no part of either name
            first, second = (pl.when(two).then(parts.list.get(i, null_on_oob=True).str.strip_chars()) for i in (0, 1))
            return first, second
        return optional_field(c.model_a), optional_field(c.model_b)

    def adapt(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        c, src = self.source.columns, self.source
        prompt = self.prompt.expr(self.aliases)
        a = strip_repeated_prompt(to_messages(expr_for(c.response_a), self.kind_a, "assistant", self.aliases), prompt)
        b = strip_repeated_prompt(to_messages(expr_for(c.response_b), self.kind_b, "assistant", self.aliases), prompt)
        model_a, model_b = self._models()
        fields = self._verdict_fields()
        labels = [verdict_label(expr_for(f), src) for f in fields]
        lf = self.prompt.check(lf)
        if c.winner:
            winner, raw_shown = labels[0], expr_for(c.winner).cast(pl.String)
            lf = lf.with_columns(winner.alias("__winner"))
            lf = lf.with_columns(
                keep_reason(pl.lit("missing_field"), pl.lit(c.winner), pl.lit(f"{c.winner} is missing"), value_text(expr_for(c.winner)).is_null()),
            ).with_columns(
                keep_reason(
                    pl.lit("unknown_verdict"),
                    pl.lit(c.winner),
                    pl.format(f"{c.winner} = {{}} is none of the configured winner values", raw_shown),
                    pl.col("__winner").is_null(),
                )
            )
        else:
            winner, n_votes = majority(labels)
            unknown = pl.any_horizontal([value_text(expr_for(f)).is_not_null() & lab.is_null() for f, lab in zip(fields, labels)])
            votes_text = pl.concat_str([expr_for(f).cast(pl.String).fill_null("null") for f in fields], separator=", ")
            lf = lf.with_columns(winner.alias("__winner"))
            lf = lf.with_columns(
                keep_reason(pl.lit("unknown_verdict"), pl.lit(",".join(fields)), pl.format("votes [{}] hold a value that is none of the configured winner values", votes_text), unknown)
            ).with_columns(
                keep_reason(pl.lit("missing_field"), pl.lit(",".join(fields)), pl.lit("no annotator voted"), n_votes == 0)
            ).with_columns(
                keep_reason(pl.lit("no_majority"), pl.lit(",".join(fields)), pl.format("votes [{}]: no label has a majority", votes_text), pl.col("__winner").is_null())
            )
        w = pl.col("__winner")
        lf = lf.with_columns(keep_reason(pl.lit("tie"), pl.lit(",".join(fields)), pl.lit("the verdict is a tie"), w == "tie"))
        lf = lf.with_columns(keep_reason(pl.lit("both_bad"), pl.lit(",".join(fields)), pl.lit("the verdict says both responses are bad"), w == "both_bad"))
        for path, kind in ((c.response_a, self.kind_a), (c.response_b, self.kind_b)):
            lf = lf.with_columns(keep_reason(pl.lit("non_text_content"), pl.lit(path), pl.lit(f"{path} holds a non-text content part"), non_text_parts(expr_for(path), kind)))
        a_wins = w == "a"
        lf = finish_pairs(
            lf,
            prompt=prompt,
            chosen=pl.when(a_wins).then(a).otherwise(b),
            rejected=pl.when(a_wins).then(b).otherwise(a),
            chosen_model=pl.when(a_wins).then(model_a).otherwise(model_b),
            rejected_model=pl.when(a_wins).then(model_b).otherwise(model_a),
            chosen_position=pl.when(a_wins).then(pl.lit("a")).when(w == "b").then(pl.lit("b")),
        )
        return null_pairs_where_rejected(lf)

    def raw_names(self) -> RawNames:
        """``chosen`` is ``response_a`` where A won (``chosen_position`` a), else ``response_b``."""
        c = self.source.columns
        prompt = self.prompt.origin()
        both = (c.response_a, c.response_b)
        return RawNames.of(
            {"prompt": prompt, "chosen": both, "rejected": both},
            by="chosen_position",
            cases={
                "a": {"prompt": prompt, "chosen": c.response_a, "rejected": c.response_b},
                "b": {"prompt": prompt, "chosen": c.response_b, "rejected": c.response_a},
            },
        )

    def describe(self) -> str:
        c = self.source.columns
        verdict = f"winner '{c.winner}'" if c.winner else f"majority of {', '.join(c.annotators)}"
        how = "threshold" if self.source.winner_threshold else "value map"
        return f"pairwise: prompt {self.prompt.description}, '{c.response_a}' vs '{c.response_b}', {verdict} ({how})"



__all__ = ["Kind", "PairwiseShape", "majority", "verdict_label"]

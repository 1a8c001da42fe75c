"""``preference``: records that already hold a prompt, a chosen and a rejected response.

Strings, ``{role, content}`` lists and ShareGPT ``{from, value}`` turns are all accepted, including
LLaMA-Factory's layout (a ``conversations`` list plus single ``chosen``/``rejected`` turns):

    {"conversations": [{"from": "system", "value": "Be kind."}, {"from": "human", "value": "Hi"}],
     "chosen": {"from": "gpt", "value": "Hello!"}, "rejected": {"from": "gpt", "value": "What."}}

gives ``prompt = [system "Be kind.", user "Hi"]``, ``chosen = [assistant "Hello!"]``,
``rejected = [assistant "What."]``. When chosen/rejected repeat the prompt turns before the answer
(UltraFeedback-binarized style), the repeated turns are cut so the prompt stays explicit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from prefdata.config import PreferenceSource
from prefdata.shapes.base import (
    RawNames,
    Shape,
    finish_pairs,
    keep_reason,
    null_pairs_where_rejected,
    read_scores,
    sample_values,
    sniffed_splits,
)
from prefdata.shapes.fields import Leaf, expr_for, optional_field
from prefdata.shapes.messages import ROLE_ALIASES, TEXT, Kind, non_text_parts, sniff_kind, to_messages
from prefdata.shapes.prompt import PromptPlan


def strip_repeated_prompt(response: pl.Expr, prompt: pl.Expr) -> pl.Expr:
    """Cut ``prompt`` off the front of ``response`` when the response repeats it turn for turn."""
    n = prompt.list.len()
    repeats = (response.list.len() > n) & (response.list.head(n) == prompt)
    return pl.when(repeats.fill_null(False)).then(response.list.slice(n)).otherwise(response)


class PreferenceShape(Shape):
    name = "preference"
    record_local = True

    def __init__(self, source: PreferenceSource, sample: Sequence[Mapping[str, Any]]):
        self.source = source
        c = source.columns
        self.prompt = PromptPlan.sniff(c, sample)
        self.chosen_kind = sniff_kind(sample_values(sample, c.chosen)) or TEXT
        self.rejected_kind = sniff_kind(sample_values(sample, c.rejected)) or TEXT
        self.aliases = {**ROLE_ALIASES, **source.roles}
        self.kind_splits = sniffed_splits(sample, [(c.prompt, self.prompt.kind), (c.chosen, self.chosen_kind), (c.rejected, self.rejected_kind)])

    def leaves(self) -> list[Leaf]:
        c = self.source.columns
        leaves = self.prompt.leaves()
        leaves.append(Leaf(c.chosen, self.chosen_kind.dtype, self.chosen_kind.strict))
        leaves.append(Leaf(c.rejected, self.rejected_kind.dtype, self.rejected_kind.strict))
        leaves += [Leaf(p, pl.String) for p in (c.chosen_model, c.rejected_model, c.score_chosen, c.score_rejected) if p]
        return leaves

    def _response(self, path: str, kind: Kind, prompt: pl.Expr) -> pl.Expr:
        return strip_repeated_prompt(to_messages(expr_for(path), kind, "assistant", self.aliases), prompt)

    def adapt(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        c = self.source.columns
        prompt = self.prompt.expr(self.aliases)
        lf = lf.with_columns(
            prompt.alias("__prompt"),
            self._response(c.chosen, self.chosen_kind, prompt).alias("__chosen"),
            self._response(c.rejected, self.rejected_kind, prompt).alias("__rejected"),
        )
        checks = [
            (non_text_parts(expr_for(c.chosen), self.chosen_kind), c.chosen, "chosen holds a non-text content part"),
            (non_text_parts(expr_for(c.rejected), self.rejected_kind), c.rejected, "rejected holds a non-text content part"),
        ]
        if c.prompt:
            checks.append((non_text_parts(expr_for(c.prompt), self.prompt.kind), c.prompt, "prompt holds a non-text content part"))
        for cond, field, detail in checks:
            lf = lf.with_columns(keep_reason(pl.lit("non_text_content"), pl.lit(field), pl.lit(detail), cond))
        lf = self.prompt.check(lf)
        lf, score_c, score_r = read_scores(lf, c.score_chosen, c.score_rejected, must_agree=self.source.scores_must_agree)
        lf = finish_pairs(
            lf,
            prompt=pl.col("__prompt"),
            chosen=pl.col("__chosen"),
            rejected=pl.col("__rejected"),
            score_chosen=score_c,
            score_rejected=score_r,
            chosen_model=optional_field(c.chosen_model),
            rejected_model=optional_field(c.rejected_model),
        )
        return null_pairs_where_rejected(lf)

    def raw_names(self) -> RawNames:
        c = self.source.columns
        return RawNames.of({"prompt": self.prompt.origin(), "chosen": c.chosen, "rejected": c.rejected})

    def describe(self) -> str:
        c = self.source.columns
        return (
            f"preference: prompt {self.prompt.description}, chosen '{c.chosen}' ({self.chosen_kind}), "
            f"rejected '{c.rejected}' ({self.rejected_kind})"
        )

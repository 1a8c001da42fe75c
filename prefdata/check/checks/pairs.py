"""Pairs that teach nothing or teach both ways: identical responses, duplicates, contradictions.

- ``identical_responses``: chosen and rejected are the same message list. DPO's loss on such a pair
  is constant: no gradient, only noise in the batch statistics.
- ``exact_duplicates``: the same prompt/chosen/rejected more than once (in any split): the pair
  weighs double in training, and across splits it is also test leakage. The offending pairs are the
  extra copies (every occurrence after the first in row order), the ones to drop.
- ``contradictory_pairs``: for the same prompt, A is preferred over B in one pair and B over A in
  another. The two pairs cancel out; usually a label-encoding bug or annotator disagreement.

All three compare, per column, a 64-bit xxh3 hash of the message contents (joined as in the flat view)
and of the role sequence, computed in the single pass from the view's text at almost no cost (hashing
each column's JSON instead costs a second serialization of all the text).
"""

from __future__ import annotations

import polars as pl
import polars_hash  # noqa: F401

from prefdata.check.checks.base import Context, count_outcome, plural, run_enabled, share
from prefdata.check.config import CheckConfig
from prefdata.check.results import CheckOutcome


def _json_hash(column: str) -> pl.Expr:
    """Identity of a message list: xxh3 of its joined contents, mixed with xxh3 of its roles."""
    text = pl.col(f"{column}_text").nchash.xxh3_64()
    roles = pl.col(f"{column}_roles").nchash.xxh3_64(seed=1)
    return text ^ (roles * pl.lit(0x9E3779B97F4A7C15, dtype=pl.UInt64))


def features(config: CheckConfig) -> dict[str, pl.Expr]:
    c = config.checks
    if not (c.identical_responses.enabled or c.exact_duplicates.enabled or c.contradictory_pairs.enabled):
        return {}
    return {"_prompt_h": _json_hash("prompt"), "_chosen_h": _json_hash("chosen"), "_rejected_h": _json_hash("rejected")}


def _identical(ctx: Context) -> CheckOutcome:
    same = pl.col("_chosen_h") == pl.col("_rejected_h")
    ids = ctx.ids(same)
    n = ctx.frame.height
    statistic = {"pairs": len(ids), "share": share(len(ids), n)}
    message = f"{plural(len(ids), 'pair')} with chosen identical to rejected" if ids else "no pair has identical responses"
    return count_outcome(ctx, "identical_responses", ids, statistic, message)


def _duplicates(ctx: Context) -> CheckOutcome:
    key = ["_prompt_h", "_chosen_h", "_rejected_h"]
    f = ctx.frame
    groups = f.group_by(key).agg(pl.len().alias("n"), pl.col("split").n_unique().alias("splits")).filter(pl.col("n") > 1)
    # The offending pairs are the extra copies (every occurrence after the first): the ones to drop.
    ids = ctx.ids(~pl.struct(key).is_first_distinct())
    statistic = {
        "duplicate_groups": groups.height,
        "rows_in_groups": int(groups.get_column("n").sum()),
        "extra_copies": int((groups.get_column("n") - 1).sum()),
        "groups_across_splits": int((groups.get_column("splits") > 1).sum()),
    }
    copies = statistic["extra_copies"]
    message = (
        f"{copies} extra {'copy' if copies == 1 else 'copies'} of {plural(groups.height, 'pair')}"
        if groups.height
        else "no pair occurs twice"
    )
    return count_outcome(ctx, "exact_duplicates", ids, statistic, message)


def _contradictions(ctx: Context) -> CheckOutcome:
    f = ctx.frame.filter(pl.col("_chosen_h") != pl.col("_rejected_h"))
    lo = pl.min_horizontal("_chosen_h", "_rejected_h")
    hi = pl.max_horizontal("_chosen_h", "_rejected_h")
    forward = pl.col("_chosen_h") < pl.col("_rejected_h")
    keyed = f.with_columns(_lo=lo, _hi=hi, _fwd=forward)
    both = keyed.group_by("_prompt_h", "_lo", "_hi").agg(pl.col("_fwd").n_unique().alias("directions")).filter(
        pl.col("directions") > 1
    )
    bad = keyed.join(both, on=["_prompt_h", "_lo", "_hi"], how="semi")
    ids = ctx.ids_of_rows(bad.get_column("_row"))
    statistic = {"contradicting_groups": both.height, "pairs": len(ids), "share": share(len(ids), ctx.frame.height)}
    message = (
        f"{plural(both.height, 'response pair')} preferred both ways for the same prompt ({plural(len(ids), 'pair')})"
        if both.height
        else "no response pair is preferred both ways"
    )
    return count_outcome(ctx, "contradictory_pairs", ids, statistic, message)


def run(ctx: Context) -> list[CheckOutcome]:
    return run_enabled(ctx, {"identical_responses": _identical, "exact_duplicates": _duplicates, "contradictory_pairs": _contradictions})

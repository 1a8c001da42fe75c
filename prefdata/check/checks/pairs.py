"""Pairs that teach nothing or teach both ways: identical responses, duplicates, contradictions.

- ``identical_responses``: chosen and rejected are the same text, turn by turn, as ``build``'s rule
  of that name compares them (:func:`prefdata.schema.trimmed_contents`: in Unicode NFC, blank
  characters trimmed from each end). DPO's loss on such a pair is constant: no gradient, only noise
  in the batch statistics.
- ``exact_duplicates``: the same prompt/chosen/rejected more than once (in any split): the pair
  weighs double in training, and across splits it is also test leakage. The offending pairs are the
  extra copies (every occurrence after the first in row order), the ones to drop.
- ``contradictory_pairs``: for the same prompt, A is preferred over B in one pair and B over A in
  another. The two pairs cancel out; usually a label-encoding bug or annotator disagreement. Prompts
  are the same when they have the same turns, with the same roles, each equal up to case,
  whitespace and Unicode normalization (:func:`prompt_key`), as ``build`` pairs feedback and the
  leakage check compares them: under another system prompt, or split into other turns, preferring
  the other answer is a real preference, not a contradiction.

The other two compare responses byte for byte (as the build's dedup does, by ``id``): per column, a
64-bit hash of the message contents (joined as in the flat view), of the role sequence and of the
content lengths (so two lists that join to the same text but split it into messages differently
stay apart), computed in the single pass from the view's text at almost no cost (hashing each
column's JSON instead costs a second serialization of all the text).
"""

from __future__ import annotations

import polars as pl
import polars_hash  # noqa: F401

from prefdata import text_keys
from prefdata.check.checks.base import Context, count_outcome, plural, run_enabled, share
from prefdata.check.config import CheckConfig
from prefdata.check.results import CheckOutcome
from prefdata.schema import trimmed_contents


def _json_hash(column: str) -> pl.Expr:
    """Identity of a message list within one run: xxh3 of its joined contents, mixed with xxh3 of its
    roles and a hash of its content lengths (where the messages begin and end)."""
    text = pl.col(f"{column}_text").nchash.xxh3_64()
    roles = pl.col(f"{column}_roles").nchash.xxh3_64(seed=1)
    lengths = pl.col(column).list.eval(pl.element().struct.field("content").str.len_bytes()).hash(seed=2)
    return text ^ (roles * pl.lit(0x9E3779B97F4A7C15, dtype=pl.UInt64)) ^ (lengths * pl.lit(0xC2B2AE3D27D4EB4F, dtype=pl.UInt64))


def same_responses() -> pl.Expr:
    """Whether chosen and rejected are the same text, as ``build``'s ``identical_responses`` rule
    compares them (:func:`trimmed_contents`)."""
    return (trimmed_contents(pl.col("chosen")) == trimmed_contents(pl.col("rejected"))).fill_null(False)


def prompt_key() -> pl.Expr:
    """Exact-match key of a prompt: its turns as ``build`` compares prompts (:func:`text_keys.prompt_key`:
    roles and turn boundaries count; case, whitespace and Unicode normalization do not)."""
    return text_keys.prompt_key(pl.col("prompt"))


def features(config: CheckConfig) -> dict[str, pl.Expr]:
    c = config.checks
    out = {}
    if c.identical_responses.enabled:
        out["_same_responses"] = same_responses()
    if not (c.exact_duplicates.enabled or c.contradictory_pairs.enabled):
        return out
    out |= {"_prompt_h": _json_hash("prompt"), "_chosen_h": _json_hash("chosen"), "_rejected_h": _json_hash("rejected")}
    if c.contradictory_pairs.enabled:
        out["_prompt_key"] = prompt_key()
    return out


def _identical(ctx: Context) -> CheckOutcome:
    ids = ctx.ids(pl.col("_same_responses"))
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
    both = keyed.group_by("_prompt_key", "_lo", "_hi").agg(pl.col("_fwd").n_unique().alias("directions")).filter(
        pl.col("directions") > 1
    )
    bad = keyed.join(both, on=["_prompt_key", "_lo", "_hi"], how="semi")
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

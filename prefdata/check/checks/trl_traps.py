"""``trl_traps``: data that TRL 1.x silently misreads.

- ``mixed_formats``: some rows (or shards) hold plain strings where others hold message lists. TRL's
  ``is_conversational`` looks at one example, so a mixed dataset is tokenized the wrong way for part
  of it; which part depends on the order the rows come in.
- ``implicit_prompt``: no ``prompt`` column. TRL's ``extract_prompt`` then splits chosen/rejected at
  their longest common *character* prefix, which cuts mid-word and mis-splits pairs whose responses
  share a beginning.
- ``image_column``: an ``image``/``images`` column makes ``datasets`` and TRL treat the data as
  vision-language input.
- ``none_filled``: a message with a null ``role``/``content`` or a null extra struct field (``datasets``
  unifies message dicts into one struct and fills missing keys with None, which chat templates then
  render as the string "None" or trip over).
"""

from __future__ import annotations

import polars as pl

from prefdata.check.checks.base import Context, count_outcome, plural
from prefdata.check.config import CheckConfig
from prefdata.check.results import CheckOutcome

FMT = ("_fmt_prompt", "_fmt_chosen", "_fmt_rejected")


def features(config: CheckConfig) -> dict[str, pl.Expr]:
    if not config.checks.trl_traps.enabled:
        return {}
    return {c: pl.col(c) for c in (*FMT, "_none_filled", "_image_column")}


def run(ctx: Context) -> list[CheckOutcome]:
    if not ctx.config.checks.trl_traps.enabled:
        return []
    f = ctx.frame
    combos = (
        f.group_by(*FMT).len()
        .select(pl.concat_str(*[pl.col(c) for c in FMT], separator=",").alias("fmt"), "len")
        .sort("len", "fmt", descending=[True, False])
    )
    # The reference format is the commonest combination, the canonical one on a tie.
    reference = "messages,messages,messages"
    if combos.height and reference not in combos.get_column("fmt").to_list():
        reference = combos.get_column("fmt")[0]
    elif combos.height:
        top = combos.filter(pl.col("len") == combos.get_column("len").max()).get_column("fmt").to_list()
        reference = reference if reference in top else top[0]
    ref = dict(zip(FMT, reference.split(",")))
    # a column typed null (every row null, e.g. a pandas shard) has no format: role_structure counts its rows
    differs = pl.any_horizontal(*[(pl.col(c) != ref[c]) & (pl.col(c) != "null") for c in FMT])
    kinds = {
        "mixed_formats": differs & (pl.col("_fmt_prompt") != "missing"),
        "implicit_prompt": pl.col("_fmt_prompt") == "missing",
        "image_column": pl.col("_image_column"),
        "none_filled": pl.col("_none_filled"),
    }
    flags = f.select(**{k: v for k, v in kinds.items()})
    counts = {k: int(flags.get_column(k).sum()) for k in kinds}
    any_bad = pl.any_horizontal(*kinds.values())
    ids = ctx.ids(any_bad)
    formats = {row["fmt"]: row["len"] for row in combos.iter_rows(named=True)}
    statistic = {"pairs": len(ids), **counts, "formats": formats}
    found = [f"{n} {k.replace('_', ' ')}" for k, n in counts.items() if n]
    message = (
        f"{plural(len(ids), 'pair')} TRL would misread: {', '.join(found)}"
        if ids
        else "one message format throughout, explicit prompts, no image columns, no None-filled fields"
    )
    return [count_outcome(ctx, "trl_traps", ids, statistic, message)]

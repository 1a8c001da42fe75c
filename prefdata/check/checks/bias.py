"""Biases a reward model learns instead of quality: length and presentation order.

- ``length_bias``: among the pairs whose responses differ in length (in characters of the messages'
  contents, as the report counts them: :func:`response_chars`), the share
  whose chosen response is the longer one; also the share of equal lengths, the mean and median
  chosen/rejected length ratio, and Cohen's d of the two length distributions, overall and per
  source. A DPO model trained on data where the longer answer nearly always wins learns to be
  verbose. Pairs of equal length say nothing about that preference, so they are left out of the
  share (as a sign test leaves out ties): otherwise a dataset of one-token answers would read as
  "biased toward shorter". Fails when the share leaves [min, max] overall or in a source with at
  least ``min_pairs`` such pairs; the offending pairs are those, in the failing groups, that follow
  the bias.
- ``position_bias``: for pairwise sources (rows with ``chosen_position``), the share of "A wins",
  i.e. the response shown first was chosen. Judges and annotators favour one position; a large
  skew means the labels partly encode screen order. Same verdict rule as length bias, overall and
  per source.

Both report ``z``, the normal-approximation z-score of the share against 0.5 (over the pairs the
share counts), so a reader can tell a real skew from noise in a small source.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import polars as pl

from prefdata.check.checks.base import Context, percent, plural, run_enabled, skipped
from prefdata.check.config import CheckConfig
from prefdata.check.results import CheckOutcome
from prefdata.check.view import MESSAGE_SEPARATOR


def response_chars(column: str) -> pl.Expr:
    """A response's length: the characters of its messages' contents, as ``prefdata report`` counts
    them. From the view's joined text, less the separators the view puts between messages (counted,
    two messages "abc" + "def" read as 8 characters against a one-message "abcdefg")."""
    separators = (pl.col(f"{column}_turns") - 1).clip(lower_bound=0) * len(MESSAGE_SEPARATOR)
    return (pl.col(f"{column}_text").str.len_chars() - separators).cast(pl.UInt32)


def features(config: CheckConfig) -> dict[str, pl.Expr]:
    out: dict[str, pl.Expr] = {}
    if config.checks.length_bias.enabled:
        out["_chosen_len"] = response_chars("chosen")
        out["_rejected_len"] = response_chars("rejected")
    return out


def _z(k: int, n: int) -> float | None:
    return (k - n / 2) / math.sqrt(n / 4) if n else None


def _length_aggs() -> list[pl.Expr]:
    """Counts, exact sums (Int128) and the ratios themselves: polars sums floats in an order that
    depends on its threads, so ``checks.json`` differed in the last digits between machines with 1
    and 2 cores. Means and variances come from exact integer sums, the mean ratio from ``math.fsum``."""
    c = pl.col("_chosen_len").cast(pl.Int128)
    r = pl.col("_rejected_len").cast(pl.Int128)
    ratio = pl.when(pl.col("_rejected_len") > 0).then(pl.col("_chosen_len").cast(pl.Float64) / pl.col("_rejected_len").cast(pl.Float64))
    return [
        pl.len().alias("pairs"), (c > r).sum().alias("longer"), (c == r).sum().alias("equal"),
        ratio.drop_nulls().alias("ratios"), ratio.median().alias("ratio_median"),
        c.sum().alias("sum_c"), r.sum().alias("sum_r"), (c * c).sum().alias("sq_c"), (r * r).sum().alias("sq_r"),
    ]


#: The aggregates of no pairs (a group_by of an empty frame has no row).
_NO_PAIRS: dict[str, Any] = {"pairs": 0, "longer": 0, "equal": 0, "ratios": [], "ratio_median": None, "sum_c": 0, "sum_r": 0, "sq_c": 0, "sq_r": 0}


def _mean_var(n: int, total: int, squares: int) -> tuple[float | None, float | None]:
    """Mean and sample variance from exact integer sums (correctly rounded, whatever the threads)."""
    if not n:
        return None, None
    return total / n, (n * squares - total * total) / (n * (n - 1)) if n > 1 else None


def _length_stats(row: dict[str, Any]) -> dict[str, Any]:
    n = row["pairs"]
    differing = n - int(row["equal"])
    mean_c, var_c = _mean_var(n, int(row["sum_c"] or 0), int(row["sq_c"] or 0))
    mean_r, var_r = _mean_var(n, int(row["sum_r"] or 0), int(row["sq_r"] or 0))
    pooled = math.sqrt(((var_c or 0) + (var_r or 0)) / 2) if n > 1 else 0.0
    d = (mean_c - mean_r) / pooled if pooled and mean_c is not None and mean_r is not None else None
    ratios = row["ratios"]
    return {
        "pairs": n,
        "pairs_differing_in_length": differing,
        "share_chosen_longer": row["longer"] / differing if differing else None,
        "share_equal_length": row["equal"] / n if n else None,
        "mean_length_ratio": math.fsum(ratios) / len(ratios) if ratios else None,
        "median_length_ratio": row["ratio_median"],
        "mean_chosen_chars": mean_c,
        "mean_rejected_chars": mean_r,
        "cohens_d": d,
        "z": _z(int(row["longer"]), differing),
    }


def _judge(stats: dict[str, Any], key: str, lo: float, hi: float, min_pairs: int, counted: str = "pairs") -> str | None:
    """"high"/"low" when a group with enough pairs (``stats[counted]``) is outside [lo, hi], else None."""
    if stats[counted] < min_pairs or stats[key] is None:
        return None
    if stats[key] > hi:
        return "high"
    if stats[key] < lo:
        return "low"
    return None


#: The group of the pairs without a source (null); ``prefdata report`` labels them the same way.
NO_SOURCE = "(no source)"


def null_source_label(sources: Iterable[str | None]) -> str:
    """The label of the source-less pairs: :data:`NO_SOURCE`, numbered if a real source has that name.

    Per-source statistics are keyed by name in checks.json, so the null group needs a string that
    no real source uses: otherwise pairs without a source and pairs of a source that happens to be
    called so would be judged as one group that does not exist (20 + 20 pairs judged as 40).
    """
    taken = set(sources)
    label, n = NO_SOURCE, 1
    while label in taken:
        n += 1
        label = f"{NO_SOURCE[:-1]} {n})"
    return label


def _source_group(ctx: Context) -> pl.Expr:
    """The per-source group of each row: its source, or the null label for pairs without one."""
    label = ctx.cached("null_source_label", lambda: null_source_label(ctx.frame.get_column("source").unique().cast(pl.String)))
    return pl.col("source").cast(pl.String).fill_null(label)


def _failing_groups(failing: list[tuple[str | None, str]]) -> dict[str, Any]:
    """checks.json's ``failing``: whether the overall share fails, and the failing sources by name.

    The overall group is a key of its own: a list of names with "overall" in it could not tell the
    whole dataset from a source named "overall", and a source named "" came out as "overall".
    """
    return {"overall": any(src is None for src, _ in failing), "sources": [src for src, _ in failing if src is not None]}


def _length_bias(ctx: Context) -> CheckOutcome:
    s = ctx.config.checks.length_bias
    group = _source_group(ctx)
    f = ctx.frame.filter(pl.col("_chosen_len").is_not_null() & pl.col("_rejected_len").is_not_null())
    overall = _length_stats(f.group_by(pl.lit(0).alias("_all")).agg(_length_aggs()).row(0, named=True) if f.height else _NO_PAIRS)
    per_source = f.group_by(group.alias("s")).agg(_length_aggs()).sort("s")
    by_source = {row["s"]: _length_stats(row) for row in per_source.iter_rows(named=True)}
    lo, hi = s.min_share_chosen_longer, s.max_share_chosen_longer
    failing: list[tuple[str | None, str]] = []
    counted = "pairs_differing_in_length"
    verdict = _judge(overall, "share_chosen_longer", lo, hi, s.min_pairs, counted)
    if verdict:
        failing.append((None, verdict))
    for source, stats in by_source.items():
        v = _judge(stats, "share_chosen_longer", lo, hi, s.min_pairs, counted)
        if v:
            failing.append((source, v))
    longer = pl.col("_chosen_len") > pl.col("_rejected_len")
    shorter = pl.col("_chosen_len") < pl.col("_rejected_len")
    mask = pl.lit(False)
    for src, direction in failing:
        in_group = pl.lit(True) if src is None else (group == src)
        mask = mask | (in_group & (longer if direction == "high" else shorter))
    offending = ctx.ids(mask) if failing else []
    share = overall["share_chosen_longer"]
    if share is not None:
        overall_text = f"{percent(share, lo, hi)} of pairs prefer the longer response"
        if overall["share_equal_length"]:
            overall_text += f" ({plural(overall['pairs'] - overall['pairs_differing_in_length'], 'pair')} of equal length not counted)"
    else:
        overall_text = "no pairs whose responses differ in length" if overall["pairs"] else "no pairs to measure"
    if failing:
        worst = [
            ("overall" if src is None else f"source {src!r}")
            + f" {percent((overall if src is None else by_source[src])['share_chosen_longer'], lo, hi)}"
            for src, _ in failing
        ]
        overall_too = "" if failing[0][0] is None else f" ({percent(share, lo, hi)} overall)"
        message = (
            f"length bias: share of pairs preferring the longer response is {', '.join(worst)}{overall_too}; "
            f"{plural(len(offending), 'pair')} in the failing groups follow it"
        )
    else:
        message = overall_text
    return CheckOutcome(
        id="length_bias", severity=s.severity, passed=not failing,
        statistic={**overall, "by_source": by_source, "failing": _failing_groups(failing)},
        threshold=s.threshold(), offending_ids=offending, message=message,
    )


def _position_bias(ctx: Context) -> CheckOutcome:
    s = ctx.config.checks.position_bias
    group = _source_group(ctx)
    f = ctx.frame.filter(pl.col("chosen_position").is_in(["a", "b"]))
    if f.height == 0:
        return skipped(ctx, "position_bias", "no pair records chosen_position (only pairwise sources do)")
    lo, hi = s.min_share_a_wins, s.max_share_a_wins
    n_all = f.height
    k_all = int((f.get_column("chosen_position") == "a").sum())
    overall = {"pairs": n_all, "share_a_wins": k_all / n_all, "z": _z(k_all, n_all)}
    by_source: dict[str, dict[str, Any]] = {}
    failing: list[tuple[str | None, str]] = []
    verdict = _judge(overall, "share_a_wins", lo, hi, s.min_pairs)
    if verdict:
        failing.append((None, verdict))
    per_source = f.group_by(group.alias("s")).agg(pl.len().alias("n"), (pl.col("chosen_position") == "a").sum().alias("k")).sort("s")
    for row in per_source.iter_rows(named=True):
        n, k = row["n"], int(row["k"])
        stats = {"pairs": n, "share_a_wins": k / n, "z": _z(k, n)}
        by_source[row["s"]] = stats
        v = _judge(stats, "share_a_wins", lo, hi, s.min_pairs)
        if v:
            failing.append((row["s"], v))
    mask = pl.lit(False)
    for src, direction in failing:
        in_group = pl.lit(True) if src is None else (group == src)
        mask = mask | (in_group & (pl.col("chosen_position") == ("a" if direction == "high" else "b")))
    offending = ctx.ids(mask & pl.col("chosen_position").is_in(["a", "b"])) if failing else []
    statistic = {**overall, "by_source": by_source, "failing": _failing_groups(failing)}
    if failing:
        worst = [
            ("overall" if src is None else f"source {src!r}")
            + f" {percent((overall if src is None else by_source[src])['share_a_wins'], lo, hi)}"
            for src, _ in failing
        ]
        message = (
            f"position bias: share of 'A wins' is {', '.join(worst)}; "
            f"{plural(len(offending), 'pair')} in the failing groups follow it"
        )
    else:
        message = f"{percent(k_all / n_all, lo, hi)} 'A wins' over {plural(n_all, 'pairwise pair')}"
    return CheckOutcome(
        id="position_bias", severity=s.severity, passed=not failing, statistic=statistic,
        threshold=s.threshold(), offending_ids=offending, message=message,
    )


def run(ctx: Context) -> list[CheckOutcome]:
    return run_enabled(ctx, {"length_bias": _length_bias, "position_bias": _position_bias})

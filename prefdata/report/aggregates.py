"""Everything the report counts, computed in one lazy polars pass over the shards.

The pass reduces each pair to a handful of numbers (character lengths, user turns, score margin,
which position won); plots and tables are drawn from that narrow frame, never from the texts, so a
million pairs cost one scan and a few tens of MB. Lengths are in characters: a tokenizer is the
check stage's business (its truncation checks' histogram feeds the token-length plot).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from prefdata.check.checks.bias import null_source_label
from prefdata.report.dataset import READ_ERRORS, Dataset
from prefdata.report.examples import MAX_MESSAGE_CHARS


def _chars(column: str) -> pl.Expr:
    """Total characters of the messages' contents (a multi-message response counts all of it)."""
    return (
        pl.col(column)
        .list.eval(pl.element().struct.field("content").str.len_chars())
        .list.sum()
        .fill_null(0)
        .cast(pl.Int64)
        .alias(f"{column}_chars")
    )


@dataclass(frozen=True)
class Aggregates:
    """Counts and per-pair numbers of a dataset. ``per_pair`` holds one narrow row per pair."""

    per_pair: pl.DataFrame
    has_scores: bool
    has_position: bool
    counts: dict[str, Any] = field(default_factory=dict)
    rejects: dict[str, Any] = field(default_factory=dict)

    @property
    def pairs(self) -> int:
        return self.per_pair.height


def per_pair_frame(ds: Dataset) -> pl.LazyFrame:
    """The narrow per-pair frame: split, source, lengths, user turns, score margin, A won."""
    schema = ds.schema
    source = pl.col("source") if "source" in schema else pl.lit(None)
    exprs: list[pl.Expr] = [
        pl.col("split"),
        source.cast(pl.String).alias("source"),  # null until compute() labels it (needs every source name)
        _chars("prompt"),
        _chars("chosen"),
        _chars("rejected"),
        pl.col("prompt").list.eval(pl.element().struct.field("role") == "user").list.sum().cast(pl.Int64).alias("user_turns"),
    ]
    if "score_chosen" in schema and "score_rejected" in schema:
        exprs.append(_margin())
    else:
        exprs.append(pl.lit(None, pl.Float64).alias("margin"))
    position = ds.position_column
    if position is not None:
        exprs.append(_a_won(position))
    else:
        exprs.append(pl.lit(None, pl.Boolean).alias("a_won"))
    return ds.scan().select(exprs)


def _margin() -> pl.Expr:
    """Score of chosen minus score of rejected; a NaN margin counts as missing, as a NaN score does in
    ``prefdata check``.

    Check's suite view reads NaN as missing (as pandas, so GX, does), so a pair with a NaN score is
    not a scored pair there. Two infinite scores of the same sign make a NaN margin from numbers
    that are not NaN (inf - inf): that margin is no number either, so it is missing too, else it
    would count as scored and turn the median into NaN.
    """
    return (pl.col("score_chosen") - pl.col("score_rejected")).cast(pl.Float64).fill_nan(None).alias("margin")


def _a_won(position: str) -> pl.Expr:
    """True where the response shown first won, False where the second did, null otherwise.

    Read the way ``prefdata check`` reads ``chosen_position`` (lowercased, not stripped): "a " is
    not a canonical position (the suite's in-set expectation fails it, and position_bias leaves it
    out), so the report leaves it out too instead of counting pairs the check does not.
    """
    label = pl.col(position).cast(pl.String).str.to_lowercase()
    return pl.when(label == "a").then(True).when(label == "b").then(False).otherwise(None).alias("a_won")


def _label_sources(per_pair: pl.DataFrame) -> pl.DataFrame:
    """Name the pairs without a source as ``prefdata check`` names them (:func:`null_source_label`):
    their own group, never merged with a real source that has the same name."""
    label = null_source_label(per_pair.get_column("source").unique())
    return per_pair.with_columns(pl.col("source").fill_null(label))


def compute(ds: Dataset) -> Aggregates:
    """Run the pass and reconcile its counts with manifest.json (when there is one)."""
    per_pair = _label_sources(ds.collect(per_pair_frame(ds), "counting pairs"))
    has_scores = per_pair["margin"].null_count() < per_pair.height
    has_position = per_pair["a_won"].null_count() < per_pair.height
    return Aggregates(
        per_pair=per_pair,
        has_scores=has_scores,
        has_position=has_position,
        counts=_counts(ds, per_pair),
        rejects=_rejects(ds),
    )


def _counts(ds: Dataset, per_pair: pl.DataFrame) -> dict[str, Any]:
    """Counts per stage, split and source; the data is the truth for pairs, the manifest for reads."""
    by_split = {s: 0 for s in ds.splits}
    for row in per_pair.group_by("split").len().iter_rows():
        by_split[row[0]] = row[1]
    by_source: dict[str, dict[str, Any]] = {}
    for source, split, n in per_pair.group_by("source", "split").len().sort("source", "split").iter_rows():
        entry = by_source.setdefault(source, {"pairs_written": 0, "pairs_by_split": {}})
        entry["pairs_written"] += n
        entry["pairs_by_split"][split] = n
    manifest_counts = (ds.manifest or {}).get("counts", {})
    for source, m in manifest_counts.get("by_source", {}).items():
        entry = by_source.setdefault(source, {"pairs_written": 0, "pairs_by_split": {}})
        for key in ("records_read", "records_rejected"):
            if key in m:
                entry[key] = m[key]
    return {
        "records_read": manifest_counts.get("records_read"),
        "pairs_written": per_pair.height,
        "records_rejected": manifest_counts.get("records_rejected"),
        "rejected_by_reason": dict(manifest_counts.get("rejected_by_reason", {})),
        "pairs_by_split": by_split,
        "by_source": dict(sorted(by_source.items(), key=lambda kv: (-kv[1]["pairs_written"], kv[0]))),
        "mismatches": _mismatches(manifest_counts, by_split, by_source),
    }


#: A disagreement on the pairs of many sources is one note naming the first few of them.
MAX_SOURCES_NAMED = 3


def _mismatches(manifest_counts: dict[str, Any], by_split: dict[str, int], by_source: dict[str, dict[str, Any]]) -> list[str]:
    """Where manifest.json and the shards disagree on pairs: per split (a split on disk that the manifest
    does not list counts as 0 there), in all when the splits do not already say so, and per source.

    The shards are the truth for pairs, so the report shows their counts; these notes say that the
    manifest's read and rejected counts beside them may belong to another version of the data. Each
    comparison is made only where the manifest has that count.
    """
    notes = []
    listed = manifest_counts.get("pairs_by_split")
    if listed:
        for split in dict.fromkeys([*listed, *by_split]):
            n, held = listed.get(split, 0), by_split.get(split, 0)
            if n != held:
                lists = "" if split in listed else f" (it lists no {split} split)"
                notes.append(f"manifest.json says {n:,} {split} pairs{lists}, the shards hold {held:,}")
    written, total = manifest_counts.get("pairs_written"), sum(by_split.values())
    if not notes and isinstance(written, int) and written != total:
        notes.append(f"manifest.json says {written:,} pairs written, the shards hold {total:,}")
    manifest_sources = manifest_counts.get("by_source") or {}
    if not any(isinstance(m, dict) and "pairs_written" in m for m in manifest_sources.values()):
        return notes  # the manifest gives no pairs per source: nothing to compare with
    differ = [(name, manifest_sources[name].get("pairs_written") if name in manifest_sources else None, entry["pairs_written"])
              for name, entry in by_source.items()
              if name not in manifest_sources or "pairs_written" in manifest_sources[name]]
    differ = [(name, n, held) for name, n, held in differ if n != held]
    if differ:
        named = "; ".join(f"{name}: {'not listed' if n is None else f'{n:,}'} in manifest.json, {held:,} in the shards"
                          for name, n, held in differ[:MAX_SOURCES_NAMED])
        more = f"; and {len(differ) - MAX_SOURCES_NAMED:,} more source(s)" if len(differ) > MAX_SOURCES_NAMED else ""
        notes.append(f"manifest.json and the shards disagree on the pairs of {len(differ):,} source(s) ({named}{more})")
    return notes


def _rejects(ds: Dataset, examples_per_reason: int = 2) -> dict[str, Any]:
    """Rejected records by reason from ``rejects/``, with the first few of each reason as examples.

    Rejects only explain what the build dropped: a shard that breaks mid-read leaves them out with a
    note (``problem``) rather than stopping the report.
    """
    empty: dict[str, Any] = {"by_reason": {}, "examples": {}, "total": 0, "problem": None}
    lf = ds.scan_rejects()
    if lf is None:
        return empty
    try:
        by_reason, first = _read_rejects(lf, examples_per_reason)
    except READ_ERRORS as exc:
        return empty | {"problem": f"rejects/ could not be read ({exc}); rejected records are not shown."}
    examples: dict[str, list[dict[str, Any]]] = {}
    for row in first.iter_rows(named=True):
        examples.setdefault(row["reason"], []).append(row)
    return {"by_reason": by_reason, "examples": examples, "total": sum(by_reason.values()), "problem": None}


#: Characters of a rejected record's raw text shown: as many as of a message.
MAX_RAW_CHARS = MAX_MESSAGE_CHARS


def _read_rejects(lf: pl.LazyFrame, examples_per_reason: int) -> tuple[dict[str, int], pl.DataFrame]:
    """(records per reason, the first ``examples_per_reason`` records of each reason in file order)."""
    lf = lf.with_columns(pl.col("reason").fill_null("(no reason)"))
    counted = lf.group_by("reason").len().sort("len", "reason", descending=[True, False]).collect()
    first = (
        lf.with_row_index("_order")
        .filter(pl.int_range(pl.len()).over("reason") < examples_per_reason)
        .sort("_order")
        .drop("_order")
        .collect()
    )
    if "raw" in first.columns:  # one 600,000-character reject made a 658 KB page of a one-pair dataset
        raw = pl.col("raw")
        more = raw.str.len_chars() - MAX_RAW_CHARS
        first = first.with_columns(
            pl.when(more > 0).then(pl.format("{}… ({} more characters)", raw.str.slice(0, MAX_RAW_CHARS), more)).otherwise(raw).alias("raw")
        )
    return dict(counted.iter_rows()), first


def summary_stats(agg: Aggregates) -> dict[str, Any]:
    """The few numbers a reader should see first (also used by report.md and the card)."""
    df = agg.per_pair
    n = df.height
    out: dict[str, Any] = {"pairs": n}
    if n == 0:
        return out
    diff = df["chosen_chars"] - df["rejected_chars"]
    out["share_chosen_longer"] = float((diff > 0).sum()) / n
    out["share_same_length"] = float((diff == 0).sum()) / n
    out["median_chosen_chars"] = float(df["chosen_chars"].median())
    out["median_rejected_chars"] = float(df["rejected_chars"].median())
    out["median_prompt_chars"] = float(df["prompt_chars"].median())
    out["share_multi_turn"] = float((df["user_turns"] > 1).sum()) / n
    out.update(margin_stats(agg))
    if agg.has_position:
        out["a_wins"] = position_shares(agg)
    return out


def margin_stats(agg: Aggregates) -> dict[str, Any]:
    """Scored pairs, median margin and margins at or below 0 (empty without scores).

    One computation for the text (tiles, report.md, card) and the margin plot's title, so that they
    cannot disagree; an infinite margin counts here even though the plot cannot draw it.
    """
    if not agg.has_scores:
        return {}
    margin = agg.per_pair["margin"].drop_nulls()
    median = float(margin.median())
    if math.isnan(median):  # -inf and +inf in the middle: their mean is no number, so take the lower one
        median = float(margin.sort()[(margin.len() - 1) // 2])
    return {
        "scored_pairs": margin.len(),
        "median_margin": median,
        "non_positive_margins": int((margin <= 0).sum()),
    }


def position_shares(agg: Aggregates) -> dict[str, dict[str, float]]:
    """Per source with positions: pairs, share where the response shown first ("A") won, 95% Wilson interval."""
    grouped = (
        agg.per_pair.filter(pl.col("a_won").is_not_null())
        .group_by("source")
        .agg(pl.len().alias("n"), pl.col("a_won").sum().alias("a"))
        .sort("n", "source", descending=[True, False])
    )
    out = {}
    for source, n, a in grouped.iter_rows():
        lo, hi = wilson(a, n)
        out[source] = {"pairs": n, "share_a": a / n, "low": lo, "high": hi}
    return out


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval: honest error bars even for small or lopsided sources."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / denom
    # Exactly, the interval always contains p and reaches 0 (k=0) or 1 (k=n); in floating point its
    # ends can miss by an ulp (6 of 6 gives an upper bound of 0.9999999999999999 < 1.0), which
    # makes an error bar negative. Clamp so that low <= p <= high within [0, 1], always.
    return (min(max(0.0, centre - half), p), max(min(1.0, centre + half), p))

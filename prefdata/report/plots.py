"""The report's plots, drawn with matplotlib into inline SVG strings.

Each plot function takes aggregates (never texts) and returns a :class:`Plot`: the SVG, or a short
note saying why the plot does not apply to this dataset (no scores, no pairwise positions, no token
lengths). An empty chart would look like a broken one, so none is ever drawn.

matplotlib is used through :class:`~matplotlib.figure.Figure` directly, not pyplot, so a report never
changes the caller's backend or leaks figures; settings live in one ``rc_context``. Text stays text
in the SVG (``svg.fonttype: none``, escaped by matplotlib's XML writer), mathtext is off so a ``$``
in a source name is shown as typed, and each plot gets its own id salt so that several SVGs inlined
in one page never share element ids (and the output is byte-stable).
"""

from __future__ import annotations

import io
import itertools
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from prefdata.report.aggregates import Aggregates, margin_stats, position_shares
from prefdata.report.numbers import decimal

CHOSEN = "#2f9e44"
REJECTED = "#e03131"
NEUTRAL = "#1c7ed6"
SAME_LENGTH = "#868e96"
SPLIT_COLORS = {"train": "#1c7ed6", "test": "#f59f00", "validation": "#7048e8"}
OTHER_COLORS = ["#868e96", "#0ca678", "#d6336c", "#495057"]
MAX_BARS = 15

RC = {
    "svg.fonttype": "none",
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.35,
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "axes.edgecolor": "#868e96",
    "xtick.color": "#495057",
    "ytick.color": "#495057",
    "legend.frameon": False,
}
SIZE = (6.4, 3.3)
#: Characters XML 1.0 cannot hold, which matplotlib writes as they are.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: An element id, or a reference to one, in an SVG tag (see :func:`_render`).
_ID_REF = re.compile(r'(\bid="|\bhref="#|url\(#)([^")]+)')


@dataclass(frozen=True)
class Plot:
    """One figure of the report: ``svg`` when it applies, else ``note`` says why it is absent."""

    id: str
    title: str
    caption: str
    svg: str | None = None
    note: str | None = None


def _render(plot_id: str, draw: Callable[[Any], None], size: tuple[float, float] = SIZE) -> str:
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(), warnings.catch_warnings():
        # matplotlib's own defaults first, then the report's: a caller's settings (a notebook's
        # `text.usetex`, which needs LaTeX and reads `$` and `_` in a source name as math, or a dark
        # style's white text on the report's white page) are not the report's, and it stays byte-stable
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(RC | {"svg.hashsalt": f"prefdata-{plot_id}"})
        # the SVG keeps text as text, which the browser draws in its own fonts: a glyph matplotlib's
        # font lacks (CJK in a source name) only makes its measured width approximate, not a problem
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
        fig = Figure(figsize=size, layout="constrained")
        draw(fig)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)
    svg = re.sub(r"<style[^>]*>.*?</style>\s*", "", svg, flags=re.DOTALL)  # a global `*{...}` rule; the page CSS has it
    # matplotlib names elements figure_1, axes_1, ... in every SVG: prefix them so that ids stay unique
    # in a page that inlines several plots (and references follow their ids). Only inside tags: the
    # text between them is data (a source name may read `id="a"`; matplotlib escapes `<` and `>` in
    # it, not `"`), while inside a tag a `"` of data would be escaped, so `id="` starts an attribute.
    svg = re.sub(r"<[^<>]*>", lambda tag: _ID_REF.sub(lambda m: f"{m.group(1)}{plot_id}-{m.group(2)}", tag.group(0)), svg)
    svg = _XML_INVALID.sub("\ufffd", svg)  # a control character in a source name makes the SVG no XML at all
    return svg.replace("<svg ", f'<svg role="img" aria-label="{plot_id}" ', 1)


def _thousands(axis) -> None:
    """Plain tick labels with separators (mathtext is off, so matplotlib's 10^k labels would show raw).

    Written as the text writes numbers (:func:`decimal`): a tick at 1.5 reads 1.5, not a rounded 2
    next to a tick that is really 2.
    """
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: decimal(float(v))))
    axis.set_minor_formatter(NullFormatter())


def _count_axis(axis) -> None:
    """An axis of pair counts: ticks on whole numbers only (a plot whose tallest bar is 2 would
    otherwise get ticks at 0.25, 0.5, ... pairs), labelled as :func:`_thousands` does."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10], integer=True))  # the automatic locator's steps
    _thousands(axis)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def length_distributions(agg: Aggregates) -> Plot:
    title = "Response length: chosen vs rejected"
    caption = ("Characters per response, log scale. Two clearly shifted curves mean the labels track "
               "length, which a DPO model will learn instead of quality.")
    df = agg.per_pair
    if df.height == 0:
        return Plot("lengths", title, caption, note="No pairs.")
    # The legend's medians are the text's (summary_stats: true lengths, as decimal() writes them), not
    # those of the drawn values, which the log axis needs raised to 1 character.
    medians = {side: decimal(float(df[f"{side}_chars"].median())) for side in ("chosen", "rejected")}
    chosen = np.clip(df["chosen_chars"].to_numpy(), 1, None)
    rejected = np.clip(df["rejected_chars"].to_numpy(), 1, None)
    top = max(int(chosen.max()), int(rejected.max()), 10)
    bins = np.unique(np.geomspace(1, top * 1.05, 60).round())

    def draw(fig):
        ax = fig.add_subplot()
        for values, color, label in ((chosen, CHOSEN, "chosen"), (rejected, REJECTED, "rejected")):
            counts, edges = np.histogram(values, bins=bins)
            ax.stairs(counts, edges, color=color, fill=True, alpha=0.15)
            ax.stairs(counts, edges, color=color, linewidth=1.6, label=f"{label} (median {medians[label]})")
        ax.set_xscale("log")
        _thousands(ax.xaxis)
        _count_axis(ax.yaxis)
        ax.set_xlabel("characters (empty responses counted as 1)")
        ax.set_ylabel("pairs")
        ax.legend(loc="upper left")

    return Plot("lengths", title, caption, svg=_render("lengths", draw))


def length_difference(agg: Aggregates) -> Plot:
    title = "Length difference (chosen − rejected)"
    caption = ("Characters of the chosen response minus the rejected one. Mass right of zero (green) means "
               "longer answers win; a grey spike at zero means identical-length (often identical) pairs.")
    df = agg.per_pair
    if df.height == 0:
        return Plot("length_diff", title, caption, note="No pairs.")
    diff = (df["chosen_chars"] - df["rejected_chars"]).to_numpy()
    lo, hi = np.percentile(diff, [1, 99])
    span = max(abs(lo), abs(hi), 1)
    clipped = int(((diff < -span) | (diff > span)).sum())
    shares = ((diff > 0).mean(), (diff == 0).mean(), (diff < 0).mean())

    def draw(fig):
        ax = fig.add_subplot()
        # Pairs of equal length get their own grey bar at zero: in the bin that starts at 0 they were
        # drawn green, as if chosen were longer.
        nonzero = diff[diff != 0]
        counts, edges = np.histogram(np.clip(nonzero, -span, span), bins=np.linspace(-span, span, 61))
        colors = np.array([CHOSEN if (a + b) / 2 > 0 else REJECTED for a, b in itertools.pairwise(edges)])
        drawn = counts > 0
        ax.bar(edges[:-1][drawn], counts[drawn], width=np.diff(edges)[drawn], align="edge", color=colors[drawn], alpha=0.75, linewidth=0)
        if same := int((diff == 0).sum()):
            ax.bar([0], [same], width=(edges[1] - edges[0]) * 0.6, align="center", color=SAME_LENGTH, linewidth=0)
        ax.axvline(0, color="#212529", linewidth=1)
        _thousands(ax.xaxis)
        _count_axis(ax.yaxis)
        ax.set_xlabel("characters" + (f" ({clipped:,} pairs beyond ±{int(span):,} drawn at the edges)" if clipped else ""))
        ax.set_ylabel("pairs")
        ax.set_title(f"chosen longer {_pct(shares[0])} · same length {_pct(shares[1])} · shorter {_pct(shares[2])}",
                     loc="left", color="#495057")

    return Plot("length_diff", title, caption, svg=_render("length_diff", draw))


def score_margins(agg: Aggregates) -> Plot:
    """The margins as a histogram, titled with the numbers the text gives (:func:`margin_stats`).

    An infinite margin (a score of inf) is a scored pair the text counts but a histogram cannot
    place: the axis label says how many are not drawn, and when no margin is finite the plot says
    so instead of drawing an empty chart.
    """
    title = "Score margin (score_chosen − score_rejected)"
    caption = ("For sources with ratings. Margins at or below zero are pairs whose chosen response did "
               "not score higher: label noise or a reversed score direction.")
    if not agg.has_scores:
        return Plot("margins", title, caption,
                    note="Not applicable: no pair has both score_chosen and score_rejected "
                    "(a NaN score, or a NaN margin such as inf − inf, counts as missing).")
    stats = margin_stats(agg)
    margin = agg.per_pair["margin"].drop_nulls().to_numpy()
    finite = margin[np.isfinite(margin)]
    infinite = len(margin) - len(finite)
    if not len(finite):
        return Plot("margins", title, caption,
                    note=f"Not applicable: all {infinite:,} score margins are infinite, so there is no distribution to draw.")

    def draw(fig):
        ax = fig.add_subplot()
        ax.hist(finite, bins=_margin_bins(finite), color=NEUTRAL, alpha=0.8)
        ax.axvline(0, color=REJECTED, linewidth=1.2)
        _count_axis(ax.yaxis)
        ax.set_xlabel("score margin" + (f" ({infinite:,} infinite margin(s) not drawn)" if infinite else ""))
        ax.set_ylabel("pairs")
        ax.set_title(f"{stats['scored_pairs']:,} scored pairs · median margin {decimal(stats['median_margin'])} · "
                     f"{stats['non_positive_margins']:,} at or below 0", loc="left", color="#495057")

    return Plot("margins", title, caption, svg=_render("margins", draw))


def _margin_bins(values: np.ndarray, n: int = 50) -> np.ndarray:
    """``n`` equal bins over ``values``, or one bin around them when their range is too narrow for
    ``n`` distinct floats (margins 4.0 and 3.9999999999999996: numpy refuses "Too many bins")."""
    try:
        return np.histogram_bin_edges(values, bins=n)
    except ValueError:
        return np.array([values.min() - 0.5, values.max() + 0.5])


def pairs_per_source(agg: Aggregates) -> Plot:
    title = "Pairs per source and split"
    caption = "Where the pairs come from. A source that dominates one split but not the other skews evaluation."
    df = agg.per_pair
    if df.height == 0:
        return Plot("sources", title, caption, note="No pairs.")
    totals = df.group_by("source").len().sort("len", "source", descending=[True, False])
    sources = totals["source"].to_list()
    shown = sources[:MAX_BARS]
    other = len(sources) - len(shown)
    label = pl.when(pl.col("source").is_in(shown)).then(pl.col("source")).otherwise(pl.lit(f"other ({other} sources)"))
    table = df.with_columns(label.alias("source")).group_by("source", "split").len()
    names = shown + ([f"other ({other} sources)"] if other else [])
    splits = list(dict.fromkeys(df["split"].to_list()))
    counts = {(s, sp): n for s, sp, n in table.iter_rows()}

    def draw(fig):
        ax = fig.add_subplot()
        y = np.arange(len(names))[::-1]
        left = np.zeros(len(names))
        for i, split in enumerate(splits):
            widths = np.array([counts.get((n, split), 0) for n in names], dtype=float)
            ax.barh(y, widths, left=left, color=SPLIT_COLORS.get(split, OTHER_COLORS[i % len(OTHER_COLORS)]),
                    label=split, height=0.6)
            left += widths
        for yi, total in zip(y, left):
            ax.text(total, yi, f" {int(total):,}", va="center", fontsize=9, color="#495057")
        ax.set_yticks(y, [n if len(n) <= 40 else n[:39] + "…" for n in names])
        ax.set_xlabel("pairs")
        ax.set_xlim(0, left.max() * 1.15)
        _count_axis(ax.xaxis)
        ax.grid(axis="y", visible=False)
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=len(splits), borderaxespad=0.2)

    height = max(1.9, 1.1 + 0.3 * len(names))
    return Plot("sources", title, caption, svg=_render("sources", draw, (SIZE[0], height)))


def a_wins(agg: Aggregates) -> Plot:
    title = '"A wins" share per pairwise source'
    caption = ("Share of pairs whose winner was the response shown first, with a 95% interval. Far from "
               "50% means annotators (or a judge model) favoured a position, not a response.")
    if not agg.has_position:
        return Plot("position", title, caption,
                    note="Not applicable: no pair records which position won (chosen_position is empty or absent).")
    every = list(position_shares(agg).items())
    shares, more = every[:MAX_BARS], len(every) - MAX_BARS

    def draw(fig):
        ax = fig.add_subplot()
        y = np.arange(len(shares))[::-1]
        vals = np.array([s["share_a"] for _, s in shares])
        # Never negative: matplotlib refuses negative error bars (wilson() already keeps low <= share <= high).
        err = np.clip([[s["share_a"] - s["low"] for _, s in shares], [s["high"] - s["share_a"] for _, s in shares]], 0, None)
        ax.barh(y, vals, xerr=err, color=NEUTRAL, alpha=0.8, height=0.6, error_kw={"ecolor": "#343a40", "capsize": 3})
        ax.axvline(0.5, color=REJECTED, linewidth=1.2, linestyle="--")
        for yi, (_, s) in zip(y, shares):
            ax.text(1.0, yi, f" {_pct(s['share_a'])} of {s['pairs']:,}", va="center", fontsize=9, color="#495057")
        ax.set_yticks(y, [n if len(n) <= 40 else n[:39] + "…" for n, _ in shares])
        ax.set_xlim(0, 1.0)
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0%", "25%", "50%", "75%", "100%"])
        ax.set_xlabel('share of pairs where "A" (shown first) won' + (f" ({more:,} more sources in report.md)" if more > 0 else ""))
        ax.grid(axis="y", visible=False)

    height = max(1.9, 1.2 + 0.3 * len(shares))
    return Plot("position", title, caption, svg=_render("position", draw, (SIZE[0], height)))


def turns_per_prompt(agg: Aggregates) -> Plot:
    title = "User turns per prompt"
    caption = "Single-turn vs multi-turn prompts. Multi-turn history makes prompts long and truncation likelier."
    df = agg.per_pair
    if df.height == 0:
        return Plot("turns", title, caption, note="No pairs.")
    turns = np.minimum(df["user_turns"].to_numpy(), 10)
    values, counts = np.unique(turns, return_counts=True)

    def draw(fig):
        ax = fig.add_subplot()
        ax.bar(values, counts, color=NEUTRAL, alpha=0.85, width=0.7)
        for v, c in zip(values, counts):
            ax.text(v, c, f"{c / len(turns):.0%}", ha="center", va="bottom", fontsize=8, color="#495057")
        ax.set_xticks(values, [f"{v}+" if v == 10 else str(v) for v in values])
        ax.set_xlabel("user turns in the prompt")
        ax.set_ylabel("pairs")
        _count_axis(ax.yaxis)
        ax.grid(axis="x", visible=False)

    return Plot("turns", title, caption, svg=_render("turns", draw))


def token_lengths(tokens: dict[str, Any] | None) -> Plot:
    title = "Token length vs max_length"
    caption = ("Prompt + response tokens as the truncation checks measured them. Pairs right of the line "
               "are truncated by the trainer; if the chosen/rejected difference lies past it, the pair teaches nothing.")
    if tokens is None:
        return Plot("tokens", title, caption,
                    note="Not applicable: checks.json has no token lengths. Run `prefdata check OUT --tokenizer ... --max-length ...`.")
    max_length = tokens["max_length"]
    if "bin_edges" not in tokens:
        truncated = tokens.get("pairs_truncated")
        return Plot("tokens", title, caption,
                    note=f"`{tokens['check']}` ran with max_length={max_length:,}"
                    + (f" ({truncated:,} pairs longer than that)" if isinstance(truncated, int) else "")
                    + " but recorded no token-length histogram to draw.")

    def draw(fig):
        ax = fig.add_subplot()
        ylabel = "pairs"
        # The bins differ in width (quarters of max_length, then wider, then a last one to the
        # longest pair): drawn as counts, a wide bin looked tall and a narrow one empty. Heights
        # are pairs per width of the first bin.
        edges = np.asarray(tokens["bin_edges"], dtype=float)
        widths = np.diff(edges)
        unit = widths[0] if len(widths) and widths[0] > 0 else 1.0
        if len(widths) and (widths != unit).any():
            ylabel = f"pairs per {unit:,.0f} tokens"
        for key, color in (("chosen", CHOSEN), ("rejected", REJECTED)):
            if tokens[key]:
                density = np.asarray(tokens[key], dtype=float) / np.where(widths > 0, widths, 1.0) * unit
                ax.stairs(density, edges, color=color, linewidth=1.6, label=key)
        ax.axvline(max_length, color="#212529", linestyle="--", linewidth=1.2)
        ax.text(max_length, ax.get_ylim()[1], f" max_length={max_length:,}", va="top", fontsize=9)
        _thousands(ax.xaxis)
        _count_axis(ax.yaxis)
        ax.set_xlabel("tokens (prompt + response)" + (f", {tokens['tokenizer']}" if tokens.get("tokenizer") else ""))
        ax.set_ylabel(ylabel)
        ax.legend(loc="upper right")

    return Plot("tokens", title, caption, svg=_render("tokens", draw))


def all_plots(agg: Aggregates, tokens: dict[str, Any] | None) -> list[Plot]:
    """Every plot of the report, in reading order."""
    return [
        length_distributions(agg),
        length_difference(agg),
        score_margins(agg),
        pairs_per_source(agg),
        a_wins(agg),
        turns_per_prompt(agg),
        token_lengths(tokens),
    ]

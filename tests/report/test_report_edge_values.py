"""Values at the edges of what the report shows, from a review of its fixes: tick steps on large
counts, a code span of spaces, Markdown in names from other tools' files, a median of -inf and
+inf, control characters in plot text, a manifest without per-source pairs, and a malformed token
histogram in checks.json."""

from __future__ import annotations

import math
import warnings
import xml.etree.ElementTree as ET

import matplotlib
import polars as pl
import pytest

from prefdata.build.card import render_card
from prefdata.report import plots
from prefdata.report.aggregates import Aggregates, _mismatches, margin_stats, position_shares, summary_stats
from prefdata.report.markdown import code
from prefdata.report.results import token_lengths

matplotlib.use("agg")


@pytest.mark.parametrize(("top", "step"), [(2_750, 500), (1_000_000, 200_000), (3, 1)])
def test_count_axes_tick_round_whole_numbers(top, step):
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    ax.set_ylim(0, top)
    plots._count_axis(ax.yaxis)
    ticks = [t for t in ax.yaxis.get_majorticklocs() if 0 <= t <= top]
    assert all(t % step == 0 for t in ticks) and len(ticks) <= 8, ticks  # 0, 500, ...: not 0, 300, 600, ...


def test_a_code_span_of_spaces_keeps_them():
    assert code(" ") == "` `"
    assert code("  ") == "`  `"
    assert code(" a ") == "`  a  `"  # the renderer strips one pad space from each side


def test_names_and_reasons_from_other_tools_show_as_written_in_the_card():
    card = render_card({"counts": {"records_rejected": 1, "rejected_by_reason": {"![pixel](https://t.example/p.png)": 1},
                                   "pairs_by_split": {"*train*": 1}}})
    assert "!\\[pixel\\](https://t.example/p.png)" in card and "![pixel](" not in card
    assert "\\*train\\* pairs" in card


def test_a_median_margin_of_minus_and_plus_infinity_is_a_number():
    per_pair = pl.DataFrame({"margin": [math.inf, -math.inf]})
    stats = margin_stats(Aggregates(per_pair=per_pair, has_scores=True, has_position=False))
    assert stats["scored_pairs"] == 2 and stats["median_margin"] == -math.inf


def test_control_characters_in_plot_text_leave_the_svg_well_formed():
    per_pair = pl.DataFrame({"source": ["a\x1bb", "nul\x00"], "split": ["train", "train"]})
    svg = plots.pairs_per_source(Aggregates(per_pair=per_pair, has_scores=False, has_position=False)).svg
    ET.fromstring(svg)  # raises on a character XML cannot hold


def test_glyphs_the_plot_font_lacks_warn_nothing():
    """The SVG keeps text as text, so the browser draws CJK in its own fonts: matplotlib's "Glyph ...
    missing from font(s)" warnings (one per character) were noise on report's stderr."""
    per_pair = pl.DataFrame({"source": ["偏好数据", "训练集", "tab\there"], "split": ["train", "train", "test"]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        svg = plots.pairs_per_source(Aggregates(per_pair=per_pair, has_scores=False, has_position=False)).svg
        warnings.warn("Glyph 1 (x) missing from font(s) DejaVu Sans.", UserWarning, stacklevel=1)  # outside the plot: kept
    assert "偏好数据" in svg
    assert [str(w.message) for w in caught] == ["Glyph 1 (x) missing from font(s) DejaVu Sans."]


def test_a_manifest_without_pairs_per_source_gives_no_source_note():
    by_source = {"new": {"pairs_written": 1}, "old": {"pairs_written": 2}}
    assert _mismatches({"by_source": {"old": {"records_read": 2}}}, {"train": 3}, by_source) == []
    notes = _mismatches({"by_source": {"old": {"pairs_written": 2}}}, {"train": 3}, by_source)
    assert notes == ["manifest.json and the shards disagree on the pairs of 1 source(s) (new: not listed in manifest.json, 1 in the shards)"]


@pytest.mark.parametrize("chosen", [5, "5", [1, "x"]])
def test_a_malformed_token_histogram_is_not_drawn(chosen):
    stat = {"max_length": 8, "length_histogram": {"bin_edges": [0, 4, 8], "chosen": chosen, "rejected": [1, 2]}}
    found = token_lengths({"checks": [{"id": "truncation_dropped", "statistic": stat}]})
    assert found is not None and "bin_edges" not in found  # "recorded no histogram to draw", not a crash


def test_the_plots_are_the_same_whatever_the_caller_set_in_matplotlib(tmp_path):
    """The plots inherited every rcParam the report does not set: a notebook's `text.usetex` made
    report() raise RuntimeError (no LaTeX) and a dark style drew white text on the report's page."""
    from prefdata.report import report
    from tests.report.report_datasets import canonical_row, msg, write_dataset

    rows = [canonical_row([msg("user", f"q{i} $x_1$ 50%")], [msg("assistant", "c" * (i + 3))], [msg("assistant", "r")], source="a_$b$", record=i) for i in range(8)]
    out = write_dataset(tmp_path / "out", {"train": rows})
    clean = report(out, card=False).html_path.read_bytes()
    with matplotlib.rc_context():
        matplotlib.style.use("dark_background")
        matplotlib.rcParams["text.usetex"] = True
        matplotlib.rcParams["axes.formatter.use_mathtext"] = True
        assert report(out, card=False).html_path.read_bytes() == clean
        assert matplotlib.rcParams["text.usetex"] is True  # the caller's settings are left as they were


def test_a_margin_of_exactly_zero_is_at_or_below_zero():
    """margin_stats' ``non_positive_margins`` ("at or below 0"): a tie in scores (margin 0) counts; the
    missing margin is not a scored pair."""
    per_pair = pl.DataFrame({"margin": [0.0, 0.0, 1.5, -2.0, None, 3.0]}, schema={"margin": pl.Float64})
    stats = margin_stats(Aggregates(per_pair=per_pair, has_scores=True, has_position=False))
    assert (stats["non_positive_margins"], stats["scored_pairs"]) == (3, 5)


def test_multi_turn_means_more_than_one_user_turn():
    """summary_stats: ``share_multi_turn`` is the share of prompts with more than one user turn (2 of
    4), besides the shares of a longer chosen response (2 of 4) and of equal lengths (1 of 4)."""
    per_pair = pl.DataFrame({"chosen_chars": [5, 3, 4, 4], "rejected_chars": [3, 5, 4, 1], "prompt_chars": [1, 2, 3, 4],
                             "user_turns": [1, 2, 1, 3], "margin": [None] * 4, "a_won": [None] * 4},
                            schema_overrides={"margin": pl.Float64, "a_won": pl.Boolean})
    stats = summary_stats(Aggregates(per_pair=per_pair, has_scores=False, has_position=False))
    assert (stats["share_multi_turn"], stats["share_chosen_longer"], stats["share_same_length"]) == (0.5, 0.5, 0.25)


def test_the_all_splits_note_is_left_out_when_a_split_note_says_it():
    """_mismatches: the "N pairs written" note only "when the splits do not already say so": a manifest
    whose train count differs gets the train note alone; without counts per split, the total note."""
    assert _mismatches({"pairs_by_split": {"train": 5}, "pairs_written": 5}, {"train": 4}, {}) == [
        "manifest.json says 5 train pairs, the shards hold 4"]
    assert _mismatches({"pairs_written": 5}, {"train": 4}, {}) == ["manifest.json says 5 pairs written, the shards hold 4"]


def test_position_shares_list_the_largest_source_first():
    """position_shares orders sources as the report's source counts: most pairs first, ties by name."""
    per_pair = pl.DataFrame({"source": ["small"] * 2 + ["big"] * 5 + ["mid"] * 3 + ["alsomid"] * 3,
                             "a_won": [True, False] + [True] * 5 + [False] * 3 + [True] * 3})
    shares = position_shares(Aggregates(per_pair=per_pair, has_scores=False, has_position=True))
    assert list(shares) == ["big", "alsomid", "mid", "small"]
    assert (shares["big"]["pairs"], shares["mid"]["share_a"], shares["small"]["share_a"]) == (5, 0.0, 0.5)

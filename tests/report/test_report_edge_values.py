"""Values at the edges of what the report shows, from a review of its fixes: tick steps on large
counts, a code span of spaces, Markdown in names from other tools' files, a median of -inf and
+inf, control characters in plot text, a manifest without per-source pairs, and a malformed token
histogram in checks.json."""

from __future__ import annotations

import math
import statistics
import warnings
import xml.etree.ElementTree as ET

import matplotlib
import polars as pl
import pytest

from prefdata.build.card import render_card
from prefdata.report import plots
from prefdata.report.aggregates import Aggregates, _mismatches, margin_stats, position_shares, summary_stats
from prefdata.report.markdown import code
from prefdata.report.results import check_summary, check_views, expectation_views, fmt_value, token_lengths

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


def test_exactly_three_differing_sources_are_all_named_with_no_more():
    """_mismatches names the first MAX_SOURCES_NAMED (3) differing sources and says "and N more" only past
    them: 3 differing sources of 4 are all named, with no "and 0 more source(s)"."""
    manifest = {"by_source": {"s1": {"pairs_written": 5}, "s2": {"pairs_written": 1}, "s3": {"pairs_written": 9},
                              "s4": {"pairs_written": 2}}}
    by_source = {name: {"pairs_written": 2} for name in ("s1", "s2", "s3", "s4")}
    assert _mismatches(manifest, {"train": 8}, by_source) == [
        ("manifest.json and the shards disagree on the pairs of 3 source(s) (s1: 5 in manifest.json, 2 in the shards; "
         "s2: 1 in manifest.json, 2 in the shards; s3: 9 in manifest.json, 2 in the shards)")]
    by_source["s4"] = {"pairs_written": 3}
    assert _mismatches(manifest, {"train": 9}, by_source)[0].endswith("s3: 9 in manifest.json, 2 in the shards; and 1 more source(s))")


def test_a_source_listed_without_pairs_written_is_not_compared():
    """_mismatches: "Each comparison is made only where the manifest has that count." A source the manifest
    lists with records_read only is neither "not listed" nor in disagreement; the one whose pairs differ is named."""
    manifest = {"by_source": {"a": {"records_read": 2, "pairs_written": 1}, "b": {"records_read": 3}}}
    by_source = {"a": {"pairs_written": 2}, "b": {"pairs_written": 3}}
    assert _mismatches(manifest, {"train": 5}, by_source) == [
        "manifest.json and the shards disagree on the pairs of 1 source(s) (a: 1 in manifest.json, 2 in the shards)"]


def test_two_reject_examples_per_reason_the_first_in_file_order(tmp_path):
    """README: rejected records by reason "with a few raw examples": aggregates._rejects keeps the first
    examples_per_reason (2) records of each reason in file order, however many the reason has."""
    from prefdata.report.aggregates import _rejects
    from prefdata.report.dataset import open_dataset
    from tests.report.report_datasets import REJECTS, simple_rows, write_dataset

    rejects = [{**REJECTS[0], "record": r} for r in (11, 12)] + [REJECTS[2]] + [{**REJECTS[0], "record": r} for r in (13, 14)]
    found = _rejects(open_dataset(write_dataset(tmp_path / "out", {"train": simple_rows(3)}, rejects=rejects)))
    assert found["by_reason"] == {"tie": 4, "malformed_json": 1}
    assert {reason: [r["record"] for r in rows] for reason, rows in found["examples"].items()} == {
        "tie": [11, 12], "malformed_json": [1002]}


def _lengths(chosen: list[int], rejected: list[int]) -> Aggregates:
    return Aggregates(per_pair=pl.DataFrame({"chosen_chars": chosen, "rejected_chars": rejected}), has_scores=False, has_position=False)


def test_the_length_difference_title_shares_are_disjoint():
    """The length-difference plot's title: chosen longer / same length / shorter, three shares of all pairs
    that add up to 100%. Differences 2, 0, -3, 0, 4, -5, -1: 2/7, 2/7 and 3/7."""
    svg = plots.length_difference(_lengths([4, 2, 1, 2, 5, 1, 2], [2, 2, 4, 2, 1, 6, 3])).svg
    assert "chosen longer 28.6% · same length 28.6% · shorter 42.9%" in svg


def test_a_length_difference_bin_right_of_zero_is_green():
    """Caption: "Mass right of zero (green) means longer answers win". Differences +1, +60, -60: span is the
    99th percentile, 58.82, so 60 bins of 1.96 with an edge at 0; +1 lies in the first bin right of zero
    (green, as is the clipped +60 at the right edge), -60 at the left edge (red)."""
    svg = plots.length_difference(_lengths([2, 61, 1], [1, 1, 61])).svg
    assert (svg.count(f"fill: {plots.CHOSEN}"), svg.count(f"fill: {plots.REJECTED}")) == (2, 1)


def test_minus_infinite_margins_are_counted_as_not_drawn():
    """README: "an infinite margin counts in the text and the plot's title but cannot be drawn, and the plot
    says how many it leaves out": -inf margins too (2 of them and 1 +inf: 3)."""
    per_pair = pl.DataFrame({"margin": [0.5, -1.0, -math.inf, -math.inf, math.inf, 3.0]})
    svg = plots.score_margins(Aggregates(per_pair=per_pair, has_scores=True, has_position=False)).svg
    assert "(3 infinite margin(s) not drawn)" in svg


def test_the_sources_plot_draws_the_sources_with_most_pairs():
    """The "Pairs per source and split" plot draws MAX_BARS (15) sources and sums the rest as "other": the 15
    with the most pairs (as the table lists "the 30 sources with the most pairs"). Source srcNN has NN+1
    pairs: src03..src17 drawn, src00, src01, src02 in "other (3 sources)"."""
    names = [f"src{k:02d}" for k in range(18) for _ in range(k + 1)]
    per_pair = pl.DataFrame({"source": names, "split": ["train"] * len(names)})
    svg = plots.pairs_per_source(Aggregates(per_pair=per_pair, has_scores=False, has_position=False)).svg
    assert [k for k in range(18) if f">src{k:02d}<" in svg] == list(range(3, 18))
    assert "other (3 sources)" in svg


def test_characters_xml_cannot_hold_leave_the_svg_well_formed():
    """XML 1.0 holds neither U+000B, U+000C nor the non-characters U+FFFE and U+FFFF: a source name with one
    must still give an SVG that parses."""
    names = ["tab\x0bbed", "form\x0cfeed", "non\ufffechar", "last\uffff"]
    per_pair = pl.DataFrame({"source": names, "split": ["train"] * 4})
    svg = plots.pairs_per_source(Aggregates(per_pair=per_pair, has_scores=False, has_position=False)).svg
    ET.fromstring(svg)  # raises on a character XML cannot hold


def test_a_skipped_truncation_check_records_no_token_lengths():
    """README: the token plot is drawn when check --tokenizer recorded token lengths; a skipped check did
    not run ("marked as skipped, not as passed"), so its statistic is not read; the check that ran is."""
    stat = {"max_length": 512, "length_histogram": {"bin_edges": [0, 256, 512], "chosen": [3, 1], "rejected": [4, 0]}}
    skipped = {"id": "truncation_rate", "statistic": stat, "skipped": "needs --tokenizer and --max-length"}
    assert token_lengths({"checks": [skipped]}) is None
    ran = {"id": "truncation_dropped", "statistic": {**stat, "max_length": 256}}
    assert token_lengths({"checks": [skipped, ran]})["max_length"] == 256


def test_a_verdict_without_passed_fails_on_failed_error_checks_only():
    """A checks.json without `passed` (another tool's): the verdict is recomputed as check gates without
    --strict (README: `error` fails the run, `warn` only with --strict): a failed warn or info check passes."""
    def entry(severity, passed):
        return {"id": f"{severity}_{passed}", "severity": severity, "passed": passed}

    assert check_summary({"checks": [entry("warn", False), entry("info", False), entry("error", True)]})["passed"] is True
    assert check_summary({"checks": [entry("warn", True), entry("error", False)]})["passed"] is False


def test_failed_expectations_come_worst_severity_first():
    """results.expectation_views: failed first, "worst severity first" (error, warn, info), then the passed
    ones; checks.json lists them info, warn, passed error, error."""
    def exp(name, severity, success):
        return {"expectation_type": name, "kwargs": {"column": "id"}, "severity": severity, "success": success, "result": {}}

    doc = {"expectations": [exp("info_one", "info", False), exp("warn_one", "warn", False), exp("passed_one", "error", True),
                            exp("error_one", "error", False)]}
    assert [v.type for v in expectation_views(doc)] == ["error_one", "warn_one", "info_one", "passed_one"]


def test_true_and_false_statistics_are_shown_as_yes_and_no():
    """results.fmt_value: a boolean statistic is "yes"/"no", not 1/0 (bool is an int subclass, so the
    boolean test must come first); an integer keeps its thousands separator."""
    assert [fmt_value(v) for v in (True, False, 3, 1234)] == ["yes", "no", "3", "1,234"]


def test_a_value_at_the_display_limit_is_shown_whole_and_one_past_it_is_cut():
    """results.fmt_value: text of up to MAX_VALUE_CHARS (240) characters is shown whole, without "…";
    longer text is cut to its first 240 characters and marked with "…"."""
    at, over = "a" * 239 + "Z", "b" * 240 + "Y"
    assert fmt_value(at) == at
    assert fmt_value(over) == "b" * 240 + "…"


def test_an_unexpected_count_of_0_is_shown_and_no_count_stays_empty():
    """results.expectation_views: unexpected_count 0 is shown "0 (0%)", not as an empty cell, which is kept
    for a result without a count (an aggregate expectation's observed_value)."""
    doc = {"expectations": [
        {"expectation_type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}, "severity": "error", "success": True,
         "result": {"element_count": 3, "unexpected_count": 0, "unexpected_percent": 0.0, "partial_unexpected_list": []}},
        {"expectation_type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}, "severity": "error", "success": True,
         "result": {"observed_value": 3}},
    ]}
    assert {v.type: v.unexpected for v in expectation_views(doc)} == {
        "expect_column_values_to_not_be_null": "0 (0%)", "expect_table_row_count_to_be_between": ""}


def test_a_failed_expectation_without_severity_counts_as_an_error():
    """An expectation entry without `severity` (another tool's suite, an older checks.json) is an error, as
    the expectations table shows it (README: an error-severity expectation fails the run)."""
    doc = {"checks": [{"id": "x_chk", "severity": "warn", "passed": False}],
           "expectations": [{"expectation_type": "expect_column_values_to_not_be_null", "kwargs": {"column": "source"}, "success": False,
                             "result": {"unexpected_count": 1}}]}
    assert check_summary(doc)["failed"] == {"error": 1, "warn": 1, "info": 0}
    assert [v.severity for v in expectation_views(doc)] == ["error"]


def test_checks_are_listed_failed_then_passed_then_skipped():
    """results.check_views: failed checks first, then passed, then skipped ones (README: skipped checks are
    marked as skipped, not as passed), whatever checks.json's order; within a status, worst severity first."""
    def entry(name, severity, passed, skipped=None):
        d = {"id": name, "severity": severity, "passed": passed, "statistic": {}, "offending_ids": [], "offending_count": 0, "message": name}
        return d | ({"skipped": skipped} if skipped else {})

    doc = {"checks": [entry("s_one", "error", True, "needs --tokenizer"), entry("p_one", "info", True),
                      entry("s_two", "warn", True, "needs x"), entry("p_two", "error", True), entry("f_one", "warn", False)]}
    assert [v.id for v in check_views(doc, {}, 3)] == ["f_one", "p_two", "p_one", "s_one", "s_two"]


def test_a_reject_raw_text_at_the_limit_is_shown_whole(tmp_path):
    """aggregates._read_rejects: a reject's raw text is cut past MAX_RAW_CHARS (1,500) characters, saying how
    many more there were; one of exactly 1,500 is shown whole, with no "(0 more characters)"."""
    from prefdata.report.aggregates import _rejects
    from prefdata.report.dataset import open_dataset
    from tests.report.report_datasets import REJECTS, simple_rows, write_dataset

    at, over = "a" * 1499 + "Z", "b" * 1500 + "Y"
    rejects = [{**REJECTS[0], "record": 1, "raw": at}, {**REJECTS[0], "record": 2, "raw": over}]
    found = _rejects(open_dataset(write_dataset(tmp_path / "out", {"train": simple_rows(3)}, rejects=rejects)))
    assert [r["raw"] for r in found["examples"]["tie"]] == [at, "b" * 1500 + "… (1 more characters)"]


def _svg_texts(svg: str) -> set[str]:
    return {"".join(e.itertext()).strip() for e in ET.fromstring(svg).iter() if e.tag.endswith("text")}


def test_the_median_prompt_length_is_a_median():
    """summary_stats: "median prompt" (report.md: "Prompts: median N characters") is the median of the
    prompts' lengths: 3, 4 and 500 characters give 4 (their mean would be 169)."""
    per_pair = pl.DataFrame({"chosen_chars": [1, 1, 1], "rejected_chars": [1, 1, 1], "prompt_chars": [3, 4, 500],
                             "user_turns": [1, 1, 1], "margin": [None] * 3, "a_won": [None] * 3},
                            schema_overrides={"margin": pl.Float64, "a_won": pl.Boolean})
    assert summary_stats(Aggregates(per_pair=per_pair, has_scores=False, has_position=False))["median_prompt_chars"] == 4.0


def test_prompts_of_10_or_more_user_turns_share_the_10_plus_bar():
    """The turns plot's last bar is "10+": prompts of 12 and 15 user turns are counted in it, not drawn as
    bars of their own (bars 1, 2 and 10+, each with its share of the 4 prompts)."""
    svg = plots.turns_per_prompt(Aggregates(per_pair=pl.DataFrame({"user_turns": [1, 2, 12, 15]}), has_scores=False, has_position=False)).svg
    texts = _svg_texts(svg)
    assert {"1", "2", "10+", "25%", "50%"} <= texts and not {"12", "15"} & texts


def test_the_a_wins_plot_cuts_a_long_source_name_as_the_sources_plot_does():
    """A source name past 40 characters is cut to its first 39 and "…" on both plots' axes (60 here)."""
    name = "a-very-long-pairwise-source-name-" + "x" * 27
    per_pair = pl.DataFrame({"source": [name] * 3, "split": ["train"] * 3, "a_won": [True, True, False]})
    agg = Aggregates(per_pair=per_pair, has_scores=False, has_position=True)
    cut = name[:39] + "…"
    for svg in (plots.a_wins(agg).svg, plots.pairs_per_source(agg).svg):
        texts = _svg_texts(svg)
        assert cut in texts and name not in texts


def test_the_length_difference_edges_count_only_the_pairs_beyond_them():
    """The length-difference plot spans the 1st..99th percentile of chosen - rejected (linear interpolation:
    statistics.quantiles' inclusive method) and says "(N pairs beyond ±S drawn at the edges)" for those outside."""
    # differences -5..+5, ten of them exactly at ±5: the span is 5 and a pair at ±5 is inside it, no note
    inside = [(-5, 5)[i % 2] if i % 10 == 0 else (i % 9) - 4 for i in range(100)]
    assert statistics.quantiles(inside, n=100, method="inclusive")[0] == -5 and max(map(abs, inside)) == 5
    assert "beyond" not in plots.length_difference(_lengths([400 + d for d in inside], [400] * 100)).svg
    # 196 differences in -3..3 and four far out: 1st/99th percentile -5.97/5.97, so 4 pairs beyond ±5
    spread = [(i % 7) - 3 for i in range(196)] + [300, -300, 301, -301]
    q = statistics.quantiles(spread, n=100, method="inclusive")
    assert (round(q[0], 6), round(q[-1], 6)) == (-5.97, 5.97)
    svg = plots.length_difference(_lengths([400 + d for d in spread], [400] * 200)).svg
    assert "(4 pairs beyond ±5 drawn at the edges)" in svg

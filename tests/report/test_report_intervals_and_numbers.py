"""The "A wins" interval and the report's number format: legitimate data must never crash a plot or read oddly."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from prefdata.cli import cli
from prefdata.report import plots, report
from prefdata.report.aggregates import Aggregates, per_pair_frame, wilson
from prefdata.report.content import num
from prefdata.report.dataset import open_dataset
from prefdata.report.numbers import decimal
from tests.report.report_datasets import canonical_row, msg, write_dataset


def _pairwise_rows(n: int, winner: str) -> list[dict]:
    return [canonical_row([msg("user", f"Question {i}?")], [msg("assistant", f"Good {i}.")], [msg("assistant", f"Bad {i}.")],
                          source="arena", record=i + 1, position=winner) for i in range(n)]


def test_wilson_interval_always_contains_the_share():
    """Property over n=1..200: 0 <= low <= k/n <= high <= 1, and the ends touch 0/1 at k=0/k=n.

    Before the fix the upper bound for 6 of 6 was 0.9999999999999999, below the share of 1.0.
    """
    bad = []
    for n in range(1, 201):
        for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            low, high = wilson(k, n)
            if not (0.0 <= low <= k / n <= high <= 1.0):
                bad.append((k, n, low, high))
        if wilson(0, n)[0] != 0.0 or wilson(n, n)[1] != 1.0:
            bad.append(("ends", n, wilson(0, n), wilson(n, n)))
    assert not bad, bad[:5]
    assert wilson(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(("n", "winner"), [(6, "a"), (21, "a"), (11, "b"), (44, "b")])
def test_one_sided_pairwise_source_reports(tmp_path, n, winner):
    """A legitimate build whose pairwise source was always won by the same position (r01)."""
    out = write_dataset(tmp_path / "out", {"train": _pairwise_rows(n, winner)})
    result = CliRunner().invoke(cli, ["report", str(out), "--no-card"])
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text()
    assert 'data-plot="position" data-state="plot"' in html
    share = "100.0%" if winner == "a" else "0.0%"
    assert f"{share} of {n}" in html


def test_error_bars_are_clamped_even_if_an_interval_misses_its_share(tmp_path, monkeypatch):
    """The plot itself never hands matplotlib a negative error bar, whatever the interval says."""
    out = write_dataset(tmp_path / "out", {"train": _pairwise_rows(6, "a")})
    ds = open_dataset(out)
    agg = Aggregates(per_pair=per_pair_frame(ds).collect(), has_scores=False, has_position=True)
    monkeypatch.setattr(plots, "position_shares",
                        lambda _: {"arena": {"pairs": 6, "share_a": 1.0, "low": 0.6, "high": 0.9999999999999999}})
    assert plots.a_wins(agg).svg is not None


def test_null_and_empty_message_lists_report(tmp_path):
    rows = _pairwise_rows(3, "a") + _pairwise_rows(3, "b")
    rows[0]["chosen"] = None
    rows[1]["rejected"] = []
    rows[2]["prompt"] = [{"role": None, "content": None}]
    out = write_dataset(tmp_path / "out", {"train": rows})
    result = CliRunner().invoke(cli, ["report", str(out), "--no-card"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "50.0% of 6" in (out / "report.html").read_text()


@pytest.mark.parametrize(
    ("value", "shown"),
    [(1412.5, "1,412.5"), (1412.0, "1,412"), (1412, "1,412"), (1_234_567.25, "1,234,567.25"), (0.52, "0.52"),
     (2 / 3, "0.667"), (12.3456, "12.346"), (-2.5, "-2.5"), (0.0, "0"), (None, "—")],
)
def test_num_uses_separators_and_sensible_decimals(value, shown):
    assert num(value) == shown


def test_decimal_keeps_tiny_and_huge_values_readable():
    assert decimal(0.000123) == "0.000123"
    assert decimal(1e-7) == "1e-07"
    assert decimal(float("nan")) == "nan"
    assert "e" not in decimal(123_456_789.5)


def test_decimal_never_writes_minus_zero():
    """numbers.decimal: a negative zero (a margin of -0.0) reads "0", not "-0"."""
    assert decimal(-0.0) == "0"
    assert decimal(-0.0, 1) == "0"


def test_decimal_is_scientific_from_1e15_on():
    """numbers module docstring: scientific notation for magnitudes "1e15 and up", 1e15 itself included."""
    assert decimal(1e15) == "1e+15"
    assert decimal(-1e15) == "-1e+15"
    assert decimal(999_999_999_999_999.0) == "999,999,999,999,999"


def test_half_integer_median_is_shown_like_its_neighbour(tmp_path):
    """Two pairs: chosen lengths 1,400 and 1,425 (median 1,412.5), rejected 1,412 both."""
    rows = [canonical_row([msg("user", f"q{i}")], [msg("assistant", "x" * n)], [msg("assistant", "y" * 1412)], record=i)
            for i, n in enumerate((1400, 1425))]
    out = write_dataset(tmp_path / "out", {"train": rows})
    html = report(out, card=False).html_path.read_text()
    assert "median 1,412.5 vs 1,412 chars" in html
    assert not re.search(r"\d\.\d+e\+\d", html)


def _scored(scores: list[tuple[float, float]]) -> list[dict]:
    return [canonical_row([msg("user", f"q{i}")], [msg("assistant", "c")], [msg("assistant", "r")], scores=s, record=i)
            for i, s in enumerate(scores)]


def _plot_title(html: str, plot_id: str) -> str:
    svg = re.search(rf'<svg role="img" aria-label="{plot_id}".*?</svg>', html, re.DOTALL).group(0)
    return " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg))


def test_a_nan_margin_is_missing_and_text_and_plot_agree(tmp_path):
    """inf - inf is NaN: such a pair is not scored (as a NaN score is not), so the median stays a number;
    an infinite margin is scored in the text and the plot's title, and said to be left out of the drawing."""
    inf = float("inf")
    out = write_dataset(tmp_path / "out", {"train": _scored([(5.0, 4.0), (inf, inf), (-inf, -inf), (3.0, 1.0), (inf, 0.0)])})
    result = report(out, card=False)
    md, html = result.md_path.read_text(), result.html_path.read_text()
    assert "Score margin: 3 scored pairs, median 2, 0 at or below 0." in md
    title = _plot_title(html, "margins")
    assert "3 scored pairs · median margin 2 · 0 at or below 0" in title
    assert "1 infinite margin(s) not drawn" in title


def test_margins_that_are_all_infinite_are_not_drawn_empty(tmp_path):
    inf = float("inf")
    out = write_dataset(tmp_path / "out", {"train": _scored([(inf, 0.0), (1.0, -inf)])})
    html = report(out, card=False).html_path.read_text()
    assert 'data-plot="margins" data-state="na"' in html
    assert "all 2 score margins are infinite" in html
    only_nan = write_dataset(tmp_path / "nan", {"train": _scored([(inf, inf)])})
    html = report(only_nan, card=False).html_path.read_text()
    assert 'data-plot="margins" data-state="na"' in html and "inf − inf, counts as missing" in html


def test_count_axes_have_whole_number_ticks(tmp_path):
    """A tallest bar of 2 pairs: matplotlib's default ticks at 0.25 steps were labelled 0, 0.25, ..., 1, 1, 2, 2."""
    out = write_dataset(tmp_path / "out", {"train": _scored([(2.0, 1.0), (2.0, 1.0), (3.0, 1.0), (4.0, 1.0), (5.0, 1.0)])})
    html = report(out, card=False).html_path.read_text()
    svg = re.search(r'<svg role="img" aria-label="margins".*?</svg>', html, re.DOTALL).group(0)
    labels = re.findall(r'<g id="margins-ytick_\d+">.*?>([^<>]*)</text>', svg, re.DOTALL)
    assert labels and all(re.fullmatch(r"\d+", t) for t in labels), labels
    assert len(set(labels)) == len(labels), labels


def test_length_legend_gives_the_median_the_text_gives(tmp_path):
    """Chosen 0, 0, 0, 5 characters (median 0, not 1 after empty ones are drawn at 1); rejected 7, 7, 8, 8 (7.5, not 7)."""
    rows = [canonical_row([msg("user", f"q{i}")], [msg("assistant", c)], [msg("assistant", r)], record=i)
            for i, (c, r) in enumerate(zip(["", "", "", "ccccc"], ["r" * 7, "r" * 7, "r" * 8, "r" * 8]))]
    out = write_dataset(tmp_path / "out", {"train": rows})
    result = report(out, card=False)
    assert "median chosen 0, rejected 7.5;" in result.md_path.read_text()
    assert re.findall(r"(chosen|rejected) \(median ([\d,.]+)\)", result.html_path.read_text()) == [
        ("chosen", "0"), ("rejected", "7.5")]


def test_margins_too_close_for_fifty_bins_are_drawn(tmp_path):
    """Margins 4.0 and 3.9999999999999996 (0.1 + 0.2 style float noise): numpy refused 50 bins over a
    range that narrow ("Too many bins for data range") and the report crashed (exit 3)."""
    out = write_dataset(tmp_path / "out", {"train": _scored([(5.0, 1.0), (4.1, 0.10000000000000053)])})
    html = report(out, card=False).html_path.read_text()
    assert "2 scored pairs · median margin 4 · 0 at or below 0" in _plot_title(html, "margins")


def test_a_null_response_list_has_no_characters(tmp_path):
    """README: a response's length is "the characters of its messages' contents, summed": a null message
    list (no response at all) and an empty one both have 0 characters, not 1; two messages add up."""
    rows = _pairwise_rows(3, "a")
    rows[0]["chosen"] = None
    rows[1]["chosen"] = []
    rows[2]["chosen"] = [msg("assistant", "ab"), msg("assistant", "cde")]
    rows[0]["rejected"] = None
    out = write_dataset(tmp_path / "out", {"train": rows})
    per_pair = per_pair_frame(open_dataset(out)).collect()
    assert per_pair["chosen_chars"].to_list() == [0, 0, 2 + 3]
    assert per_pair["rejected_chars"].to_list() == [0, len("Bad 1."), len("Bad 2.")]


def test_system_and_tool_messages_are_not_user_turns(tmp_path):
    """README: "the share of multi-turn prompts" counts user turns (the plot is "User turns per prompt"): a
    system message or a tool result before or after one question leaves a single user turn."""
    prompts = [[msg("system", "Be nice."), msg("user", "q1")],
               [msg("user", "q2"), msg("tool", "lookup")],
               [msg("user", "q3"), msg("assistant", "x"), msg("user", "q3b")],
               [msg("user", "q4")]]
    rows = [canonical_row(p, [msg("assistant", "a")], [msg("assistant", "b")], record=i) for i, p in enumerate(prompts)]
    out = write_dataset(tmp_path / "out", {"train": rows})
    assert per_pair_frame(open_dataset(out)).collect()["user_turns"].to_list() == [1, 1, 2, 1]

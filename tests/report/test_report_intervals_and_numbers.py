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


def test_half_integer_median_is_shown_like_its_neighbour(tmp_path):
    """Two pairs: chosen lengths 1,400 and 1,425 (median 1,412.5), rejected 1,412 both."""
    rows = [canonical_row([msg("user", f"q{i}")], [msg("assistant", "x" * n)], [msg("assistant", "y" * 1412)], record=i)
            for i, n in enumerate((1400, 1425))]
    out = write_dataset(tmp_path / "out", {"train": rows})
    html = report(out, card=False).html_path.read_text()
    assert "median 1,412.5 vs 1,412 chars" in html
    assert not re.search(r"\d\.\d+e\+\d", html)

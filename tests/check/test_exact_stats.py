"""The polars engine's sum, mean and stdev are the exact values of the stored numbers rounded once, so
a bound at the true value (``mean between 0.3 and 0.3`` over copies of 0.3) holds on any engine that
computes it exactly, whatever order the floats are added in."""

from __future__ import annotations

import decimal
import json
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefdata.check import check
from prefdata.check.exact_stats import column_mean, column_stdev, column_sum
from tests.check.rows import write_rows


def _exact(values: list) -> tuple[Fraction, Fraction | None, float | None]:
    """Sum and mean as fractions; the stdev correctly rounded (Decimal's sqrt at 100 digits)."""
    xs = [Fraction(v) for v in values if v is not None]
    n = len(xs)
    total = sum(xs, Fraction(0))
    if n < 2:
        return total, total / n if n else None, None
    variance = (n * sum(x * x for x in xs) - total * total) / (n * (n - 1))
    with decimal.localcontext() as ctx:
        ctx.prec = 100
        stdev = float((decimal.Decimal(variance.numerator) / decimal.Decimal(variance.denominator)).sqrt())
    return total, total / n, stdev


FLOATS = st.floats(min_value=-1e30, max_value=1e30, allow_nan=False).filter(lambda x: x == 0 or abs(x) > 1e-30)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(FLOATS, st.sampled_from([0.1, 0.3, -0.7]), st.none()), max_size=60))
def test_float_aggregates_are_the_exact_values_rounded_once(values):
    s = pl.Series(values, dtype=pl.Float64)
    total, mean, stdev = _exact(values)
    assert column_sum(s) == float(total)
    assert column_mean(s) == (None if mean is None else float(mean))
    assert column_stdev(s) == stdev


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=-(2**52), max_value=2**52), max_size=40))
def test_integer_aggregates_are_exact(values):
    s = pl.Series(values, dtype=pl.Int64)
    total, mean, stdev = _exact(values)
    assert column_sum(s) == int(total) and isinstance(column_sum(s), int)
    assert column_mean(s) == (None if mean is None else float(mean))
    assert column_stdev(s) == stdev


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([float("inf"), 1.0], (float("inf"), float("inf"))),  # not exact: polars' float arithmetic, as GX's
        ([1e308, 1e308], (float("inf"), 1e308)),  # the sum overflows, the mean does not
        ([], (0.0, None)),
    ],
)
def test_sums_beyond_exact_arithmetic(values, expected):
    s = pl.Series(values, dtype=pl.Float64)
    assert (column_sum(s), column_mean(s)) == expected


def test_a_bound_at_the_true_value_holds(tmp_path):
    """100 x 0.3: polars summed to 0.30000000000000027 (a fail) and GX's numpy to 0.3; 10 x 0.1 had a
    stdev of 5.9e-17 in GX where the true value is 0."""
    root = write_rows(tmp_path / "d", [{"prompt": f"q{i}", "chosen": f"good {i}", "rejected": "bad"} for i in range(100)])
    shard = next((root / "data").glob("*.parquet"))
    pl.read_parquet(shard).with_columns(score_rejected=pl.lit(0.3), score_chosen=pl.lit(0.1)).write_parquet(shard)
    suite = tmp_path / "suite.json"
    bounds = [("mean", "score_rejected", 0.3), ("sum", "score_rejected", 30.0), ("stdev", "score_chosen", 0.0), ("stdev", "score_rejected", 0.0)]
    suite.write_text(json.dumps({"name": "exact", "expectations": [
        {"type": f"expect_column_{agg}_to_be_between", "kwargs": {"column": column, "min_value": bound, "max_value": bound}}
        for agg, column, bound in bounds
    ]}))
    result = check(root, suite=suite, write=False)
    assert [(e.success, e.result["observed_value"]) for e in result.expectations] == [(True, b) for _, _, b in bounds]

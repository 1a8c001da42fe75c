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


def test_subnormal_values_are_summed_exactly():
    """A subnormal float has no hidden bit (its exponent is that of 2**-1022): the sum and mean of such
    values are still the exact values rounded once (module doc), here against math.fsum and fractions."""
    import math

    unit = 2.0**-1074  # the smallest subnormal; every subnormal is a whole number of them
    units = [1, 7, 2**52 - 1, 20240225330731]  # 2**52 - 1: the largest subnormal; the last is 1e-310
    xs = [k * unit for k in units]
    assert xs[-1] == 1e-310
    s = pl.Series(xs, dtype=pl.Float64)
    assert column_sum(s) == math.ldexp(sum(units), -1074) == math.fsum(xs)  # a sum of subnormals is exact here
    assert column_mean(s) == float(sum(map(Fraction, xs)) / 4)


def test_the_deviation_of_values_below_2_to_the_minus_450_is_polars_own():
    """Below 2**-450 the squares' rounding errors underflow, so Dekker's product is not exact: the module
    doc says such columns fall back to polars' float arithmetic (here 0.0; Dekker's gives about 10**6
    times the true 1e-168)."""
    xs = [1.2345678901234e-155, 1.2345678901235e-155, 1.2345678901236e-155]
    s = pl.Series(xs, dtype=pl.Float64)
    assert column_stdev(s) == s.std(ddof=1)
    assert column_stdev(pl.Series([2.0**-449, 2.0**-448])) == _exact([2.0**-449, 2.0**-448])[2]  # in range: exact

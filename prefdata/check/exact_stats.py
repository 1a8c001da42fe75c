"""The sum, mean and standard deviation of a numeric column, correctly rounded: the exact value of
the stored numbers, rounded once to a float.

Polars (and numpy, which GX's pandas uses) add floats in an order of their own, so the mean of 100
copies of 0.3 comes out as 0.30000000000000027 in one and 0.3 in the other, and an expectation with
its bound at the true value (``mean between 0.3 and 0.3``) passes or fails by engine. Here the sum is
exact: every float is an integer mantissa times a power of two, so the mantissas' 26-bit halves are
summed per exponent as 64-bit integers (one polars group-by), and the few per-exponent sums are
combined in Python integers. The squares the variance needs are split exactly into two floats
(Dekker's product). About 30 ms per million values and sum on two cores.

Columns this cannot represent exactly (an infinite value; for the deviation, values beyond 2**500 or
below 2**-450 in size, whose squares overflow or underflow) fall back to polars' float arithmetic.
"""

from __future__ import annotations

import math
from fractions import Fraction

import polars as pl

#: Dekker's product is exact where neither the square nor its rounding error underflows or overflows.
_SQUARE_RANGE = (2.0**-450, 2.0**500)
_HALF = 1 << 26


def column_sum(s: pl.Series) -> float | int | None:
    """The sum of the non-null values (0 for none, as GX observes it); an integer column's stays an int."""
    values = s.drop_nulls()
    if values.dtype.is_integer():
        return _integer_sum(values)
    if not _finite(values):
        return s.sum()
    return _to_float(_exact_sums(values.cast(pl.Float64).to_frame("x").lazy(), "x")[0], s.sum)


def column_mean(s: pl.Series) -> float | None:
    """The mean of the non-null values, None for none."""
    values = s.drop_nulls()
    if values.len() == 0 or not _finite(values):
        return s.mean()
    if values.dtype.is_integer():
        return _integer_sum(values) / values.len()  # int / int: correctly rounded
    total = _exact_sums(values.cast(pl.Float64).to_frame("x").lazy(), "x")[0]
    return _to_float(total / values.len(), s.mean)


def column_stdev(s: pl.Series) -> float | None:
    """The sample standard deviation (ddof 1) of the non-null values, None for fewer than two."""
    values = s.drop_nulls()
    n = values.len()
    if n < 2 or not _squares_are_exact(values):
        return s.std(ddof=1)
    x = pl.col("x")
    c = 134217729.0 * x  # 2**27 + 1: Veltkamp's split of x into two 26-bit halves
    high = c - (c - x)
    low = x - high
    frame = values.cast(pl.Float64).to_frame("x").lazy().with_columns(high=high, low=low).with_columns(p=x * x)
    # x * x == p + err exactly
    err = ((pl.col("high") * pl.col("high") - pl.col("p")) + 2.0 * pl.col("high") * pl.col("low")) + pl.col("low") * pl.col("low")
    total, p, e = _exact_sums(frame.with_columns(err=err), "x", "p", "err")
    variance = (n * (p + e) - total * total) / (n * (n - 1))
    return _sqrt(variance)


def _finite(values: pl.Series) -> bool:
    return values.dtype.is_integer() or bool(values.is_finite().all())


def _integer_sum(values: pl.Series) -> int:
    """Exact: the 32-bit halves' sums cannot overflow 64 bits for fewer than 2**31 values."""
    v = values.cast(pl.Int64)
    return (int((v // 2**32).sum()) << 32) + int((v % 2**32).sum())


def _exact_sums(frame: pl.LazyFrame, *columns: str) -> list[Fraction]:
    """The exact sum of each null-free, finite float column of ``frame``."""
    queries = []
    for name in columns:
        col = pl.col(name)
        bits = col.abs().reinterpret(dtype=pl.Int64)
        biased = bits // (1 << 52)
        fraction = bits % (1 << 52)
        # |x| = mantissa * 2**(exponent - 1075); subnormals have no hidden bit and the exponent of 1
        mantissa = pl.when(biased > 0).then(fraction + (1 << 52)).otherwise(fraction)
        sign = pl.when(col < 0).then(-1).otherwise(1)
        queries.append(
            frame.select(exponent=biased.clip(1, None), high=sign * (mantissa // _HALF), low=sign * (mantissa % _HALF))
            .group_by("exponent")
            .agg(pl.col("high").sum(), pl.col("low").sum())  # below 2**53 per value: exact for 2**10 x fewer than 2**63
        )
    out = []
    for sums in pl.collect_all(queries):
        rows = sums.rows()
        if not rows:
            out.append(Fraction(0))
            continue
        bottom = min(exponent for exponent, _, _ in rows)
        total = sum(((high << 26) + low) << (exponent - bottom) for exponent, high, low in rows)
        out.append(Fraction(total) * Fraction(2) ** (bottom - 1075))
    return out


def _squares_are_exact(values: pl.Series) -> bool:
    if values.dtype.is_integer():
        return bool(values.abs().max() < 2**53)  # each is a float exactly, and its square in range
    size = values.abs()
    nonzero = size.filter(size != 0)
    return bool(size.is_finite().all()) and (
        nonzero.len() == 0 or (nonzero.min() >= _SQUARE_RANGE[0] and nonzero.max() <= _SQUARE_RANGE[1])
    )


def _to_float(exact: Fraction, fallback) -> float:
    try:
        return exact.numerator / exact.denominator  # int / int: correctly rounded
    except OverflowError:  # beyond the largest float: polars' inf
        return fallback()


def _sqrt(value: Fraction) -> float:
    """sqrt(value), correctly rounded: an integer root of at least 55 bits and a sticky bit, so no
    rounding boundary of the 53-bit result lies between it and the true root."""
    if value <= 0:
        return 0.0
    a, b = value.numerator, value.denominator
    k = max(0, (112 - (a.bit_length() - b.bit_length())) // 2 + 1)
    n, rest = divmod(a << (2 * k), b)
    root = math.isqrt(n)
    sticky = int(root * root != n or rest != 0)
    return (2 * root + sticky) / (1 << (k + 1))

"""The default expectation engine: GX expectation types translated into polars expressions.

Each expectation becomes a few per-row columns (``_e<i>_u``: the row is unexpected, ``_e<i>_c``: the
row counts, i.e. is not missing, ``_e<i>_v``: the unexpected value, null otherwise) that are computed in
the same single lazy pass as the preference checks' features; :func:`finish` then folds them into
results shaped like GX's (``element_count``, ``unexpected_count``, ``unexpected_percent`` over the
non-missing rows, ``missing_count``, ``partial_unexpected_list`` ...). The semantics follow GX's
pandas engine (``mostly``, which rows are "missing", ``ignore_row_if``, vacuous success on an empty
table), and a parity test holds the counts of both engines equal on a fixture.

An expectation type that is not in :data:`SUPPORTED` is an :class:`UnsupportedExpectationError`,
never a silent pass; an unknown kwarg is an error too, because a misspelt ``min_vlaue`` would
otherwise pass everything. So are arguments that do not fit the view's column types (a numeric bound
on a text column, a regex on a number, a text column compared with a float one), found from the
schema before the scan, and, unlike GX, a null ``value_set`` (GX passes it vacuously: a suite that
checks nothing).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from prefdata.check import exact_stats
from prefdata.check.errors import SuiteError, UnsupportedExpectationError
from prefdata.check.python_regex import UntranslatableRegex, python_regex_to_rust
from prefdata.check.suite import Expectation, Suite

#: GX's SUMMARY result format returns this many unexpected values.
PARTIAL_UNEXPECTED_COUNT = 20
#: Unexpected text values are cut to this many characters in results.
VALUE_PREVIEW_CHARS = 200
#: Columns too long to keep per row for uniqueness samples (only their hash is kept).
LONG_TEXT_COLUMNS = ("prompt_text", "chosen_text", "rejected_text")

_COLUMN_MAP_COMMON = {"column", "mostly"}
_BETWEEN = {"min_value", "max_value", "strict_min", "strict_max"}


@dataclass(frozen=True)
class Plan:
    """What one expectation needs from the single pass, and how to turn it into a GX-shaped result."""

    columns: dict[str, pl.Expr]
    finish: Callable[[pl.DataFrame, tuple[str, ...]], tuple[bool, dict[str, Any]]]


# ---------------------------------------------------------------------------------------------------
# column map expectations


def _mostly_success(considered: int, unexpected: int, mostly: float) -> bool:
    if considered == 0:
        return True  # GX: vacuously true on an empty (or all-missing) column
    return (considered - unexpected) / considered >= mostly


def _samples(frame: pl.DataFrame, name: str) -> list[Any]:
    values = frame.get_column(name).drop_nulls().head(PARTIAL_UNEXPECTED_COUNT).to_list()
    out = []
    for v in values:
        if isinstance(v, dict):  # column pair samples are stored as structs {a, b}
            v = [v["a"], v["b"]]
        out.append(v)
    return out


def _preview(expr: pl.Expr, dtype_is_text: bool) -> pl.Expr:
    return expr.cast(pl.String).str.slice(0, VALUE_PREVIEW_CHARS) if dtype_is_text else expr


def _map_plan(
    p: str,
    unexpected: pl.Expr,
    considered: pl.Expr | None,
    value: pl.Expr,
    mostly: float,
    *,
    value_is_null: bool = False,
) -> Plan:
    """A column map expectation. ``considered`` None means every row counts (GX reports no missing)."""
    cons = pl.lit(True) if considered is None else considered
    flag = (unexpected.fill_null(True) & cons).alias(f"{p}u")
    columns = {f"{p}u": flag, f"{p}c": cons.alias(f"{p}c")}
    if not value_is_null:
        columns[f"{p}v"] = pl.when(flag).then(value).alias(f"{p}v")

    def finish(frame: pl.DataFrame, _columns: tuple[str, ...]) -> tuple[bool, dict[str, Any]]:
        n = frame.height
        unexpected_count = int(frame.get_column(f"{p}u").sum())
        nonmissing = int(frame.get_column(f"{p}c").sum())
        result: dict[str, Any] = {"element_count": n, "unexpected_count": unexpected_count}
        if considered is None:
            result["unexpected_percent"] = unexpected_count / n * 100 if n else None
            success = _mostly_success(n, unexpected_count, mostly)
        else:
            missing = n - nonmissing
            pct_total = unexpected_count / n * 100 if n else None
            pct_nonmissing = unexpected_count / nonmissing * 100 if nonmissing else None
            result.update(
                unexpected_percent=pct_nonmissing,
                missing_count=missing,
                missing_percent=missing / n * 100 if n else None,
                unexpected_percent_total=pct_total,
                unexpected_percent_nonmissing=pct_nonmissing,
            )
            success = _mostly_success(nonmissing, unexpected_count, mostly)
        if value_is_null:
            result["partial_unexpected_list"] = [None] * min(unexpected_count, PARTIAL_UNEXPECTED_COUNT)
        else:
            result["partial_unexpected_list"] = _samples(frame, f"{p}v")
        return success, result

    return Plan(columns, finish)


def _mostly(e: Expectation, origin: str) -> float:
    mostly = e.kwargs.get("mostly", 1.0)
    if _value_kind(mostly) != "number" or not 0 <= mostly <= 1:
        raise SuiteError(f"{e.where(origin)}: 'mostly' must be a number between 0 and 1, got {mostly!r}")
    return mostly


def _column(e: Expectation, key: str, view: pl.Schema, origin: str) -> str:
    column = e.kwargs.get(key)
    if not isinstance(column, str):
        raise SuiteError(f"{e.where(origin)}: kwarg {key!r} must name a column")
    if column not in view:
        raise SuiteError(
            f"{e.where(origin)}: column {column!r} is not in the checked view; columns are: {', '.join(view.names())}"
        )
    return column


def _is_text(view: pl.Schema, column: str) -> bool:
    return view[column] == pl.String


# Types are checked against the view's schema before anything runs: polars refuses to compare text with
# numbers only once the scan is under way, as a ComputeError that names no expectation.


def _kind(dtype: pl.DataType) -> str:
    """What a view column holds, in the words of the error messages: "number", "text" or its type."""
    if dtype.is_numeric():
        return "number"
    return "text" if dtype == pl.String else str(dtype)


#: Integers a suite may hold: polars compares within 64 bits (JSON allows any size).
INT_RANGE = (-(2**63), 2**63 - 1)


def _value_kind(value: Any) -> str:
    """The same for a suite argument (JSON): a bool is not a number here, though Python says it is,
    and neither is an integer beyond 64 bits."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) and not INT_RANGE[0] <= value <= INT_RANGE[1]:
        return "integer beyond 64 bits"
    if isinstance(value, (int, float)):
        return "number"
    return "text" if isinstance(value, str) else type(value).__name__


def _is_int(value: Any, any_size: bool = False) -> bool:
    """An integer, or a float that is one (GX writes ``value: 64`` back as ``64.0``), within 64 bits
    (``1e300`` is integral too, but would reach polars as an integer it cannot hold); ``any_size``: a
    float of any size, for a bound, which is compared as the float it is."""
    if isinstance(value, float):
        return value.is_integer() and (any_size or INT_RANGE[0] <= value <= INT_RANGE[1])
    return isinstance(value, int) and not isinstance(value, bool) and INT_RANGE[0] <= value <= INT_RANGE[1]


def _int_kwarg(kw: dict[str, Any], key: str, where: str) -> int | None:
    """``kw[key]`` as an int (None when absent). GX types these kwargs as integers and would silently
    truncate 1.5 to 1, so a fractional value is refused rather than compared as written."""
    value = kw.get(key)
    if value is None:
        return None
    if not _is_int(value):
        raise SuiteError(f"{where}: kwarg {key!r} must be an integer of at most 64 bits, got {value!r}")
    return int(value)


def _column_of_kind(e: Expectation, key: str, view: pl.Schema, origin: str, kinds: tuple[str, ...], why: str) -> str:
    """``_column``, also refusing a column whose kind is not one of ``kinds`` (``why`` says what needs it)."""
    column = _column(e, key, view, origin)
    if _kind(view[column]) not in kinds:
        raise SuiteError(f"{e.where(origin)}: column {column!r} is {view[column]}, but {why}")
    return column


def _flags(e: Expectation, origin: str, *keys: str, nullable: bool = False) -> None:
    """Each of ``keys`` given is true or false; with ``nullable``, null too (where GX types it bool or None)."""
    for key in keys:
        if key in e.kwargs and not isinstance(e.kwargs[key], bool) and not (nullable and e.kwargs[key] is None):
            raise SuiteError(f"{e.where(origin)}: kwarg {key!r} must be true or false, got {e.kwargs[key]!r}")


def _bounds(kw: dict[str, Any], where: str, kind: str, what: str, integral: bool = False) -> tuple[Any, Any]:
    """``min_value``/``max_value``, each null or of ``kind`` (the kind of ``what`` they are compared
    with); ``integral``: integers, for the counts GX types as ``int``."""
    lo, hi = kw.get("min_value"), kw.get("max_value")
    if lo is None and hi is None:
        raise SuiteError(f"{where}: min_value and max_value cannot both be null")
    for key, bound in (("min_value", lo), ("max_value", hi)):
        if bound is not None and _value_kind(bound) != kind:
            raise SuiteError(f"{where}: {key} {bound!r} ({_value_kind(bound)}) cannot be compared with {what} ({kind})")
        if bound is not None and integral and not _is_int(bound, any_size=True):
            raise SuiteError(f"{where}: kwarg {key!r} must be an integer, got {bound!r}")
    if lo is not None and hi is not None and lo > hi:
        raise SuiteError(f"{where}: min_value ({lo}) is greater than max_value ({hi})")
    return lo, hi


def _between_mask(x: pl.Expr, kw: dict[str, Any], where: str, kind: str, what: str, integral: bool = False) -> pl.Expr:
    lo, hi = _bounds(kw, where, kind, what, integral)
    ok = pl.lit(True)
    if lo is not None:
        ok = ok & ((x > lo) if kw.get("strict_min") else (x >= lo))
    if hi is not None:
        ok = ok & ((x < hi) if kw.get("strict_max") else (x <= hi))
    return ok


def _validate_regex(regex: Any, where: str) -> str:
    """The suite's regex (Python ``re`` syntax, as GX reads it) translated for polars."""
    if not isinstance(regex, str):
        raise SuiteError(f"{where}: kwarg 'regex' must be a string")
    _refuse_what_python_refuses(regex, where)
    try:
        translated = python_regex_to_rust(regex)
    except UntranslatableRegex as exc:
        raise SuiteError(f"{where}: regex {regex!r} cannot run on the polars engine: {exc}; --engine gx runs it") from exc
    try:
        pl.select(pl.lit("").str.contains(translated))
    except pl.exceptions.PolarsError as exc:
        raise SuiteError(
            f"{where}: regex {regex!r} cannot run on the polars engine (Rust's regex refuses its translation "
            f"{translated!r}: backreferences, \\N{{...}} and (?a) have no equivalent there); --engine gx runs it: {exc}"
        ) from exc
    return translated


#: A POSIX class (``[:digit:]``) inside a bracket: Python reads ``[[:digit:]]`` as the set ``[:digt``
#: then ``]``; pandas' Arrow strings can send it to RE2, where it is a digit.
_POSIX_CLASS = re.compile(
    r"(?<!\\)\[(?:\\.|[^\]\\])*?(\[:\^?(?:alnum|alpha|ascii|blank|cntrl|digit|graph|lower|print|punct|space|upper|word|xdigit):\])"
)  # inside a bracket ([[:digit:]], [^[:space:]], [a[:^digit:]]); a bare [:digit:] is one set to both


def _refuse_what_python_refuses(regex: str, where: str) -> None:
    """A regex Python's ``re`` refuses (``a{2}{3}``: "multiple repeat"), or a POSIX class, is refused.

    GX reads suites as Python's ``re`` does, but on pandas' Arrow strings a pattern may go to RE2
    instead: ``[[:digit:]]`` is a digit there, while Python (and this engine) read the set ``[:digt``
    followed by ``]``. One suite would give two verdicts, so neither engine's reading is guessed.
    """
    if (posix := _POSIX_CLASS.search(regex)) is not None:
        raise SuiteError(
            f"{where}: regex {regex!r} holds the POSIX class {posix.group(1)}, which Python's re does not know (it reads "
            f"a set of the characters in it) and RE2 does: write \\d, \\s, [0-9] or [a-zA-Z] instead"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "Possible nested set": Python's reading, which GX shares
        try:
            re.compile(regex)
        except re.error as exc:
            raise SuiteError(f"{where}: regex {regex!r} is not valid Python re syntax, as GX reads it: {exc}") from None


#: Column map expectations that only make sense on one kind of column, and why.
_NEEDS_TEXT = {
    "expect_column_value_lengths_to_be_between": "value lengths are measured on text",
    "expect_column_value_lengths_to_equal": "value lengths are measured on text",
    "expect_column_values_to_match_regex": "a regex matches text",
    "expect_column_values_to_not_match_regex": "a regex matches text",
}
#: GX 1.x accepts numbers (and dates, which the view has none of) as bounds, not text.
_ORDERED = ("number",)


def _in_set(x: pl.Expr, values: list[Any], dtype: pl.DataType) -> pl.Expr:
    """``x.is_in(values)`` that also holds for ints in a float column and floats in an int one (polars'
    ``is_in`` refuses a list of another numeric type). An integer column tested against integers is
    compared exactly (as floats, 2**53 + 1 would match 2**53); anything else as floats."""
    if dtype.is_integer() and all(v is None or isinstance(v, int) for v in values):
        return x.cast(pl.Int64).is_in(pl.Series(values, dtype=pl.Int64).implode())
    if dtype.is_numeric():
        # an integer no float64 holds exactly (2**53 + 1) equals no float: leave it out, as GX's exact isin does
        exact = [v for v in values if not isinstance(v, int) or float(v) == v]
        return x.cast(pl.Float64).is_in(pl.Series(exact, dtype=pl.Float64).implode())
    return x.is_in(pl.Series(values, dtype=pl.String).implode())


def _value_set(e: Expectation, origin: str, column: str, kind: str) -> list[Any]:
    """``value_set``: a list whose values are of the column's kind (null entries allowed)."""
    values = e.kwargs.get("value_set")
    if not isinstance(values, list):
        raise SuiteError(f"{e.where(origin)}: kwarg 'value_set' must be a list of values, got {values!r}")
    wrong = [v for v in values if v is not None and _value_kind(v) != kind]
    if wrong:
        raise SuiteError(
            f"{e.where(origin)}: value_set holds {wrong[0]!r} ({_value_kind(wrong[0])}), but column {column!r} is {kind}"
        )
    return values


def _plan_column_map(e: Expectation, p: str, view: pl.Schema, origin: str) -> Plan:
    where = e.where(origin)
    kw = e.kwargs
    mostly = _mostly(e, origin)
    t = e.type
    _flags(e, origin, "strict_min", "strict_max")
    if t in _NEEDS_TEXT:
        c = _column_of_kind(e, "column", view, origin, ("text",), _NEEDS_TEXT[t])
    elif t == "expect_column_values_to_be_between":
        c = _column_of_kind(e, "column", view, origin, _ORDERED, "Great Expectations compares numbers (not text) with min_value/max_value")
    else:
        c = _column(e, "column", view, origin)
    kind = _kind(view[c])
    x = pl.col(c)
    text = _is_text(view, c)
    nonnull = x.is_not_null()
    value = _preview(x, text)

    if t == "expect_column_values_to_not_be_null":
        return _map_plan(p, x.is_null(), None, value, mostly, value_is_null=True)
    if t == "expect_column_values_to_be_null":
        return _map_plan(p, x.is_not_null(), None, value, mostly)
    if t == "expect_column_values_to_be_in_set":
        # GX passes a null value_set vacuously; a suite that checks nothing is a mistake, so refuse it
        values = _value_set(e, origin, c, kind)
        return _map_plan(p, ~_in_set(x, values, view[c]), nonnull, value, mostly)
    if t == "expect_column_values_to_not_be_in_set":
        values = _value_set(e, origin, c, kind)
        return _map_plan(p, _in_set(x, values, view[c]), nonnull, value, mostly)
    if t == "expect_column_values_to_be_between":
        return _map_plan(p, ~_between_mask(x, kw, where, kind, f"column {c!r}"), nonnull, value, mostly)
    if t == "expect_column_value_lengths_to_be_between":
        length = x.cast(pl.String).str.len_chars()
        return _map_plan(p, ~_between_mask(length, kw, where, "number", "a length", integral=True), nonnull, value, mostly)
    if t == "expect_column_value_lengths_to_equal":
        if kw.get("value") is None:
            raise SuiteError(f"{where}: kwarg 'value' must be an integer")
        length = x.cast(pl.String).str.len_chars()
        return _map_plan(p, length != _int_kwarg(kw, "value", where), nonnull, value, mostly)
    if t == "expect_column_values_to_match_regex":
        regex = _validate_regex(kw.get("regex"), where)
        return _map_plan(p, ~x.cast(pl.String).str.contains(regex), nonnull, value, mostly)
    if t == "expect_column_values_to_not_match_regex":
        regex = _validate_regex(kw.get("regex"), where)
        return _map_plan(p, x.cast(pl.String).str.contains(regex), nonnull, value, mostly)
    if t == "expect_column_values_to_be_unique":
        return _plan_unique(p, x, nonnull, value, mostly, keep_values=c not in LONG_TEXT_COLUMNS)
    raise AssertionError(t)  # pragma: no cover - SUPPORTED and this function list the same types


def _plan_unique(p: str, x: pl.Expr, nonnull: pl.Expr, value: pl.Expr, mostly: float, keep_values: bool) -> Plan:
    """Uniqueness is not row-local: the pass keeps a 64-bit hash per row and duplicates are found after
    (plus the value itself for sampling, except for the long text columns)."""
    columns = {f"{p}k": pl.when(nonnull).then(x.hash(0x5EED)).alias(f"{p}k"), f"{p}c": nonnull.alias(f"{p}c")}
    if keep_values:
        columns[f"{p}v"] = value.alias(f"{p}v")

    def finish(frame: pl.DataFrame, _columns: tuple[str, ...]) -> tuple[bool, dict[str, Any]]:
        n = frame.height
        key = frame.get_column(f"{p}k")
        dup = key.is_duplicated() & key.is_not_null()
        unexpected = int(dup.sum())
        nonmissing = int(frame.get_column(f"{p}c").sum())
        missing = n - nonmissing
        pct = unexpected / nonmissing * 100 if nonmissing else None
        samples = frame.get_column(f"{p}v").filter(dup).head(PARTIAL_UNEXPECTED_COUNT).to_list() if keep_values else []
        result = {
            "element_count": n,
            "unexpected_count": unexpected,
            "unexpected_percent": pct,
            "partial_unexpected_list": samples,
            "missing_count": missing,
            "missing_percent": missing / n * 100 if n else None,
            "unexpected_percent_total": unexpected / n * 100 if n else None,
            "unexpected_percent_nonmissing": pct,
        }
        return _mostly_success(nonmissing, unexpected, mostly), result

    return Plan(columns, finish)


def _same_kind(e: Expectation, origin: str, view: pl.Schema, a: str, b: str) -> None:
    """Both columns of a pair expectation hold numbers, or both hold text: polars compares nothing else."""
    kind_a, kind_b = _kind(view[a]), _kind(view[b])
    if kind_a != kind_b:
        raise SuiteError(
            f"{e.where(origin)}: column_A {a!r} is {view[a]} and column_B {b!r} is {view[b]}: {kind_a} and {kind_b} cannot be compared"
        )
    if e.type == "expect_column_pair_values_a_to_be_greater_than_b" and kind_a not in _ORDERED:
        raise SuiteError(f"{e.where(origin)}: columns {a!r} and {b!r} are {view[a]}, which has no order")


def _plan_column_pair(e: Expectation, p: str, view: pl.Schema, origin: str) -> Plan:
    where = e.where(origin)
    kw = e.kwargs
    mostly = _mostly(e, origin)
    _flags(e, origin, "or_equal", nullable=True)  # None, like false, is strictly greater
    name_a, name_b = _column(e, "column_A", view, origin), _column(e, "column_B", view, origin)
    _same_kind(e, origin, view, name_a, name_b)
    a, b = pl.col(name_a), pl.col(name_b)
    ignore = kw.get("ignore_row_if", "both_values_are_missing")
    if ignore == "both_values_are_missing":
        considered = a.is_not_null() | b.is_not_null()
    elif ignore == "either_value_is_missing":
        considered = a.is_not_null() & b.is_not_null()
    elif ignore == "neither":
        considered = pl.lit(True)
    else:
        raise SuiteError(f"{where}: ignore_row_if must be both_values_are_missing, either_value_is_missing or neither")
    if e.type == "expect_column_pair_values_a_to_be_greater_than_b":
        ok = (a >= b) if kw.get("or_equal") else (a > b)
    else:
        ok = a == b
    return _map_plan(p, ~ok.fill_null(False), considered, pl.struct(a.alias("a"), b.alias("b")), mostly)


# ---------------------------------------------------------------------------------------------------
# table and aggregate expectations


def _observed_between(observed: Any, kw: dict[str, Any]) -> bool:
    if observed is None or (isinstance(observed, float) and math.isnan(observed)):
        return False
    lo, hi = kw.get("min_value"), kw.get("max_value")
    if lo is not None and (observed <= lo if kw.get("strict_min") else observed < lo):
        return False
    return not (hi is not None and (observed >= hi if kw.get("strict_max") else observed > hi))


def _plan_table(e: Expectation, p: str, view: pl.Schema, origin: str) -> Plan:
    where = e.where(origin)
    kw = e.kwargs
    t = e.type

    def finish(frame: pl.DataFrame, columns: tuple[str, ...]) -> tuple[bool, dict[str, Any]]:
        n = frame.height
        if t == "expect_table_row_count_to_be_between":
            return _observed_between(n, kw), {"observed_value": n}
        if t == "expect_table_row_count_to_equal":
            return n == kw.get("value"), {"observed_value": n}
        if t == "expect_column_to_exist":
            column = kw.get("column")
            index = _int_kwarg(kw, "column_index", where)
            # GX takes a Python index: -1 is the last column
            ok = column in columns and (index is None or (-len(columns) <= index < len(columns) and columns[index] == column))
            return ok, {}
        if t == "expect_table_columns_to_match_set":
            expected = set(kw.get("column_set") or [])
            actual = set(columns)
            unexpected, missing = sorted(actual - expected), sorted(expected - actual)
            # GX: absent means true; null, like false, lets the table have more columns than the set
            exact = kw.get("exact_match", True)
            ok = not missing and not (exact and unexpected)
            result: dict[str, Any] = {"observed_value": sorted(actual)}
            if unexpected or missing:  # as GX's _validate_result: every mismatch, also on a passing subset
                result["details"] = {"mismatched": {k: v for k, v in (("unexpected", unexpected), ("missing", missing)) if v}}
            return ok, result
        raise AssertionError(t)  # pragma: no cover

    if t == "expect_table_row_count_to_be_between":
        _bounds(kw, where, "number", "the row count", integral=True)
        _flags(e, origin, "strict_min", "strict_max")
    if t == "expect_table_row_count_to_equal" and (kw.get("value") is None or _int_kwarg(kw, "value", where) is None):
        raise SuiteError(f"{where}: kwarg 'value' must be an integer")
    if t == "expect_column_to_exist":
        _int_kwarg(kw, "column_index", where)
    if t == "expect_column_to_exist" and not isinstance(kw.get("column"), str):
        raise SuiteError(f"{where}: kwarg 'column' must name a column")
    if t == "expect_table_columns_to_match_set":
        column_set = kw.get("column_set")
        if not isinstance(column_set, list):
            raise SuiteError(f"{where}: kwarg 'column_set' must be a list of column names")
        wrong = [c for c in column_set if not isinstance(c, str)]
        if wrong:  # a nested list ([["id"]]) would only fail once the set is built, after the scan
            raise SuiteError(f"{where}: kwarg 'column_set' must be a list of column names, but holds {wrong[0]!r} ({_value_kind(wrong[0])})")
    _flags(e, origin, "exact_match", nullable=True)
    return Plan({}, finish)


_AGGREGATES: dict[str, Callable[[pl.Series], Any]] = {
    # correctly rounded: polars' and GX's float sums differ in the last bits, which flips a bound at the true value
    "expect_column_mean_to_be_between": exact_stats.column_mean,
    "expect_column_min_to_be_between": lambda s: s.min(),
    "expect_column_max_to_be_between": lambda s: s.max(),
    "expect_column_sum_to_be_between": exact_stats.column_sum,
    "expect_column_median_to_be_between": lambda s: s.median(),
    "expect_column_stdev_to_be_between": exact_stats.column_stdev,
    "expect_column_unique_value_count_to_be_between": lambda s: s.drop_nulls().n_unique(),
    # GX observes 0 for a column with no values (a score column of a source without scores)
    "expect_column_proportion_of_unique_values_to_be_between": lambda s: (
        s.drop_nulls().n_unique() / s.drop_nulls().len() if s.drop_nulls().len() else 0.0
    ),
}
_NUMERIC_AGGREGATES = {
    "expect_column_mean_to_be_between", "expect_column_min_to_be_between", "expect_column_max_to_be_between",
    "expect_column_sum_to_be_between", "expect_column_median_to_be_between", "expect_column_stdev_to_be_between",
}


def _plan_aggregate(e: Expectation, p: str, view: pl.Schema, origin: str) -> Plan:
    where = e.where(origin)
    c = _column(e, "column", view, origin)
    numeric = e.type in _NUMERIC_AGGREGATES
    if numeric and not view[c].is_numeric():
        raise SuiteError(f"{where}: column {c!r} is {view[c]}, not numeric")
    # every aggregate observes a number; GX types the distinct count's bounds as integers
    _bounds(e.kwargs, where, "number", "the observed value", integral=e.type == "expect_column_unique_value_count_to_be_between")
    _flags(e, origin, "strict_min", "strict_max")
    # Numeric aggregates need the values; distinct counts only need a hash of each value.
    x = pl.col(c) if numeric else pl.when(pl.col(c).is_not_null()).then(pl.col(c).hash(0x5EED))
    fn = _AGGREGATES[e.type]

    def finish(frame: pl.DataFrame, _columns: tuple[str, ...]) -> tuple[bool, dict[str, Any]]:
        observed = fn(frame.get_column(f"{p}x"))
        if isinstance(observed, float) and math.isnan(observed):
            observed = None  # undefined (the stdev of a column holding inf), as GX reports it
        return _observed_between(observed, e.kwargs), {"observed_value": observed}

    return Plan({f"{p}x": x.alias(f"{p}x")}, finish)


# ---------------------------------------------------------------------------------------------------
# registry

_Builder = Callable[[Expectation, str, pl.Schema, str], Plan]
_MAP_TYPES = {
    "expect_column_values_to_not_be_null": set(),
    "expect_column_values_to_be_null": set(),
    "expect_column_values_to_be_in_set": {"value_set"},
    "expect_column_values_to_not_be_in_set": {"value_set"},
    "expect_column_values_to_be_between": _BETWEEN,
    "expect_column_value_lengths_to_be_between": _BETWEEN,
    "expect_column_value_lengths_to_equal": {"value"},
    "expect_column_values_to_match_regex": {"regex"},
    "expect_column_values_to_not_match_regex": {"regex"},
    "expect_column_values_to_be_unique": set(),
}
#: Expectation type -> (allowed kwargs, builder). Everything else is unsupported.
SUPPORTED: dict[str, tuple[set[str], _Builder]] = {
    **{t: (_COLUMN_MAP_COMMON | extra, _plan_column_map) for t, extra in _MAP_TYPES.items()},
    "expect_column_pair_values_a_to_be_greater_than_b": (
        {"column_A", "column_B", "or_equal", "ignore_row_if", "mostly"}, _plan_column_pair,
    ),
    "expect_column_pair_values_to_be_equal": ({"column_A", "column_B", "ignore_row_if", "mostly"}, _plan_column_pair),
    "expect_table_row_count_to_be_between": ({"min_value", "max_value", "strict_min", "strict_max"}, _plan_table),
    "expect_table_row_count_to_equal": ({"value"}, _plan_table),
    "expect_table_columns_to_match_set": ({"column_set", "exact_match"}, _plan_table),
    "expect_column_to_exist": ({"column", "column_index"}, _plan_table),
    **{t: ({"column"} | _BETWEEN, _plan_aggregate) for t in _AGGREGATES},
}


#: Kwargs every GX 1.x expectation takes that the polars engine does not translate.
GX_ONLY_KWARGS = {"row_condition", "condition_parser", "result_format", "catch_exceptions", "include_config", "windows"}


def _gx_knows(expectation_type: str) -> bool | None:
    """Whether Great Expectations has this expectation type; None when GX is not installed."""
    try:
        from great_expectations.expectations.registry import get_expectation_impl
    except ImportError:
        return None
    from great_expectations.exceptions import ExpectationNotFoundError

    try:
        get_expectation_impl(expectation_type)
    except ExpectationNotFoundError:
        return False
    return True


def plan_suite(suite: Suite, view: pl.Schema) -> list[Plan]:
    """Translate every expectation (raising on an unsupported type or kwarg before any data is read)."""
    plans = []
    for e in suite.expectations:
        if e.type not in SUPPORTED:
            if _gx_knows(e.type) is False:
                raise SuiteError(f"{e.where(suite.origin)}: Great Expectations has no expectation type {e.type!r} (a typo?)")
            raise UnsupportedExpectationError(
                f"{e.where(suite.origin)}: the polars engine does not support this expectation type "
                f"(use --engine gx, or one of: {', '.join(sorted(SUPPORTED))})"
            )
        allowed, builder = SUPPORTED[e.type]
        gx_only = sorted(set(e.kwargs) & GX_ONLY_KWARGS)
        if gx_only:
            raise UnsupportedExpectationError(
                f"{e.where(suite.origin)}: the polars engine does not support the Great Expectations option(s) {gx_only} "
                "(use --engine gx, or drop them)"
            )
        unknown = set(e.kwargs) - allowed
        if unknown:
            raise SuiteError(f"{e.where(suite.origin)}: unknown kwargs {sorted(unknown)} (allowed: {sorted(allowed)})")
        plans.append(builder(e, f"_e{e.index}_", view, suite.origin))
    return plans


def finish_suite(suite: Suite, plans: list[Plan], frame: pl.DataFrame, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """GX-shaped results (``success`` and ``result``) for every expectation, in suite order."""
    out = []
    for e, plan in zip(suite.expectations, plans):
        success, result = plan.finish(frame, columns)
        out.append({"success": bool(success), "result": result})
    return out

"""The two suite engines on the edges of GX's semantics: both give the same verdict, or both refuse
the suite (exit 2) with the expectation named, never exit 3 and never a silent pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from prefdata.check import SuiteError, check
from prefdata.cli import cli
from tests.check.rows import write_rows

pytest.importorskip("great_expectations")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    rows = [
        {"prompt": "\x1f", "chosen": "ok", "rejected": "no"},
        {"prompt": "a&b <x> line\n", "chosen": "fine answer", "rejected": "bad"},
        {"prompt": "plain question?", "chosen": "e\u0301t\u00e9", "rejected": "x"},
    ]
    return write_rows(tmp_path_factory.mktemp("edges"), rows)


def _suite(tmp_path: Path, *expectations: dict) -> Path:
    path = tmp_path / "suite.json"
    path.write_text(json.dumps({"name": "edges", "expectations": list(expectations)}), encoding="utf-8")
    return path


def _counts(dataset: Path, suite: Path, engine: str) -> list[tuple]:
    result = check(dataset, suite=suite, engine=engine, write=False)
    return [(e.success, e.result.get("unexpected_count"), e.result.get("observed_value")) for e in result.expectations]


REGEXES = [r"\S", r"^.+$", r"^[a-z ]+\?$", r"[a&&b]", r"\<x\>", r"[[]", r"line\Z", r"(?m)^a&b.*$",
           # literal braces, "--" in a class, a second leading flag group, an escaped "(" before flag letters
           r"^\s*{", r"e{ 1}", r"[+--]", r"[a-z--b]", r"(?i)(?m)LINE$", r"\(?x\)?"]


@pytest.mark.filterwarnings("ignore:Possible (nested set|set intersection|set difference):FutureWarning")  # Python re on [[], [a&&b], [+--]
def test_regexes_mean_what_they_mean_in_gx(dataset, tmp_path):
    suite = _suite(tmp_path, *[{"type": "expect_column_values_to_match_regex", "kwargs": {"column": "prompt_text", "regex": r}} for r in REGEXES])
    assert _counts(dataset, suite, "polars") == _counts(dataset, suite, "gx")


#: Responses on which Rust's \w, \d and IGNORECASE differ from Python's: NFD "été" (a combining acute),
#: a superscript two, a dotted capital I, a connector "‿", Arabic-Indic digits, a vulgar half, a superscript
#: three, a dotless i, a Kelvin sign; and two for a word boundary.
UNICODE_WORDS = ["e\u0301t\u00e9", "x\u00b2", "\u0130stanbul", "snake_case", "a\u203fb", "\u0663\u0664", "\u00bd", "\u00b3",
                 "\u0131rmak", "\u212aelvin", "damn it", "hellish"]


@pytest.mark.filterwarnings("ignore:This pattern is interpreted as a regular expression, and has match groups")  # pandas, on GX's str.contains
def test_word_digit_case_and_boundary_regexes_agree_with_gx_on_unicode(tmp_path):
    r"""GX (pandas' Arrow strings, on this non-ASCII text) runs a pattern holding ``\w``, ``\d``, ``\b`` with
    Python's ``re``: ``\w`` is ``str.isalnum()`` or ``_`` (so ``½`` is one), ``\d`` ``str.isdecimal()``, and
    IGNORECASE pairs ``İ`` and ``ı`` with ``i``; a plain ``(?i)`` pattern with RE2, whose simple case folding
    pairs ``K`` (Kelvin) with ``k`` but not ``İ``/``ı`` with ``i`` (README "Regexes"). The polars engine agrees."""
    rows = [{"prompt": f"q{i}?", "chosen": text, "rejected": "x"} for i, text in enumerate(UNICODE_WORDS)]
    dataset = write_rows(tmp_path / "d", rows)
    regexes = [r"^\w+$", r"\W", r"^\d+$", r"(?i)^I\w*$", r"^[\w\u0301]+$",
               r"(?i)^i", r"(?i)k", r"\b(damn|hell)\b", r"(?i)\bi"]
    suite = _suite(tmp_path, *[{"type": "expect_column_values_to_match_regex", "kwargs": {"column": "chosen_text", "regex": r}}
                               for r in regexes])
    polars = _counts(dataset, suite, "polars")
    n = len(UNICODE_WORDS)
    word = [all(c.isalnum() or c == "_" for c in text) for text in UNICODE_WORDS]
    unexpected = [word.count(False), word.count(True), sum(not t.isdecimal() for t in UNICODE_WORDS),
                  n - 2,  # İstanbul, ırmak: Python's IGNORECASE
                  sum(not all(c.isalnum() or c in "_\u0301" for c in t) for t in UNICODE_WORDS),
                  n,  # simple case folding: nothing starts with i or I
                  n - 3,  # snake_case, ırmak, Kelvin
                  n - 1,  # "damn it"
                  n - 3]  # İstanbul, ırmak, "damn it"
    assert [count for _, count, _ in polars] == unexpected == [3, 9, 11, 10, 2, 12, 9, 11, 9]
    assert polars == _counts(dataset, suite, "gx")


def test_no_values_and_integral_floats_agree(dataset, tmp_path):
    suite = _suite(
        tmp_path,
        {"type": "expect_column_proportion_of_unique_values_to_be_between", "kwargs": {"column": "chosen_model", "min_value": 0, "max_value": 1}},
        {"type": "expect_column_value_lengths_to_equal", "kwargs": {"column": "id", "value": 64.0}},
        {"type": "expect_table_row_count_to_equal", "kwargs": {"value": 3.0}},
        {"type": "expect_column_to_exist", "kwargs": {"column": "lineage_records", "column_index": -1}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "lineage_records", "value_set": [9007199254740993, 1]}},
    )
    polars = _counts(dataset, suite, "polars")
    assert polars == _counts(dataset, suite, "gx")
    assert all(success for success, *_ in polars)


@pytest.mark.parametrize(
    ("expectation", "message"),
    [
        ({"type": "expect_column_value_lengths_to_be_between", "kwargs": {"column": "chosen_text", "min_value": 1.5}}, "'min_value' must be an integer"),
        ({"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 2**130}}, "integer beyond 64 bits"),
        ({"type": "expect_column_values_to_be_between", "kwargs": {"column": "chosen_text", "min_value": "A"}}, r"compares numbers \(not text\)"),
        ({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id", "row_condition": "x", "condition_parser": "pandas"}}, "use --engine gx"),
        ({"type": "expect_column_values_to_be_betwen", "kwargs": {"column": "id"}}, "Great Expectations has no expectation type"),
        # Python reads the set "[:digt" then "]" (a pass on every row); GX on pandas 3 sent it to RE2, a digit (5 of 10 failed)
        ({"type": "expect_column_values_to_not_match_regex", "kwargs": {"column": "chosen_text", "regex": "[[:digit:]]"}},
         r"POSIX class \[:digit:\], which Python's re does not know"),
        ({"type": "expect_column_values_to_not_match_regex", "kwargs": {"column": "chosen_text", "regex": "[a[:^digit:]]"}},
         r"POSIX class \[:\^digit:\]"),  # negated, after another member: a review found these passing
        ({"type": "expect_column_values_to_match_regex", "kwargs": {"column": "chosen_text", "regex": "a{2}{3}"}},
         "not valid Python re syntax, as GX reads it: multiple repeat"),
        # GX types the distinct count's bounds as integers (a mean's take fractions)
        ({"type": "expect_column_unique_value_count_to_be_between", "kwargs": {"column": "source", "min_value": 1.5}},
         "'min_value' must be an integer"),
        # JSON's true is no number, though Python's bool is an int (engine_polars._value_kind)
        ({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id", "mostly": True}}, "'mostly' must be a number between 0 and 1, got True"),
        ({"type": "expect_column_values_to_be_between", "kwargs": {"column": "prompt_turns", "min_value": True}}, r"min_value True \(boolean\) cannot be compared"),
        ({"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "prompt_turns", "value_set": [True]}}, r"value_set holds True \(boolean\)"),
    ],
)
def test_polars_refuses_what_gx_would_not_run_the_same(dataset, tmp_path, expectation, message):
    with pytest.raises(SuiteError, match=message):
        check(dataset, suite=_suite(tmp_path, expectation), write=False)


@pytest.mark.parametrize(
    "expectation",
    [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "scroe_chosen"}, "severity": "warning"},
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "id", "regex": "["}, "severity": "info"},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": {"$PARAMETER": "lo"}}},
    ],
)
def test_gx_engine_errors_exit_2(dataset, tmp_path, expectation):
    result = CliRunner().invoke(cli, ["check", str(dataset), "--engine", "gx", "--suite", str(_suite(tmp_path, expectation)), "--no-write"])
    assert result.exit_code == 2, result.output


def test_nan_bounds_and_gx_0x_suites_are_refused(dataset, tmp_path):
    nan = tmp_path / "nan.json"
    nan.write_text('{"name": "n", "expectations": [{"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": NaN}}]}', encoding="utf-8")
    with pytest.raises(SuiteError, match="NaN"):
        check(dataset, suite=nan, write=False)
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"expectation_suite_name": "s", "expectations": [{"expectation_type": "expect_column_to_exist", "kwargs": {"column": "id"}}]}), encoding="utf-8")
    with pytest.raises(SuiteError, match="Great Expectations 0.x suite"):
        check(dataset, suite=old, write=False)


@pytest.mark.parametrize("expectations", [5, True, "x"])
def test_expectations_that_are_not_a_list_are_a_suite_error(dataset, tmp_path, expectations):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"name": "s", "expectations": expectations}), encoding="utf-8")
    with pytest.raises(SuiteError, match="'expectations' must be a list"):
        check(dataset, suite=path, write=False)


def test_count_bounds_beyond_64_bits_are_compared_as_written(dataset, tmp_path):
    """A float bound past 64 bits on a length, row count or distinct count ("no upper limit": 1e19, 1e300)
    runs on both engines with the same verdicts; only ``value``/``column_index`` must fit 64 bits."""
    suite = _suite(
        tmp_path,
        {"type": "expect_column_value_lengths_to_be_between", "kwargs": {"column": "prompt_text", "min_value": 1, "max_value": 1e19}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1, "max_value": 1e300}},
        {"type": "expect_column_unique_value_count_to_be_between", "kwargs": {"column": "prompt_turns", "min_value": 1e19}},
    )
    polars = _counts(dataset, suite, "polars")
    assert [success for success, *_ in polars] == [True, True, False]
    assert polars == _counts(dataset, suite, "gx")


def test_equal_min_and_max_are_a_valid_range(dataset, tmp_path):
    """GX refuses only min_value > max_value ("min_value cannot be greater than max_value"): an equal
    pair is one allowed value, for column values, the row count and an aggregate alike (3 single-turn pairs)."""
    suite = _suite(
        tmp_path,
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "prompt_turns", "min_value": 1, "max_value": 1}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 3, "max_value": 3}},
        {"type": "expect_column_max_to_be_between", "kwargs": {"column": "prompt_turns", "min_value": 1, "max_value": 1}},
    )
    polars = _counts(dataset, suite, "polars")
    assert polars == [(True, 0, None), (True, None, 3), (True, None, 1)]
    assert polars == _counts(dataset, suite, "gx")


# --- GX semantics pinned on a small table with missing values -----------------------------------------
# 10 pairs: source null in 3 and distinct in 7; chosen_position null in 6, then "a", "b", "x", "y".

GX_SEMANTICS = {
    # expect_table_row_count_to_be_between: strict_min/strict_max exclude the bound (10 rows)
    "row_count_strict_min": {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 10, "strict_min": True}},
    "row_count_min": {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 10}},
    "row_count_strict_max": {"type": "expect_table_row_count_to_be_between", "kwargs": {"max_value": 10, "strict_max": True}},
    "row_count_max": {"type": "expect_table_row_count_to_be_between", "kwargs": {"max_value": 10}},
    "unique": {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "source"}},
    "proportion_unique": {"type": "expect_column_proportion_of_unique_values_to_be_between", "kwargs": {"column": "source", "min_value": 0.9}},
    "in_set_mostly_0.6": {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "chosen_position", "value_set": ["a", "b"], "mostly": 0.6}},
    "in_set_mostly_0.5": {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "chosen_position", "value_set": ["a", "b"], "mostly": 0.5}},
    "in_set_mostly_0": {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "chosen_position", "value_set": ["z"], "mostly": 0}},
    # expect_column_unique_value_count_to_be_between: GX counts the distinct non-null values (7, not 8)
    "unique_value_count": {"type": "expect_column_unique_value_count_to_be_between", "kwargs": {"column": "source", "min_value": 7, "max_value": 7}},
    "columns_default_exact": {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": ["id", "prompt_text"]}},
}


@pytest.fixture(scope="module")
def gx_semantics(tmp_path_factory) -> dict[str, dict]:
    """Each GX_SEMANTICS name -> {engine: expectation result}, from one run of each engine."""
    root = tmp_path_factory.mktemp("gx_semantics")
    positions = [None] * 6 + ["a", "b", "x", "y"]
    rows = [{"prompt": f"q{i}", "chosen": "a", "rejected": "b", "source": None if i < 3 else f"src{i}", "chosen_position": positions[i]}
            for i in range(10)]
    data = write_rows(root / "d", rows)
    suite = _suite(root, *GX_SEMANTICS.values())
    runs = {engine: check(data, suite=suite, engine=engine, write=False).expectations for engine in ("polars", "gx")}
    return {name: {engine: runs[engine][i] for engine in runs} for i, name in enumerate(GX_SEMANTICS)}


def test_row_count_strict_min_excludes_the_bound(gx_semantics):
    """GX: strict_min means the row count must be greater than min_value (strict_max: less)."""
    for engine in ("polars", "gx"):
        got = [gx_semantics[n][engine].success for n in ("row_count_strict_min", "row_count_min", "row_count_strict_max", "row_count_max")]
        assert got == [False, True, False, True], engine


def test_unique_reads_nulls_as_missing_not_as_duplicates(gx_semantics):
    """GX's expect_column_values_to_be_unique: the 3 nulls are missing values, not copies of each
    other; missing_percent is over all 10 rows (3/10), as for every column map expectation."""
    for engine in ("polars", "gx"):
        e = gx_semantics["unique"][engine]
        assert e.success, engine
        assert (e.result["unexpected_count"], e.result["missing_count"], e.result["missing_percent"]) == (0, 3, 30.0), engine


def test_proportion_of_unique_values_is_over_the_non_null_values(gx_semantics):
    """GX: 7 distinct non-null sources among 7 non-null values is 1.0 (not 7/10)."""
    for engine in ("polars", "gx"):
        e = gx_semantics["proportion_unique"][engine]
        assert (e.success, e.result["observed_value"]) == (True, 1.0), engine


def test_mostly_is_judged_over_the_non_missing_values(gx_semantics):
    """GX's ``mostly``: 2 of the 4 non-null positions are in the set (50%), which fails mostly 0.6 and
    passes 0.5; over all 10 rows it would read 80% and pass both. ``mostly: 0`` is valid (GX's range
    is [0, 1]) and passes with every value unexpected."""
    for engine in ("polars", "gx"):
        strict, loose = gx_semantics["in_set_mostly_0.6"][engine], gx_semantics["in_set_mostly_0.5"][engine]
        assert (strict.success, loose.success, strict.result["unexpected_percent"]) == (False, True, 50.0), engine
        zero = gx_semantics["in_set_mostly_0"][engine]
        assert (zero.success, zero.result["unexpected_count"]) == (True, 4), engine


def test_columns_to_match_set_is_exact_by_default(gx_semantics):
    """GX: exact_match defaults to true, so a column_set naming only some of the view's columns fails,
    with the others listed as unexpected."""
    for engine in ("polars", "gx"):
        e = gx_semantics["columns_default_exact"][engine]
        assert not e.success, engine
        unexpected = e.result["details"]["mismatched"]["unexpected"]
        assert "source" in unexpected and "id" not in unexpected and "prompt_text" not in unexpected, engine
        assert "missing" not in e.result["details"]["mismatched"], engine


def test_unique_value_count_leaves_out_the_nulls(gx_semantics):
    """GX: 7 distinct non-null sources; the 3 nulls are no eighth value."""
    for engine in ("polars", "gx"):
        e = gx_semantics["unique_value_count"][engine]
        assert (e.success, e.result["observed_value"]) == (True, 7), engine

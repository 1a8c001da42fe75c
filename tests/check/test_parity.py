"""Acceptance 2 (first half): the polars engine and Great Expectations count the same.

Both engines validate the same flat view of the seeded fixture; for every expectation the counts,
the percentages, the observed values and the verdict must agree. Run on the shipped default suite
and on a suite exercising every expectation type the polars engine translates.
"""

from __future__ import annotations

import json

import pytest

from prefdata.check import check
from prefdata.check.engine_polars import SUPPORTED, VALUE_PREVIEW_CHARS

pytest.importorskip("great_expectations")

COMPARED = (
    "element_count", "unexpected_count", "unexpected_percent", "missing_count", "missing_percent",
    "unexpected_percent_total", "unexpected_percent_nonmissing", "observed_value",
)

EVERY_TYPE = [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "score_chosen", "mostly": 0.2}},
    {"type": "expect_column_values_to_be_null", "kwargs": {"column": "chosen_position", "mostly": 0.5}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "source", "value_set": ["hh", "arena"]}},
    {"type": "expect_column_values_to_not_be_in_set", "kwargs": {"column": "source", "value_set": ["judge"]}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "score_chosen", "min_value": 2, "max_value": 9, "strict_max": True}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "prompt_turns", "max_value": 1, "mostly": 0.9}},
    {"type": "expect_column_value_lengths_to_be_between", "kwargs": {"column": "chosen_text", "min_value": 10, "max_value": 120, "strict_min": True}},
    {"type": "expect_column_value_lengths_to_equal", "kwargs": {"column": "id", "value": 64}},
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "prompt_text", "regex": "\\?\\s*$"}},
    {"type": "expect_column_values_to_not_match_regex", "kwargs": {"column": "chosen_text", "regex": "[0-9]{3}"}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "prompt_text"}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "source", "mostly": 0.01}},
    {"type": "expect_column_pair_values_a_to_be_greater_than_b", "kwargs": {"column_A": "score_chosen", "column_B": "score_rejected", "or_equal": True}},
    {"type": "expect_column_pair_values_a_to_be_greater_than_b", "kwargs": {"column_A": "chosen_turns", "column_B": "rejected_turns", "ignore_row_if": "neither"}},
    {"type": "expect_column_pair_values_to_be_equal", "kwargs": {"column_A": "chosen_turns", "column_B": "rejected_turns", "ignore_row_if": "either_value_is_missing"}},
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 10, "max_value": 50}},
    {"type": "expect_table_row_count_to_equal", "kwargs": {"value": 66}},
    {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": ["id", "source"], "exact_match": False}},
    {"type": "expect_column_to_exist", "kwargs": {"column": "lineage_records"}},
    {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "score_chosen", "min_value": 5}},
    {"type": "expect_column_min_to_be_between", "kwargs": {"column": "prompt_turns", "min_value": 1}},
    {"type": "expect_column_max_to_be_between", "kwargs": {"column": "chosen_turns", "max_value": 1}},
    {"type": "expect_column_sum_to_be_between", "kwargs": {"column": "lineage_records", "min_value": 1}},
    {"type": "expect_column_median_to_be_between", "kwargs": {"column": "score_rejected", "max_value": 4}},
    {"type": "expect_column_stdev_to_be_between", "kwargs": {"column": "score_chosen", "max_value": 0.5}},
    {"type": "expect_column_unique_value_count_to_be_between", "kwargs": {"column": "source", "min_value": 3}},
    {"type": "expect_column_proportion_of_unique_values_to_be_between", "kwargs": {"column": "prompt_text", "min_value": 0.99}},
]


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)):
        return b == pytest.approx(a, rel=1e-9, abs=1e-12)
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(str, a)) == sorted(map(str, b))
    return a == b


def _compare(polars_result, gx_result):
    assert len(polars_result.expectations) == len(gx_result.expectations)
    for ours, theirs in zip(polars_result.expectations, gx_result.expectations):
        what = f"{ours.expectation_type} {ours.kwargs}"
        assert ours.success == theirs.success, what
        for key in COMPARED:
            assert (key in ours.result) == (key in theirs.result), f"{what}: {key}"
            if key in ours.result:
                assert _same(ours.result[key], theirs.result[key]), f"{what}: {key} {ours.result[key]} != {theirs.result[key]}"
        ours_values = ours.result.get("partial_unexpected_list")
        theirs_values = theirs.result.get("partial_unexpected_list")
        if ours_values and theirs_values:  # the same values (ours cut to 200 characters), maybe reordered
            cut = lambda values: sorted(str(v)[:VALUE_PREVIEW_CHARS] for v in values)
            assert cut(ours_values) == cut(theirs_values), what


def test_default_suite_counts_match(seeded_dataset):
    ours = check(seeded_dataset, write=False)
    theirs = check(seeded_dataset, engine="gx", write=False)
    _compare(ours, theirs)
    # the fixture makes several default expectations fail, so the parity is not just zeros
    assert sum(not e.success for e in ours.expectations) >= 5


def test_every_supported_type_matches(seeded_dataset, tmp_path):
    assert {e["type"] for e in EVERY_TYPE} == set(SUPPORTED)
    suite = tmp_path / "every_type.json"
    suite.write_text(json.dumps({"name": "every_type", "expectations": EVERY_TYPE}))
    ours = check(seeded_dataset, suite=suite, write=False)
    theirs = check(seeded_dataset, suite=suite, engine="gx", write=False)
    _compare(ours, theirs)
    assert {e.success for e in ours.expectations} == {True, False}


def test_data_docs_are_written(seeded_dataset, tmp_path):
    docs = tmp_path / "docs"
    check(seeded_dataset, engine="gx", data_docs=docs, write=False)
    assert (docs / "index.html").is_file()
    assert list((docs / "validations").rglob("*.html"))


@pytest.mark.parametrize("name", ["team/prefs-v2", "team\\prefs-v2"])
def test_data_docs_take_a_suite_name_with_a_path_separator(seeded_dataset, tmp_path, name):
    """GX's Data Docs store refuses keys holding "/" or "\\": a suite named "team/prefs-v2" ran with
    --engine gx but crashed with --data-docs (a ValueError from GX, exit 3). Its pages are filed under
    "team_prefs-v2"; the result keeps the name as written."""
    suite = tmp_path / "team.json"
    suite.write_text(json.dumps({"name": name, "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}}]}))
    docs = tmp_path / "docs"
    result = check(seeded_dataset, suite=suite, engine="gx", data_docs=docs, write=False)
    assert result.suite == name and result.expectations[0].success
    assert (docs / "expectations" / "team_prefs-v2.html").is_file()
    assert list((docs / "validations" / "team_prefs-v2").rglob("*.html"))


def test_nan_scores_are_missing_in_both_engines(clean_dataset, tmp_path):
    """pandas takes NaN for missing and polars for a number above all others: without one reading, an
    expectation over the score columns passed in one engine and failed in the other."""
    import shutil

    import polars as pl

    def with_scores(name, missing):
        data = tmp_path / name
        shutil.copytree(clean_dataset, data)
        shard = min((data / "data").glob("*.parquet"))
        frame = pl.read_parquet(shard)
        n = frame.height - 1
        frame.with_columns(
            pl.Series("score_chosen", [missing, *[5.0] * n], dtype=pl.Float64),
            pl.Series("score_rejected", [*[1.0] * n, missing], dtype=pl.Float64),
        ).write_parquet(shard)
        return data

    suite = tmp_path / "scores.json"
    suite.write_text(json.dumps({"name": "scores", "expectations": [
        {"type": "expect_column_pair_values_a_to_be_greater_than_b", "kwargs": {"column_A": "score_chosen", "column_B": "score_rejected"}},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "score_chosen", "min_value": 0, "max_value": 10}},
    ]}))
    nan, null = with_scores("nan", float("nan")), with_scores("null", None)
    ours = check(nan, suite=suite, write=False)
    _compare(ours, check(nan, suite=suite, engine="gx", write=False))
    as_null = check(null, suite=suite, write=False)
    for e, n in zip(ours.expectations, as_null.expectations):
        assert (e.result["unexpected_count"], e.result["missing_count"]) == (n.result["unexpected_count"], n.result["missing_count"])


def test_the_split_names_the_loader_reads_pass_the_default_suite_in_both_engines(tmp_path):
    """The default suite wanted a split in {train, test, validation}: a dataset with the Hub's
    ``train_prefs``/``test_prefs`` shards (UltraFeedback-binarized), which check reads as the README
    says, warned, and ``check --strict`` failed it. A split that says none of them still warns."""
    from tests.check.rows import write_rows

    splits = {"train_prefs": 3, "test_prefs": 2, "sft_train": 2, "dev": 1, "gen": 2}
    rows = [{"prompt": f"{split} question {i}?", "chosen": f"Answer {i}.", "rejected": "No.", "split": split}
            for split, n in splits.items() for i in range(n)]
    data = write_rows(tmp_path / "d", rows)
    ours = check(data, write=False)
    _compare(ours, check(data, engine="gx", write=False))
    split = next(e for e in ours.expectations if e.kwargs.get("column") == "split")
    assert not split.success and split.result["unexpected_count"] == splits["gen"]
    assert split.result["partial_unexpected_list"] == ["gen", "gen"]


#: The flat view's columns as docs/contracts.md ("The checked view") lists them.
VIEW_COLUMNS = sorted([
    "id", "source", "split", "score_chosen", "score_rejected", "chosen_model", "rejected_model", "chosen_position",
    "prompt_text", "chosen_text", "rejected_text", "prompt_turns", "chosen_turns", "rejected_turns",
    "prompt_last_role", "prompt_roles", "chosen_roles", "rejected_roles", "lineage_records",
])


def test_columns_to_match_set_details_are_the_same_in_both_engines(tmp_path):
    """GX 1.x (``_validate_result`` in expect_table_columns_to_match_set.py) lists every mismatch under
    ``details.mismatched`` -- ``unexpected`` (table columns not in the set) and ``missing`` (set columns
    not in the table) -- whenever the sets differ, whatever ``exact_match`` says, also when a subset
    passes; equal sets give no details. ``exact_match`` absent means true; null, like false, lets the
    table have more columns. The polars engine kept ``unexpected`` only with exact_match true and wrote
    no details on a passing subset (the engines wrote different results), and refused a null exact_match."""
    from tests.check.rows import write_rows

    data = write_rows(tmp_path / "d", [{"prompt": f"q{i}?", "chosen": "a", "rejected": "b"} for i in range(3)])
    column_sets = {"extra_and_missing": ["id", "no_such_column"], "subset": ["id"], "equal": VIEW_COLUMNS, "empty": []}
    flags = {"true": True, "false": False, "null": None, "absent": ...}
    cases = [(s, f) for s in column_sets for f in flags]
    expectations = [
        {"type": "expect_table_columns_to_match_set",
         "kwargs": {"column_set": column_sets[s], **({} if flags[f] is ... else {"exact_match": flags[f]})}}
        for s, f in cases
    ]
    suite = tmp_path / "match_set.json"
    suite.write_text(json.dumps({"name": "match_set", "expectations": expectations}))
    ours = check(data, suite=suite, write=False).expectations
    theirs = check(data, suite=suite, engine="gx", write=False).expectations
    others = [c for c in VIEW_COLUMNS if c != "id"]
    mismatched = {
        "extra_and_missing": {"unexpected": others, "missing": ["no_such_column"]},
        "subset": {"unexpected": others},
        "equal": None,
        "empty": {"unexpected": VIEW_COLUMNS},
    }
    for (s, f), o, t in zip(cases, ours, theirs, strict=True):
        exact = f in ("true", "absent")
        success = s == "equal" or (s != "extra_and_missing" and not exact)
        details = None if mismatched[s] is None else {"mismatched": mismatched[s]}
        for engine, e in (("polars", o), ("gx", t)):
            assert (e.success, e.result.get("details")) == (success, details), (engine, s, f)
            assert e.result["observed_value"] == VIEW_COLUMNS, (engine, s, f)


def test_or_equal_null_is_strictly_greater_in_both_engines(tmp_path):
    """GX types ``or_equal`` of expect_column_pair_values_a_to_be_greater_than_b as bool or None, and
    reads None as false (A > B). The polars engine refused a null or_equal as a suite error."""
    from tests.check.rows import write_rows

    scores = [(2.0, 1.0), (1.0, 1.0), (1.0, 2.0), (3.0, 0.5)]
    rows = [{"prompt": f"q{i}?", "chosen": "a", "rejected": "b", "score_chosen": c, "score_rejected": r}
            for i, (c, r) in enumerate(scores)]
    data = write_rows(tmp_path / "d", rows)
    expectations = [
        {"type": "expect_column_pair_values_a_to_be_greater_than_b",
         "kwargs": {"column_A": "score_chosen", "column_B": "score_rejected", **flag}}
        for flag in ({"or_equal": None}, {"or_equal": False}, {"or_equal": True}, {})
    ]
    suite = tmp_path / "pair.json"
    suite.write_text(json.dumps({"name": "pair", "expectations": expectations}))
    for engine in ("polars", "gx"):
        found = [e.result["unexpected_count"] for e in check(data, suite=suite, engine=engine, write=False).expectations]
        assert found == [2, 2, 1, 2], engine  # (1, 1) and (1, 2) are not greater; only (1, 2) is less

"""The report reads foreign data the way ``prefdata check`` reads it, and finds the pairs check names.

Each test runs the real check, then the report on its checks.json, on data ``prefdata build`` would
never write: NaN scores, no or null ids, an id two different pairs share, null sources next to a
source called "None", positions with stray whitespace.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from prefdata.check import check
from prefdata.report import examples, report
from tests.report.report_datasets import canonical_row, msg, write_dataset

SHARD = "data/train-00000-of-00001.parquet"
PII = "alice.smith@example.org"


def _row(i: int, **extra) -> dict:
    row = canonical_row(
        [msg("user", f"Prompt {i} about topic {i * 7}")],
        [msg("assistant", f"chosen answer {i} is good")],
        [msg("assistant", f"rejected {i}")],
        record=i + 1,
    )
    return row | extra


def _pii_row(**extra) -> dict:
    return (
        canonical_row(
            [msg("user", "Please email me")],
            [msg("assistant", f"Sure, write to {PII} anytime")],
            [msg("assistant", "No.")],
            record=99,
        )
        | extra
    )


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _check_then_report(out: Path, **options):
    result = check(out)
    return result, report(out, sample=0, card=False, **options)


def _view(result, check_id: str):
    return next(v for v in result.content.checks if v.id == check_id)


def test_nan_scores_are_missing_as_in_check(tmp_path):
    rows = [_row(i, score_chosen=5.0 if i < 4 else math.nan, score_rejected=1.0) for i in range(10)]
    out = write_dataset(tmp_path / "out", {"train": rows}, manifest=False)
    checked, result = _check_then_report(out)
    pair = next(e for e in checked.expectations if e.expectation_type == "expect_column_pair_values_a_to_be_greater_than_b")
    assert pair.result["missing_count"] == 6
    stats = result.content.stats
    assert stats["scored_pairs"] == 4 and stats["median_margin"] == 4.0 and stats["non_positive_margins"] == 0
    assert "Score margin: 4 scored pairs, median 4," in result.md_path.read_text()


@pytest.mark.parametrize("ids", ["no id column", "null ids"])
def test_offending_pairs_without_usable_ids_are_shown(tmp_path, ids):
    rows = [_row(i) for i in range(10)] + [_pii_row()]
    if ids == "null ids":
        rows = [r | {"id": None} for r in rows]
    out = write_dataset(tmp_path / "out", {"train": rows}, manifest=False, drop=("id",) if ids == "no id column" else ())
    checked, result = _check_then_report(out)
    name = checked.check("pii").offending_ids[0]
    assert name == (rows[-1]["id"] if ids == "no id column" else f"row 10 of {SHARD}")  # hash as build computes it
    view = _view(result, "pii")
    assert [p.id for p in view.examples] == [name] and view.missing_examples == 0
    html = result.html_path.read_text()
    assert PII in html and "may be stale" not in html


def test_offending_names_not_in_the_data_are_still_called_stale(tmp_path):
    out = write_dataset(tmp_path / "out", {"train": [_row(i) | {"id": None} for i in range(3)]}, manifest=False)
    checked, _ = _check_then_report(out)
    doc = checked.to_dict()
    pii = next(c for c in doc["checks"] if c["id"] == "pii")
    pii.update(
        passed=False,
        offending_count=3,
        offending_ids=[f"row 1 of {SHARD}", f"row 3 of {SHARD}", "row 0 of data/test-00000-of-00001.parquet"],
    )
    (out / "checks.json").write_text(json.dumps(doc))
    view = _view(report(out, sample=0, card=False), "pii")
    assert [p.id for p in view.examples] == [f"row 1 of {SHARD}"] and view.missing_examples == 2


def test_an_id_shared_by_different_pairs_shows_all_of_them(tmp_path):
    rows = [_row(i, id=str(i)) for i in range(10)] + [_pii_row(id="7")]
    out = write_dataset(tmp_path / "out", {"train": rows}, manifest=False)
    checked, result = _check_then_report(out)
    assert checked.check("pii").offending_ids == ["7"]
    view = _view(result, "pii")
    assert [p.chosen[0].content for p in view.examples] == ["chosen answer 7 is good", f"Sure, write to {PII} anytime"]
    assert view.shared_ids == [("7", 2, 2, 2)] and view.shown_offending == 1
    html = _text(result.html_path.read_text())
    assert "Id 7 is shared by 2 rows holding different pairs" in html and PII in html
    assert "`7` is shared by 2 rows holding different pairs" in result.md_path.read_text()


def test_copies_of_one_pair_are_one_example_not_a_shared_id(tmp_path):
    rows = [_row(i) for i in range(5)] + [_row(2), _row(2)]
    out = write_dataset(tmp_path / "out", {"train": rows}, manifest=False)
    checked, result = _check_then_report(out)
    assert checked.check("exact_duplicates").offending_ids == [rows[2]["id"]] * 2
    view = _view(result, "exact_duplicates")
    assert len(view.examples) == 1 and view.shared_ids == [] and view.missing_examples == 0


def test_pairs_without_a_source_are_grouped_as_check_groups_them(tmp_path):
    rows = (
        [_row(i, source=None, chosen_position="a") for i in range(20)]
        + [_row(100 + i, source="None", chosen_position="a") for i in range(20)]
        + [_row(200 + i, source="(no source)", chosen_position="ab"[i % 2]) for i in range(40)]
    )
    out = write_dataset(tmp_path / "out", {"train": rows}, manifest=False)
    checked, result = _check_then_report(out)
    by_source = checked.check("position_bias").statistic["by_source"]
    assert {k: v["pairs"] for k, v in by_source.items()} == {"(no source 2)": 20, "None": 20, "(no source)": 40}
    assert {k: v["pairs"] for k, v in result.content.stats["a_wins"].items()} == {k: v["pairs"] for k, v in by_source.items()}


def test_positions_with_whitespace_are_read_as_check_reads_them(tmp_path):
    rows = [_row(i, source="arena", chosen_position="a" if i < 20 else ("a " if i < 36 else "B")) for i in range(40)]
    out = write_dataset(tmp_path / "out", {"train": rows}, manifest=False)
    checked, result = _check_then_report(out)
    position = checked.check("position_bias").statistic
    assert position["pairs"] == 24
    shown = result.content.stats["a_wins"]["arena"]
    assert (shown["pairs"], shown["share_a"]) == (position["pairs"], position["share_a_wins"])


def test_an_id_every_row_shares_fetches_only_the_first_rows(tmp_path):
    cap = examples.MAX_ROWS_PER_NAME
    rows = [_pii_row(id="x")] + [_row(i, id="x") for i in range(7)]
    out = write_dataset(tmp_path / "out", {"train": rows}, manifest=False)
    checked, result = _check_then_report(out)
    assert checked.check("pii").offending_ids == ["x"]
    view = _view(result, "pii")
    assert len(view.examples) == cap and view.shared_ids == [("x", 8, cap, cap)]
    assert (
        f"shared by 8 rows holding different pairs: checks.json names offending pairs by id only, so the report shows the "
        f"{cap} different pairs of its first {cap} rows" in _text(result.html_path.read_text())
    )

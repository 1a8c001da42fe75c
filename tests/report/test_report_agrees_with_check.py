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

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prefdata.check import check
from prefdata.report import dataset, examples, report
from prefdata.report.dataset import open_dataset
from prefdata.schema import CANONICAL_SCHEMA
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
    """Two extra copies of one pair: its id is named twice, shown once and counted once in the summary."""
    rows = [_row(i) for i in range(5)] + [_row(2), _row(2)]
    out = write_dataset(tmp_path / "out", {"train": rows}, manifest=False)
    checked, result = _check_then_report(out)
    assert checked.check("exact_duplicates").offending_ids == [rows[2]["id"]] * 2
    view = _view(result, "exact_duplicates")
    assert len(view.examples) == 1 and view.shared_ids == [] and view.missing_examples == 0
    assert view.shown_offending == 1
    html = _text(result.html_path.read_text())
    assert "Show the first 1 offending pairs (of 2)" in html and "as an id is shared" not in html


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


def test_an_id_two_rows_share_shows_both_without_saying_rows_went_unread(tmp_path):
    """An id on 2 rows holding different pairs, both read (fewer than MAX_ROWS_PER_NAME): the page shows the 2
    pairs and does not add "of its first 2 rows", which says that rows past those were not read."""
    rows = [_pii_row(id="x"), _row(1, id="x")] + [_row(i) for i in range(2, 6)]
    out = write_dataset(tmp_path / "out", {"train": rows}, manifest=False)
    checked, result = _check_then_report(out)
    assert checked.check("pii").offending_ids == ["x"]
    text = _text(result.html_path.read_text())
    assert (
        "shared by 2 rows holding different pairs: checks.json names offending pairs by id only, so the report shows the "
        "2 different pairs, and not every one need offend." in text
    )
    assert "of its first" not in text


def _write_shard(out: Path, name: str, rows: list[dict], *, drop: tuple[str, ...] = (), **options) -> None:
    """One shard ``data/<name>`` of ``rows`` in the canonical schema less ``drop`` (``options``: of write_parquet)."""
    schema = {c: t for c, t in CANONICAL_SCHEMA.items() if c not in drop}
    (out / "data").mkdir(parents=True, exist_ok=True)
    pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema).write_parquet(out / "data" / name, **options)


@pytest.mark.parametrize("read", ["by batch", "by row group"])
def test_each_row_group_is_read_once_for_all_the_pairs_shown_from_it(tmp_path, monkeypatch, read):
    # null ids: pairs are named by place, so a row fetched from the wrong place would show the wrong pair
    first, second = "train-00000-of-00002.parquet", "train-00001-of-00002.parquet"
    _write_shard(tmp_path, first, [_row(i, id=None) for i in range(10)], row_group_size=4)
    _write_shard(tmp_path, second, [_row(10 + i, id=None) for i in range(7)], row_group_size=4)
    groups = [pq.read_metadata(tmp_path / "data" / f).num_row_groups for f in (first, second)]
    assert groups == [3, 2]
    ds = open_dataset(tmp_path)
    monkeypatch.setattr(dataset, "BATCH_ROWS", 3, raising=False)  # batches that split the row groups
    if read == "by row group":  # what read_rows falls back to where pyarrow and polars type a column differently
        monkeypatch.setattr(dataset.Dataset, "_take", lambda *_: None)
    reads = []
    scan_parquet, iter_batches = pl.scan_parquet, pq.ParquetFile.iter_batches
    monkeypatch.setattr(pl, "scan_parquet", lambda *a, **k: reads.append(a) or scan_parquet(*a, **k))
    monkeypatch.setattr(dataset, "parquet_schema", lambda f: scan_parquet(f, glob=False).collect_schema())  # footers: not counted
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", lambda *a, **k: reads.append(k["row_groups"]) or iter_batches(*a, **k))
    names = [f"row 5 of data/{second}", f"row 9 of data/{first}"]
    sample, named = examples.fetch(ds, total=17, sample=17, seed=0, ids=names)
    assert [p.chosen[0].content for p in sample] == [f"chosen answer {i} is good" for i in range(17)]
    assert [p.id for p in sample[:2]] == [f"row 0 of data/{first}", f"row 1 of data/{first}"]
    assert {n: [p.chosen[0].content for p in v.pairs] for n, v in named.items()} == {
        names[0]: ["chosen answer 15 is good"], names[1]: ["chosen answer 9 is good"]}
    # one narrow pass per shard to find the named rows, then each of the 5 row groups once (not once per pair)
    assert len(reads) <= 2 + sum(groups)


@pytest.mark.parametrize("dropped", ["chosen_position", "id"])
def test_shards_that_differ_in_optional_columns_show_their_check_results(tmp_path, dropped):
    _write_shard(tmp_path, "train-00000-of-00002.parquet", [_row(i) for i in range(4)], drop=(dropped,))
    _write_shard(tmp_path, "train-00001-of-00002.parquet", [_row(10 + i) for i in range(3)] + [_pii_row()])
    checked = check(tmp_path)
    (tmp_path / "checks.json").write_text(json.dumps(checked.to_dict()))
    result = report(tmp_path, sample=0, card=False)
    assert result.content.pairs == 8 and result.content.checks
    assert [p.id for p in _view(result, "pii").examples] == checked.check("pii").offending_ids


def test_an_empty_shard_typed_null_reads_as_check_reads_it(tmp_path):
    # pandas types every column of an empty frame null: pd.DataFrame(columns=[...]).to_parquet(...)
    _write_shard(tmp_path, "train-00000-of-00001.parquet", [_row(i) for i in range(6)])
    pq.write_table(pa.table({c: pa.array([], pa.null()) for c in CANONICAL_SCHEMA}), tmp_path / "data" / "test-00000-of-00001.parquet")
    checked = check(tmp_path)
    # a schema finding (datasets.load_dataset fails on its 0-row row group), but read as 0 pairs
    (problem,) = checked.check("schema").statistic["problems"]
    assert problem.startswith("data/test-00000-of-00001.parquet: its first row group holds 0 rows")
    result = report(tmp_path, sample=8, card=False)
    assert result.content.pairs == 6 and len(result.content.sample) == 6


def test_an_id_column_of_an_unusable_type_is_read_as_null_as_check_reads_it(tmp_path):
    rows = [_row(i) for i in range(6)] + [_pii_row()]
    _write_shard(tmp_path, "train-00000-of-00001.parquet", rows, drop=("id",))
    path = tmp_path / SHARD
    table = pq.read_table(path)
    pq.write_table(table.append_column("id", pa.array([{"hash": r["id"]} for r in rows])), path)
    checked, result = _check_then_report(tmp_path)
    assert checked.check("pii").offending_ids == [f"row 6 of {SHARD}"]
    view = _view(result, "pii")
    assert [p.id for p in view.examples] == [f"row 6 of {SHARD}"] and view.missing_examples == 0
    assert PII in result.html_path.read_text()
    assert any("column 'id'" in n and "read as missing" in n for n in result.notes)


def test_an_id_whose_first_rows_are_copies_says_more_rows_have_it(tmp_path):
    cap = examples.MAX_ROWS_PER_NAME
    rows = [_row(i, id=str(i)) for i in range(3)] + [_row(7, id="7")] * cap + [_pii_row(id="7")]
    out = write_dataset(tmp_path / "out", {"train": rows}, manifest=False)
    checked, result = _check_then_report(out)
    assert checked.check("pii").offending_ids == ["7"]
    view = _view(result, "pii")
    assert [p.chosen[0].content for p in view.examples] == ["chosen answer 7 is good"]
    assert view.shared_ids == [("7", cap + 1, cap, 1)]
    assert (f"Id 7 is shared by {cap + 1} rows: its first {cap}, which the report read, are copies of one pair, shown once; "
            "checks.json names offending pairs by id only, so the pair that offended may be in one of the other 1 row(s)"
            in _text(result.html_path.read_text()))
    assert f"(Id `7` is shared by {cap + 1} rows: its first {cap}, read by the report, are copies of one pair" in result.md_path.read_text()


def test_response_lengths_are_the_messages_characters_in_both(tmp_path):
    """A response of two messages "abc" + "def" is 6 characters: check counted the blank line its flat
    view puts between them (8), and said chosen is longer in 100% of these pairs where the report,
    counting the messages, said 0%."""
    two = [msg("assistant", "abc"), msg("assistant", "def")]
    rows = [canonical_row([msg("user", f"Q{i}")], two, [msg("assistant", "abcdefg")], record=i + 1) for i in range(40)]
    rows += [canonical_row([msg("user", f"R{i}")], [msg("assistant", "abcd"), msg("assistant", "ef")], two, record=41 + i) for i in range(10)]
    out = write_dataset(tmp_path / "out", {"train": rows}, manifest=False)
    checked, result = _check_then_report(out)
    length = checked.check("length_bias").statistic
    assert (length["share_chosen_longer"], length["share_equal_length"]) == (0.0, 0.2)
    assert (length["mean_chosen_chars"], length["mean_rejected_chars"]) == (6.0, (40 * 7 + 10 * 6) / 50)
    stats = result.content.stats
    assert (stats["share_chosen_longer"], stats["share_same_length"], stats["median_chosen_chars"]) == (0.0, 0.2, 6.0)

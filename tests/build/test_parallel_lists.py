"""``rated``/``ranked`` sources whose scores, ranks or models come as lists parallel to the
completions (``text: $`` plus ``scores:``/``ranks:``/``models:``). A record whose parallel list is
null, missing, empty, shorter or longer than its completions is a reject naming the field and both
lengths; it does not take the batch (or the build) down with it, and every other record builds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import prefdata
from prefdata.cli import cli
from tests.support.dataset import assert_reconciled, manifest, pairs, rejects

RATED = {"sources": [{"shape": "rated", "columns": {"prompt": "prompt", "completions": "responses", "text": "$", "scores": "scores"}}]}
RANKED = {
    "sources": [
        {
            "shape": "ranked",
            "columns": {"prompt": "prompt", "completions": "candidates", "text": "$", "ranks": "ranks", "models": "policies"},
        }
    ]
}

MISSING = object()  # the key is absent from the record

#: (bad value, expected reason, words the detail must hold besides the field name)
BAD_LISTS = [
    pytest.param(None, "missing_field", [], id="null"),
    pytest.param(MISSING, "missing_field", [], id="absent"),
    pytest.param([], "wrong_type", ["0", "3"], id="empty"),
    pytest.param("short", "wrong_type", ["2", "3"], id="shorter"),
    pytest.param("long", "wrong_type", ["4", "3"], id="longer"),
]


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _with(record: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    record = dict(record)
    if value is MISSING:
        del record[key]
    else:
        record[key] = value
    return record


def _resize(good: list[Any], value: Any) -> Any:
    if value == "short":
        return good[:2]
    if value == "long":
        return [*good, good[0]]
    return value


def _rated_rows(bad_value: Any) -> list[dict[str, Any]]:
    good = {"prompt": "Q1", "responses": ["A", "B", "C"], "scores": [2, 9, 1]}
    bad = {"prompt": "Q2", "responses": ["A2", "B2", "C2"], "scores": [5, 1, 3]}
    bad = _with(bad, "scores", _resize(bad["scores"], bad_value))
    after = {"prompt": "Q3", "responses": ["A3", "B3"], "scores": [1, 4]}
    return [good, bad, after]


def _assert_one_reject(out: Path, field: str, reason: str, words: list[str]) -> None:
    rej = rejects(out)
    assert rej.select("record", "reason", "field").rows() == [(2, reason, field)]
    detail = rej["detail"][0]
    assert field in detail
    for word in words:
        assert word in detail, detail
    assert sorted(r["record"] for lin in pairs(out)["lineage"].to_list() for r in lin) == [1, 3]
    assert_reconciled(out)


@pytest.mark.parametrize(("bad_value", "reason", "words"), BAD_LISTS)
def test_rated_bad_parallel_scores_are_a_reject_not_a_crash(tmp_path: Path, bad_value: Any, reason: str, words: list[str]) -> None:
    raw = _jsonl(tmp_path / "rated.jsonl", _rated_rows(bad_value))
    result = prefdata.build(raw, tmp_path / "out", config=RATED)
    _assert_one_reject(tmp_path / "out", "scores", reason, words)
    assert result.counts["rejected_by_reason"] == {reason: 1}
    assert result.counts["records_read"] == 3
    assert result.counts["pairs_written"] == 2


@pytest.mark.parametrize(("bad_value", "reason", "words"), BAD_LISTS)
@pytest.mark.parametrize("field", ["ranks", "policies"])
def test_ranked_bad_parallel_ranks_or_models_are_a_reject(tmp_path: Path, field: str, bad_value: Any, reason: str, words: list[str]) -> None:
    good = {"prompt": "Q1", "candidates": ["A", "B", "C"], "policies": ["m1", "m2", "m3"], "ranks": [2, 0, 1]}
    bad = {"prompt": "Q2", "candidates": ["A2", "B2", "C2"], "policies": ["m1", "m2", "m3"], "ranks": [0, 1, 2]}
    bad = _with(bad, field, _resize(bad[field], bad_value))
    after = {"prompt": "Q3", "candidates": ["A3", "B3"], "policies": ["m1", "m2"], "ranks": [1, 0]}
    raw = _jsonl(tmp_path / "ranked.jsonl", [good, bad, after])
    prefdata.build(raw, tmp_path / "out", config=RANKED)
    if field == "policies" and reason == "missing_field":
        # model names are optional metadata: without them the record still pairs, with null names
        got = {lin[0]["record"]: (c, r) for lin, c, r in pairs(tmp_path / "out").select("lineage", "chosen_model", "rejected_model").iter_rows()}
        assert got == {1: ("m2", "m1"), 2: (None, None), 3: ("m2", "m1")}
        assert_reconciled(tmp_path / "out")
        return
    _assert_one_reject(tmp_path / "out", field, reason, words)


def test_the_cli_exits_0_and_names_field_and_lengths(tmp_path: Path) -> None:
    raw = _jsonl(tmp_path / "rated.jsonl", _rated_rows("short"))
    (tmp_path / "rated.yaml").write_text(json.dumps(RATED))  # JSON is YAML
    res = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out"), "--config", str(tmp_path / "rated.yaml"), "-q"])
    assert res.exit_code == 0, res.output
    assert rejects(tmp_path / "out")["detail"].to_list() == [
        "scores has 2 score(s) but responses has 3 completion(s); parallel lists must have the same length"
    ]
    assert_reconciled(tmp_path / "out")


def test_one_bad_record_among_many_leaves_the_rest_of_the_batch_intact(tmp_path: Path) -> None:
    rows = [{"prompt": f"Q{i}", "responses": [f"a{i}", f"b{i}", f"c{i}"], "scores": [i % 5, 9, 1]} for i in range(500)]
    bad = {250: None, 251: [], 252: [1, 2], 253: [1, 2, 3, 4]}
    for i, value in bad.items():
        rows[i]["scores"] = value
    raw = _jsonl(tmp_path / "rated.jsonl", rows)
    prefdata.build(raw, tmp_path / "out", config=RATED)
    got = rejects(tmp_path / "out").sort("record").select("record", "reason").rows()
    assert got == [(251, "missing_field"), (252, "wrong_type"), (253, "wrong_type"), (254, "wrong_type")]
    assert pairs(tmp_path / "out").height == 496
    assert manifest(tmp_path / "out")["counts"]["records_read"] == 500
    assert_reconciled(tmp_path / "out")


def test_missing_completions_are_named_before_their_parallel_list(tmp_path: Path) -> None:
    rows = [
        {"prompt": "Q1", "responses": ["A", "B"], "scores": [2, 1]},
        {"prompt": "Q2", "responses": None, "scores": None},
        {"prompt": "Q3", "responses": [], "scores": []},  # lengths agree: too few completions, as before
    ]
    prefdata.build(_jsonl(tmp_path / "rated.jsonl", rows), tmp_path / "out", config=RATED)
    got = rejects(tmp_path / "out").sort("record").select("record", "reason", "field").rows()
    assert got == [(2, "missing_field", "responses"), (3, "too_few_completions", "responses")]
    assert_reconciled(tmp_path / "out")


def test_matching_parallel_lists_pair_as_before(tmp_path: Path) -> None:
    raw = _jsonl(tmp_path / "ranked.jsonl", [{"prompt": "Q", "candidates": ["A", "B", "C"], "policies": ["m1", "m2", "m3"], "ranks": [2, 0, 1]}])
    prefdata.build(raw, tmp_path / "out", config=RANKED)
    row = pairs(tmp_path / "out").row(0, named=True)
    # lower rank is better by default: rank 0 (B) over rank 2 (A)
    assert (row["chosen"][0]["content"], row["chosen_model"]) == ("B", "m2")
    assert (row["rejected"][0]["content"], row["rejected_model"]) == ("A", "m1")
    assert_reconciled(tmp_path / "out")

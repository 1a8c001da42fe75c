"""polars reads a JSON scalar where a list of single values belongs as a one-item list (``"x"`` as
``["x"]``). Checked for text a pair needs since the history fix; not for the other lists: a custom
source's fields, a ``scores[0]`` path, a filter on ``tags[0]`` and rated's parallel lists read a list
the raw data never had."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

import prefdata
from tests.support.dataset import assert_reconciled, pairs, rejects

TAGGED = '''
import polars as pl

def tagged(lf):
    return lf.select("_record", pl.col("tags").list.join("+").alias("prompt"), pl.col("g").alias("chosen"), pl.col("b").alias("rejected"))
'''


def _build(tmp_path: Path, records: list[dict[str, Any]], source: dict[str, Any]) -> Path:
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps(r) + "\n" for r in records))
    prefdata.build(raw, tmp_path / "out", config={"sources": [source]}, test_fraction=0)
    assert_reconciled(tmp_path / "out")
    return tmp_path / "out"


def _rejects(out: Path) -> list[tuple[int, str, str, str]]:
    return rejects(out).sort("record").select("record", "reason", "field", "detail").rows()


@pytest.fixture
def tagged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    (tmp_path / "scalar_tags.py").write_text(TAGGED)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "scalar_tags", raising=False)
    return {"shape": "custom", "function": "scalar_tags:tagged"}


def test_a_custom_function_gets_no_list_the_record_never_had(tmp_path: Path, tagged: dict[str, Any]) -> None:
    """Past the 200 sampled records, which hold lists, text and a number reached the function as ["solo"] and ["5"]."""
    records = [{"tags": ["a", f"b{i}"], "g": f"good{i}", "b": "bad"} for i in range(200)]
    records += [{"tags": "solo", "g": "g", "b": "b"}, {"tags": 5, "g": "g2", "b": "b2"}, {"tags": ["one"], "g": "g3", "b": "b3"}]
    out = _build(tmp_path, records, tagged)
    assert _rejects(out) == [
        (201, "wrong_type", "tags", "tags: expected an array, got string"),
        (202, "wrong_type", "tags", "tags: expected an array, got number"),
    ]
    assert "one" in {p[0]["content"] for p in pairs(out)["prompt"]}  # a real one-item list is one


def test_sampled_records_that_disagree_on_a_field_type_do_not_stop_the_build(tmp_path: Path, tagged: dict[str, Any]) -> None:
    """A list in one sampled record and text in another was a polars error from the sample's schema
    (exit 3); the field takes the type most sampled records give it, and the others are rejects."""
    records = [{"tags": ["a", "b"], "g": "g1", "b": "b1"}, {"tags": ["c"], "g": "g2", "b": "b2"}, {"tags": "solo", "g": "g3", "b": "b3"}]
    out = _build(tmp_path, records, tagged)
    assert sorted(p[0]["content"] for p in pairs(out)["prompt"]) == ["a+b", "c"]
    assert _rejects(out) == [(3, "wrong_type", "tags", "tags: expected an array, got string")]


def test_a_score_path_into_a_list_reads_no_number_as_its_first_item(tmp_path: Path) -> None:
    """`score_chosen: scores[0]` read `"scores": 7` as scores[0] = 7 (and scores[1] as missing)."""
    records = [{"q": "hi", "c": "a", "r": "b", "scores": [9, 1]}, {"q": "yo", "c": "a2", "r": "b2", "scores": 7}]
    columns = {"prompt": "q", "chosen": "c", "rejected": "r", "score_chosen": "scores[0]", "score_rejected": "scores[1]"}
    out = _build(tmp_path, records, {"shape": "preference", "columns": columns})
    assert pairs(out).select("score_chosen", "score_rejected").rows() == [(9.0, 1.0)]
    assert _rejects(out) == [(2, "wrong_type", "scores", "scores: expected an array, got number")]


def test_a_filter_on_a_list_item_does_not_pass_text(tmp_path: Path) -> None:
    records = [{"q": "hi", "c": "a", "r": "b", "tags": ["en"]}, {"q": "yo", "c": "a2", "r": "b2", "tags": "en"}]
    source = {"shape": "preference", "columns": {"prompt": "q", "chosen": "c", "rejected": "r"}, "filters": ["tags[0] == 'en'"]}
    out = _build(tmp_path, records, source)
    assert pairs(out).height == 1 and _rejects(out) == [(2, "wrong_type", "tags", "tags: expected an array, got string")]


def test_a_parallel_list_that_is_a_number_says_so(tmp_path: Path) -> None:
    """It was a length mismatch ("scores has 1 score(s) but comps has 2"), of a list the record never had."""
    records = [{"q": "hi", "comps": ["a", "b"], "scores": 5}]
    out = _build(tmp_path, records, {"shape": "rated", "columns": {"prompt": "q", "completions": "comps", "text": "$", "scores": "scores"}})
    assert _rejects(out) == [(1, "wrong_type", "scores", "scores: expected an array, got number")]

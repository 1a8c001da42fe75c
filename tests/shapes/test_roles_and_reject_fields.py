"""Roles are mapped alike in every shape, a reject names the raw field it is about, and an unusable
message of a tree costs only the pairs it would be in (the bug hunt on the raw shapes' semantics)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import prefdata
from tests.support.dataset import assert_reconciled, manifest, pairs, rejects

TREE = {"sources": [{"shape": "tree", "columns": {"root": "prompt"}}]}


def _jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def m(role: object, text: object, rank: object = None, *replies: dict, **extra: object) -> dict:
    return {"role": role, "text": text, "rank": rank, "replies": list(replies), **extra}


def _texts(out: Path) -> list[tuple[str, str, str]]:
    """(last prompt turn, chosen, rejected) of every pair, sorted."""
    got = pairs(out)
    return sorted((p[-1]["content"], c[0]["content"], r[0]["content"]) for p, c, r in zip(got["prompt"], got["chosen"], got["rejected"]))


def _rejects(out: Path) -> list[tuple[int, str, str]]:
    if not (out / "rejects").exists() or not list((out / "rejects").glob("*.parquet")):
        return []
    return rejects(out).sort("record").select("record", "reason", "field").rows()


def _dropped(out: Path) -> dict[str, int]:
    return manifest(out)["counts"].get("pairs_dropped_by_reason", {})


CUSTOM = '''
import polars as pl

def _turn(role, text):
    return pl.concat_list(pl.struct(pl.lit(role).alias("role"), text.alias("content")))

def sharegpt(lf):
    return lf.select("_record", _turn(" Human", pl.col("q")).alias("prompt"),
                     _turn("gpt", pl.col("g")).alias("chosen"), _turn("wizard", pl.col("b")).alias("rejected"))
'''


def test_custom_message_roles_map_as_in_every_shape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The roles of the message lists a custom function returns were taken as they were: `human`
    and `gpt` were `unknown_role`, and the source's `roles:` was accepted and ignored."""
    (tmp_path / "roles_custom.py").write_text(CUSTOM)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "roles_custom", raising=False)
    raw = _jsonl(tmp_path / "r.jsonl", [{"q": f"q{i}", "g": f"good{i}", "b": f"bad{i}"} for i in range(2)])
    source = {"shape": "custom", "function": "roles_custom:sharegpt"}
    prefdata.build(raw, tmp_path / "bare", config={"sources": [source]}, test_fraction=0)
    got = rejects(tmp_path / "bare").select("reason", "detail").rows()
    assert got == [("unknown_role", "rejected has a turn with role 'wizard'")] * 2  # human and gpt were mapped
    prefdata.build(raw, tmp_path / "out", config={"sources": [{**source, "roles": {"wizard": "assistant"}}]}, test_fraction=0)
    out = pairs(tmp_path / "out")
    assert out.height == 2 and _rejects(tmp_path / "out") == []
    roles = {(p[0]["role"], c[0]["role"], r[0]["role"]) for p, c, r in zip(out["prompt"], out["chosen"], out["rejected"])}
    assert roles == {("user", "assistant", "assistant")}
    assert_reconciled(tmp_path / "out")


PAIRWISE = {"sources": [{"shape": "pairwise", "columns": {"prompt": "q", "response_a": "answer_a", "response_b": "answer_b", "winner": "w"},
                         "winner_values": {"a": [1], "b": [2]}, "models_from": {"field": "cmp", "separator": "_"}}]}


def test_a_missing_or_blank_pairwise_response_names_its_raw_field(tmp_path: Path) -> None:
    """Left to the generic rules, after the verdict swapped the responses, the field was `chosen` or
    `rejected`: no field of the data, and not saying which response was missing."""
    recs = [
        {"q": "Q1", "answer_a": None, "answer_b": "B", "w": 2, "cmp": "m1_m2"},
        {"q": "Q2", "answer_a": "A", "answer_b": None, "w": 2, "cmp": "m1_m2"},
        {"q": "Q3", "answer_a": "  ", "answer_b": "B", "w": 1, "cmp": "m1_m2"},
        {"q": "Q4", "answer_a": "A", "answer_b": "", "w": 1, "cmp": "m1_m2"},
    ]
    prefdata.build(_jsonl(tmp_path / "p.jsonl", recs), tmp_path / "out", config=PAIRWISE, test_fraction=0)
    assert rejects(tmp_path / "out").sort("record").select("record", "reason", "field", "detail").rows() == [
        (1, "missing_field", "answer_a", "answer_a is missing"),
        (2, "missing_field", "answer_b", "answer_b is missing"),
        (3, "empty_field", "answer_a", "answer_a has an empty turn"),
        (4, "empty_field", "answer_b", "answer_b has an empty turn"),
    ]
    assert_reconciled(tmp_path / "out")


def test_models_from_trims_the_names(tmp_path: Path) -> None:
    """The spaces around the separator are no part of the names: "m1 _ m2" gave " m2" and "m1 "."""
    recs = [{"q": "Q1", "answer_a": "A", "answer_b": "B", "w": 1, "cmp": "m1 _ m2"}, {"q": "Q2", "answer_a": "A", "answer_b": "B", "w": 2, "cmp": " m1_m2 "}]
    prefdata.build(_jsonl(tmp_path / "p.jsonl", recs), tmp_path / "out", config=PAIRWISE, test_fraction=0)
    assert sorted(pairs(tmp_path / "out").select("chosen_model", "rejected_model").rows()) == [("m1", "m2"), ("m2", "m1")]

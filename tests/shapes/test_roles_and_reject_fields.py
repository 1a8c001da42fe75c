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


def test_a_tree_role_that_maps_to_nothing_is_unknown_role(tmp_path: Path) -> None:
    """An unmapped role was read as "not an assistant, not a user": a root `customer` gave
    `no_ranked_replies`, and the pairs under a `customer` follow-up were lost with no reject or count."""
    trees = [
        m("customer", "Best pizza topping?", None, m("assistant", "Mushrooms.", 0), m("assistant", "Glue.", 1)),
        m("prompter", "Tell me a fact.", None,
          m("assistant", "Octopuses have three hearts.", 0,
            m("customer", "Another one?", None, m("assistant", "Honey never spoils.", 0), m("assistant", "The sky is green.", 1))),
          m("assistant", "I don't know.", 1)),
        # a ranked reply whose role maps to nothing is no "non-assistant" left out: its pair is dropped
        m("prompter", "Name a colour.", None, m("assistant", "Blue.", 0), m("assistant", "Red.", 1), m("wizard", "Seven.", 2)),
    ]
    raw = _jsonl(tmp_path / "t.jsonl", [{"prompt": t} for t in trees])
    prefdata.build(raw, tmp_path / "out", config=TREE, test_fraction=0)
    assert _rejects(tmp_path / "out") == [(1, "unknown_role", "prompt.role")]
    assert "role 'customer' maps to none of system/user/assistant/tool" in rejects(tmp_path / "out")["detail"][0]
    assert _texts(tmp_path / "out") == [("Name a colour.", "Blue.", "Red."), ("Tell me a fact.", "Octopuses have three hearts.", "I don't know.")]
    assert _dropped(tmp_path / "out") == {"unknown_role": 2}
    assert_reconciled(tmp_path / "out")

    # mapped under `roles:`, the same trees give every pair
    config = {"sources": [{"shape": "tree", "columns": {"root": "prompt"}, "roles": {"customer": "user", "Wizard": "assistant"}}]}
    prefdata.build(raw, tmp_path / "mapped", config=config, test_fraction=0)
    assert _rejects(tmp_path / "mapped") == [] and _dropped(tmp_path / "mapped") == {}
    assert len(_texts(tmp_path / "mapped")) == 5


def test_a_tree_reject_names_the_reply_by_its_raw_position(tmp_path: Path) -> None:
    """The path counted only the kept replies: after a deleted one, replies[2] was named replies[1]."""
    tree = m("prompter", "Q?", None, m("assistant", "Deleted.", 0, deleted=True), m("assistant", "Fine.", 1), m("assistant", 7, 2))
    prefdata.build(_jsonl(tmp_path / "t.jsonl", [{"prompt": tree}]), tmp_path / "out", config=TREE)
    [(_, reason, field, detail)] = rejects(tmp_path / "out").select("record", "reason", "field", "detail").rows()
    assert (reason, field) == ("non_text_content", "prompt.replies[2].text")
    assert detail == "prompt.replies[2].text: expected text, got int"


def test_an_unusable_tree_message_costs_only_the_pairs_it_would_be_in(tmp_path: Path) -> None:
    """One reply with null or non-text text anywhere rejected the whole tree, its good pairs with it."""
    trees = [
        # 1: an unranked reply with no text, in no pair: the pair is kept and nothing is dropped
        m("prompter", "Best pizza topping?", None, m("assistant", "Mushrooms.", 0), m("assistant", "Glue.", 1), m("assistant", None)),
        # 2: a follow-up with no usable text over ranked replies: their pair is dropped (counted), the root pair kept
        m("prompter", "Tell me a fact.", None,
          m("assistant", "Octopuses have three hearts.", 0, m("prompter", 42, None, m("assistant", "Honey.", 0), m("assistant", "Sky.", 1))),
          m("assistant", "I don't know.", 1)),
        # 3: a ranked reply with null text: only its own pair goes
        m("prompter", "Name a colour.", None, m("assistant", "Blue.", 0), m("assistant", "Red.", 1), m("assistant", None, 2)),
        # 4: the best-ranked reply is unusable: every pair of the group goes, and the tree is a reject
        m("prompter", "Capital of France?", None, m("assistant", ["Paris."], 0), m("assistant", "Lyon.", 1)),
        # 5: an unranked, non-text user turn under an assistant, with nothing ranked below: costs nothing
        m("prompter", "Say hi.", None, m("assistant", "Hi!", 0, m("prompter", {"x": 1})), m("assistant", "No.", 1)),
    ]
    raw = _jsonl(tmp_path / "t.jsonl", [{"prompt": t} for t in trees])
    prefdata.build(raw, tmp_path / "out", config=TREE, test_fraction=0)
    assert _texts(tmp_path / "out") == [
        ("Best pizza topping?", "Mushrooms.", "Glue."),
        ("Name a colour.", "Blue.", "Red."),
        ("Say hi.", "Hi!", "No."),
        ("Tell me a fact.", "Octopuses have three hearts.", "I don't know."),
    ]
    assert _rejects(tmp_path / "out") == [(4, "non_text_content", "prompt.replies[0].text")]
    assert _dropped(tmp_path / "out") == {"missing_field": 1, "non_text_content": 1}
    assert_reconciled(tmp_path / "out")


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

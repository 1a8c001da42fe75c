"""The real data in ../shared/data builds with the configs in fixtures/configs as issue 3 requires."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import prefdata
from tests.conftest import FIXTURES
from tests.support.dataset import assert_reconciled, assert_reconciled_by_source, pairs, rejects


def test_pandalm(shared_data: Path, tmp_path: Path) -> None:
    config = FIXTURES / "configs" / "pandalm.yaml"
    assert len([line for line in config.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")]) <= 20
    raw = shared_data / "pandalm-testset" / "testset-v1.json"
    records = json.loads(raw.read_text())
    out = tmp_path / "out"
    c = prefdata.build(raw, out, config=config).counts
    by_reason = c["rejected_by_reason"]
    # majority vote: 105 records are a tie majority (this data has no record without a majority)
    assert by_reason["tie"] + by_reason.get("no_majority", 0) == 105
    # 894 pairs before the build-time rejects: booleans (non_text_content), empty responses, duplicates
    build_time = sum(n for r, n in by_reason.items() if r not in ("tie", "no_majority"))
    assert c["pairs_written"] + build_time == 894
    assert by_reason["non_text_content"] == 6  # the six JSON `true` responses (idx 157-164)
    rej = rejects(out)
    booleans = rej.filter(pl.col("reason") == "non_text_content")
    assert sorted(booleans.get_column("record") - 1) == [157, 158, 159, 161, 162, 164]
    empties = rej.filter(pl.col("reason") == "empty_field").get_column("record").to_list()
    assert empties and all("" in (records[i - 1]["response1"], records[i - 1]["response2"]) for i in empties)
    df = pairs(out)
    for row in df.head(50).iter_rows(named=True):
        rec = records[row["lineage"][0]["record"] - 1]
        model_a, model_b = rec["cmp_key"].split("_", 1)
        assert {row["chosen_model"], row["rejected_model"]} == {model_a, model_b}
        chosen_a = row["chosen_position"] == "a"
        assert row["chosen"][0]["content"] == (rec["response1"] if chosen_a else rec["response2"])
        assert row["chosen_model"] == (model_a if chosen_a else model_b)
        expected_prompt = rec["instruction"] + (f"\n\n{rec['input']}" if rec["input"].strip() else "")
        assert row["prompt"] == [{"role": "user", "content": expected_prompt}]
    assert_reconciled(out)


def _sibling_groups(trees: list[dict]) -> tuple[int, int]:
    """Independent count: (messages with >= 2 ranked replies, best-vs-worse pairs)."""
    groups = pairs_ = 0

    def walk(m: dict) -> None:
        nonlocal groups, pairs_
        ranked = [r for r in m.get("replies") or [] if r.get("rank") is not None]
        if len(ranked) >= 2:
            groups += 1
            best = min(r["rank"] for r in ranked)
            pairs_ += sum(r["rank"] > best for r in ranked)
        for r in m.get("replies") or []:
            walk(r)

    for t in trees:
        walk(t)
    return groups, pairs_


@pytest.fixture(scope="module")
def oasst(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("oasst")
    prefdata.build(shared_data / "oasst-trees" / "en_100_tree.jsonl", base / "tree", config=FIXTURES / "configs" / "oasst.yaml")
    prefdata.build(shared_data / "oasst-trees" / "en_100_message.jsonl", base / "message", config=FIXTURES / "configs" / "oasst-messages.yaml")
    return base / "tree", base / "message"


def test_oasst_trees_give_429_pairs_from_ranked_sibling_groups(shared_data: Path, oasst: tuple[Path, Path]) -> None:
    tree_out, _ = oasst
    trees = [json.loads(line)["prompt"] for line in (shared_data / "oasst-trees" / "en_100_tree.jsonl").read_text().splitlines()]
    groups, expected_pairs = _sibling_groups(trees)
    assert expected_pairs == 429
    df = pairs(tree_out)
    assert df.height == 429
    # one sibling group = one (tree, prompt path); every group contributes its best-vs-worse pairs
    assert df.select("lineage", "prompt").unique().height == groups
    for row in df.iter_rows(named=True):
        roles = [m["role"] for m in row["prompt"]]
        assert roles[-1] == "user" and all(r != roles[i + 1] for i, r in enumerate(roles[:-1]))  # alternating, in order
    assert_reconciled(tree_out)


def test_oasst_message_file_gives_the_same_pairs(oasst: tuple[Path, Path]) -> None:
    tree_out, message_out = oasst
    assert sorted(pairs(tree_out)["id"]) == sorted(pairs(message_out)["id"])
    assert_reconciled(message_out)


def test_kto_demo_pairs_its_one_pairable_prompt_and_exports_the_rest(shared_data: Path, tmp_path: Path) -> None:
    raw = shared_data / "llamafactory-dpo-kto" / "kto_en_demo.json"
    out = tmp_path / "out"
    cfg = {"sources": [{"shape": "feedback", "columns": {"conversation": "messages", "label": "label"}}], "output": {"kto_export": True}}
    c = prefdata.build(raw, out, config=cfg).counts
    assert c["pairs_written"] == 1
    assert c["rejected_by_reason"] == {"unpaired": 298}
    pair = pairs(out).row(0, named=True)
    assert len(pair["lineage"]) == 2  # the pair names both raw records
    records = json.loads(raw.read_text())
    up, down = (records[x["record"] - 1] for x in pair["lineage"])
    assert up["label"] is True and down["label"] is False
    assert up["messages"][:-1] == down["messages"][:-1]
    kto = pl.read_parquet(out / "kto" / "*.parquet")
    assert kto.height == 298
    rejected = set(rejects(out).get_column("record"))
    assert set(kto.select(pl.col("lineage").list.first().struct.field("record")).to_series()) == rejected
    for row in kto.head(20).iter_rows(named=True):
        rec = records[row["lineage"][0]["record"] - 1]
        assert row["label"] is rec["label"]
        assert row["completion"][0]["content"] == rec["messages"][-1]["content"]
    assert_reconciled(out)
    assert_reconciled_by_source(out)

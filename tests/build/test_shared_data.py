"""The real public data in ../shared/data (HH-RLHF, LLaMA-Factory) builds as the foundation issue requires."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

import prefdata
from tests.support.dataset import assert_reconciled, manifest, pairs, rejects


@pytest.fixture(scope="module")
def hh(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    raw = shared_data / "hh-rlhf-harmless-test" / "test.jsonl"
    out = tmp_path_factory.mktemp("hh") / "out"
    prefdata.build(raw, out)
    return raw, out


def test_hh_accounts_for_every_record(hh: tuple[Path, Path]) -> None:
    raw, out = hh
    m = manifest(out)
    assert m["inputs"][0]["records"] == 2312 == len(raw.read_text().splitlines())
    assert m["inputs"][0]["shape"] == "transcript"
    assert_reconciled(out)


def _raw_turns(text: str) -> list[tuple[str, str]]:
    """Split an HH transcript at its markers, independently of prefdata's polars implementation."""
    parts = re.split(r"\n\n(Human|Assistant):", text)
    assert parts[0] == ""
    return [({"Human": "user", "Assistant": "assistant"}[parts[i]], parts[i + 1].strip()) for i in range(1, len(parts), 2)]


def test_hh_prompts_end_with_user_and_keep_earlier_turns(hh: tuple[Path, Path]) -> None:
    raw, out = hh
    records = [json.loads(line) for line in raw.read_text().splitlines()]
    df = pairs(out)
    assert df.height > 2250
    multi_turn = 0
    for row in df.iter_rows(named=True):
        prompt = [(m["role"], m["content"]) for m in row["prompt"]]
        rec = records[row["lineage"][0]["record"] - 1]
        chosen, rejected = _raw_turns(rec["chosen"]), _raw_turns(rec["rejected"])
        # the prompt is every raw turn before the final assistant turn, roles and text in order ...
        assert prompt == chosen[:-1] == rejected[:-1]
        assert prompt[-1][0] == "user"
        multi_turn += len(prompt) > 1
        # ... and holds none of the final assistant turns, which are chosen/rejected
        assert [("assistant", row["chosen"][0]["content"])] == chosen[-1:]
        assert [("assistant", row["rejected"][0]["content"])] == rejected[-1:]
    assert multi_turn > 1000


def test_hh_diverging_transcripts_follow_the_rule(hh: tuple[Path, Path]) -> None:
    raw, out = hh
    records = [json.loads(line) for line in raw.read_text().splitlines()]
    diverging = {
        i + 1
        for i, r in enumerate(records)
        if r["chosen"].rsplit("\n\nAssistant:", 1)[0] != r["rejected"].rsplit("\n\nAssistant:", 1)[0]
    }
    rej = rejects(out)
    flagged = set(rej.filter(pl.col("reason") == "transcripts_diverge").get_column("record").to_list())
    # The rule: everything before the final assistant turns must be identical, else the pair is rejected.
    assert flagged == diverging
    assert len(flagged) == 5  # includes record 1951, whose rejected has two assistant turns in a row
    empties = rej.filter(pl.col("reason") == "empty_field")
    for rec_no in empties.get_column("record"):
        r = records[rec_no - 1]
        assert "" in (r["chosen"].rsplit("\n\nAssistant:", 1)[1].strip(), r["rejected"].rsplit("\n\nAssistant:", 1)[1].strip())


def test_llamafactory_dpo_en_demo(shared_data: Path, tmp_path: Path) -> None:
    raw = shared_data / "llamafactory-dpo-kto" / "dpo_en_demo.json"
    out = tmp_path / "out"
    result = prefdata.build(raw, out)
    c = result.counts
    # 300 records: 295 distinct pairs; the file holds 5 byte-identical duplicate records.
    assert c["records_read"] == 300
    assert c["pairs_written"] == 295
    assert c["rejected_by_reason"] == {"duplicate_pair": 5}
    df = pairs(out)
    system_turns = df.select(pl.col("prompt").list.eval(pl.element().struct.field("role") == "system").list.any()).to_series()
    raw_system = sum(any(t["from"] == "system" for t in r["conversations"]) for r in json.loads(raw.read_text()))
    assert raw_system > 0
    assert system_turns.sum() > 0
    assert df.select(pl.col("prompt").list.first().struct.field("role") == "system").to_series().sum() == system_turns.sum()
    assert_reconciled(out)
    kept = prefdata.build(raw, tmp_path / "kept", dedup=False)
    assert kept.counts["pairs_written"] == 300 and kept.counts["records_rejected"] == 0


def test_llamafactory_v1_messages(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = prefdata.build(shared_data / "llamafactory-dpo-kto" / "v1_dpo_demo.jsonl", out)
    assert result.counts["pairs_written"] == 10
    df = pairs(out)
    assert df.select(pl.col("chosen").list.len() == 1).to_series().all()
    assert df.select(pl.col("prompt").list.last().struct.field("role") == "user").to_series().all()
    assert_reconciled(out)

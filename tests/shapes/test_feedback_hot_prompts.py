"""A feedback prompt with very many votes is paired by walking its matches (``feedback_hot``) instead
of joining every up-vote with every down-vote: 4,000 votes on one prompt took 2.7 GB that way, and
20,000 ran out of memory. The walk must give exactly what the join gives."""

from __future__ import annotations

import json
import random
from pathlib import Path

import polars as pl
import pytest

import prefdata
from prefdata.shapes import feedback_hot
from tests.support.dataset import assert_reconciled, pairs, rejects


def _config(cap: int) -> dict:
    return {"sources": [{"shape": "feedback", "columns": {"prompt": "prompt", "response": "response", "label": "label"},
                         "max_pairs_per_prompt": cap}], "output": {"kto_export": True}}


def _votes(seed: int) -> list[dict]:
    rng = random.Random(seed)
    prompts = ["Reset my password", "reset my  password", "Hi", "hi", "Cancel my order"][: rng.randint(1, 5)]
    answers = [f"answer {i}" for i in range(rng.randint(1, 6))] + [" answer 0 ", "answer 1\n"]
    return [{"prompt": rng.choice(prompts), "response": rng.choice(answers), "label": rng.choice(["up", "down"])}
            for _ in range(rng.randint(2, 40))]


def _outcome(out: Path) -> tuple:
    kept = sorted(pairs(out).select("prompt", "chosen", "rejected", "lineage").rows(), key=repr)
    dropped = rejects(out).select("record", "reason", "detail").sort("record").rows()
    kto = pl.read_parquet(out / "kto" / "*.parquet").select("prompt", "completion", "label", "lineage").rows()
    return kept, dropped, kto


@pytest.mark.parametrize("seed", range(40))
def test_the_walk_gives_what_the_join_gives(tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(1000 + seed)
    raw = tmp_path / "votes.jsonl"
    raw.write_text("".join(json.dumps(v) + "\n" for v in _votes(seed)))
    config, dedup = _config(rng.randint(1, 4)), rng.random() < 0.7
    prefdata.build(raw, tmp_path / "join", config=config, dedup=dedup)
    monkeypatch.setattr(feedback_hot, "HOT_MATCHES", 0)  # every group with a match is walked
    prefdata.build(raw, tmp_path / "walk", config=config, dedup=dedup)
    assert _outcome(tmp_path / "walk") == _outcome(tmp_path / "join")
    assert_reconciled(tmp_path / "walk")


def test_a_prompt_with_twenty_thousand_votes_builds_in_bounded_memory(tmp_path: Path) -> None:
    """20,000 votes on one prompt: 100 million matches the join would have made."""
    rows = [{"prompt": "hi", "response": f"reply {i}", "label": "up" if i % 2 else "down"} for i in range(20_000)]
    rows += [{"prompt": "hi", "response": "reply 1", "label": "down"}] * 50  # matches of the same text
    raw = tmp_path / "votes.jsonl"
    raw.write_text("".join(json.dumps(v) + "\n" for v in rows))
    result = prefdata.build(raw, tmp_path / "out", config=_config(8))
    assert result.counts["pairs_written"] == 8
    assert result.counts["rejected_by_reason"]["unpaired"] == 20_000 - 16 + 1  # the first copy of reply 1 down is unpaired
    assert result.counts["rejected_by_reason"]["duplicate_record"] == 49
    assert_reconciled(tmp_path / "out")

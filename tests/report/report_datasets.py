"""Datasets for the report tests, written directly in the canonical layout (docs/contracts.md).

``write_dataset`` makes shards, manifest, rejects and checks.json without ``prefdata build`` or
``prefdata check``, so the report is tested against the contract rather than against whatever the
other stages currently do. ``rich_dataset`` has every feature a plot needs (scores, pairwise
positions, multi-turn prompts, token lengths in checks.json) and hostile HTML in every place where
data text can reach the page.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import polars as pl

from prefdata.build.output import sha256_file
from prefdata.schema import CANONICAL_SCHEMA, REJECT_SCHEMA, pair_id

XSS = "<script>alert(1)</script>"
#: Other markup that must be shown as typed: an event handler, a tag that would close the layout, a
#: Jinja expression, mathtext for matplotlib, a Markdown fence.
HOSTILE = [
    '<img src=x onerror="alert(2)">',
    "</div></main><h1>broken layout</h1>",
    '"><svg onload=alert(3)>',
    "{{ 7*7 }} {% raw %}",
    "$x^2$ costs $5",
    "```\nfenced\n```",
    "&amp; &lt;b&gt;",
]
POSITION = "chosen_position"


def msg(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def canonical_row(prompt, chosen, rejected, *, source="src", scores=(None, None), models=(None, None), record=1,
                  position: str | None = None) -> dict[str, Any]:
    row = {
        "id": pair_id(prompt, chosen, rejected),
        "prompt": prompt,
        "chosen": chosen,
        "rejected": rejected,
        "source": source,
        "score_chosen": scores[0],
        "score_rejected": scores[1],
        "chosen_model": models[0],
        "rejected_model": models[1],
        "lineage": [{"file": f"{source}.jsonl", "record": record}],
    }
    row[POSITION] = position
    return row


def write_dataset(
    root: Path,
    splits: dict[str, list[dict[str, Any]]],
    *,
    manifest: bool = True,
    rejects: list[dict[str, Any]] | None = None,
    checks: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
) -> Path:
    """Write ``root/data/{split}-00000-of-00001.parquet`` (+ manifest, rejects, checks.json).

    ``drop`` leaves optional columns out, as a dataset built by another tool might.
    """
    (root / "data").mkdir(parents=True, exist_ok=True)
    schema = {k: v for k, v in CANONICAL_SCHEMA.items() if k not in drop}
    outputs = []
    for split, rows in splits.items():
        rows = [{k: r.get(k) for k in schema} for r in rows]
        path = root / "data" / f"{split}-00000-of-00001.parquet"
        pl.DataFrame(rows, schema=schema).write_parquet(path)
        outputs.append({"path": f"data/{path.name}", "split": split, "rows": len(rows), "sha256": sha256_file(path)})
    rejects = rejects or []
    if rejects or manifest:
        (root / "rejects").mkdir(exist_ok=True)
        pl.DataFrame(rejects, schema=REJECT_SCHEMA).write_parquet(root / "rejects" / "rejects-00000-of-00001.parquet")
    if manifest:
        by_reason: dict[str, int] = {}
        for r in rejects:
            by_reason[r["reason"]] = by_reason.get(r["reason"], 0) + 1
        pairs = sum(len(r) for r in splits.values())
        doc = {
            "prefdata_version": "0.1.0",
            "config": {},
            "inputs": [{"path": "raw.jsonl", "source": "raw", "shape": "preference", "format": "jsonl",
                        "records": pairs + len(rejects), "sha256": "0" * 64}],
            "skipped_files": [],
            "outputs": outputs,
            "split": {"test_fraction": 0.2, "seed": 0, "key": "normalized prompt text"},
            "counts": {
                "records_read": pairs + len(rejects),
                "pairs_written": pairs,
                "records_rejected": len(rejects),
                "rejected_by_reason": by_reason,
                "pairs_by_split": {s: len(r) for s, r in splits.items()},
            },
        }
        (root / "manifest.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
    if checks is not None:
        (root / "checks.json").write_text(json.dumps(checks, indent=2), encoding="utf-8")
    return root


def simple_rows(n: int, *, source: str = "src", seed: int = 0) -> list[dict[str, Any]]:
    """``n`` single-turn pairs without scores or positions."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        prompt = [msg("user", f"Question {i} from {source}: " + "why " * rng.randint(1, 30))]
        chosen = [msg("assistant", "Because " + "indeed " * rng.randint(0, 60))]
        rejected = [msg("assistant", "No " + "idea " * rng.randint(0, 40))]
        rows.append(canonical_row(prompt, chosen, rejected, source=source, record=i + 1))
    return rows


def rich_splits(seed: int = 0) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """Pairs from three kinds of source plus one full of hostile markup; returns (splits, the hostile row)."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for i in range(60):  # pairwise arena: who won, shown first or second
        prompt = [msg("user", f"Arena question {i}? " + "tell me " * rng.randint(1, 20))]
        rows.append(canonical_row(prompt, [msg("assistant", "Sure. " + "detail " * rng.randint(5, 80))],
                                  [msg("assistant", "Hmm. " + "vague " * rng.randint(1, 50))], source="arena",
                                  models=("model-a", "model-b"), record=i + 1,
                                  position="a" if rng.random() < 0.62 else "b"))
    for i in range(50):  # rated: scores on both sides, a few reversed margins
        prompt = [msg("system", "Be helpful."), msg("user", f"Rate question {i}: " + "explain " * rng.randint(1, 15))]
        good = rng.uniform(5, 10)
        bad = good - rng.uniform(-0.5, 4)
        rows.append(canonical_row(prompt, [msg("assistant", "Answer " + "ok " * rng.randint(3, 90))],
                                  [msg("assistant", "Reply " + "meh " * rng.randint(3, 60))], source="ultrafeedback",
                                  scores=(good, bad), record=i + 1))
    for i in range(40):  # multi-turn transcripts
        turns = rng.randint(1, 4)
        prompt = []
        for t in range(turns):
            prompt.append(msg("user", f"Turn {t} of dialogue {i}: " + "hello " * rng.randint(1, 10)))
            if t < turns - 1:
                prompt.append(msg("assistant", "Reply " + "words " * rng.randint(1, 10)))
        rows.append(canonical_row(prompt, [msg("assistant", "Kind " + "help " * rng.randint(1, 40))],
                                  [msg("assistant", "Rude " + "no " * rng.randint(1, 40))], source="hh", record=i + 1))
    hostile_text = "\n".join([XSS, *HOSTILE])
    hostile = canonical_row(
        [msg("user", "Render this: " + hostile_text)],
        [msg("assistant", "Shown as text: " + XSS)],
        [msg("assistant", HOSTILE[0] + " " + HOSTILE[1])],
        source="arena<script>alert(4)</script>",
        scores=(2.0, 1.0),
        models=(XSS, "<b>model</b>"),
        record=999,
        position="b",
    )
    rows.append(hostile)
    rng.shuffle(rows)
    test = [r for r in rows if r is not hostile][:30]
    train = [r for r in rows if r not in test]
    return {"train": train, "test": test}, hostile


def checks_doc(offending: list[str], *, passed: bool = False) -> dict[str, Any]:
    """A checks.json in the contract's format, with token lengths in the truncation check's statistic."""
    edges = [0, 64, 128, 256, 384, 512, 768, 1024]
    return {
        "prefdata_version": "0.1.0",
        "dataset": "OUT",
        "engine": "polars",
        "suite": "canonical",
        "strict": False,
        "passed": passed,
        "summary": {"error": 1, "warn": 1, "info": 1, "checks": 6, "failed": 3},
        "expectations": [
            {"expectation_type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}, "severity": "error",
             "success": True, "result": {"element_count": 151, "unexpected_count": 0, "unexpected_percent": 0.0,
                                         "partial_unexpected_list": []}},
            {"expectation_type": "expect_column_values_to_match_regex", "kwargs": {"column": "source", "regex": "^[a-z]+$"},
             "severity": "error", "success": False,
             "result": {"element_count": 151, "unexpected_count": 1, "unexpected_percent": 0.66,
                        "partial_unexpected_list": ["arena<script>alert(4)</script>"]}},
        ],
        "checks": [
            {"id": "identical_pairs", "severity": "error", "passed": True, "statistic": {"count": 0},
             "offending_ids": [], "offending_count": 0, "message": "no identical pairs"},
            {"id": "length_bias", "severity": "warn", "passed": False,
             "statistic": {"share_chosen_longer": 0.71, "cohens_d": 0.52,
                           "by_source": {"arena": {"share_chosen_longer": 0.8}, XSS: {"share_chosen_longer": 1.0}}},
             "threshold": {"max_share_chosen_longer": 0.65}, "offending_ids": offending, "offending_count": 12,
             "message": "71% of pairs prefer the longer response " + XSS},
            {"id": "position_bias", "severity": "warn", "passed": True, "statistic": {"share_a_wins": 0.6},
             "offending_ids": [], "offending_count": 0, "message": "A wins 60%"},
            {"id": "truncation_identical", "severity": "info", "passed": False,
             "statistic": {"tokenizer": "tiny-bpe", "max_length": 512,
                           "length_histogram": {"bin_edges": edges, "chosen": [10, 40, 50, 30, 12, 6, 3],
                                                "rejected": [14, 50, 45, 25, 10, 5, 2]}},
             "offending_ids": ["0" * 64], "offending_count": 9,
             "message": "9 pairs exceed max_length=512"},
        ],
    }


REJECTS = [
    {"file": "raw.jsonl", "record": 1000, "source": "arena", "reason": "tie", "field": "winner", "detail": "both good",
     "raw": '{"winner": "tie"}'},
    {"file": "raw.jsonl", "record": 1001, "source": "arena", "reason": "tie", "field": "winner", "detail": None,
     "raw": '{"winner": "tie"}'},
    {"file": "raw.jsonl", "record": 1002, "source": "hh", "reason": "malformed_json", "field": None,
     "detail": "Expecting value " + XSS, "raw": "{not json " + HOSTILE[0]},
]

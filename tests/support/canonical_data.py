"""Canonical preference datasets written directly (no ``prefdata build``), and a learnable synthetic task.

``write_canonical`` lays out ``OUT/data/{split}-00000-of-00001.parquet`` + ``manifest.json`` exactly as
docs/contracts.md describes, with ids from :func:`prefdata.schema.pair_id`, so training tests do not
depend on the build stage.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import polars as pl

from prefdata.schema import CANONICAL_SCHEMA, pair_id

#: The synthetic task: whatever the prompt, the preferred answer names a fruit, the rejected one a
#: non-food object. The signal is in the response tokens, so a tiny model can learn it in seconds,
#: and it generalises to held-out prompts (new names, new fruit/object combinations).
FRUITS = ["apple", "pear", "plum", "grape", "melon", "peach", "lemon", "mango", "cherry", "lime"]
OBJECTS = ["stone", "brick", "glass", "nail", "sand", "rust", "coal", "tar", "chalk", "wire"]
NAMES = [
    "Ada",
    "Bo",
    "Cy",
    "Dee",
    "Eli",
    "Fay",
    "Gus",
    "Hal",
    "Ivy",
    "Jo",
    "Kai",
    "Lu",
    "Mo",
    "Ned",
    "Oz",
    "Pia",
    "Quin",
    "Rex",
    "Sue",
    "Tom",
    "Uma",
    "Vic",
    "Wes",
    "Xia",
    "Yul",
    "Zed",
    "Ari",
    "Ben",
    "Cal",
    "Dan",
]
TEMPLATES = [
    "Pick a snack for {name}.",
    "What should {name} eat?",
    "Choose lunch for {name}.",
    "{name} is hungry. Ideas?",
]


def preference_rows(n: int, *, seed: int, names: list[str] | None = None, swap: bool = False) -> list[dict]:
    """``n`` distinct synthetic pairs; ``swap=True`` exchanges chosen and rejected (a mislabelled copy)."""
    rng = random.Random(seed)
    names = names or NAMES
    seen: set[tuple] = set()
    rows = []
    while len(rows) < n:
        name, template = rng.choice(names), rng.choice(TEMPLATES)
        good, bad = rng.choice(FRUITS), rng.choice(OBJECTS)
        key = (name, template, good, bad)
        if key in seen:
            continue
        seen.add(key)
        prompt = [{"role": "user", "content": template.format(name=name)}]
        chosen = [{"role": "assistant", "content": f"{name} gets a {good}."}]
        rejected = [{"role": "assistant", "content": f"{name} gets a {bad}."}]
        if swap:
            chosen, rejected = rejected, chosen
        rows.append({"prompt": prompt, "chosen": chosen, "rejected": rejected})
    return rows


def synthetic_task(
    n_train: int = 240, n_test: int = 60, *, seed: int = 0, swap_train: bool = False
) -> dict[str, list[dict]]:
    """Train and test splits over disjoint names (no prompt leaks); only the train split is ever swapped."""
    train_names, test_names = NAMES[:22], NAMES[22:]
    return {
        "train": preference_rows(n_train, seed=seed, names=train_names, swap=swap_train),
        "test": preference_rows(n_test, seed=seed + 1, names=test_names),
    }


def canonical_frame(rows: list[dict], *, source: str = "synthetic") -> pl.DataFrame:
    records = []
    for i, row in enumerate(rows):
        records.append(
            {
                "id": pair_id(row["prompt"], row["chosen"], row["rejected"]),
                "prompt": row["prompt"],
                "chosen": row["chosen"],
                "rejected": row["rejected"],
                "source": source,
                "score_chosen": None,
                "score_rejected": None,
                "chosen_model": None,
                "rejected_model": None,
                "lineage": [{"file": f"{source}.jsonl", "record": i + 1}],
            }
        )
    return pl.DataFrame(records, schema=CANONICAL_SCHEMA)


def write_canonical(out: str | Path, splits: dict[str, list[dict]], *, manifest: bool = True) -> Path:
    """Write ``splits`` as a canonical dataset directory at ``out``; returns ``out``."""
    out = Path(out)
    (out / "data").mkdir(parents=True, exist_ok=True)
    outputs = []
    for split, rows in splits.items():
        path = out / "data" / f"{split}-00000-of-00001.parquet"
        canonical_frame(rows).write_parquet(path)
        outputs.append(
            {
                "path": str(path.relative_to(out)),
                "split": split,
                "rows": len(rows),
                "bytes": path.stat().st_size,
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            }
        )
    if manifest:
        doc = {
            "prefdata_version": "0.1.0",
            "config": {},
            "inputs": [],
            "skipped_files": [],
            "outputs": outputs,
            "split": {"test_fraction": None, "seed": 0, "key": "synthetic"},
            "counts": {"pairs_written": sum(len(r) for r in splits.values())},
        }
        (out / "manifest.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return out


def all_texts(splits: dict[str, list[dict]]) -> list[str]:
    """Every message text, to train a tokenizer on."""
    return [
        m["content"]
        for rows in splits.values()
        for row in rows
        for key in ("prompt", "chosen", "rejected")
        for m in row[key]
    ]

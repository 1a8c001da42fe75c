"""Small canonical datasets written from a few readable rows, for the check tests."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from prefdata.schema import CANONICAL_SCHEMA, pair_id


def _messages(value, role: str) -> list[dict]:
    return [{"role": role, "content": value}] if isinstance(value, str) else value


def write_rows(out: Path, rows: list[dict]) -> Path:
    """``rows``: dicts with ``prompt``/``chosen``/``rejected`` (a string or a message list) and
    optionally ``split`` (default train), ``source``, ``chosen_position`` and the scores; ids are content hashes."""
    by_split: dict[str, list[dict]] = {}
    for i, row in enumerate(rows):
        p, c, r = _messages(row["prompt"], "user"), _messages(row["chosen"], "assistant"), _messages(row["rejected"], "assistant")
        by_split.setdefault(row.get("split", "train"), []).append({
            "id": pair_id(p, c, r), "prompt": p, "chosen": c, "rejected": r, "source": row.get("source", "s"),
            "score_chosen": row.get("score_chosen"), "score_rejected": row.get("score_rejected"), "chosen_model": None, "rejected_model": None,
            "chosen_position": row.get("chosen_position"), "lineage": [{"file": "rows.jsonl", "record": i + 1}],
        })
    (out / "data").mkdir(parents=True, exist_ok=True)
    for split, records in by_split.items():
        pl.DataFrame(records, schema=CANONICAL_SCHEMA).write_parquet(out / "data" / f"{split}-00000-of-00001.parquet")
    return out


def ids_of(out: Path, predicate) -> set[str]:
    """The ids of the pairs whose first prompt message satisfies ``predicate``."""
    frame = pl.read_parquet(out / "data" / "*.parquet")
    return {i for i, p in zip(frame["id"], frame["prompt"]) if predicate(p[0]["content"])}

"""Pairs to show as conversations: a seeded random sample, and the offending pairs named by checks.

Both are fetched in one filtered scan, so a report on a million pairs reads the texts once more at
most. Texts are truncated for display here and escaped by the renderers (never here: escaping is the
job of the output format).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from prefdata.report.dataset import Dataset
from prefdata.report.numbers import decimal

#: A message longer than this is cut for display, with the number of hidden characters shown.
MAX_MESSAGE_CHARS = 1500
#: A prompt with more messages shows only its last ones (the turns that lead to the responses).
MAX_PROMPT_MESSAGES = 6


@dataclass(frozen=True)
class MessageView:
    role: str
    content: str
    hidden_chars: int = 0


@dataclass(frozen=True)
class PairView:
    """One pair ready to render: texts truncated, metadata flattened to display strings."""

    id: str
    split: str
    source: str
    prompt: list[MessageView]
    hidden_prompt_messages: int
    chosen: list[MessageView]
    rejected: list[MessageView]
    meta: dict[str, str]


def _message(m: dict[str, Any] | None) -> MessageView:
    m = m or {}
    content = m.get("content") or ""
    role = m.get("role") or "?"
    if len(content) > MAX_MESSAGE_CHARS:
        return MessageView(role, content[:MAX_MESSAGE_CHARS], len(content) - MAX_MESSAGE_CHARS)
    return MessageView(role, content)


def pair_view(row: dict[str, Any]) -> PairView:
    """Turn a canonical row (as a dict) into a :class:`PairView`."""
    prompt = list(row.get("prompt") or [])
    hidden = max(0, len(prompt) - MAX_PROMPT_MESSAGES)
    meta: dict[str, str] = {}
    for key in ("score_chosen", "score_rejected", "chosen_model", "rejected_model", "chosen_position"):
        if row.get(key) is not None:
            meta[key] = decimal(row[key], 4) if isinstance(row[key], float) else str(row[key])
    lineage = row.get("lineage") or []
    if lineage:
        shown = ", ".join(f"{x.get('file')}:{x.get('record')}" for x in lineage[:3])
        meta["lineage"] = shown + (f" (+{len(lineage) - 3} more)" if len(lineage) > 3 else "")
    return PairView(
        id=row.get("id") or "",
        split=row.get("split") or "",
        source=row.get("source") or "",
        prompt=[_message(m) for m in prompt[hidden:]],
        hidden_prompt_messages=hidden,
        chosen=[_message(m) for m in row.get("chosen") or []],
        rejected=[_message(m) for m in row.get("rejected") or []],
        meta=meta,
    )


def sample_indices(total: int, k: int, seed: int) -> list[int]:
    """``k`` distinct row positions out of ``total``, the same for the same seed and dataset size."""
    k = min(k, total)
    if k <= 0:
        return []
    return sorted(np.random.default_rng(seed).choice(total, size=k, replace=False).tolist())


def _positions(positions: list[int]) -> pl.Series:
    """Row positions as the one-element list `is_in` takes (a bare Series would be matched element-wise)."""
    return pl.Series(positions, dtype=pl.get_index_type()).implode()


def fetch(ds: Dataset, *, total: int, sample: int, seed: int, ids: Iterable[str] = ()) -> tuple[list[PairView], dict[str, PairView]]:
    """Return the seeded sample (in row order) and the pairs whose ``id`` is in ``ids``, by id.

    Two streaming passes keep memory flat at any size: the ``id`` column alone finds the ids at the
    sampled positions, then one filter on ``id`` decodes the texts of just those pairs. (Filtering
    on a row index instead makes polars decode every text: 2x the peak memory at 1M pairs.)
    """
    positions = sample_indices(total, sample, seed)
    wanted = set(ids) if "id" in ds.schema else set()
    if not positions and not wanted:
        return [], {}
    if "id" not in ds.schema:  # a dataset built elsewhere without ids: fall back to the row index
        at_positions = ds.scan().with_row_index("_row").filter(pl.col("_row").is_in(_positions(positions)))
        return [pair_view(r) for r in ds.collect(at_positions, "fetching the sample").to_dicts()], {}
    at_positions = ds.scan(["id"]).with_row_index("_row").filter(pl.col("_row").is_in(_positions(positions)))
    # A pair with a null id cannot be fetched by id; it is left out of the sample rather than crash the sort.
    sample_ids = [i for i in ds.collect(at_positions, "drawing the sample")["id"].to_list() if i is not None]
    needed = sorted(set(sample_ids) | wanted)
    by_needed = ds.scan().filter(pl.col("id").is_in(pl.Series(needed, dtype=pl.String).implode()))
    rows = ds.collect(by_needed, "fetching pairs to show")
    by_id: dict[str, PairView] = {}
    for r in rows.iter_rows(named=True):
        by_id.setdefault(r["id"], pair_view(r))  # an exact duplicate kept by the build shows once
    sampled = [by_id[i] for i in sample_ids if i in by_id]
    return sampled, {i: v for i, v in by_id.items() if i in wanted}

"""Pairs to show as conversations: a seeded random sample, and the offending pairs named by checks.

Both are fetched by position: the sample is a set of row positions, and the names in checks.json are
resolved to positions first in a narrow scan of the ``id`` column. The rows are then read by Parquet
row group (:meth:`Dataset.read_rows`): each row group that holds any of them is decoded once, a batch
at a time, so however many pairs are shown the cost stays within one read of the data and memory
within one batch. Texts are truncated for display here and escaped by the
renderers (never here: escaping is the job of the output format).

``prefdata check`` names an offending pair by its ``id`` (recomputed from the messages where a shard
has no ``id`` column), or by its place, ``row N of data/<shard>.parquet``, where the id is null
(docs/contracts.md). :func:`fetch` resolves a name to exactly the rows check would give that name.
An id that several different pairs share (data built elsewhere) cannot tell which of them offended,
so all of them are returned and the report says that the id is shared.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from prefdata.check.checks.bias import NO_SOURCE
from prefdata.report.dataset import Dataset
from prefdata.report.numbers import decimal

#: A message longer than this is cut for display, with the number of hidden characters shown.
MAX_MESSAGE_CHARS = 1500
#: A prompt with more messages shows only its last ones (the turns that lead to the responses).
MAX_PROMPT_MESSAGES = 6
#: Rows read for one name of checks.json: an id that every row shares must not fetch every row.
MAX_ROWS_PER_NAME = 5
#: How ``prefdata check`` names a pair whose id is null (:meth:`prefdata.check.dataset.Dataset.locate`):
#: the row within its shard, 0-based, and the shard's path relative to the dataset.
LOCATION = "row {} of {}"


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
        source=NO_SOURCE if row.get("source") is None else row["source"],  # as the tables name source-less pairs
        prompt=[_message(m) for m in prompt[hidden:]],
        hidden_prompt_messages=hidden,
        chosen=[_message(m) for m in row.get("chosen") or []],
        rejected=[_message(m) for m in row.get("rejected") or []],
        meta=meta,
    )


@dataclass(frozen=True)
class NamedPairs:
    """The pairs that one name in checks.json refers to.

    ``pairs``: the distinct pairs among the first :data:`MAX_ROWS_PER_NAME` rows with that name, in
    row order (copies of one pair show once); ``rows``: how many rows have the name. More than one
    pair means the id is shared by different pairs, and checks.json cannot say which one offended.
    """

    pairs: list[PairView]
    rows: int


def sample_indices(total: int, k: int, seed: int) -> list[int]:
    """``k`` distinct row positions out of ``total``, the same for the same seed and dataset size."""
    k = min(k, total)
    if k <= 0:
        return []
    return sorted(np.random.default_rng(seed).choice(total, size=k, replace=False).tolist())


def short_id(name: str) -> str:
    """A name for display: a content hash cut to 16 characters, any other id or a place in full."""
    return name[:16] if len(name) == 64 and all(c in "0123456789abcdef" for c in name) else name


def _name_expr(shard_name: str) -> pl.Expr:
    """Check's name of each row of a shard with a ``_r`` row index: its id, or its place if the id is null."""
    return pl.coalesce(pl.col("id"), pl.format(LOCATION, pl.col("_r"), pl.lit(shard_name))).alias("_name")


#: Columns of :func:`_positions_of`: shard index, row within the shard, name, rows with that name.
LOCATED = pl.Schema({"_shard": pl.Int32, "_r": pl.get_index_type(), "_name": pl.String, "_rows": pl.get_index_type()})


def _positions_of(ds: Dataset, shards: list[Path], names: set[str]) -> pl.DataFrame:
    """:data:`LOCATED` of the first :data:`MAX_ROWS_PER_NAME` rows with each of ``names``, in row order.

    Reads only the ``id`` column (the messages, in a shard whose ids check computed from them).
    """
    if not names:
        return pl.DataFrame(schema=LOCATED)
    wanted = pl.Series(sorted(names), dtype=pl.String).implode()
    frames = [
        ds.scan_shard(f, ["id"])
        .with_row_index("_r")
        .select(pl.lit(i).alias("_shard"), "_r", _name_expr(ds.shard_name(f)))
        .filter(pl.col("_name").is_in(wanted))
        for i, f in enumerate(shards)
    ]
    found = ds.collect(pl.concat(frames, how="vertical"), "finding the offending pairs").sort("_shard", "_r")
    first = pl.int_range(pl.len()).over("_name") < MAX_ROWS_PER_NAME
    return found.with_columns(pl.len().over("_name").alias("_rows")).filter(first).cast(dict(LOCATED))


def _rows_at(ds: Dataset, shards: list[Path], positions: list[tuple[int, int]]) -> dict[tuple[int, int], dict[str, Any]]:
    """The rows at (shard index, row within the shard); each row group holding any of them is read
    once for all of them (:meth:`Dataset.read_rows`)."""
    by_shard: dict[int, list[int]] = {}
    for i, r in positions:
        by_shard.setdefault(i, []).append(r)
    found: dict[tuple[int, int], dict[str, Any]] = {}
    for i, rows in sorted(by_shard.items()):
        read = ds.read_rows(shards[i], rows).with_columns(pl.lit(i).alias("_shard"), _name_expr(ds.shard_name(shards[i])))
        found.update(((i, row["_r"]), row) for row in read.iter_rows(named=True))
    return found


def _view(row: dict[str, Any]) -> PairView:
    """:func:`pair_view` of a fetched row, named as check names it (a null id by its place)."""
    return pair_view(row | {"id": row["_name"]})


def _in_shards(positions: list[int], counts: list[int]) -> list[tuple[int, int]]:
    """Global row positions (in :meth:`Dataset.scan` order) as (shard index, row within the shard)."""
    starts = list(itertools.accumulate(counts, initial=0))
    shard_of = [bisect.bisect_right(starts, p) - 1 for p in positions]
    return [(i, p - starts[i]) for i, p in zip(shard_of, positions)]


def _same_pair(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a[c] == b[c] for c in ("prompt", "chosen", "rejected"))


def _named(located: pl.DataFrame, rows: dict[tuple[int, int], dict[str, Any]]) -> dict[str, NamedPairs]:
    """Group the fetched rows by name; copies of one pair (same messages) show once."""
    distinct: dict[str, list[dict[str, Any]]] = {}
    counts: dict[str, int] = {}
    for name, shard, r, count in located.select("_name", "_shard", "_r", "_rows").iter_rows():
        row, seen = rows[(shard, r)], distinct.setdefault(name, [])
        counts[name] = count
        if not any(_same_pair(row, other) for other in seen):
            seen.append(row)
    return {name: NamedPairs(pairs=[_view(r) for r in seen], rows=counts[name]) for name, seen in distinct.items()}


def fetch(
    ds: Dataset, *, total: int, sample: int, seed: int, ids: Iterable[str] = ()
) -> tuple[list[PairView], dict[str, NamedPairs]]:
    """Return the seeded sample (in row order) and, for each name in ``ids`` found in the data, its pairs.

    ``ids`` are names as checks.json writes them (see the module docstring); a name that is not in
    the data is left out, and the report says so.
    """
    positions = sample_indices(total, sample, seed)
    names = set(ids)
    if not positions and not names:
        return [], {}
    shards, counts = map(list, zip(*ds.shard_rows()))
    at = _in_shards(positions, counts)
    located = _positions_of(ds, shards, names)
    rows = _rows_at(ds, shards, sorted(set(at) | set(located.select("_shard", "_r").iter_rows())))
    return [_view(rows[p]) for p in at], _named(located, rows)

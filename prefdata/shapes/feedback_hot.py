"""Pairing a feedback prompt with very many votes without building every up x down match.

:meth:`prefdata.shapes.feedback.FeedbackShape.combine` pairs votes by joining a prompt's up-votes with
its down-votes: every match is a row, then the first ``max_pairs_per_prompt`` new ones are written.
That is quadratic in the votes of one prompt: a "hi" with 4,000 votes was 4 million match rows and
2.7 GB, 20,000 votes ran out of memory. Such a *hot* group is paired here instead, with the same result:

- the matches are walked in the join's order (round by round, :func:`prefdata.shapes.feedback._rounds`),
  a round at a time as numpy arrays, only until the cap is reached (usually in the first round);
- the fate of each record left over (``unpaired``, ``duplicate_pair`` or ``identical_responses``) is
  decided from counts of distinct texts instead of from its matches.

Texts are compared by 64-bit hashes (of the exact response, of the up-vote's prompt and response, and
of the trimmed contents); a test checks both paths agree on random groups.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import polars as pl

from prefdata.schema import trimmed_contents

#: A prompt group with more up x down matches than this is paired here, not by the join.
HOT_MATCHES = 250_000


def _keys(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        trimmed_contents(pl.col("response")).hash(1).alias("__trim"),
        pl.col("response").hash(2).alias("__resp"),
        pl.struct("prompt", "response").hash(3).alias("__upkey"),
    )


def hot_groups(h: pl.DataFrame) -> pl.Series:
    """The ``_group`` values of ``h`` (half-pairs with ``label``) whose matches exceed :data:`HOT_MATCHES`."""
    sizes = h.group_by("_group").agg((pl.col("label") == "up").sum().alias("u"), (pl.col("label") == "down").sum().alias("d"))
    return sizes.filter(pl.col("u").cast(pl.Int64) * pl.col("d").cast(pl.Int64) > HOT_MATCHES).get_column("_group")


def pair_hot(h: pl.DataFrame, keep: list[str], cap: int, *, dedup: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the written matches, as the join's rows: ``keep`` columns and the same with ``_d``; the fate of
    every record of a match left over: ``_order``, ``__reason``) for the hot groups in ``h``."""
    written: list[pl.DataFrame] = []
    fates: list[tuple[int, str]] = []
    for group in _keys(h).sort("_group", "_order").partition_by("_group", maintain_order=True):
        ups = group.filter(pl.col("label") == "up").sort("__k")
        downs = group.filter(pl.col("label") == "down").sort("__k")
        pairs = _walk(ups, downs, cap, dedup=dedup)
        ku, kd = [p[0] for p in pairs], [p[1] for p in pairs]
        written.append(pl.concat([ups[ku].select(keep), downs[kd].select([pl.col(c).alias(f"{c}_d") for c in keep if c != "_group"])],
                                 how="horizontal"))
        fates += _fates(ups, downs, ku, kd, dedup=dedup)
    fate_frame = pl.DataFrame(fates, schema={"_order": h.schema["_order"], "__reason": pl.String}, orient="row")
    return pl.concat(written), fate_frame


def _walk(ups: pl.DataFrame, downs: pl.DataFrame, cap: int, *, dedup: bool) -> list[tuple[int, int]]:
    """(up, down) positions of the written pairs, in the join's order: round by round, each round
    every up (or down, whichever are fewer) matched once; a match of the same text, or (``dedup``) one
    repeating a pair already made, is skipped and does not count toward ``cap``."""
    n_up, n_down = ups.height, downs.height
    trim_u, trim_d = ups.get_column("__trim").to_numpy(), downs.get_column("__trim").to_numpy()
    # a match's pair is (the up's prompt and response, the down's response): one 64-bit key
    upkey, resp = ups.get_column("__upkey").to_numpy(), downs.get_column("__resp").to_numpy()
    more_ups = n_up >= n_down
    positions = np.arange(max(n_up, n_down))
    seen: set[int] = set()
    out: list[tuple[int, int]] = []
    # once every pair of different texts has been made, the rounds left hold only matches of the same
    # text and repeats: a canned reply voted 40,000 times took every round (22 s) to find nothing
    goal = min(cap, _distinct_pairs(ups, downs) if dedup else _different_text_matches(trim_u, trim_d))
    for r in range(min(n_up, n_down) if goal else 0):
        if more_ups:
            ku, kd = positions, (positions + r) % n_down
        else:
            kd, ku = positions, (positions + r) % n_up
        new = trim_u[ku] != trim_d[kd]
        key = upkey[ku] ^ (resp[kd] * np.uint64(0x9E3779B97F4A7C15))
        if dedup:
            new &= ~np.isin(key, np.fromiter(seen, np.uint64, len(seen)))
            _, first = np.unique(key[new], return_index=True)
            at = np.flatnonzero(new)[np.sort(first)]  # the first match of each pair this round, in order
        else:
            at = np.flatnonzero(new)
        for i in at[: cap - len(out)]:
            out.append((int(ku[i]), int(kd[i])))
            seen.add(int(key[i]))
        if len(out) >= goal:
            break
    return out


def _different_text_matches(trim_u: np.ndarray, trim_d: np.ndarray) -> int:
    """How many matches are of different texts (each a pair without dedup)."""
    texts, counts = np.unique(trim_d, return_counts=True)
    same = dict(zip(texts.tolist(), counts.tolist()))
    return int(len(trim_u) * len(trim_d) - sum(same.get(t, 0) for t in trim_u.tolist()))


def _distinct_pairs(ups: pl.DataFrame, downs: pl.DataFrame) -> int:
    """How many different pairs the matches can make: (up-vote's prompt and response, down-vote's
    response) of different texts."""
    responses = _keys_by_text(downs, "__resp")
    total = sum(len(v) for v in responses.values())
    return sum(total - len(responses.get(trim, ())) for trim, keys in _keys_by_text(ups, "__upkey").items() for _ in keys)


def _keys_by_text(side: pl.DataFrame, key: str) -> dict[int, set[int]]:
    """``side``'s distinct pair keys (an up-vote's prompt and response, a down-vote's response) by
    trimmed text: a record's matches of different text repeat pairs only with the other texts' keys."""
    out: dict[int, set[int]] = defaultdict(set)
    for trim, k in side.select("__trim", key).unique().iter_rows():
        out[trim].add(k)
    return out


def _fates(ups: pl.DataFrame, downs: pl.DataFrame, ku: list[int], kd: list[int], *, dedup: bool) -> list[tuple[int, str]]:
    """The reason of each record no written pair uses, as the join decides it from all its matches:
    ``identical_responses`` when every match is the same text; ``duplicate_pair`` when (``dedup``)
    every other match repeats a pair written; else ``unpaired`` (over the cap)."""
    out = []
    for side, other, used, key, other_key, written_by in (
        (ups, downs, set(ku), "__upkey", "__resp", _written(ups, downs, ku, kd, "__upkey", "__resp")),
        (downs, ups, set(kd), "__resp", "__upkey", _written(downs, ups, kd, ku, "__resp", "__upkey")),
    ):
        by_trim = _keys_by_text(other, other_key)
        total = sum(len(v) for v in by_trim.values())
        for pos, (order, trim, k) in enumerate(side.select("_order", "__trim", key).iter_rows()):
            if pos in used:
                continue
            others = total - len(by_trim.get(trim, ()))
            if others == 0:
                reason = "identical_responses"
            elif not dedup or others > len(written_by.get(k, ())):
                reason = "unpaired"
            else:
                partners = set().union(*(v for t, v in by_trim.items() if t != trim))
                reason = "duplicate_pair" if partners <= written_by.get(k, set()) else "unpaired"
            out.append((order, reason))
    return out


def _written(side: pl.DataFrame, other: pl.DataFrame, at: list[int], other_at: list[int], key: str, other_key: str) -> dict[int, set[int]]:
    """For each of ``side``'s keys, the ``other`` keys it was written with."""
    keys, partners = side.get_column(key).to_list(), other.get_column(other_key).to_list()
    out: dict[int, set[int]] = defaultdict(set)
    for i, j in zip(at, other_at):
        out[keys[i]].add(partners[j])
    return out

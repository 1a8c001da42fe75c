"""Near matches found by MinHash LSH: near-identical responses and near-duplicate pairs.

- ``near_identical_responses``: chosen and rejected are not identical but their word-3-gram shingle
  sets reach ``min_jaccard`` (default 0.8: about one edited word in thirty). The preference then
  rests on a trivial difference (a typo, a trailing sentence) and mostly teaches noise.
- ``near_duplicates``: two pairs whose prompt, chosen and rejected *each* reach ``min_jaccard``
  against the other's (whitespace, casing and punctuation edits of the same pair). They weigh
  double like exact duplicates but hide from exact matching. Offending ids are every pair in a
  near-duplicate cluster.

Both come from one similarity pass (:mod:`prefdata.check.similarity`), which is also used by
``prompt_leakage_near`` and timed separately in ``CheckResult.seconds``.
"""

from __future__ import annotations

import time

import numpy as np
import polars as pl

from prefdata.check import minhash as mh
from prefdata.check.checks.base import Context, count_outcome, plural, run_enabled, share
from prefdata.check.checks.pairs import _json_hash, prompt_key, same_responses
from prefdata.check.config import CheckConfig
from prefdata.check.results import CheckOutcome
from prefdata.check.similarity import SimilarityFindings, find_similar


def features(config: CheckConfig) -> dict[str, pl.Expr]:
    c = config.checks
    if not (c.near_identical_responses.enabled or c.near_duplicates.enabled or c.prompt_leakage_near.enabled):
        return {}
    out = {"_prompt_h": _json_hash("prompt"), "_chosen_h": _json_hash("chosen"), "_rejected_h": _json_hash("rejected")}
    out["_prompt_key"] = prompt_key()
    if c.near_identical_responses.enabled:  # what identical_responses counts is not near-identical too
        out["_same_responses"] = same_responses()
    return out


def similarity(ctx: Context) -> SimilarityFindings:
    """The similarity pass, run once for all checks that use it."""

    def compute() -> SimilarityFindings:
        c = ctx.config.checks
        t = time.perf_counter()
        ctx.progress.phase("checks: near duplicates (MinHash LSH)", total=ctx.frame.height)
        keys = ["_row", "split", "_prompt_h", "_chosen_h", "_rejected_h", "_prompt_key"]
        found = find_similar(
            ctx.dataset,
            ctx.frame.select(*keys, *(["_same_responses"] if c.near_identical_responses.enabled else [])),
            ctx.config.minhash,
            near_identical=c.near_identical_responses.min_jaccard if c.near_identical_responses.enabled else None,
            near_duplicates=c.near_duplicates.min_jaccard if c.near_duplicates.enabled else None,
            leakage=c.prompt_leakage_near.min_jaccard if c.prompt_leakage_near.enabled else None,
            on_batch=ctx.progress.advance,
        )
        ctx.seconds["similarity"] = time.perf_counter() - t
        return found

    return ctx.cached("similarity", compute)


def _near_identical(ctx: Context) -> CheckOutcome:
    found = similarity(ctx)
    rows = found.near_identical.get_column("_row")
    ids = ctx.ids_of_rows(rows)
    statistic = {
        "pairs": len(ids),
        "share": share(len(ids), ctx.frame.height),
        "min_jaccard_found": found.near_identical.get_column("jaccard").min() if rows.len() else None,
        "candidates_verified": found.stats.get("near_identical_candidates", 0),
    }
    message = f"{plural(len(ids), 'pair')} whose responses are near-identical" if ids else "no pair has near-identical responses"
    return count_outcome(ctx, "near_identical_responses", ids, statistic, message)


def _near_duplicates(ctx: Context) -> CheckOutcome:
    found = similarity(ctx)
    edges = found.near_duplicates
    if edges.height:
        nodes = pl.concat([edges.get_column("a"), edges.get_column("b")]).unique().sort()
        keys = nodes.to_numpy()
        a = np.searchsorted(keys, edges.get_column("a").to_numpy())
        b = np.searchsorted(keys, edges.get_column("b").to_numpy())
        clusters = len(np.unique(mh.connected_components(len(keys), a, b)))
        rows = nodes
    else:
        clusters, rows = 0, pl.Series([], dtype=pl.Int64)
    ids = ctx.ids_of_rows(rows)
    statistic = {
        "clusters": clusters,
        "pairs_in_clusters": len(ids),
        "share": share(len(ids), ctx.frame.height),
        "candidates_verified": found.stats.get("near_duplicate_candidates", 0),
        "verified_edges": edges.height,
    }
    message = f"{plural(len(ids), 'pair')} in {plural(clusters, 'near-duplicate cluster')}" if ids else "no near-duplicate pairs"
    return count_outcome(ctx, "near_duplicates", ids, statistic, message)


def run(ctx: Context) -> list[CheckOutcome]:
    return run_enabled(ctx, {"near_identical_responses": _near_identical, "near_duplicates": _near_duplicates})

"""The similarity pass: MinHash LSH over every pair, shared by three checks.

One streaming scan turns prompt, chosen and rejected into word hashes (polars, all cores), then per
batch (several batches at once, on threads: numpy releases the GIL) into shingles and signatures
(numpy, :mod:`prefdata.check.minhash`):

- near-identical responses: the one-permutation signatures of a row's chosen and rejected give a
  Jaccard estimate; rows whose estimate could reach the threshold (allowing three standard errors)
  are verified exactly, in the batch.
- near-duplicate pairs: the signature of the whole pair (elementwise minimum of the three fields'
  signatures, i.e. the signature of the union of their shingles) is banded; rows sharing a band are
  candidates, verified by the exact Jaccard of prompt, chosen and rejected separately.
- near prompt leakage: prompts are short, so they get classic k-permutation signatures; candidates
  joining a training row (:func:`prefdata.splits.is_train_split`) to a row of another split are verified on the prompt's exact Jaccard.

Verification reads only the candidate rows again. Exact duplicates and exactly equal prompts are left
to ``exact_duplicates`` and ``prompt_leakage_exact``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from prefdata.check import minhash as mh
from prefdata.check.config import MinHashSettings
from prefdata.check.dataset import Dataset
from prefdata.check.view import content_text
from prefdata.io.morsels import streaming_morsels
from prefdata.ordered_map import ordered_map
from prefdata.splits import train_splits

FIELDS = {"p": "prompt", "c": "chosen", "r": "rejected"}
#: Rows per batch of the streaming scan (bounded memory: signatures are the only per-row state kept).
BATCH_ROWS = 50_000
#: Batches signed at once, one per thread (each holds its shingles: about 100 MB for 50,000 rows of
#: 1.4 KB). On two cores, where the scan producing the batches competes for the same cores, signing
#: 1M pairs took 13.5 s instead of 16.1 s on one thread (the whole benchmark run 22.1 s instead of
#: 24.8 s), at 2.11 GB peak RSS instead of 1.91 GB.
SIGNATURE_THREADS = max(1, min(4, os.cpu_count() or 1))


@dataclass
class _BatchSignatures:
    """What one batch of the scan leaves behind: its row ids, band hashes and verified near-identical rows."""

    rows: np.ndarray
    pair_bands: np.ndarray | None = None
    #: per row and band: the band hashes of prompt, chosen and rejected together (uint32), which orders
    #: a big bucket so that rows alike in every field sit side by side (see mh.candidate_pairs)
    pair_order: np.ndarray | None = None
    prompt_bands: np.ndarray | None = None
    ni_found: pl.DataFrame | None = None
    ni_candidates: int = 0


@dataclass
class SimilarityFindings:
    near_identical: pl.DataFrame  # _row, jaccard
    near_duplicates: pl.DataFrame  # a, b, j_prompt, j_chosen, j_rejected
    leakage: pl.DataFrame  # row (not train), train_row, jaccard
    stats: dict[str, float | int] = field(default_factory=dict)


def _words(fields: list[str], seed: int) -> list[pl.Expr]:
    return [mh.word_hash_expr(content_text(FIELDS[f]), seed).alias(f) for f in fields]


def _verify_near_identical(batch: pl.DataFrame, rows: np.ndarray, shingle: int, threshold: float) -> pl.DataFrame:
    sub = batch.filter(pl.col("_row").is_in(pl.Series(rows).implode()))
    frame = pl.DataFrame(
        {"_row": sub.get_column("_row"), "c": mh.shingle_sets(sub.get_column("c"), shingle), "r": mh.shingle_sets(sub.get_column("r"), shingle)}
    )
    return frame.select("_row", jaccard=mh.jaccard_expr("c", "r")).filter(pl.col("jaccard") >= threshold)


#: Candidate pairs verified at once. Each carries both rows' shingle sets while its Jaccard is computed,
#: and data with many pairs per prompt (``all_pairs`` over 100 completions) yields millions of them.
CANDIDATE_CHUNK = 50_000


def _in_chunks(candidates: pl.DataFrame, verify: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
    """``verify`` over slices of ``candidates``, concatenated: memory bounded by the chunk, not the count."""
    return pl.concat([verify(candidates.slice(i, CANDIDATE_CHUNK)) for i in range(0, candidates.height, CANDIDATE_CHUNK)])


def find_similar(
    dataset: Dataset,
    keys: pl.DataFrame,
    settings: MinHashSettings,
    *,
    near_identical: float | None,
    near_duplicates: float | None,
    leakage: float | None,
    on_batch: Callable[[int], None] | None = None,
) -> SimilarityFindings:
    """Run the pass for the checks whose threshold is given (None: that check is off).

    ``on_batch`` is told the rows of each batch once it is signed (for a progress display).

    ``keys`` has, per ``_row``: ``split``, and the exact-match keys ``_prompt_h``/``_chosen_h``/
    ``_rejected_h`` and ``_prompt_key`` from the single pass, used to leave exact matches out; with
    ``near_identical``, also ``_same_responses`` (the pairs ``identical_responses`` counts).
    """
    t0 = time.perf_counter()
    need_oph = set()
    if near_identical is not None:
        need_oph |= {"c", "r"}
    if near_duplicates is not None:
        need_oph |= {"p", "c", "r"}
    fields = [f for f in ("p", "c", "r") if f in need_oph or (f == "p" and leakage is not None)]
    k, bands, n_sh = settings.num_perm, settings.bands, settings.shingle_words
    lf = dataset.scan().select("_row", *_words(fields, settings.seed))

    def signatures(batch: pl.DataFrame) -> _BatchSignatures:
        n = batch.height
        rows = batch.get_column("_row").to_numpy().astype(np.int64)
        sh = {f: mh.shingles_from_words(batch.get_column(f), n_sh) for f in fields}
        oph = {f: mh.oph_signatures(*sh[f], n, k) for f in fields if f in need_oph}
        out = _BatchSignatures(rows)
        if near_identical is not None:
            # Two responses without a single word have no shingles: estimate 0, never a candidate
            # (the identical check judges them), where estimated_jaccard would say 1.0.
            equal, used = mh.bucket_agreement(oph["c"], oph["r"])
            used = np.maximum(used, 1)
            est = equal / used
            slack = 3 * np.sqrt(near_identical * (1 - near_identical) / used) + 0.05
            cand = rows[est >= near_identical - slack]
            out.ni_candidates = len(cand)
            if len(cand):
                out.ni_found = _verify_near_identical(batch, cand, n_sh, near_identical)
        if near_duplicates is not None:
            union = np.minimum(np.minimum(oph["p"], oph["c"]), oph["r"])
            out.pair_bands = mh.band_hashes(union, bands)
            p_b, c_b, r_b = (mh.band_hashes(oph[f], bands) for f in "pcr")
            out.pair_order = (p_b ^ (c_b * np.uint64(0x9E3779B97F4A7C15)) ^ (r_b * np.uint64(0xC2B2AE3D27D4EB4F))).astype(np.uint32)
        if leakage is not None:
            kp = mh.kperm_signatures(*sh["p"], n, k, settings.seed)
            out.prompt_bands = mh.band_hashes(kp, bands)
        if on_batch is not None:
            on_batch(n)
        return out

    # numpy releases the GIL in the hashing and sorting that dominate a batch, so batches run on every
    # core; ordered_map keeps their order, and at most a few batches are in flight.
    with streaming_morsels(dataset.row_bytes), ThreadPoolExecutor(max_workers=SIGNATURE_THREADS) as pool:
        done = list(ordered_map(pool, signatures, lf.collect_batches(chunk_size=BATCH_ROWS), in_flight=SIGNATURE_THREADS))
    rows_all = [d.rows for d in done]
    pair_bands = [d.pair_bands for d in done if d.pair_bands is not None]
    pair_order = [d.pair_order for d in done if d.pair_order is not None]
    prompt_bands = [d.prompt_bands for d in done if d.prompt_bands is not None]
    ni_found = [d.ni_found for d in done if d.ni_found is not None]
    ni_candidates = sum(d.ni_candidates for d in done)
    t_sig = time.perf_counter()
    rows = np.concatenate(rows_all) if rows_all else np.empty(0, np.int64)

    empty_edges = pl.DataFrame(schema={"a": pl.Int64, "b": pl.Int64})
    k64 = keys.with_columns(pl.col("_row").cast(pl.Int64))
    training = train_splits(keys.get_column("split").unique().to_list())
    # per signed row: what a big LSH bucket links its members across (see mh.candidate_pairs)
    aligned = pl.DataFrame({"_row": rows}).join(k64, on="_row", how="left", maintain_order="left")
    dup_cands = mh.candidate_pairs(
        rows, np.concatenate(pair_bands), kinds=aligned.select(pl.struct("_prompt_h", "_chosen_h", "_rejected_h").hash()).to_series().to_numpy(),
        order=(aligned.select(pl.col("_prompt_key").hash()).to_series().to_numpy(), np.concatenate(pair_order)),
    ) if pair_bands else empty_edges
    leak_cands = mh.candidate_pairs(
        rows, np.concatenate(prompt_bands),
        kinds=aligned.select(pl.col("_prompt_key").hash()).to_series().to_numpy(),
        sides=aligned.select(pl.col("split").is_in(training)).to_series().to_numpy(),
    ) if prompt_bands else empty_edges
    if dup_cands.height:
        h = k64.select("_row", t=pl.struct("_prompt_h", "_chosen_h", "_rejected_h"))
        dup_cands = (
            dup_cands.join(h.rename({"_row": "a", "t": "ta"}), on="a").join(h.rename({"_row": "b", "t": "tb"}), on="b")
            .filter(pl.col("ta") != pl.col("tb")).select("a", "b")
        )
    if leak_cands.height:
        s = k64.select("_row", pl.col("split").is_in(training).alias("t"), "_prompt_key")
        leak_cands = (
            leak_cands.join(s.rename({"_row": "a", "t": "ta", "_prompt_key": "ka"}), on="a")
            .join(s.rename({"_row": "b", "t": "tb", "_prompt_key": "kb"}), on="b")
            .filter((pl.col("ta") != pl.col("tb")) & (pl.col("ka") != pl.col("kb")))
            .select(
                row=pl.when(pl.col("ta")).then("b").otherwise("a"),
                train_row=pl.when(pl.col("ta")).then("a").otherwise("b"),
            )
        )
    t_cand = time.perf_counter()

    verify_rows = pl.concat(
        [dup_cands.get_column("a"), dup_cands.get_column("b"),
         leak_cands.get_column("row") if leak_cands.height else pl.Series([], dtype=pl.Int64),
         leak_cands.get_column("train_row") if leak_cands.height else pl.Series([], dtype=pl.Int64)]
    ).unique()
    near_dups = pl.DataFrame(schema={"a": pl.Int64, "b": pl.Int64, "j_prompt": pl.Float64, "j_chosen": pl.Float64, "j_rejected": pl.Float64})
    leaks = pl.DataFrame(schema={"row": pl.Int64, "train_row": pl.Int64, "jaccard": pl.Float64})
    if verify_rows.len():
        need = ["p", "c", "r"] if dup_cands.height else ["p"]
        texts = dataset.collect(
            dataset.scan().filter(pl.col("_row").cast(pl.Int64).is_in(verify_rows.implode()))
            .select(pl.col("_row").cast(pl.Int64), *_words(need, settings.seed))
        )
        sets = texts.select("_row", *[mh.shingle_sets(texts.get_column(f), n_sh).alias(f) for f in need])
        if dup_cands.height:
            # a field without words (a prompt of "?") is a copy only when its text is the same
            hashes = k64.select("_row", hp="_prompt_h", hc="_chosen_h", hr="_rejected_h")
            full = sets.join(hashes, on="_row", how="left")
            same = {f: pl.col(f"h{f}_a") == pl.col(f"h{f}_b") for f in "pcr"}
            near_dups = _in_chunks(dup_cands, lambda c: (
                c.join(full.rename({"_row": "a", "p": "pa", "c": "ca", "r": "ra", "hp": "hp_a", "hc": "hc_a", "hr": "hr_a"}), on="a")
                .join(full.rename({"_row": "b", "p": "pb", "c": "cb", "r": "rb", "hp": "hp_b", "hc": "hc_b", "hr": "hr_b"}), on="b")
                .select("a", "b", j_prompt=mh.jaccard_expr("pa", "pb", same["p"]), j_chosen=mh.jaccard_expr("ca", "cb", same["c"]),
                        j_rejected=mh.jaccard_expr("ra", "rb", same["r"]))
                .filter(pl.min_horizontal("j_prompt", "j_chosen", "j_rejected") >= near_duplicates)
            )).sort("a", "b")
        if leak_cands.height:
            ps = sets.select("_row", "p")
            leaks = _in_chunks(leak_cands, lambda c: (
                c.join(ps.rename({"_row": "row", "p": "pa"}), on="row")
                .join(ps.rename({"_row": "train_row", "p": "pb"}), on="train_row")
                .select("row", "train_row", jaccard=mh.jaccard_expr("pa", "pb"))
                .filter(pl.col("jaccard") >= leakage)
            )).sort("row", "train_row")
    near_ident = (
        pl.concat(ni_found).with_columns(pl.col("_row").cast(pl.Int64)).sort("_row")
        if ni_found
        else pl.DataFrame(schema={"_row": pl.Int64, "jaccard": pl.Float64})
    )
    if near_ident.height:  # exactly identical responses belong to identical_responses
        same = k64.filter(pl.col("_same_responses")).select("_row")
        near_ident = near_ident.join(same, on="_row", how="anti")
    t_end = time.perf_counter()
    stats = {
        "signature_seconds": round(t_sig - t0, 3),
        "candidate_seconds": round(t_cand - t_sig, 3),
        "verify_seconds": round(t_end - t_cand, 3),
        "near_identical_candidates": ni_candidates,
        "near_duplicate_candidates": dup_cands.height,
        "leakage_candidates": leak_cands.height,
    }
    return SimilarityFindings(near_ident, near_dups, leaks, stats)

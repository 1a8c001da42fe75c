"""Throughput of ``prefdata check`` on 1M synthetic pairs (~1.2 GB of text) against Great Expectations.

Every measurement runs in a fresh subprocess, so each peak RSS is that run's alone:

- ``polars``: the default suite plus every preference check computed from the single pass (all
  but the MinHash similarity checks, the contamination and the tokenizer checks), as ``prefdata
  check`` runs them;
- ``polars-suite``: the default suite alone on the polars engine (the like-for-like comparison);
- ``gx``: the same suite through Great Expectations 1.x on pandas, fed the same flat view (flattened
  by polars, converted to pandas once; both steps are included in its time);
- ``gx-object`` (``--gx-object-strings``): the same with the text as Python-object columns, the
  pandas < 3 default, which is what GX users on older stacks get;
- ``read``: only reading the message text (every content's length summed, nothing checked): the
  floor under any engine that looks at the text, and so the bound on any speed-up over GX;
- ``similarity``: near-duplicate detection (MinHash LSH over whole pairs + exact verification), with
  the near-identical and near-leakage checks that share its pass, timed on its own.

The synthetic pairs (generated once into ``--data``) are Zipf-distributed pseudo-words with a few
planted defects; see :func:`generate`.

    python benchmarks/check_throughput.py                       # generates the data once (~40 s)
    python benchmarks/check_throughput.py --pairs 200000 --data /tmp/bench-200k

Prints one row per run and the ratios against the GX baseline measured in the same invocation.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from prefdata.check import CHECK_IDS
from prefdata.schema import CANONICAL_SCHEMA, id_expr

SIMILARITY_CHECKS = ("near_identical_responses", "near_duplicates", "prompt_leakage_near")
ROW_LOCAL_ONLY = {"checks": {k: {"enabled": False} for k in SIMILARITY_CHECKS}}
SIMILARITY_ONLY = {"checks": {k: {"enabled": k in SIMILARITY_CHECKS} for k in CHECK_IDS}}
SUITE_ONLY = {"checks": {k: {"enabled": False} for k in SIMILARITY_ONLY["checks"]}}


# ---------------------------------------------------------------------------------------------------
# Synthetic data: Zipf-distributed pseudo-words (so shingles repeat the way natural text does), about
# 1.2 KB per pair, in 100k-pair canonical shards; a small share of pairs carries the defects the checks
# look for (exact and near duplicates, identical responses, contradictions, e-mails, leaked prompts),
# so the checks do real work instead of scanning clean data.

VOCAB = 30_000
SOURCES = ("arena", "rated", "transcripts", "feedback")


def _vocab(rng: np.random.Generator) -> pa.Array:
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
    lengths = rng.integers(2, 11, VOCAB)
    words = ["".join(chr(c) for c in rng.choice(letters, n)) for n in lengths]
    return pa.array(words, pa.large_string())


def _texts(rng, vocab, cdf, n_docs: int, mean_words: int) -> pa.Array:
    counts = np.maximum(1, rng.poisson(mean_words, n_docs))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    ids = np.searchsorted(cdf, rng.random(int(offsets[-1])))
    words = vocab.take(pa.array(ids))
    return pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets), words), pa.scalar(" ", pa.large_string()))


def _chunk(rng, vocab, cdf, start: int, n: int) -> pl.DataFrame:
    prompt = _texts(rng, vocab, cdf, n, 40)
    chosen = _texts(rng, vocab, cdf, n, 68)
    rejected = _texts(rng, vocab, cdf, n, 62)
    df = pl.DataFrame(
        {
            "p": pl.Series(prompt).cast(pl.String),
            "c": pl.Series(chosen).cast(pl.String),
            "r": pl.Series(rejected).cast(pl.String),
            "source": rng.choice(np.array(SOURCES), n),
            "u": rng.random(n),
            "row": np.arange(start, start + n),
        }
    )
    # Planted defects, each on a small share of rows (u picks them, in disjoint bands).
    prev_p, prev_c, prev_r = (pl.col(x).shift(1).fill_null(pl.col(x)) for x in ("p", "c", "r"))
    u = pl.col("u")
    df = df.with_columns(
        p=pl.when(u < 0.002).then(prev_p).otherwise("p"),  # exact (<0.001) and near (<0.002) duplicates
        c=pl.when(u < 0.001)
        .then(prev_c)
        .when(u < 0.002)
        .then(prev_c + " again")
        .when(u.is_between(0.002, 0.0025))
        .then(pl.col("r"))  # identical responses
        .when(u.is_between(0.0025, 0.003))
        .then(prev_r)  # contradiction: the previous pair swapped
        .when(u.is_between(0.003, 0.004))
        .then(pl.col("c") + " write to jane.doe" + pl.col("row").cast(pl.String) + "@example.com")
        .otherwise("c"),
        r=pl.when(u < 0.002).then(prev_r).when(u.is_between(0.0025, 0.003)).then(prev_c).otherwise("r"),
    ).with_columns(
        # contradictions reuse the previous prompt; leaked prompts reuse it too and are forced into test
        p=pl.when(u.is_between(0.0025, 0.003) | u.is_between(0.004, 0.0045)).then(prev_p).otherwise("p"),
        leak=u.is_between(0.004, 0.0045),
    )
    msg = lambda role, col: pl.struct(role=pl.lit(role), content=pl.col(col))
    df = df.with_columns(
        prompt=pl.when(pl.col("row") % 7 == 0)
        .then(pl.concat_list(pl.struct(role=pl.lit("system"), content=pl.lit("Be helpful.")), msg("user", "p")))
        .otherwise(pl.concat_list(msg("user", "p"))),
        chosen=pl.concat_list(msg("assistant", "c")),
        rejected=pl.concat_list(msg("assistant", "r")),
        score_chosen=pl.when(pl.col("source") == "rated").then(8.0 + u),
        score_rejected=pl.when(pl.col("source") == "rated").then(4.0 + u),
        chosen_model=pl.lit("model-a"),
        rejected_model=pl.lit("model-b"),
        lineage=pl.concat_list(pl.struct(file=pl.lit("synthetic.jsonl"), record=pl.col("row") + 1)),
        chosen_position=pl.when(pl.col("source") == "arena").then(pl.when(u < 0.55).then(pl.lit("a")).otherwise(pl.lit("b"))),
    ).with_columns(id_expr())
    return df.select(*[pl.col(c).cast(t) for c, t in CANONICAL_SCHEMA.items()], "p", "leak")


def generate(out: str | Path, pairs: int = 1_000_000, shard_rows: int = 100_000, seed: int = 0) -> Path:
    """Write ``pairs`` synthetic pairs to ``out/data/`` (train ~95%, test ~5% by prompt hash)."""
    out = Path(out)
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    vocab = _vocab(rng)
    weights = 1.0 / np.arange(1, VOCAB + 1) ** 1.07
    cdf = np.cumsum(weights) / weights.sum()
    n_shards = -(-pairs // shard_rows)
    for k in range(n_shards):
        start = k * shard_rows
        df = _chunk(rng, vocab, cdf, start, min(shard_rows, pairs - start))
        is_test = (pl.col("p").hash(7) % 20 == 0) | pl.col("leak")
        for split, cond in (("train", ~is_test), ("test", is_test)):
            part = df.filter(cond).drop("p", "leak")
            part.write_parquet(data / f"{split}-{k:05d}-of-{n_shards:05d}.parquet")
    return out



# ---------------------------------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _run(mode: str, data: str) -> dict:
    """One measurement, in this (fresh) process. Imports happen before the clock starts: this
    measures throughput, not interpreter start-up (importing GX alone takes ~2 s)."""
    out: dict = {"mode": mode}
    if mode in ("polars", "polars-suite", "similarity"):
        from prefdata.check import check

        config = {"polars": ROW_LOCAL_ONLY, "polars-suite": SUITE_ONLY, "similarity": SIMILARITY_ONLY}[mode]
        t0 = time.perf_counter()
        result = check(data, config=config, write=False)
        out["seconds_breakdown"] = {k: round(v, 2) for k, v in result.seconds.items()}
        out["failed"] = sorted(c.id for c in result.checks if not c.passed)
        out["unexpected"] = [e.result.get("unexpected_count") for e in result.expectations]
        if mode == "similarity":
            out["findings"] = {c.id: c.offending_count for c in result.checks}
    elif mode in ("gx", "gx-object"):
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        from prefdata.check.dataset import open_dataset
        from prefdata.check.engine_gx import _clean, build_gx_suite
        from prefdata.check.suite import load_suite
        from prefdata.check.view import view_frame

        t0 = time.perf_counter()
        suite = load_suite()
        frame = view_frame(open_dataset(data).scan()).collect(engine="streaming").to_pandas()
        if mode == "gx-object":
            text = [c for c, t in frame.dtypes.items() if str(t) in ("str", "string") or "String" in type(t).__name__]
            frame = frame.astype({c: object for c in text})
        t1 = time.perf_counter()
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        batch = (
            context.data_sources.add_pandas("p").add_dataframe_asset("a").add_batch_definition_whole_dataframe("b")
            .get_batch(batch_parameters={"dataframe": frame})
        )
        run = batch.validate(build_gx_suite(gx, suite), result_format={"result_format": "SUMMARY"})
        t2 = time.perf_counter()
        by_index = {r.expectation_config.meta["prefdata_index"]: r for r in run.results}
        out["unexpected"] = [_clean((by_index[i].result or {}).get("unexpected_count")) for i in range(len(suite.expectations))]
        out["seconds_breakdown"] = {"flatten_to_pandas": round(t1 - t0, 2), "validate": round(t2 - t1, 2)}
    elif mode == "read":
        t0 = time.perf_counter()
        text = lambda c: pl.col(c).list.eval(pl.element().struct.field("content").str.len_bytes()).list.sum().sum()
        lf = pl.scan_parquet(Path(data) / "data" / "*.parquet")
        out["bytes"] = lf.select(sum(text(c) for c in ("prompt", "chosen", "rejected"))).collect(engine="streaming").item()
        out["seconds_breakdown"] = {}
    else:
        raise SystemExit(f"unknown mode {mode}")
    out["seconds"] = round(time.perf_counter() - t0, 2)
    out["peak_rss_mb"] = round(_peak_rss_mb())
    return out


def _measure(mode: str, data: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--run", mode, "--data", str(data)], check=False, capture_output=True, text=True, env=os.environ.copy(),
    )
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/tmp/prefdata-check-bench-1m", help="dataset dir (generated if absent)")
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--gx-object-strings", action="store_true", help="also run GX on object-dtype text columns")
    parser.add_argument("--skip-similarity", action="store_true")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(_run(args.run, args.data)))
        return

    data = Path(args.data)
    if not (data / "data").is_dir():
        t = time.perf_counter()
        generate(data, args.pairs)
        print(f"generated {args.pairs:,} pairs in {time.perf_counter() - t:.0f}s -> {data}", flush=True)
    lf = pl.scan_parquet(data / "data" / "*.parquet")
    text = lambda c: pl.col(c).list.eval(pl.element().struct.field("content").str.len_bytes()).list.sum().sum()
    stats = lf.select(pl.len().alias("pairs"), (text("prompt") + text("chosen") + text("rejected")).alias("bytes")).collect().row(0, named=True)
    print(f"dataset: {stats['pairs']:,} pairs, {stats['bytes'] / 1e9:.2f} GB of message text, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)

    modes = ["read", "polars", "polars-suite", "gx"] + (["gx-object"] if args.gx_object_strings else [])
    results = {}
    for mode in modes:
        results[mode] = r = _measure(mode, data)
        print(f"{mode:14s} {r['seconds']:8.1f} s  peak RSS {r['peak_rss_mb']:7,.0f} MB  {r['seconds_breakdown']}", flush=True)
    same = results["polars"]["unexpected"] == results["gx"]["unexpected"]
    print(f"expectation unexpected_counts identical in polars and gx: {same}")
    gx_run = results["gx"]
    for mode in ("polars", "polars-suite"):
        r = results[mode]
        print(f"{mode:14s} vs gx: {gx_run['seconds'] / r['seconds']:5.2f}x faster, "
              f"{r['peak_rss_mb'] / gx_run['peak_rss_mb']:.2f} of its peak memory")
    floor = results["read"]["seconds"]
    print(f"reading the text alone takes {floor:.2f} s: no engine that reads it can beat gx by more than "
          f"{gx_run['seconds'] / floor:.1f}x (gx-object: {results.get('gx-object', gx_run)['seconds'] / floor:.1f}x)")
    if "gx-object" in results:
        o = results["gx-object"]
        for mode in ("polars", "polars-suite"):
            r = results[mode]
            print(f"{mode:14s} vs gx-object: {o['seconds'] / r['seconds']:5.2f}x faster, "
                  f"{r['peak_rss_mb'] / o['peak_rss_mb']:.2f} of its peak memory")
    if not args.skip_similarity:
        s = _measure("similarity", data)
        print(f"similarity     {s['seconds']:8.1f} s  peak RSS {s['peak_rss_mb']:7,.0f} MB  "
              f"(pass alone {s['seconds_breakdown'].get('similarity')} s)  findings {s['findings']}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

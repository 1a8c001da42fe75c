"""Time ``prefdata report`` on N synthetic canonical pairs (default 1M) and print wall time and peak RSS.

    /work/venv/bin/python benchmarks/report_scale.py            # 1,000,000 pairs
    /work/venv/bin/python benchmarks/report_scale.py --pairs 100000 --keep /tmp/ds

The dataset is generated without a Python loop per pair (texts are chunks of a word soup with
log-normal lengths, handed to Arrow as offsets into one buffer) and written the way ``prefdata
build`` lays it out: 4 train shards and 1 test shard, a rejects file, a manifest and a checks.json in
the contract's format. The report then runs in a fresh process that reports its own peak RSS.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from prefdata.schema import CANONICAL_SCHEMA, REJECT_SCHEMA, id_expr

WORDS = ["the", "a", "model", "answer", "prompt", "data", "token", "reward", "policy", "chosen", "rejected", "human", "assistant", "please", "explain", "why", "because", "however", "simple", "careful", "safe", "helpful", "honest", "think", "step"]


def _messages(role: str, text: pl.Expr) -> pl.Expr:
    return pl.concat_list(pl.struct(pl.lit(role).alias("role"), text.alias("content")))


def generate(out: Path, pairs: int, seed: int = 0) -> None:
    """Write a canonical dataset of ``pairs`` synthetic pairs (with scores and positions) to ``out``."""
    rng = np.random.default_rng(seed)
    soup = np.frombuffer(" ".join(rng.choice(WORDS, size=2_000_000)).encode(), dtype=np.uint8)
    n = pairs

    def text(mean: float) -> pl.Series:
        # Consecutive chunks of a repeated word soup, handed to Arrow as offsets into one buffer.
        lengths = np.clip(rng.lognormal(np.log(mean), 0.8, n), 1, 20_000).astype(np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        start = int(rng.integers(0, len(soup)))
        data = np.resize(np.roll(soup, -start), int(offsets[-1]))
        array = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
        return pl.Series(array).cast(pl.String)

    sources = np.array(["arena", "ultrafeedback", "logs", "hh"])
    source = sources[rng.integers(0, 4, n)]
    two_turn = rng.random(n) < 0.3
    df = pl.DataFrame({"source": source, "two_turn": two_turn}).with_columns(
        u1=text(150), a1=text(300), u2=text(120), c=text(520), r=text(430)
    )
    prompt = (
        pl.when(pl.col("two_turn"))
        .then(pl.concat_list(
            pl.struct(pl.lit("user").alias("role"), pl.col("u1").alias("content")),
            pl.struct(pl.lit("assistant").alias("role"), pl.col("a1").alias("content")),
            pl.struct(pl.lit("user").alias("role"), pl.col("u2").alias("content")),
        ))
        .otherwise(_messages("user", pl.col("u1")))
    )
    scored = pl.col("source") == "ultrafeedback"
    sc = rng.normal(7, 1.5, n)
    df = df.select(
        prompt.alias("prompt"),
        _messages("assistant", pl.col("c")).alias("chosen"),
        _messages("assistant", pl.col("r")).alias("rejected"),
        "source",
        pl.when(scored).then(pl.Series(sc)).alias("score_chosen"),
        pl.when(scored).then(pl.Series(sc - rng.exponential(1.5, n))).alias("score_rejected"),
        pl.lit(None, pl.String).alias("chosen_model"),
        pl.lit(None, pl.String).alias("rejected_model"),
        pl.concat_list(pl.struct(pl.lit("raw.jsonl").alias("file"), pl.int_range(1, n + 1).alias("record"))).alias("lineage"),
        pl.when(pl.col("source") == "arena")
        .then(pl.Series(np.where(rng.random(n) < 0.56, "a", "b")))
        .alias("chosen_position"),
    ).with_columns(id_expr())
    df = df.select(*[pl.col(c).cast(t) for c, t in CANONICAL_SCHEMA.items()])

    (out / "data").mkdir(parents=True)
    (out / "rejects").mkdir()
    test = rng.random(n) < 0.05
    splits = {"train": df.filter(pl.Series(~test)), "test": df.filter(pl.Series(test))}
    outputs = []
    for split, part in splits.items():
        shards = 4 if split == "train" else 1
        size = -(-part.height // shards)
        for i in range(shards):
            path = f"data/{split}-{i:05d}-of-{shards:05d}.parquet"
            part.slice(i * size, size).write_parquet(out / path)
            outputs.append({"path": path, "split": split, "rows": min(size, part.height - i * size)})
    rejected = 1234
    pl.DataFrame(
        {"file": ["raw.jsonl"] * rejected, "record": list(range(n + 1, n + 1 + rejected)),
         "source": ["logs"] * rejected, "reason": ["tie"] * 1000 + ["identical_responses"] * 234,
         "field": [None] * rejected, "detail": [None] * rejected, "raw": ['{"winner": "tie"}'] * rejected},
        schema=REJECT_SCHEMA,
    ).write_parquet(out / "rejects" / "rejects-00000-of-00001.parquet")
    manifest = {
        "prefdata_version": "0.1.0", "config": {}, "inputs": [{"path": "raw.jsonl", "source": "synthetic",
        "shape": "pairwise", "format": "jsonl", "records": n + rejected}], "skipped_files": [],
        "outputs": outputs, "split": {"test_fraction": 0.05, "seed": seed, "key": "normalized prompt text"},
        "counts": {"records_read": n + rejected, "pairs_written": n, "records_rejected": rejected,
                   "rejected_by_reason": {"tie": 1000, "identical_responses": 234},
                   "pairs_by_split": {s: p.height for s, p in splits.items()}},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    ids = df["id"].head(1000).to_list()
    checks = {
        "prefdata_version": "0.1.0", "dataset": str(out), "engine": "polars", "suite": "canonical",
        "strict": False, "passed": True, "summary": {"error": 0, "warn": 1, "info": 0, "checks": 2, "failed": 1},
        "expectations": [],
        "checks": [
            {"id": "length_bias", "severity": "warn", "passed": False, "statistic": {"share_chosen_longer": 0.6},
             "threshold": {"max_share_chosen_longer": 0.55}, "offending_ids": ids, "offending_count": n // 2,
             "message": "60% of pairs prefer the longer response"},
            {"id": "identical_pairs", "severity": "error", "passed": True, "statistic": {"count": 0},
             "offending_ids": [], "offending_count": 0, "message": "no identical pairs"},
        ],
    }
    (out / "checks.json").write_text(json.dumps(checks))


#: Runs `prefdata report OUT` in a fresh interpreter and prints its own peak RSS (VmHWM, KiB) last on
#: stderr. getrusage's ru_maxrss would not do: Linux carries the parent's high-water mark across
#: fork and exec, and the parent holds the generated dataset.
REPORT_AND_PEAK = """
import re, sys
from prefdata.cli import cli
try:
    cli.main(["report", sys.argv[1]], standalone_mode=False)
finally:
    status = open("/proc/self/status").read()
    print("peak_rss_kib", re.search(r"VmHWM:\\s+(\\d+)", status).group(1), file=sys.stderr)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="write the dataset here and keep it (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp) / "ds"
        if not (out / "manifest.json").exists():
            t0 = time.perf_counter()
            generate(out, args.pairs)
            print(f"generated {args.pairs:,} pairs in {time.perf_counter() - t0:.1f} s at {out}")
        t0 = time.perf_counter()
        child = subprocess.run([sys.executable, "-c", REPORT_AND_PEAK, str(out)], check=True, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        print(child.stdout.rstrip())
        peak_mib = int(child.stderr.strip().splitlines()[-1].split()[-1]) / 1024
        size_mib = sum(f.stat().st_size for f in (out / "data").glob("*.parquet")) / 2**20
        print(f"prefdata report: {args.pairs:,} pairs ({size_mib:.0f} MiB of shards) in {wall:.1f} s "
              f"(process start included), peak RSS {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()

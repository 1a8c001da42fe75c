"""Build throughput: ``prefdata build`` against the usual ``datasets`` script and polars' bare parse.

Generates synthetic raw preference JSONL of the requested size (English-like sentences, ~1% exact
duplicate records, ~1% identical chosen/rejected), then times in the same run, each in its own
subprocess so peak RSS is measured per method:

  (a) prefdata      ``prefdata.build(raw, out)``: parse, normalize to messages, reject bad pairs,
                    dedup, split by prompt, write Parquet shards + rejects + manifest
  (b) datasets      ``load_dataset("json")`` + per-row ``.map`` to messages + ``.filter`` of
                    identical/empty pairs + dedup via a seen-set ``.filter`` + ``train_test_split``
                    + ``to_parquet`` (how this job is usually written)
  (c) polars parse  ``polars.read_ndjson(raw)`` alone: the parse limit, no output
  (e) floor         the least any build of the canonical dataset must do, as one polars streaming
                    query: parse, wrap the texts in message lists, hash the sha256 ``id``, write zstd
                    Parquet; no validation, rejects, dedup, split or manifest. Its share of (c)'s
                    throughput bounds what (a) could reach
  (f) floor, raw    the same writing uncompressed Parquet (``output.compression: none``)

With ``--format json`` the same records are written as one JSON array instead, (c) becomes
``polars.read_json`` and a fourth method joins:

  (d) json.load     ``orjson.loads`` of the whole file, how a JSON array is usually read (and how
                    prefdata read one before it streamed arrays): the memory a whole-file parse needs

Usage: python benchmarks/build_throughput.py --size-mb 1024 [--format json] [--keep] [--skip-datasets]
Prints MB/s, peak RSS and the ratios (a vs b speed, a as a share of c's throughput).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = ["the", "model", "answer", "question", "because", "data", "training", "people", "time", "would", "could", "should", "think", "know", "help", "make", "good", "first", "new", "use", "way", "work", "life", "day", "world", "system", "number", "part", "place", "case", "week", "company", "group", "problem", "fact", "water", "money", "example", "story", "point", "government", "city", "community", "name", "house", "service", "friend", "power", "hour", "game", "line", "end", "member", "law", "car", "market", "result", "health", "program", "research", "level", "office", "door", "art", "war", "history", "party", "history", "reason", "teacher", "moment", "idea", "kind", "body", "information", "back", "parent", "face", "others", "level", "office", "door", "health", "person", "art", "war", "history", "party", "result", "change", "morning"]


def sentence(rng: random.Random, n: int) -> str:
    words = rng.choices(WORDS, k=n)
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(sentence(rng, rng.randint(6, 18)) for _ in range(sentences))


def generate(path: Path, size_mb: int, seed: int = 0, fmt: str = "jsonl") -> int:
    """Write ~size_mb of JSONL (or, with ``fmt="json"``, one JSON array); returns the number of records."""
    import orjson

    rng = random.Random(seed)
    target = size_mb * 1024 * 1024
    written = records = 0
    recent: list[bytes] = []
    with path.open("wb") as fh:
        if fmt == "json":
            fh.write(b"[\n")
        while written < target:
            roll = rng.random()
            if roll < 0.01 and recent:
                line = rng.choice(recent)  # exact duplicate record
            else:
                prompt = paragraph(rng, rng.randint(1, 4)) + " " + sentence(rng, 8).rstrip(".") + "?"
                chosen = paragraph(rng, rng.randint(3, 10))
                rejected = chosen if roll < 0.02 else paragraph(rng, rng.randint(2, 8))
                line = orjson.dumps({"prompt": prompt, "chosen": chosen, "rejected": rejected}) + b"\n"
                if len(recent) < 1000:
                    recent.append(line)
                elif rng.random() < 0.01:
                    recent[rng.randrange(1000)] = line
            if fmt == "json":
                line = (b",\n" if records else b"") + line.rstrip(b"\n")
            fh.write(line)
            written += len(line)
            records += 1
        if fmt == "json":
            fh.write(b"\n]\n")
    return records


# -- the three methods, each run as `python build_throughput.py --run METHOD RAW OUT` ---------------


def run_prefdata(raw: str, out: str) -> None:
    import prefdata

    result = prefdata.build(raw, out, quiet=True)
    print(json.dumps({"pairs": result.counts["pairs_written"], "rejected": result.counts["records_rejected"]}))


def run_datasets(raw: str, out: str) -> None:
    import hashlib

    from datasets import disable_progress_bars, load_dataset

    disable_progress_bars()  # a line per update would bury the results (their cost is not the point)
    ds = load_dataset("json", data_files=raw, split="train", cache_dir=os.path.join(out, "_cache"))

    def to_messages(row: dict) -> dict:
        return {
            "prompt": [{"role": "user", "content": row["prompt"]}],
            "chosen": [{"role": "assistant", "content": row["chosen"]}],
            "rejected": [{"role": "assistant", "content": row["rejected"]}],
        }

    def usable(row: dict) -> bool:
        p, c, r = row["prompt"][0]["content"], row["chosen"][0]["content"], row["rejected"][0]["content"]
        return bool(p and p.strip() and c and c.strip() and r and r.strip()) and c.strip() != r.strip()

    seen: set[str] = set()

    def first_seen(row: dict) -> bool:
        key = hashlib.sha256(json.dumps([row["prompt"], row["chosen"], row["rejected"]]).encode()).hexdigest()
        if key in seen:
            return False
        seen.add(key)
        return True

    ds = ds.map(to_messages)
    ds = ds.filter(usable)
    ds = ds.filter(first_seen)
    splits = ds.train_test_split(test_size=0.05, seed=0)
    os.makedirs(os.path.join(out, "data"), exist_ok=True)
    splits["train"].to_parquet(os.path.join(out, "data", "train.parquet"))
    splits["test"].to_parquet(os.path.join(out, "data", "test.parquet"))
    print(json.dumps({"pairs": len(splits["train"]) + len(splits["test"])}))


def run_polars(raw: str, out: str) -> None:
    import polars as pl

    df = pl.read_json(raw) if raw.endswith(".json") else pl.read_ndjson(raw)
    print(json.dumps({"rows": df.height}))


def run_json_load(raw: str, out: str) -> None:
    import orjson

    with open(raw, "rb") as fh:
        items = orjson.loads(fh.read())
    print(json.dumps({"rows": len(items)}))


def run_floor(raw: str, out: str, compression: str = "zstd") -> None:
    import polars as pl

    from prefdata.schema import id_expr

    text = {"prompt": pl.String, "chosen": pl.String, "rejected": pl.String}
    lf = pl.read_json(raw, schema=text).lazy() if raw.endswith(".json") else pl.scan_ndjson(raw, schema=text)
    message = lambda role, column: pl.concat_list(pl.struct(role=pl.lit(role), content=pl.col(column)))
    lf = lf.select(prompt=message("user", "prompt"), chosen=message("assistant", "chosen"), rejected=message("assistant", "rejected"))
    os.makedirs(out, exist_ok=True)
    level = {"compression_level": 1} if compression == "zstd" else {}
    lf.with_columns(id_expr()).sink_parquet(os.path.join(out, "floor.parquet"), compression=compression, statistics=False, **level)
    print(json.dumps({"rows": pl.scan_parquet(os.path.join(out, "floor.parquet")).select(pl.len()).collect().item()}))


METHODS = {
    "prefdata": run_prefdata, "datasets": run_datasets, "polars_parse": run_polars, "json_load": run_json_load, "floor": run_floor,
    "floor_raw": lambda raw, out: run_floor(raw, out, "uncompressed"),
}


def measure(method: str, raw: Path, out: Path) -> dict:
    """Run one method in a fresh process; wall time and that process's peak RSS."""
    if out.exists():
        shutil.rmtree(out)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--run", method, str(raw), str(out)], stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    stdout = proc.stdout.read() if proc.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{method} failed (exit {os.waitstatus_to_exitcode(status)})")
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024, "result": json.loads(stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the generated data and outputs")
    parser.add_argument("--skip-datasets", action="store_true", help="skip the (slow) datasets baseline")
    parser.add_argument("--format", choices=("jsonl", "json"), default="jsonl", help="JSON lines, or one JSON array")
    parser.add_argument("--run", nargs=3, metavar=("METHOD", "RAW", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        method, raw, out = args.run
        METHODS[method](raw, out)
        return

    work = args.workdir or Path(tempfile.mkdtemp(prefix="prefdata-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    raw = work / f"raw.{args.format}"
    t = time.perf_counter()
    records = generate(raw, args.size_mb, fmt=args.format)
    size_mb = raw.stat().st_size / 1024 / 1024
    print(f"generated {size_mb:,.0f} MB, {records:,} records in {time.perf_counter() - t:.1f}s ({raw})")
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")

    results = {}
    methods = ("polars_parse", "floor", "floor_raw", "prefdata") + (("json_load",) if args.format == "json" else ())
    for method in methods + (() if args.skip_datasets else ("datasets",)):
        r = measure(method, raw, work / f"out-{method}")
        results[method] = r
        print(
            f"  {method:13s} {r['seconds']:8.1f} s  {size_mb / r['seconds']:8.1f} MB/s  "
            f"peak RSS {r['peak_rss_mb']:8.0f} MB  {r['result']}"
        )
    a, c = results["prefdata"], results["polars_parse"]
    print(f"prefdata throughput = {c['seconds'] / a['seconds']:.0%} of the bare polars parse (goal >= 40%)")
    e, f = results["floor"], results["floor_raw"]
    print(f"floor (parse + messages + id + zstd Parquet, nothing checked) = {c['seconds'] / e['seconds']:.0%} of the bare parse "
          f"({c['seconds'] / f['seconds']:.0%} writing uncompressed); prefdata takes {a['seconds'] / e['seconds']:.1f}x the floor's time")
    print(f"prefdata peak RSS = {a['peak_rss_mb']:.0f} MB (goal < 2048 MB)")
    if "json_load" in results:
        d = results["json_load"]
        print(f"prefdata peak RSS is {a['peak_rss_mb'] / d['peak_rss_mb']:.2f} of a whole-file json.load's "
              f"({a['peak_rss_mb']:.0f} MB vs {d['peak_rss_mb']:.0f} MB), which only parses")
    if "datasets" in results:
        b = results["datasets"]
        print(f"prefdata is {b['seconds'] / a['seconds']:.1f}x faster than datasets (goal >= 5x); "
              f"peak RSS {a['peak_rss_mb']:.0f} MB vs {b['peak_rss_mb']:.0f} MB")
    if not args.keep and args.workdir is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()

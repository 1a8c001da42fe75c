"""Build memory when most records are rejected, against a clean log of the same size.

``rejects/`` keeps every rejected record's raw text, so a log that is mostly bad is as much output
as one that is all good. This benchmark builds three synthetic JSONL logs of the same size, each in
its own subprocess so peak RSS is measured per build:

  clean       every record a valid pair (the baseline)
  identical   every record's chosen equals its rejected: all rejected in pass 1, raw text in hand
  duplicates  every record written twice: half rejected in pass 2, raw text read back from the file

and prints seconds, peak RSS and each one's ratio to ``clean``. ``--short`` writes records of a few
words (about 80 bytes, 13 million a gigabyte) instead of paragraphs (about 1 KB): a build's memory
per record, not per byte, is what such a log tests.

Usage: python benchmarks/build_reject_memory.py --size-mb 1024 [--short] [--keep]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_throughput import measure, paragraph, sentence  # the same text, timed the same way

KINDS = ("clean", "identical", "duplicates")


def generate(path: Path, size_mb: int, kind: str, seed: int = 0, *, short: bool = False) -> int:
    """Write about ``size_mb`` of JSONL of one ``kind`` (see the module docstring); returns the records."""
    import orjson

    rng = random.Random(seed)
    target = size_mb * 1024 * 1024
    written = records = 0
    with path.open("wb") as fh:
        while written < target:
            if short:
                prompt, chosen, rejected = f"Question {records}?", f"Yes, {records}.", f"No {records}."
            else:
                prompt = paragraph(rng, rng.randint(1, 4)) + " " + sentence(rng, 8).rstrip(".") + "?"
                chosen = paragraph(rng, rng.randint(3, 10))
                rejected = chosen if kind == "identical" else paragraph(rng, rng.randint(2, 8))
            if kind == "identical":
                rejected = chosen
            line = orjson.dumps({"prompt": prompt, "chosen": chosen, "rejected": rejected}) + b"\n"
            copies = 2 if kind == "duplicates" else 1
            fh.write(line * copies)
            written += len(line) * copies
            records += copies
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--short", action="store_true", help="records of a few words (about 80 bytes) instead of paragraphs")
    parser.add_argument("--keep", action="store_true", help="keep the generated files and outputs")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="prefdata-rejects-bench-"))
    try:
        results = {}
        for kind in KINDS:
            raw = work / f"{kind}.jsonl"
            records = generate(raw, args.size_mb, kind, short=args.short)
            results[kind] = measure("prefdata", raw, work / f"out-{kind}")  # prefdata.build in a fresh process
            r = results[kind]
            print(
                f"{kind:>10}: {records:,} records -> {r['result']['pairs']:,} pairs, {r['result']['rejected']:,} rejected; "
                f"{r['seconds']:.1f} s, peak RSS {r['peak_rss_mb']:,.0f} MB",
                flush=True,
            )
            if not args.keep:
                raw.unlink()
                shutil.rmtree(work / f"out-{kind}")
        base = results["clean"]
        for kind in KINDS[1:]:
            r = results[kind]
            print(f"{kind} / clean: time {r['seconds'] / base['seconds']:.2f}x, peak RSS {r['peak_rss_mb'] / base['peak_rss_mb']:.2f}x")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

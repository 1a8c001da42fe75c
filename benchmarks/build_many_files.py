"""What each input file costs: a folder of many small JSON-lines files against the same records in one file.

Logs are often kept as one small file per conversation, session or hour. This benchmark writes
``--files`` files of ``--records`` pairs each and, in the same run, one file holding the same records;
builds both with ``prefdata build``, each in its own process (see ``build_throughput.measure``);
and prints both times, the cost of each extra file (the difference over the number of files) and
the ratio of the two.

Usage: python benchmarks/build_many_files.py [--files 2000] [--records 3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_throughput import measure  # the same subprocess timing as the throughput benchmark


def write_logs(folder: Path, single: Path, files: int, records: int) -> None:
    folder.mkdir(parents=True)
    with single.open("wb") as whole:
        for i in range(files):
            lines = b"".join(
                orjson.dumps({"prompt": f"Question {i}-{j}?", "chosen": f"A good answer to {i}-{j}.", "rejected": f"A bad answer to {i}-{j}."}) + b"\n"
                for j in range(records)
            )
            (folder / f"conversation-{i:06d}.jsonl").write_bytes(lines)
            whole.write(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--records", type=int, default=3, help="pairs per file")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="prefdata-many-files-bench-"))
    try:
        write_logs(work / "raw", work / "one.jsonl", args.files, args.records)
        many = measure("prefdata", work / "raw", work / "out-many")
        one = measure("prefdata", work / "one.jsonl", work / "out-one")
        for name, r in (("one file", one), (f"{args.files:,} files", many)):
            print(f"{name:>12}: {r['result']['pairs']:,} pairs in {r['seconds']:.2f} s, peak RSS {r['peak_rss_mb']:,.0f} MB")
        print(f"each extra file: {(many['seconds'] - one['seconds']) / max(1, args.files - 1) * 1000:.2f} ms")
        print(f"{args.files:,} files / one file: {many['seconds'] / one['seconds']:.1f}x the time")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

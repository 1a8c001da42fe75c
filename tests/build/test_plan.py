"""How ``build`` plans its reading (``prefdata.build.plan``): the lines that say how each file is read,
the source name a file without a config gets, and the mean record size that sizes pass 2's partitions.
Expected values come from the files written here (their names and byte sizes)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl

import prefdata
from prefdata.build.plan import RUN_LINES, default_source_name, describe_files, plan_build
from prefdata.config import BuildConfig

PREFERENCE = BuildConfig.model_validate(
    {"sources": [{"shape": "preference", "columns": {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"}}]}
)


def _raw(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir(parents=True)
    return raw


def test_a_run_of_exactly_run_lines_files_read_alike_is_one_line(tmp_path: Path) -> None:
    """``describe_files``: "a run of RUN_LINES or more consecutive files read alike is one line naming
    the first and the last"; one file fewer is a line per file."""
    for n, folded in ((RUN_LINES, True), (RUN_LINES - 1, False)):
        raw = _raw(tmp_path / str(n))
        for i in range(n):
            (raw / f"c{i:02d}.jsonl").write_text(json.dumps({"prompt": f"Q{i}?", "chosen": f"good {i}", "rejected": f"bad {i}"}) + "\n")
        names = [line.split(": detected ")[0] for line in describe_files(plan_build(raw, None).files)]
        assert names == ([f"c00.jsonl to c{n - 1:02d}.jsonl ({n} files)"] if folded else [f"c{i:02d}.jsonl" for i in range(n)])


def test_a_files_source_name_drops_its_suffixes_in_any_case(tmp_path: Path) -> None:
    """Without a config a file's source is its name less its format and compression suffixes
    (``logs.jsonl.gz`` -> ``logs``); RAW's suffixes are read in any case (``LOGS.JSONL`` is JSON lines),
    so the name drops them in any case too."""
    assert [default_source_name(n) for n in ("sub/Data.JSONL.GZ", "x.Parquet", "y.CSV.Zst", "notes.v2.Json")] == ["sub/Data", "x", "y", "notes.v2"]
    raw = _raw(tmp_path)
    (raw / "Chat.JSONL").write_text(json.dumps({"prompt": "q?", "chosen": "yes", "rejected": "no"}) + "\n")
    prefdata.build(raw, tmp_path / "out", test_fraction=0)
    assert pl.read_parquet(tmp_path / "out" / "data" / "*.parquet")["source"].to_list() == ["Chat"]


def test_a_jsonl_records_size_is_its_bytes_in_the_file(tmp_path: Path) -> None:
    """``record_bytes``: a JSON record's text length + its newline; for compact JSON lines that is the
    file's size per record."""
    raw = _raw(tmp_path)
    rows = [{"prompt": f"q{i}", "chosen": "yes" * i, "rejected": "no"} for i in range(1, 6)]
    (raw / "a.jsonl").write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows), encoding="utf-8")
    assert plan_build(raw, PREFERENCE).files[0].record_bytes == (raw / "a.jsonl").stat().st_size / len(rows)


def test_a_csv_rows_size_counts_utf8_bytes_not_characters(tmp_path: Path) -> None:
    """``record_bytes`` of a CSV row is its cells and commas in the file: UTF-8 bytes, so Japanese text
    counts three bytes a character. Each data line's bytes + 1 (its newline stands for the last comma)."""
    raw = _raw(tmp_path)
    rows = [{"prompt": "日本語の質問" * 5, "chosen": "答えはこれです" * 5, "rejected": "いいえ" * 5} for _ in range(4)]
    with (raw / "pairs.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    lines = (raw / "pairs.csv").read_bytes().split(b"\n")[1:-1]
    assert plan_build(raw, PREFERENCE).files[0].record_bytes == sum(len(line) + 1 for line in lines) / len(lines)

"""A dataset in a folder whose name is not UTF-8 (``b"ds\\xe9"``) is checked and reported like any
other: polars and pyarrow take such a path for no path at all, so prefdata hands them open files."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import prefdata
from prefdata.check import check
from prefdata.report import report


def _build(tmp_path: Path) -> Path:
    raw = tmp_path / "raw.jsonl"
    rows = [
        {"prompt": f"question number {i}", "chosen": f"a good and longer answer {i}", "rejected": f"bad {i}"} for i in range(60)
    ]
    rows.append({"prompt": "same", "chosen": "same", "rejected": "same"})  # a reject, so rejects/ is read too
    raw.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out"
    prefdata.build(raw, out, test_fraction=0.2, quiet=True)
    assert list((out / "rejects").glob("*.parquet"))
    return out


def test_check_and_report_read_a_dataset_under_a_non_utf8_name(tmp_path):
    out = _build(tmp_path)
    odd = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"ds\xe9")))
    shutil.copytree(out, odd)

    plain, moved = check(out), check(odd)
    assert [(c.id, c.passed, c.offending_count) for c in moved.checks] == [
        (c.id, c.passed, c.offending_count) for c in plain.checks
    ]
    assert json.loads((odd / "checks.json").read_bytes())["dataset"].endswith("ds\\xe9")  # valid UTF-8 JSON

    expected, got = report(out), report(odd)
    assert (got.pairs, got.checks_passed) == (expected.pairs, expected.checks_passed)
    md = got.md_path.read_text(encoding="utf-8")
    assert md.startswith("# Quality report: ds\\\\xe9")  # the name's odd byte escaped, then the backslash for Markdown
    assert md.split("\n", 1)[1] == expected.md_path.read_text(encoding="utf-8").split("\n", 1)[1]

"""report.md's verdict, headline tiles, count tables and check lines, number by number (README "prefdata
report": report.md is report.html's summary in text). Each test pins one rule that a mutation hunt
found no test held: the counts are worked out by hand from the dataset each test writes."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from prefdata.report import report
from tests.report.report_datasets import REJECTS, canonical_row, msg, simple_rows, write_dataset


def _check(id_: str, severity: str, passed: bool, offending: list[str], *, skipped: bool = False) -> dict[str, Any]:
    doc = {"id": id_, "severity": severity, "passed": passed, "statistic": {}, "offending_ids": offending,
           "offending_count": len(offending), "message": f"{id_} says"}
    if skipped:
        doc["skipped"] = "needs --tokenizer"
    return doc


def _checks_json(checks: list[dict[str, Any]], *, passed: bool, strict: bool) -> dict[str, Any]:
    return {"prefdata_version": "0.1.0", "dataset": "OUT", "engine": "polars", "suite": "canonical",
            "strict": strict, "passed": passed, "expectations": [], "checks": checks}


def _table_row(md: str, first_cell: str) -> list[str]:
    line = next(ln for ln in md.splitlines() if ln.startswith(f"| {first_cell} |"))
    return [c.strip() for c in line.strip("|").split("|")]


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    """No manifest.json, no rejects/; 7 distinct pairs and 6 more copies of the first (its id on 7 rows).
    checks.json, passed under --strict: a failed warn check naming the shared id, a passed info check
    that still names an id, a skipped info check and a failed info check."""
    rows = simple_rows(7)
    checks = [_check("a_chk", "warn", False, [rows[0]["id"]]),
              _check("b_chk", "info", True, [rows[1]["id"]]),
              _check("c_chk", "info", True, [], skipped=True),
              _check("d_chk", "info", False, [rows[2]["id"]])]
    out = write_dataset(tmp_path_factory.mktemp("probe") / "out", {"train": rows + [rows[0]] * 6}, manifest=False,
                        checks=_checks_json(checks, passed=True, strict=True))
    return report(out)


@pytest.fixture(scope="module")
def probe_md(probe) -> str:
    return probe.md_path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def probe_html(probe) -> str:
    return probe.html_path.read_text(encoding="utf-8")


def test_the_verdict_counts_the_failed_and_skipped_checks_and_says_strict(probe_md):
    """README: skipped checks are marked as skipped, not as passed; a pass under --strict gated warnings
    too, so the verdict says so. 4 checks: 1 warn and 1 info failed, 1 skipped."""
    verdict = probe_md.splitlines()[2]
    assert verdict == "**Checks passed** — 0 error(s), 1 warning(s), 1 info failed of 4 (1 skipped) (strict)"


def test_the_page_counts_the_failed_checks_by_severity_and_the_skipped(tmp_path):
    """report.html's summary line, as report.md's verdict, counted from the entries: 1 error, 2 warn and 3
    info checks failed, 1 skipped (README: skipped checks are marked as skipped, not as passed)."""
    checks = [_check("e1", "error", False, []), _check("w1", "warn", False, []), _check("w2", "warn", False, []),
              _check("i1", "info", False, []), _check("i2", "info", False, []), _check("i3", "info", False, []),
              _check("ok", "warn", True, []), _check("skip", "info", True, [], skipped=True)]
    out = write_dataset(tmp_path / "out", {"train": simple_rows(3)}, checks=_checks_json(checks, passed=False, strict=False))
    html = report(out, card=False).html_path.read_text(encoding="utf-8")
    assert "failed: 1 error, 2 warning, 3 info; 1 skipped." in html


def test_failed_checks_are_open_and_passed_ones_closed(probe_html):
    """report.html: "Failed checks are open; click a passed one to see its statistic" (the page's words):
    a_chk and d_chk failed, b_chk passed, c_chk was skipped."""
    found = re.findall(r'<details class="check" data-check="([^"]+)"( open)?>', probe_html)
    assert sorted(found) == [("a_chk", " open"), ("b_chk", ""), ("c_chk", ""), ("d_chk", " open")]


def test_the_checks_failed_tile_counts_info_checks_too(probe_md):
    """The headline "checks failed" is every failed check, as its sub-line "E error · W warn · I info" adds up."""
    lines = probe_md.splitlines()
    header, values, subs = ([c.strip() for c in lines[i].strip("|").split("|")] for i in (4, 6, 7))
    i = header.index("checks failed")
    assert (values[i], subs[i]) == ("2", "0 error · 1 warn · 1 info")


def test_without_manifest_or_rejects_the_rejected_count_is_unknown_not_zero(probe_md):
    """README: without manifest.json the counts come from the data and rejects/ alone; with no rejects/
    either, how many records were rejected is unknown ("—"), not a made-up 0."""
    assert _table_row(probe_md, "records rejected") == ["records rejected", "—"]
    assert _table_row(probe_md, "records read") == ["records read", "—"]
    assert "no manifest" in probe_md.splitlines()[7]  # under the "records read" tile
    assert "0 rejected" not in probe_md


def test_offending_pairs_are_listed_for_failed_checks_only(probe_md):
    """README: examples_per_check are the offending pairs shown per *failed* check, on the page and in
    report.md; a passed check that names ids (under its max_count) lists none."""
    listed = [ln.split("`")[1] for ln in probe_md.splitlines() if ln.startswith("Offending pairs of")]
    assert listed == ["a_chk", "d_chk"]


def test_a_shared_id_line_counts_the_rows_the_report_did_not_read(probe_md):
    """README: the report reads the first 5 rows of an id; with the id on 7 rows the offending pair may
    be in one of the other 7 - 5 = 2."""
    line = next(ln for ln in probe_md.splitlines() if ln.startswith("(Id "))
    assert "shared by 7 rows" in line and "its first 5" in line and "one of the other 2 row(s), not read" in line


def test_a_source_the_manifest_gives_no_records_read_shows_them_unknown(tmp_path):
    """Per-source table: a count the manifest's by_source entry lacks is unknown ("—"), never 0."""
    out = write_dataset(tmp_path / "out", {"train": simple_rows(7, source="src") + simple_rows(6, source="other")})
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["counts"]["by_source"] = {
        "src": {"records_read": 7, "records_rejected": 0, "pairs_written": 7, "pairs_by_split": {"train": 7}},
        "other": {"pairs_written": 6, "pairs_by_split": {"train": 6}},
    }
    (out / "manifest.json").write_text(json.dumps(manifest))
    md = report(out).md_path.read_text(encoding="utf-8")
    assert _table_row(md, "source") == ["source", "records read", "rejected", "pairs", "train"]
    assert _table_row(md, "src") == ["src", "7", "0", "7", "7"]
    assert _table_row(md, "other") == ["other", "—", "—", "6", "6"]


def test_sources_with_as_many_pairs_are_listed_by_name(tmp_path):
    """README: the per-source table lists the sources with the most pairs first, "sources with as many pairs
    in name order": mid (3 pairs), beta (2), then alpha, gamma, zeta, which the manifest lists (zeta first)
    but the shards do not hold (0 pairs)."""
    out = write_dataset(tmp_path / "out", {"train": simple_rows(2, source="beta") + simple_rows(3, source="mid")})
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["counts"]["by_source"] = {name: {"records_read": n, "records_rejected": n} for name, n in
                                       [("zeta", 4), ("mid", 3), ("alpha", 2), ("beta", 2), ("gamma", 1)]}
    (out / "manifest.json").write_text(json.dumps(manifest))
    md = report(out).md_path.read_text(encoding="utf-8")
    names = ("alpha", "beta", "gamma", "mid", "zeta")
    first_cells = [ln.split("|")[1].strip() for ln in md.splitlines() if ln.startswith("| ")]
    listed = [cell for cell in first_cells if cell in names]
    assert listed == ["mid", "beta", "alpha", "gamma", "zeta"]
    assert _table_row(md, "zeta")[1:4] == ["4", "4", "0"]


def test_rejected_records_by_reason_are_listed_most_common_first(tmp_path):
    """As the card lists them: the reason that cost the most records first (1 malformed_json, 3 tie)."""
    rejects = [REJECTS[2], *[{**REJECTS[0], "record": 2000 + k} for k in range(3)]]  # malformed_json first on disk
    md = report(write_dataset(tmp_path / "out", {"train": simple_rows(5)}, rejects=rejects)).md_path.read_text()
    lines = md.splitlines()
    i = lines.index("### Rejected records by reason")
    table = [ln for ln in lines[i + 1:i + 8] if ln.startswith("| ") and "---" not in ln]
    assert table[1:] == ["| tie | 3 |", "| malformed\\_json | 1 |"]


def test_the_a_wins_interval_is_written_low_to_high(tmp_path):
    """README: "A wins" share per pairwise source with 95% intervals. 30 of 40: the Wilson interval
    (z = 1.96), worked out here, is written low–high around 75.0%."""
    rows = [canonical_row([msg("user", f"q{i}")], [msg("assistant", "yes")], [msg("assistant", "no")],
                          source="arena", record=i + 1, position="a" if i % 4 else "b") for i in range(40)]
    md = report(write_dataset(tmp_path / "out", {"train": rows})).md_path.read_text(encoding="utf-8")
    n, p, z = 40, 30 / 40, 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low, high = f"{100 * (centre - half):.1f}%", f"{100 * (centre + half):.1f}%"
    assert (low, high) == ("59.8%", "85.8%")
    assert f'"A wins" in arena: 75.0% of 40 (95% interval {low}–{high})' in md


def test_a_lineage_says_how_many_more_records_only_past_three(tmp_path):
    """A sampled pair's lineage shows its first 3 records, then "(+N more)" only if there are more."""
    rows = simple_rows(3)
    rows[0]["lineage"] = [{"file": "a.jsonl", "record": k} for k in (1, 2, 3)]
    rows[1]["lineage"] = [{"file": "b.jsonl", "record": k} for k in (1, 2, 3, 4, 5)]
    html = report(write_dataset(tmp_path / "out", {"train": rows}), sample=3).html_path.read_text(encoding="utf-8")
    assert "b.jsonl:3 (+2 more)" in html and "a.jsonl:3" in html
    assert "(+0 more)" not in html


def test_only_content_hashes_are_cut_to_sixteen_characters(tmp_path):
    """A 64-hex content hash shows as its first 16 characters; another tool's id is shown in full,
    as two 20-hex ids may share their first 16 characters."""
    rows = simple_rows(3)
    rows[0]["id"], rows[1]["id"] = "0123456789abcdef0001", "0123456789abcdef0002"
    hashed = rows[2]["id"]
    assert len(hashed) == 64
    checks = _checks_json([_check("x_chk", "error", False, [r["id"] for r in rows])], passed=False, strict=False)
    md = report(write_dataset(tmp_path / "out", {"train": rows}, checks=checks)).md_path.read_text(encoding="utf-8")
    line = next(ln for ln in md.splitlines() if ln.startswith("Offending pairs of"))
    assert line == f"Offending pairs of `x_chk` (first 3): `0123456789abcdef0001`, `0123456789abcdef0002`, `{hashed[:16]}`"


def test_splits_are_listed_train_validation_test_then_others(tmp_path: Path):
    """As the Hub orders them, whatever order the shards come in on disk."""
    splits = {"test": simple_rows(2, seed=1), "validation": simple_rows(3, seed=2), "train": simple_rows(4, seed=3),
              "extra": simple_rows(1, seed=4)}
    md = report(write_dataset(tmp_path / "out", splits)).md_path.read_text(encoding="utf-8")
    stages = [ln.split("|")[1].strip() for ln in md.splitlines()
              if ln.startswith("| ") and ln.split("|")[1].strip().endswith(" pairs")]
    assert stages == ["train pairs", "validation pairs", "test pairs", "extra pairs"]

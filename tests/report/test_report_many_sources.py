"""A dataset built from thousands of files stays readable: its card and report tables are capped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import prefdata
from prefdata.build.card import MAX_CARD_FILES
from prefdata.report import report
from prefdata.report.content import MAX_SOURCE_ROWS


def test_card_and_report_sum_the_sources_past_their_caps(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    files = MAX_CARD_FILES + 10
    for i in range(files):
        rows = [{"prompt": f"Q {i} {j}?", "chosen": f"good {i} {j}" + " and more" * (i % 3), "rejected": f"bad {i} {j}"} for j in range(1 + i % 4)]
        (raw / f"c{i:03d}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    built = prefdata.build(raw, out)
    total = built.counts["records_read"]

    card = (out / "README.md").read_text()
    listed = re.findall(r"^\| (c\d{3}\.jsonl) \|", card, flags=re.MULTILINE)
    assert listed == [f"c{i:03d}.jsonl" for i in range(MAX_CARD_FILES)]
    rest = sum(1 + i % 4 for i in range(MAX_CARD_FILES, files))
    assert f"| 10 more files (all in `manifest.json`) | | | {rest:,} | |" in card

    report(out)
    md = (out / "report.md").read_text()
    table = md[md.index("### Per source") : md.index("## Checks")]
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| c") or "more sources" in line]
    assert len(rows) == MAX_SOURCE_ROWS + 1
    assert rows[-1][0] == f"| {files - MAX_SOURCE_ROWS} more sources"
    read = [int(r[1].replace(",", "")) for r in rows]
    assert sum(read) == total  # the summed row holds every source not listed
    shown = [int(r[3].replace(",", "")) for r in rows[:-1]]
    assert shown == sorted(shown, reverse=True)  # the listed sources are those with the most pairs
    html = (out / "report.html").read_text()
    assert f"{files - MAX_SOURCE_ROWS} more sources" in html and "c056" not in html.split("Per source")[1].split("</table>")[0]

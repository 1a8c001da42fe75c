"""Acceptance 3: ``prefdata report`` on the build of real data (Anthropic HH-RLHF harmless-base test)."""

from __future__ import annotations

import re

import polars as pl

from prefdata.report import report


def test_report_on_hh_rlhf_build(shared_data, tmp_path):
    import prefdata

    raw = shared_data / "hh-rlhf-harmless-test" / "test.jsonl"
    out = tmp_path / "hh"
    prefdata.build(raw, out, quiet=True)
    manifest_pairs = pl.read_parquet(out / "data" / "*.parquet").height

    result = report(out)  # its speed is measured by benchmarks/report_scale.py, not asserted here
    assert result.pairs == manifest_pairs > 2000
    html = result.html_path.read_text(encoding="utf-8")
    states = dict(re.findall(r'data-plot="([a-z_]+)" data-state="(plot|na)"', html))
    # transcripts: lengths, sources and turns apply; no scores, no positions, no tokenizer
    assert states == {"lengths": "plot", "length_diff": "plot", "margins": "na", "sources": "plot",
                      "position": "na", "turns": "plot", "tokens": "na"}
    assert "transcripts_diverge" in html  # the 4-5 records whose transcripts diverge early are rejects
    assert len(re.findall(r'<article class="pair"', html)) == 8
    md = result.md_path.read_text(encoding="utf-8")
    assert "## Sample of pairs" not in md and "chosen assistant" not in md  # conversations: report.html only
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "## Quality" in card and "size_categories:\n- 1K<n<10K" in card

"""Acceptance 1: the report opened in real headless Chromium, as a person would see it.

Skips when Debian's ``chromium`` is not installed (``apt-get install chromium``; ``.ci/run`` installs
it), unless ``PREFDATA_REQUIRE_CHROMIUM=1``, which CI sets so that a missing browser fails instead of
silently skipping.
"""

from __future__ import annotations

import io
import json
import os

import pytest

from prefdata.report import report
from tests.report.report_chromium import find_chromium, visit
from tests.report.report_datasets import XSS

if not find_chromium():
    if os.environ.get("PREFDATA_REQUIRE_CHROMIUM") == "1":
        raise RuntimeError("PREFDATA_REQUIRE_CHROMIUM=1 but chromium is not installed (apt-get install -y chromium)")
    pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)", allow_module_level=True)

PLOTS = ["lengths", "length_diff", "margins", "sources", "position", "turns", "tokens"]

#: Runs in the page after load: what each plot drew, and what markup exists that the data could inject.
PROBE = """JSON.stringify({
  plots: Array.from(document.querySelectorAll('figure.plot')).map(f => {
    const svg = f.querySelector('svg');
    const box = svg ? svg.getBoundingClientRect() : null;
    return {id: f.dataset.plot, state: f.dataset.state,
            width: box ? box.width : 0, height: box ? box.height : 0,
            marks: svg ? svg.querySelectorAll('path, rect, use, line, polyline, polygon').length : 0,
            labels: svg ? svg.querySelectorAll('text').length : 0};
  }),
  injected: document.querySelectorAll('script, img, iframe, object, embed, link, base, form').length,
  h1: document.querySelectorAll('h1').length,
  text: document.body.innerText,
  pairs: document.querySelectorAll('article.pair').length,
  width: document.documentElement.scrollWidth,
})"""


def test_report_in_headless_chromium(rich_dataset, tmp_path):
    out, hostile = rich_dataset
    result = report(out, sample=200)
    page = visit(result.html_path, evaluate=PROBE, width=1280)
    (tmp_path / "report.png").write_bytes(page.screenshot)  # kept in pytest's tmp dir for a look

    assert page.console_errors == []
    assert page.requests == []
    assert page.dialogs == []

    probe = json.loads(page.evaluated)
    plots = {p["id"]: p for p in probe["plots"]}
    assert list(plots) == PLOTS
    for plot_id, p in plots.items():
        assert p["state"] == "plot", plot_id
        assert p["width"] > 300 and p["height"] > 100, (plot_id, p)
        assert p["marks"] >= 5 and p["labels"] >= 3, (plot_id, p)  # drawn data and axis labels, not a blank frame

    # the hostile pair is on the page as text, and nothing it contains became markup
    assert probe["injected"] == 0 and probe["h1"] == 1
    assert XSS in probe["text"] and "</div></main><h1>broken layout</h1>" in probe["text"]
    assert f"{hostile['id'][:16]}" in probe["text"]
    assert probe["pairs"] >= 151  # the whole sample (151) plus the failed checks' offending pairs
    assert probe["width"] <= 1280  # no horizontal overflow from long texts

    from PIL import Image

    shot = Image.open(io.BytesIO(page.screenshot))
    assert shot.format == "PNG" and shot.width == 1280 and shot.height > 2000
    assert len(shot.convert("RGB").getcolors(1 << 20) or []) > 50  # a rendered page, not a blank one

"""benchmarks/check_throughput.py runs end to end at toy size (GX included), so it cannot rot; at that
size it also re-checks that both engines count the same unexpected rows on the synthetic data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_check_benchmark_smoke(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "check_throughput.py"), "--pairs", "3000", "--data", str(tmp_path / "d"),
         "--skip-similarity"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "expectation unexpected_counts identical in polars and gx: True" in out, out
    assert "reading the text alone takes" in out

"""benchmarks/build_throughput.py runs end to end at toy size, for both input formats, so it cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_build_benchmark_smoke(tmp_path: Path, fmt: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "build_throughput.py"), "--size-mb", "1", "--format", fmt,
         "--skip-datasets", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    for method in ("polars_parse", "floor", "floor_raw", "prefdata") + (("json_load",) if fmt == "json" else ()):
        assert f"  {method} " in out, out
    assert "of the bare polars parse" in out and "the floor's time" in out

"""The build benchmarks run end to end at toy size, so they cannot rot."""

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


def test_reject_memory_benchmark_smoke() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "build_reject_memory.py"), "--size-mb", "1"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    identical = next(line for line in lines if line.strip().startswith("identical:"))
    assert "-> 0 pairs" in identical  # every record rejected
    assert any(line.startswith("duplicates / clean: time") for line in lines), proc.stdout


def test_many_files_benchmark_smoke() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "build_many_files.py"), "--files", "20", "--records", "2"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "20 files: 40 pairs" in proc.stdout and "one file: 40 pairs" in proc.stdout, proc.stdout
    assert "each extra file:" in proc.stdout

"""benchmarks/gpu_train.py runs end to end (at toy size, on CPU, with --smoke), so it cannot rot unseen."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_gpu_benchmark_smoke(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "gpu_train.py"),
            "--smoke",
            "--steps",
            "4",
            "--work-dir",
            str(tmp_path / "w"),
            "--json",
            str(out),
        ],
        capture_output=True,
        check=False,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "sft: prefdata/TRL-defaults tokens/s x" in proc.stdout
    assert "dpo: prefdata/TRL-defaults tokens/s x" in proc.stdout
    doc = json.loads(out.read_text())
    arms = {(r["stage"], r["arm"]): r for r in doc["results"]}
    assert set(arms) == {("sft", "trl-defaults"), ("sft", "prefdata"), ("dpo", "trl-defaults"), ("dpo", "prefdata")}
    assert all(r["tokens"] > 0 for r in doc["results"])
    assert arms[("dpo", "prefdata")]["settings"]["precompute_ref_log_probs"] is True
    assert arms[("dpo", "prefdata")]["precompute_s"] > 0
    assert arms[("dpo", "trl-defaults")]["settings"]["reference"] == "second model copy"

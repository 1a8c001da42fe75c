"""Two processes (torchrun, gloo on CPU): the distributed code paths of `prefdata train dpo` run.

Only the main process prints and writes provenance, the LoRA merge waits at a barrier, and the held-out
evaluation gathers every test pair exactly once across ranks. Slow-marked: it starts two interpreters.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dpo_with_two_processes(task_data, sft_model, tmp_path):
    out = tmp_path / "dpo"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(_free_port()),
        "-m",
        "prefdata",
        "train",
        "dpo",
        "--data",
        str(task_data),
        "--model",
        str(sft_model),
        "--output",
        str(out),
        "--no-check",
        "--batch-size",
        "8",
        "--max-length",
        "64",
        "--lr",
        "5e-3",
        "--max-steps",
        "6",
        "--beta",
        "0.1",
        "--set",
        "trl.save_strategy=no",
        "--set",
        "lora.r=8",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("held-out eval") == 1  # printed by rank 0 only
    record = json.loads((out / "prefdata_train.json").read_text())
    assert record["distributed"] == {"type": "MULTI_CPU", "processes": 2}
    evaluation = json.loads((out / "eval.json").read_text())
    assert evaluation["before"]["pairs"] == evaluation["after"]["pairs"] == 60  # gathered, no duplicates
    assert evaluation["after"]["reward_margin"] > 0
    assert (out / "model.safetensors").is_file()

"""Time SFT then DPO on a tiny local Llama on CPU, with true and with swapped labels (goal: under 2 minutes).

The training issue asks that this run, which ``tests/train/test_train_learning.py`` checks for what it
learns (held-out reward accuracy 0.5 -> >= 0.9 with true labels, far below chance with swapped ones),
finish in under 2 minutes on CPU. Timing belongs here rather than in that test: the CI machines are
shared and noisy, and a timed assertion there fails for reasons that have nothing to do with the code.

    python benchmarks/train_cpu_learning.py [--repeats N]

Prints the wall time of each repeat (both runs: true and swapped labels), the reward accuracies, and
the ratio of the median to the 120 s goal. Builds everything locally (no hub access).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

GOAL_SECONDS = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    from prefdata.train import train_dpo, train_sft
    from tests.support.canonical_data import all_texts, synthetic_task, write_canonical
    from tests.support.fast_training import DPO_FAST, SFT_FAST
    from tests.support.tiny_model import make_tiny_llama

    with tempfile.TemporaryDirectory(prefix="prefdata-train-bench-") as tmp:
        root = Path(tmp)
        splits = synthetic_task()
        data = {"true": write_canonical(root / "true", splits), "swapped": write_canonical(root / "swapped", synthetic_task(swap_train=True))}
        model = make_tiny_llama(root / "tiny", all_texts(splits))
        times = []
        for repeat in range(args.repeats):
            start = time.perf_counter()
            accuracy = {}
            for tag, path in data.items():
                out = root / f"run{repeat}-{tag}"
                sft = train_sft(path, str(model), out / "sft", overrides=SFT_FAST, no_check=True)
                dpo = train_dpo(path, str(sft.output), out / "dpo", overrides=DPO_FAST, no_check=True)
                accuracy[tag] = (dpo.eval_before.reward_accuracy, dpo.eval_after.reward_accuracy)
            seconds = time.perf_counter() - start
            times.append(seconds)
            print(
                f"repeat {repeat + 1}: SFT+DPO twice in {seconds:.1f} s; reward accuracy "
                f"true {accuracy['true'][0]:.2f} -> {accuracy['true'][1]:.2f}, swapped {accuracy['swapped'][0]:.2f} -> {accuracy['swapped'][1]:.2f}"
            )
    median = statistics.median(times)
    print(f"median {median:.1f} s on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}: "
          f"{median / GOAL_SECONDS:.2f} of the {GOAL_SECONDS:.0f} s goal")


if __name__ == "__main__":
    main()

"""Tokenizer checks on multi-pair data: each distinct conversation tokenized once, against every pair's.

Shapes that turn one record into several pairs (rated, ranked, tree, feedback) repeat the prompt in
every pair, and prompt + chosen in every pair of one best response. The tokenizer checks of ``prefdata
check --tokenizer DIR --max-length N`` spend nearly all their time tokenizing, so they tokenize each
distinct conversation once per batch.

This script writes UltraFeedback-style raw records (a prompt and ``--completions`` scored responses,
texts taken from ``../shared/data/hh-rlhf-harmless-test`` when present, synthetic sentences
otherwise), builds them with prefdata (``--policy all_pairs``: every pair of responses, K(K-1)/2 per
prompt), and times in the same process, alternating ``--repeats`` times:

  (a) prefdata   ``prefdata.check(OUT, tokenizer=..., max_length=...)`` with only the tokenizer checks on
  (b) baseline   the same, tokenizing every pair's three conversations (how the check worked before)

Prints the time per pair of each, the ratio, and whether both give the same verdicts.

    python benchmarks/tokenizer_checks.py                   # SmolLM2-135M-Instruct's tokenizer
    python benchmarks/tokenizer_checks.py --policy best_vs_worst   # one pair per prompt: nothing repeats
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HH = REPO.parent / "shared" / "data" / "hh-rlhf-harmless-test" / "test.jsonl"
TOKENIZER_CHECKS = ("truncation_dropped", "truncation_identical", "chat_template_roundtrip", "double_bos")


def texts(n: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """``n`` prompts and a pool of responses: HH-RLHF's first human turn and final assistant turns."""
    prompts, responses = [], []
    if HH.exists():
        for line in HH.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            for side in ("chosen", "rejected"):
                turns = record[side].split("\n\nAssistant:")
                responses.append(turns[-1].strip())
            prompts.append(record["chosen"].split("\n\nHuman:")[1].split("\n\nAssistant:")[0].strip())
    else:
        sys.path.insert(0, str(REPO / "benchmarks"))
        from build_throughput import paragraph

        prompts = [paragraph(rng, 2) + "?" for _ in range(n)]
        responses = [paragraph(rng, rng.randint(1, 4)) for _ in range(2 * n)]
    prompts = [p for p in prompts if p]
    responses = [r for r in responses if r]
    return [prompts[i % len(prompts)] + ("" if i < len(prompts) else f" ({i})") for i in range(n)], responses


def write_raw(path: Path, prompts: int, completions: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    asked, pool = texts(prompts, rng)
    with path.open("w", encoding="utf-8") as fh:
        for prompt in asked:
            picked = rng.sample(pool, completions)
            scores = rng.sample(range(1, 11), completions)  # distinct: no ties
            record = {"instruction": prompt, "completions": [{"response": r, "overall_score": s} for r, s in zip(picked, scores)]}
            fh.write(json.dumps(record) + "\n")


def every_conversation(tok, conversations, **kwargs):
    """The baseline: one ``apply_chat_template`` call on every conversation, repeats included."""
    return tok.apply_chat_template(conversations, tokenize=True, return_dict=True, **kwargs)["input_ids"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=1500)
    parser.add_argument("--completions", type=int, default=4, help="scored responses per prompt")
    parser.add_argument("--policy", default="all_pairs", choices=("all_pairs", "best_vs_worst", "best_vs_random"),
                        help="how they become pairs: all_pairs gives K(K-1)/2 per prompt, the others one")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--tokenizer", type=Path, help="local tokenizer dir [default: SmolLM2-135M-Instruct, converted once]")
    args = parser.parse_args()

    import prefdata
    from prefdata.check.config import CHECK_IDS

    tokenizer_checks = importlib.import_module("prefdata.check.checks.tokenizer")
    if args.tokenizer is None:
        from prefdata.train.models import ensure_builtin

        args.tokenizer = ensure_builtin("smollm2-135m-instruct")
    config = {"checks": {c: {"enabled": c in TOKENIZER_CHECKS} for c in CHECK_IDS}}

    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "rated.jsonl", Path(tmp) / "out"
        write_raw(raw, args.prompts, args.completions)
        source = {
            "path": raw.name, "shape": "rated", "binarize": {"policy": args.policy},
            "columns": {"prompt": "instruction", "completions": "completions", "text": "response", "score": "overall_score"},
        }
        built = prefdata.build(raw, out, config={"sources": [source]}, test_fraction=0.0)
        pairs = built.counts["pairs_written"]
        print(f"{args.prompts:,} prompts x {args.completions} scored responses -> {pairs:,} pairs; tokenizer {args.tokenizer}")

        def run(arm: str):
            original = tokenizer_checks.templated_ids
            if arm == "baseline":
                tokenizer_checks.templated_ids = every_conversation
            try:
                t = time.perf_counter()
                result = prefdata.check(out, config=config, tokenizer=args.tokenizer, max_length=args.max_length, write=False)
                return time.perf_counter() - t, result
            finally:
                tokenizer_checks.templated_ids = original

        run("prefdata")  # warm-up: the first check in a process loads the tokenizer stack
        times: dict[str, list[float]] = {"prefdata": [], "baseline": []}
        verdicts = {}
        for _ in range(args.repeats):
            for arm in ("baseline", "prefdata"):
                seconds, result = run(arm)
                times[arm].append(seconds)
                verdicts[arm] = [(c.id, c.passed, c.offending_ids, c.statistic.get("pairs_truncated")) for c in result.checks if c.id in TOKENIZER_CHECKS]
    for arm in ("baseline", "prefdata"):
        best = min(times[arm])
        print(f"  {arm:9s} {best:6.2f} s  {best / pairs * 1e3:.3f} ms/pair  (runs: {', '.join(f'{t:.2f}' for t in times[arm])})")
    print(f"prefdata runs at {min(times['baseline']) / min(times['prefdata']):.2f}x the speed of tokenizing every pair "
          f"(median {statistics.median(times['baseline']) / statistics.median(times['prefdata']):.2f}x); "
          f"same verdicts: {verdicts['baseline'] == verdicts['prefdata']}")


if __name__ == "__main__":
    main()

"""SFT then DPO of a randomly initialised ~0.5B Llama on one CUDA GPU: TRL's defaults vs prefdata's settings.

No weights are needed: the model is built from a config and a BPE tokenizer is trained on the data.
The data is a prefdata build (``--data OUT``; otherwise ``../shared/data/hh-rlhf-harmless-test`` if
present, else the repo's ``fixtures/raw``), cut or cycled to exactly the pairs the steps consume, so
a reference precompute covers the same pairs training sees.

Arms, same model, data, batch size, max_length and number of steps:

- ``trl-defaults``: what ``SFTTrainer`` / ``DPOTrainer`` do when given only a model path and the data:
  full fine-tuning, fp32 weights under bf16 autocast, gradient checkpointing on (TRL 1.x default), and
  for DPO a second full copy of the model as reference, run at every step;
- ``prefdata``: ``prefdata.train.train_sft`` / ``train_dpo`` with the shipped recipes: LoRA (the
  reference is the policy with adapters off, no copy), precision from the hardware, checkpointing only
  when the memory estimate needs it, and for DPO ``precompute_ref_log_probs: true``.

Reported per stage and arm: tokens/s end to end (non-padding tokens / (train time + reference
precompute)), steady-state tokens/s (after ``--warmup`` steps) and peak GPU memory, then
prefdata/TRL ratios. ``--smoke`` runs the same code at toy size on CPU, to prove it executes.

    python benchmarks/gpu_train.py                 # one CUDA GPU, ~0.5B model (target: < 8 min on an H100)
    python benchmarks/gpu_train.py --smoke         # CPU, tiny model, a minute
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.support (tokenizer training) when run from a checkout

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

#: ~0.5B parameters: 28 x 16.8M per layer + 32.8M tied embeddings = 0.50B.
FULL = {
    "hidden_size": 1024,
    "intermediate_size": 4096,
    "num_hidden_layers": 28,
    "num_attention_heads": 16,
    "vocab_size": 32000,
}
SMOKE = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "vocab_size": 600,
}


@dataclass
class Measurement:
    stage: str
    arm: str
    steps: int
    tokens: int
    train_s: float
    precompute_s: float
    steady_tokens_per_s: float | None
    peak_gib: float | None
    settings: dict = field(default_factory=dict)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / (self.train_s + self.precompute_s)

    @property
    def steady_with_precompute(self) -> float | None:
        """Steady-state rate with the precompute (one forward per pair, over exactly the pairs trained) amortized."""
        if not self.steady_tokens_per_s:
            return None
        return 1.0 / (1.0 / self.steady_tokens_per_s + self.precompute_s / self.tokens)


def make_meter(warmup: int):
    """A TrainerCallback recording step times, tokens (TRL's ``num_tokens`` log) and peak CUDA memory."""
    import torch
    from transformers import TrainerCallback

    class Meter(TrainerCallback):
        def __init__(self):
            self.step_times: list[float] = []
            self.start = self.end = 0.0
            self.peak: int | None = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.step_times.append(time.perf_counter())

        def on_train_end(self, args, state, control, **kwargs):
            self.end = time.perf_counter()
            self.tokens_log = [(h["step"], h["num_tokens"]) for h in state.log_history if "num_tokens" in h]
            if torch.cuda.is_available():
                self.peak = torch.cuda.max_memory_allocated()

        def summary(self) -> tuple[int, float, float | None]:
            tokens = int(self.tokens_log[-1][1])
            steady = None
            by_step = dict(self.tokens_log)
            if len(self.step_times) > warmup + 1 and warmup in by_step:
                span = self.step_times[-1] - self.step_times[warmup - 1]
                steady = (tokens - by_step[warmup]) / span if span > 0 else None
            return tokens, self.end - self.start, steady

    return Meter()


class PrecomputeTimer:
    """Times TRL's reference precompute (it runs inside ``DPOTrainer.__init__``, before training starts)."""

    def __init__(self):
        self.seconds = 0.0

    def __enter__(self):
        import trl

        self.original = trl.DPOTrainer._precompute_ref_logps
        timer = self

        def timed(trainer, *args, **kwargs):
            start = time.perf_counter()
            try:
                return timer.original(trainer, *args, **kwargs)
            finally:
                timer.seconds += time.perf_counter() - start

        trl.DPOTrainer._precompute_ref_logps = timed
        return self

    def __exit__(self, *exc):
        import trl

        trl.DPOTrainer._precompute_ref_logps = self.original


def reset_cuda():
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


# --- data and model ----------------------------------------------------------------------------------------------


def source_dataset(args, work: Path) -> Path:
    """A prefdata build to take pairs from: --data, else hh-rlhf from ../shared, else the repo fixtures."""
    if args.data:
        return Path(args.data)
    import prefdata

    hh = REPO.parent / "shared" / "data" / "hh-rlhf-harmless-test" / "test.jsonl"
    out = work / "built"
    if hh.is_file():
        raw, config = hh, None
    else:  # the repo's fixtures of every raw shape, with the build config that maps them
        raw, config = REPO / "fixtures" / "raw", REPO / "fixtures" / "configs" / "fixtures.yaml"
    result = prefdata.build(str(raw), str(out), config=str(config) if config else None, quiet=True)
    print(f"data: built {raw} -> {result.counts['pairs_written']} pairs", flush=True)
    return out


def bench_dataset(source: Path, work: Path, n_train: int, n_test: int) -> Path:
    """Exactly ``n_train`` train pairs (cycled if the build has fewer) and ``n_test`` test pairs, canonical layout."""
    import polars as pl

    frame = pl.concat([pl.read_parquet(f) for f in sorted((source / "data").glob("*.parquet"))])
    reps = -(-n_train // frame.height)
    train = pl.concat([frame] * reps).head(n_train)
    out = work / "bench-data"
    (out / "data").mkdir(parents=True, exist_ok=True)
    train.write_parquet(out / "data" / "train-00000-of-00001.parquet")
    frame.head(n_test).write_parquet(out / "data" / "test-00000-of-00001.parquet")
    return out


def make_model(data: Path, work: Path, size: dict) -> Path:
    """Random-init Llama (seeded) + a BPE tokenizer trained on the data's texts, saved to ``work/model``."""
    import polars as pl
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from tests.support.tiny_model import train_tokenizer

    frame = pl.read_parquet(data / "data" / "train-00000-of-00001.parquet")
    texts = [m["content"] for col in ("prompt", "chosen", "rejected") for msgs in frame[col].to_list() for m in msgs]
    tokenizer = train_tokenizer(texts, vocab_size=min(8000, size["vocab_size"]))
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=max(size["vocab_size"], len(tokenizer)),
        hidden_size=size["hidden_size"],
        intermediate_size=size["intermediate_size"],
        num_hidden_layers=size["num_hidden_layers"],
        num_attention_heads=size["num_attention_heads"],
        num_key_value_heads=size["num_attention_heads"],
        max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    params = sum(p.numel() for p in model.parameters())
    out = work / "model"
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    print(f"model: random Llama, {params / 1e6:.1f}M parameters, {config.num_hidden_layers} layers", flush=True)
    return out


def warm_up_device(model_dir: Path, max_length: int) -> None:
    """One throwaway forward/backward so that CUDA context and kernel set-up are not charged to the first arm."""
    import torch
    from transformers import AutoModelForCausalLM

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=torch.bfloat16 if device == "cuda" else torch.float32
    ).to(device)
    ids = torch.randint(0, model.config.vocab_size, (2, min(max_length, 256)), device=device)
    for _ in range(2):
        model(input_ids=ids, labels=ids).loss.backward()
    del model
    reset_cuda()


# --- arms --------------------------------------------------------------------------------------------------------


def shape(args) -> dict:
    return {
        "max_steps": args.steps,
        "per_device_train_batch_size": args.batch_size,
        "gradient_accumulation_steps": 1,
        "max_length": args.max_length,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": "none",
        "seed": 0,
    }


def trl_defaults(stage: str, model: Path, data: Path, args, cpu: bool) -> Measurement:
    """TRL given a model path and the data, nothing else (on CPU, bf16 and the GPU are switched off)."""
    from transformers import AutoTokenizer
    from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer

    from prefdata.train.data import load_split, open_training_data, to_prompt_completion

    reset_cuda()
    dataset = load_split(open_training_data(data), "train")
    tokenizer = AutoTokenizer.from_pretrained(model)
    extra = {"use_cpu": True, "bf16": False} if cpu else {}
    meter = make_meter(args.warmup)
    out = Path(tempfile.mkdtemp(dir=args.work_dir))
    timer = PrecomputeTimer()
    if stage == "sft":
        config = SFTConfig(output_dir=str(out), **shape(args), **extra)
        trainer = SFTTrainer(
            model=str(model),
            args=config,
            train_dataset=to_prompt_completion(dataset),
            processing_class=tokenizer,
            callbacks=[meter],
        )
        trainer.train()
    else:
        config = DPOConfig(output_dir=str(out), **shape(args), **extra)
        with timer:  # TRL's default does not precompute, so this stays 0
            trainer = DPOTrainer(
                model=str(model), args=config, train_dataset=dataset, processing_class=tokenizer, callbacks=[meter]
            )
        trainer.train()
    tokens, train_s, steady = meter.summary()
    settings = {
        "lora": False,
        "activation_checkpointing": bool(config.gradient_checkpointing),
        "bf16": bool(config.bf16),
        "reference": "second model copy" if stage == "dpo" else None,
        "precompute_ref_log_probs": bool(getattr(config, "precompute_ref_log_probs", False)),
    }
    del trainer
    shutil.rmtree(out, ignore_errors=True)
    return Measurement(
        stage, "trl-defaults", args.steps, tokens, train_s, timer.seconds, steady, _gib(meter.peak), settings
    )


def prefdata_arm(stage: str, model: Path, data: Path, args, out: Path) -> Measurement:
    """prefdata's shipped recipe, with the same shape; DPO precomputes the reference log-probs."""
    from prefdata.train import train_dpo, train_sft

    reset_cuda()
    meter = make_meter(args.warmup)
    overrides = {f"trl.{k}": v for k, v in shape(args).items() if k != "seed"}
    overrides["seed"] = 0
    overrides["eval.enabled"] = False  # evaluation is not part of TRL's default run either
    timer = PrecomputeTimer()
    if stage == "sft":
        result = train_sft(data, str(model), out, overrides=overrides, no_check=True, overwrite=True, callbacks=[meter])
    else:
        overrides["trl.precompute_ref_log_probs"] = True
        with timer:
            result = train_dpo(
                data, str(model), out, overrides=overrides, no_check=True, overwrite=True, callbacks=[meter]
            )
    precompute = timer.seconds
    tokens, train_s, steady = meter.summary()
    trl_config = result.record["trl_config"]
    settings = {
        "lora": result.record["recipe"]["lora"] is not None,
        "activation_checkpointing": bool(result.record["activation_checkpointing"]),
        "precision": result.record["precision"]["name"],
        "reference": "adapters off" if stage == "dpo" else None,
        "precompute_ref_log_probs": bool(trl_config.get("precompute_ref_log_probs", False)),
    }
    return Measurement(stage, "prefdata", args.steps, tokens, train_s, precompute, steady, _gib(meter.peak), settings)


def _gib(n: int | None) -> float | None:
    return None if n is None else n / 2**30


def report(results: list[Measurement], device: str) -> str:
    lines = [f"device: {device}", ""]
    lines.append(
        f"{'stage':<5} {'arm':<13} {'tokens':>9} {'train s':>8} {'precomp s':>9} {'tok/s':>9} {'steady tok/s':>12} {'peak GiB':>9}"
    )
    for m in results:
        steady = f"{m.steady_with_precompute:,.0f}" if m.steady_with_precompute else "n/a"
        peak = f"{m.peak_gib:.2f}" if m.peak_gib is not None else "n/a"
        lines.append(
            f"{m.stage:<5} {m.arm:<13} {m.tokens:>9,} {m.train_s:>8.1f} {m.precompute_s:>9.1f} {m.tokens_per_s:>9,.0f} {steady:>12} {peak:>9}"
        )
    lines.append("tok/s = tokens / (train + precompute); steady = after the warm-up steps, precompute amortized")
    lines.append("")
    for stage in ("sft", "dpo"):
        base = next(m for m in results if m.stage == stage and m.arm == "trl-defaults")
        ours = next(m for m in results if m.stage == stage and m.arm == "prefdata")
        ratio = f"{stage}: prefdata/TRL-defaults tokens/s x{ours.tokens_per_s / base.tokens_per_s:.2f}"
        if base.steady_with_precompute and ours.steady_with_precompute:
            ratio += f" (steady x{ours.steady_with_precompute / base.steady_with_precompute:.2f})"
        if base.peak_gib and ours.peak_gib:
            ratio += f", peak memory x{ours.peak_gib / base.peak_gib:.2f}"
        lines.append(ratio)
        lines.append(f"   trl-defaults: {base.settings}")
        lines.append(f"   prefdata:     {ours.settings}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny model on CPU, to prove the script runs end to end")
    parser.add_argument("--data", help="a prefdata dataset directory to take pairs from")
    parser.add_argument("--steps", type=int, help="optimizer steps per arm [40; smoke 6]")
    parser.add_argument("--batch-size", type=int, help="pairs per step [8; smoke 4]")
    parser.add_argument("--max-length", type=int, help="tokens per sequence [1024; smoke 128]")
    parser.add_argument(
        "--warmup", type=int, default=None, help="steps excluded from steady-state tokens/s [5; smoke 2]"
    )
    parser.add_argument("--work-dir", help="scratch directory [a temporary one]")
    parser.add_argument("--json", help="also write the measurements here")
    args = parser.parse_args(argv)
    args.steps = args.steps or (6 if args.smoke else 40)
    args.batch_size = args.batch_size or (4 if args.smoke else 8)
    args.max_length = args.max_length or (128 if args.smoke else 1024)
    args.warmup = args.warmup if args.warmup is not None else (2 if args.smoke else 5)

    import torch

    cuda = torch.cuda.is_available()
    if not cuda and not args.smoke:
        print("no CUDA GPU: run with --smoke to exercise the script on CPU", file=sys.stderr)
        return 2
    device = torch.cuda.get_device_name(0) if cuda else "CPU (smoke)"
    start = time.perf_counter()
    keep_work = args.work_dir is not None
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="prefdata-gpu-train-"))
    args.work_dir = str(work)
    work.mkdir(parents=True, exist_ok=True)
    data = bench_dataset(source_dataset(args, work), work, args.steps * args.batch_size, 8)
    model = make_model(data, work, SMOKE if args.smoke else FULL)
    warm_up_device(model, args.max_length)
    results: list[Measurement] = []
    cpu = not cuda
    sft_out = work / "sft-prefdata"
    results.append(trl_defaults("sft", model, data, args, cpu))
    print(f"sft trl-defaults done ({time.perf_counter() - start:.0f}s)", flush=True)
    results.append(prefdata_arm("sft", model, data, args, sft_out))
    print(f"sft prefdata done ({time.perf_counter() - start:.0f}s)", flush=True)
    # Both DPO arms start from the same SFT model (prefdata's output, which carries the SFT record).
    results.append(trl_defaults("dpo", sft_out, data, args, cpu))
    print(f"dpo trl-defaults done ({time.perf_counter() - start:.0f}s)", flush=True)
    results.append(prefdata_arm("dpo", sft_out, data, args, work / "dpo-prefdata"))
    total = time.perf_counter() - start
    print(f"dpo prefdata done ({total:.0f}s)\n", flush=True)
    print(report(results, device))
    print(f"\ntotal wall time {total:.0f}s (steps {args.steps}, batch {args.batch_size}, max_length {args.max_length})")
    if args.json:
        doc = {
            "device": device,
            "total_s": total,
            "args": vars(args),
            "results": [asdict(m) | {"tokens_per_s": m.tokens_per_s} for m in results],
        }
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
    if not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

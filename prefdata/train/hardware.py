"""Precision and memory decisions taken from the hardware, not from TRL's defaults.

TRL 1.x defaults to ``bf16=True`` and gradient (activation) checkpointing on, everywhere. bf16 fails or is
emulated slowly on GPUs before Ampere and on most CPUs, and checkpointing costs ~20-30% of the step
time even when the activations fit easily. prefdata picks:

- precision: bf16 where the GPU supports it, else fp16 on GPU, fp32 on CPU (``precision: auto``);
- activation (gradient) checkpointing: on only when an estimate of the step's memory exceeds the GPU's
  (``activation_checkpointing: auto``; transformers 5's name), never on CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prefdata.train.errors import RecipeError


@dataclass(frozen=True)
class Precision:
    """The chosen numeric precision and the TRL/torch settings that realize it."""

    name: str  # "bf16" | "fp16" | "fp32"
    device: str  # "cuda" | "mps" | "cpu"
    device_name: str

    def trl_args(self) -> dict[str, Any]:
        """The TrainingArguments fields prefdata owns (``bf16``, ``fp16``, ``use_cpu``)."""
        return {"bf16": self.name == "bf16", "fp16": self.name == "fp16", "use_cpu": self.device == "cpu"}

    def weight_dtype(self, *, lora: bool):
        """dtype to load the model in.

        With LoRA the frozen base weights are held in the compute dtype (half the memory; PEFT keeps the
        trainable adapters in fp32). Full fine-tuning keeps fp32 master weights and trains under autocast.
        """
        import torch

        if lora and self.name == "bf16":
            return torch.bfloat16
        if lora and self.name == "fp16":
            return torch.float16
        return torch.float32


def detect_device() -> tuple[str, str]:
    """(kind, human-readable name) of the device training will run on."""
    import torch

    if torch.cuda.is_available():
        return "cuda", torch.cuda.get_device_name(0)
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps", "Apple MPS"
    return "cpu", "CPU"


def choose_precision(requested: str = "auto") -> Precision:
    """bf16 where supported, else fp16 on GPU, fp32 on CPU; an explicit request is honoured if the hardware can."""
    import torch

    device, name = detect_device()
    bf16_ok = device == "cuda" and torch.cuda.is_bf16_supported()
    if requested == "auto":
        if device == "cuda":
            chosen = "bf16" if bf16_ok else "fp16"
        else:
            chosen = "fp32"
    elif requested == "bf16" and device == "cuda" and not bf16_ok:
        raise RecipeError(f"precision: bf16 is not supported by {name}; use `precision: auto` (fp16 there)")
    elif requested == "fp16" and device != "cuda":
        raise RecipeError(
            f"precision: fp16 mixed precision needs a CUDA GPU, and this run is on {name}; use auto or fp32"
        )
    else:
        chosen = requested
    return Precision(name=chosen, device=device, device_name=name)


@dataclass(frozen=True)
class MemoryEstimate:
    """A rough peak-memory estimate of one training step, and what it implies for checkpointing."""

    static_bytes: int  # weights + gradients + AdamW states
    activation_bytes: int  # activations kept for backward without checkpointing
    budget_bytes: int | None  # usable device memory (None on CPU)

    @property
    def needs_checkpointing(self) -> bool:
        return self.budget_bytes is not None and self.static_bytes + self.activation_bytes > self.budget_bytes

    def describe(self) -> str:
        gib = 2**30
        budget = "n/a (CPU)" if self.budget_bytes is None else f"{self.budget_bytes / gib:.1f} GiB"
        return (
            f"estimated step memory {(self.static_bytes + self.activation_bytes) / gib:.1f} GiB "
            f"(weights/grads/optimizer {self.static_bytes / gib:.1f}, activations {self.activation_bytes / gib:.1f}), "
            f"budget {budget}"
        )


def estimate_step_memory(
    model,
    *,
    tokens_per_micro_batch: int,
    precision: Precision,
    trainable_params: int | None = None,
    budget_fraction: float = 0.85,
) -> MemoryEstimate:
    """Estimate peak training memory of ``model`` for a micro-batch of ``tokens_per_micro_batch`` tokens.

    Activations follow Korthikanti et al. (2022): about ``34 * hidden`` bytes per token and layer in 16-bit
    (attention scores excluded, as SDPA/flash kernels do not keep them), doubled in fp32; plus fp32 logits.
    Static memory is the weights as loaded, plus fp32 gradients and two AdamW states per trainable parameter.
    It is an estimate meant to decide one boolean, not an accounting.
    """
    import torch

    config = model.config.get_text_config()
    hidden = int(getattr(config, "hidden_size", 0) or 0)
    layers = int(getattr(config, "num_hidden_layers", 0) or 0)
    vocab = int(getattr(config, "vocab_size", 0) or 0)
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    if trainable_params is None:
        trainable_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    trainable = trainable_params
    static = weights + trainable * (4 + 8)
    act_bytes = 2 if precision.name in ("bf16", "fp16") else 4
    activations = layers * tokens_per_micro_batch * 34 * hidden * act_bytes // 2 + tokens_per_micro_batch * vocab * 4
    budget = None
    if precision.device == "cuda":
        budget = int(torch.cuda.get_device_properties(0).total_memory * budget_fraction)
    return MemoryEstimate(static_bytes=static, activation_bytes=activations, budget_bytes=budget)


def decide_checkpointing(setting: str | bool, estimate: MemoryEstimate) -> bool:
    """``auto`` turns checkpointing on only when the estimate says the step would not fit."""
    if setting == "auto":
        return estimate.needs_checkpointing
    return bool(setting)

"""What runs once ``trainer.train()`` has prepared the model, before the first step.

The Trainer moves, wraps and shards the model only when training starts. Under FSDP the weights sit
on the CPU until then (and, with ``fsdp_cpu_ram_efficient_loading``, exist on rank 0 alone), so work
that needs the model as training will use it (the evaluation before DPO, the FSDP warm-up below) runs
in a ``on_train_begin`` callback, where no step has run yet.

**FSDP2, LoRA and a reference with the adapters off.** FSDP2 fixes each parameter group's original
and reduce dtypes at the first forward through the model (its lazy init), from the parameters that
require grad at that moment. DPO with LoRA computes the reference by disabling the adapters, and PEFT's
``disable_adapter()`` turns ``requires_grad`` off on every adapter weight. When that reference pass is
the first forward (TRL's first step, or the evaluation before training), FSDP2 sees no trainable
parameter and records no dtype; under a bf16 mixed-precision policy the first backward then fails with
"attempting to assign a gradient with dtype 'c10::BFloat16' to a tensor with grad_dtype 'Float'" (seen
on an H200 with ``train/accelerate/fsdp.yaml``: torch 2.11, accelerate 1.15, TRL 1.16, PEFT 0.21).
One no-grad forward of a single token with the adapters on, before anything else, fixes the dtypes from
the fp32 adapter weights, and training proceeds with them in fp32.
"""

from __future__ import annotations

from collections.abc import Callable


def at_train_begin(fn: Callable[[], None]):
    """A ``TrainerCallback`` that calls ``fn()`` once, when ``trainer.train()`` has prepared the model."""
    from transformers import TrainerCallback

    class _Once(TrainerCallback):
        def __init__(self) -> None:
            self.done = False

        def on_train_begin(self, args, state, control, **kwargs):
            if not self.done:
                self.done = True
                fn()

    return _Once()


def first_forward_with_adapters(model, *, device, token_id: int, autocast) -> None:
    """One no-grad forward of one token through ``model`` with its adapters on (see the module docstring).

    Every rank must call it: under FSDP a forward is a collective. ``autocast`` is the run's autocast
    context factory (``accelerator.autocast``), so the pass sees the dtypes training will.
    """
    import torch

    ids = torch.tensor([[token_id]], device=device)
    with torch.no_grad(), autocast():
        model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False)


def needs_fsdp_warm_up(trainer, *, lora: bool) -> bool:
    """FSDP with LoRA and no separate reference model: the case :func:`first_forward_with_adapters` fixes."""
    return lora and trainer.ref_model is None and bool(getattr(trainer, "is_fsdp_enabled", False))


def warm_up_fsdp(trainer, tokenizer) -> None:
    """:func:`first_forward_with_adapters` for a prepared Trainer's model."""
    token_id = next((t for t in (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id) if t is not None), 0)
    first_forward_with_adapters(
        trainer.model, device=trainer.accelerator.device, token_id=token_id, autocast=trainer.accelerator.autocast
    )

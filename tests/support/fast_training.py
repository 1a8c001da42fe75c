"""Recipe overrides that make a ~100k-parameter model learn the synthetic task in seconds on 2 CPU cores.

A high learning rate (a tiny random model barely moves at usual rates), short sequences, batch 16,
no checkpoints. Used by the training tests as ``overrides=``.
"""

from __future__ import annotations

FAST = {
    "trl.per_device_train_batch_size": 16,
    "trl.gradient_accumulation_steps": 1,
    "trl.max_length": 64,
    "trl.warmup_steps": 0,
    "trl.logging_steps": 5,
    "trl.save_strategy": "no",
    "lora.r": 8,
    "lora.alpha": 16,
    "lora.dropout": 0.0,
}
SFT_FAST = {**FAST, "trl.learning_rate": 5e-3, "trl.num_train_epochs": 2}
DPO_FAST = {**FAST, "trl.learning_rate": 5e-3, "trl.num_train_epochs": 2, "trl.beta": 0.1}


def full(overrides: dict) -> dict:
    """``overrides`` for full fine-tuning: ``lora: null`` in place of the LoRA keys (a mapping set next to a key
    inside it is refused, as one value given twice)."""
    return {**{k: v for k, v in overrides.items() if not k.startswith("lora.")}, "lora": None}

"""Training: a checked preference dataset -> SFT (stage 1) -> DPO (stage 2), through TRL, with guardrails.

The Python API behind ``prefdata train sft|dpo``::

    from prefdata.train import train_sft, train_dpo
    train_sft("out/", "smollm2-135m-instruct", "sft/")
    result = train_dpo("out/", "sft/", "dpo/", overrides={"trl.beta": 0.1})
    result.eval_after.reward_accuracy

Modules, one job each: ``recipe`` (YAML recipes, validated against the installed TRL), ``models``
(local / hub / built-in GGUF models), ``data`` (what reaches TRL), ``gate`` (the ``check`` gate),
``hardware`` (precision, checkpointing), ``prepare`` (all validation before weights load),
``trl_config``, ``evaluate`` (held-out reward accuracy), ``save`` and ``provenance``; ``sft`` and
``dpo`` put them together. torch, transformers and TRL are imported inside functions only: importing
this package is cheap and the data layer never pulls them in.
"""

from __future__ import annotations

from prefdata.train.errors import CheckFailedError, DataError, ModelError, OutputDirError, RecipeError, StageError, TrainError

__all__ = [
    "CheckFailedError",
    "DataError",
    "ModelError",
    "OutputDirError",
    "RecipeError",
    "StageError",
    "TrainError",
    "load_recipe",
    "train_dpo",
    "train_sft",
]


def __getattr__(name: str):
    if name == "train_sft":
        from prefdata.train.sft import train_sft

        return train_sft
    if name == "train_dpo":
        from prefdata.train.dpo import train_dpo

        return train_dpo
    if name == "load_recipe":
        from prefdata.train.recipe import load_recipe

        return load_recipe
    raise AttributeError(f"module 'prefdata.train' has no attribute {name!r}")

"""Turn a validated recipe into the TRL and PEFT config objects, with prefdata's owned fields filled in."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from prefdata.train.errors import RecipeError
from prefdata.train.hardware import Precision
from prefdata.train.recipe import LoraSpec, Recipe, trl_config_class


def build_trl_config(recipe: Recipe, output: Path, precision: Precision):
    """``SFTConfig``/``DPOConfig`` from the recipe; TRL's own validation errors become :class:`RecipeError`.

    Activation (gradient) checkpointing starts off and is switched on later, once the model is loaded, only if the
    memory estimate asks for it (``hardware.decide_checkpointing``), or if the recipe says ``true``.
    """
    cls = trl_config_class(recipe.stage)
    fields = dict(recipe.trl)
    fields.update(precision.trl_args())
    fields.update(
        output_dir=str(output),
        seed=recipe.seed,
        per_device_eval_batch_size=recipe.eval.batch_size,
    )
    fields[checkpointing_field(cls)] = recipe.activation_checkpointing is True
    if recipe.stage == "sft":
        fields["completion_only_loss"] = True
    try:
        return cls(**fields)
    except (ValueError, TypeError) as exc:
        raise RecipeError(f"TRL rejected the {recipe.stage} config built from the recipe: {exc}") from None


def checkpointing_field(cls) -> str:
    """transformers 5 renamed ``gradient_checkpointing`` to ``activation_checkpointing``; use the current name."""
    names = {f.name for f in dataclasses.fields(cls)}
    return "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"


def build_lora_config(spec: LoraSpec | None):
    """A PEFT ``LoraConfig`` for causal LM, or None for full fine-tuning."""
    if spec is None:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=spec.r,
        lora_alpha=spec.alpha,
        lora_dropout=spec.dropout,
        target_modules=spec.target_modules,
        task_type="CAUSAL_LM",
    )

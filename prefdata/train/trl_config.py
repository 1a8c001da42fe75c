"""Turn a validated recipe into the TRL and PEFT config objects, with prefdata's owned fields filled in."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from prefdata.train.errors import RecipeError
from prefdata.train.hardware import Precision
from prefdata.train.recipe import LoraSpec, Recipe, is_all_linear, trl_config_class


def build_trl_config(recipe: Recipe, output: Path, precision: Precision):
    """``SFTConfig``/``DPOConfig`` from the recipe; TRL's own validation errors become :class:`RecipeError`.

    The recipe's stage is the command's: :func:`~prefdata.train.recipe.load_recipe` refuses another.
    Activation (gradient) checkpointing starts off and is switched on later, once the model is loaded, only if the
    memory estimate asks for it (``hardware.decide_checkpointing``), or if the recipe says ``true``.
    """
    stage = recipe.stage
    cls = trl_config_class(stage)
    fields = dict(recipe.trl)
    fields.update(precision.trl_args())
    fields.update(
        output_dir=str(output),
        seed=recipe.seed,
        per_device_eval_batch_size=recipe.eval.batch_size,
    )
    fields[checkpointing_field(cls)] = recipe.activation_checkpointing is True
    if stage == "sft":
        fields["completion_only_loss"] = True
    try:
        return cls(**fields)
    except (ValueError, TypeError) as exc:
        raise RecipeError(f"TRL rejected the {stage} config built from the recipe: {exc}") from None


def checkpointing_field(cls) -> str:
    """A transformers 5.x release renamed ``gradient_checkpointing`` to ``activation_checkpointing`` (the old
    name stays as a deprecated mirror); use the name the installed release documents."""
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


def check_lora_targets(model, spec: LoraSpec | None) -> None:
    """Refuse ``lora.target_modules`` that name no module of ``model``, before PEFT wraps it.

    Matches as PEFT does (a list entry: the module name or its last dotted parts; a string: a regular expression
    on the full name; ``all-linear``: always fine). Stricter than PEFT, which only fails when *nothing* matches:
    every list entry must match, so a typo next to a correct name (``[q_proj, v_projj]``) does not silently train
    fewer adapters than the recipe says.
    """
    if spec is None or is_all_linear(spec.target_modules):
        return
    names = [name for name, _ in model.named_modules() if name]
    targets = spec.target_modules
    if isinstance(targets, str):
        if not any(re.fullmatch(targets, name) for name in names):
            raise RecipeError(
                f"lora.target_modules: the pattern {targets!r} matches no module of the model (a string is a "
                f"regular expression on the full module name, e.g. model.layers.0.self_attn.q_proj); "
                f"{_leaf_hint(model)}"
            )
        return
    unmatched = [t for t in targets if not any(name == t or name.endswith("." + t) for name in names)]
    if unmatched:
        raise RecipeError(
            f"lora.target_modules: {unmatched} match no module of the model; {_leaf_hint(model)} "
            "(or use all-linear)"
        )


def _leaf_hint(model) -> str:
    import torch

    linear = sorted({name.rsplit(".", 1)[-1] for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)})
    return f"its linear layers are named {linear}" if linear else "it has no torch.nn.Linear layers"

"""Everything a stage does before the first model weight is read, in the order that fails cheapest first.

1. recipe + flags (field names, values, beta, loss types) — :mod:`prefdata.train.recipe`;
2. output directory; the stage order (DPO needs an SFT record or ``--from-instruct``);
3. the dataset: its shards exactly as ``manifest.json`` lists them, layout and per-row TRL safety;
4. precision from the hardware, and the full TRL config (TRL's own validation);
5. the model resolved (a built-in one converted once), then the ``check`` gate with its tokenizer and
   ``max_length``; only then, by the caller, the tokenizer and the weights.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefdata.arguments import require_bool, require_path
from prefdata.train import data as data_mod
from prefdata.train import output_dir
from prefdata.train.errors import ModelError, RecipeError, StageError, TrainError
from prefdata.train.gate import run_check_gate
from prefdata.train.hardware import Precision, choose_precision
from prefdata.train.integrity import verify_shards
from prefdata.train.models import BUILTIN_MODELS, ResolvedModel, read_record, resolve_model
from prefdata.train.recipe import Recipe, Stage, load_recipe
from prefdata.train.trl_config import build_trl_config, check_lora_targets

logger = logging.getLogger("prefdata.train")
Progress = Callable[[str], None]


@dataclass
class Inputs:
    """Validated inputs of one stage."""

    stage: Stage
    recipe: Recipe
    recipe_source: str
    model: ResolvedModel
    data: data_mod.TrainingData
    gate: dict[str, Any]
    precision: Precision
    args: Any  # trl.SFTConfig | trl.DPOConfig
    output: Path
    from_instruct: bool
    staging: Path  # where the run writes until it is complete (prefdata/train/output_dir.py)
    ref: ResolvedModel | None = None  # --ref-model (full-fine-tuning DPO)

    def describe_mode(self) -> str:
        lora = self.recipe.lora
        mode = f"LoRA r={lora.r}" if lora is not None else "full fine-tuning"
        return f"{mode}, lr {self.args.learning_rate:g}, seed {self.recipe.seed}"


def _looks_like_path(spec: str) -> bool:
    """A model spec written as a path (``./sft``, ``/models/x``, ``~/m``), never a hub id (``org/name``)."""
    return spec.startswith(("./", "../", "/", "~"))


def _require_existing(flag: str, spec: str) -> None:
    """A spec written as a path must exist: refused here, naming its flag, instead of being tried as a
    hub id once the other weights have loaded (or reported as a model without an SFT record)."""
    if _looks_like_path(spec) and not Path(spec).expanduser().exists():
        raise ModelError(f"{flag} {spec}: no such directory")


def _resolve(flag: str, spec: str) -> ResolvedModel:
    """:func:`resolve_model`, its errors naming ``flag``."""
    _require_existing(flag, spec)
    try:
        return resolve_model(spec)
    except ModelError as exc:
        raise ModelError(str(exc).replace("--model", flag, 1)) from None


def check_stage_order(model_spec: str, *, from_instruct: bool) -> dict[str, Any] | None:
    """Refuse DPO from a model with no SFT record, unless the user vouches it is instruction-tuned.

    Runs on the ``--model`` value alone, before anything is converted or loaded.
    """
    _require_existing("--model", model_spec)
    local = Path(model_spec).expanduser()
    record = read_record(local) if local.is_dir() else None
    if from_instruct or (record is not None and record.get("instruction_tuned") is True):
        return record
    builtin = BUILTIN_MODELS.get(model_spec.lower())
    hint = " (it is an instruct model: add --from-instruct)" if builtin and builtin.instruction_tuned else ""
    raise StageError(
        f"--model {model_spec} has no SFT record (no prefdata_train.json from `prefdata train sft` in it){hint}. "
        "DPO assumes the policy already answers in the data's format; run on a base model it mostly learns "
        "noise. Either run stage 1 first:\n"
        f"  prefdata train sft --data OUT --model {model_spec} --output SFT_DIR\n"
        "  prefdata train dpo --data OUT --model SFT_DIR --output DPO_DIR\n"
        "or, if the model is already instruction-tuned (e.g. an -Instruct release), pass --from-instruct"
    )


def prepare_inputs(
    stage: Stage,
    *,
    data: str | Path,
    model: str | os.PathLike[str] | None,
    output: str | Path,
    recipe: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    no_check: bool = False,
    overwrite: bool = False,
    from_instruct: bool = False,
    ref_model: str | os.PathLike[str] | None = None,
    progress: Progress = logger.info,
) -> Inputs:
    """Validate every input of a stage; raises a :class:`~prefdata.train.errors.TrainError` on the first problem."""
    for name, value in (("data", data), ("output", output)):
        require_path(name, value, TrainError)
    if recipe is not None:  # "" would be the current folder
        require_path("recipe", recipe, TrainError)
    for name, value in (("model", model), ("ref_model", ref_model)):
        if value is not None:  # "": ref_model="" trained against the model itself, unsaid
            require_path(name, value, TrainError, what="a model (a local directory or a hub id)")
    for name, value in (("no_check", no_check), ("overwrite", overwrite), ("from_instruct", from_instruct)):
        require_bool(name, value, TrainError)
    overrides = dict(overrides or {})
    # the recipe keys of the arguments, so that recipe.yaml reruns the run (a rerun trained against another reference)
    for key, value in (("model", model), ("ref_model", ref_model), ("from_instruct", from_instruct or None)):
        if value is None:
            continue
        value = value if isinstance(value, bool) else os.fspath(value)  # a Path from Python, as a string from the CLI
        if overrides.get(key, value) != value:  # it overwrote overrides["model"] without a word
            raise RecipeError(f"{key} is given twice ({value!r}, and {overrides[key]!r} in overrides); give it once")
        overrides[key] = value
    parsed = load_recipe(stage, recipe, overrides)
    ref_model, from_instruct = parsed.ref_model, parsed.from_instruct
    if ref_model is not None and parsed.lora is not None:
        raise RecipeError(
            "--ref-model (ref_model) only applies to full fine-tuning (--full); with LoRA the reference is the model "
            "itself with its adapters off"
        )
    recipe_source = str(recipe) if recipe is not None else f"default {stage}.yaml"
    model_spec = parsed.model
    output = Path(os.path.abspath(output))  # `.` and `..` named, links kept: what the record and the swap use
    if not model_spec:
        resolve_model(model_spec)  # raises the "no model given" error
    output_dir.check_output(output, data=Path(data), models=[model_spec, *([ref_model] if ref_model else [])], overwrite=overwrite)
    if stage == "dpo":
        check_stage_order(model_spec, from_instruct=from_instruct)
    ref = _resolve("--ref-model", ref_model) if ref_model else None
    if ref is not None and ref.kind == "local":  # recipe.yaml reruns from any directory
        parsed.ref_model = ref.location

    dataset = data_mod.open_training_data(data)
    verify_shards(dataset)
    data_mod.validate_for_trl(dataset)
    data_mod.check_eval_split(dataset, parsed.trl.get("eval_strategy", "no"))
    progress(f"data: {dataset.root} ({', '.join(f'{s} {n}' for s, n in dataset.rows.items())} pairs) is TRL-safe")
    precision = choose_precision(parsed.precision)
    staging = output_dir.staging_dir(output)
    args = build_trl_config(parsed, staging, precision)
    resolved = _resolve("--model", model_spec)
    if resolved.kind == "local":  # recipe.yaml reruns with --recipe from any directory, as the record names it
        parsed.model = resolved.location
    progress(f"model: {resolved.describe()}; precision {precision.name} on {precision.device_name}")

    for key in ("config", "suite", "benchmark_prompts"):  # recipe.yaml reruns from any directory
        if (value := getattr(parsed.check, key)) is not None:
            setattr(parsed.check, key, os.path.abspath(value))
    gate = run_check_gate(
        dataset.root, no_check=no_check, tokenizer=resolved.location, max_length=args.max_length, shards_verified=True,
        stage=stage, spec=parsed.check,
    )
    if not gate["ran"]:
        progress("check: skipped (--no-check)")
    else:
        findings = ", ".join(c["id"] for c in gate["failed"]) or "none"
        progress(f"check: passed with this tokenizer and max_length={args.max_length} (warnings: {findings})")
    _begin_staging(output)
    return Inputs(
        stage=stage,
        recipe=parsed,
        recipe_source=recipe_source,
        model=resolved,
        data=dataset,
        gate=gate,
        precision=precision,
        args=args,
        output=output,
        from_instruct=from_instruct,
        staging=staging,
        ref=ref,
    )


def _begin_staging(output: Path) -> None:
    """A fresh staging directory, made by the main process while the others wait (TRL's config, built
    above, has set up the distributed state)."""
    from accelerate import PartialState

    state = PartialState()
    if state.is_main_process:
        output_dir.begin(output)
    state.wait_for_everyone()


def load_for_training(inputs: Inputs, *, sequences_per_pair: int, progress: Progress = logger.info):
    """Tokenizer and model in the chosen dtype; decides activation checkpointing from a memory estimate.

    Seeds before loading so that anything random at construction (LoRA init inside the trainer is
    seeded by TRL too) repeats. Returns ``(model, tokenizer)`` and sets ``inputs.args.activation_checkpointing``.
    """
    from transformers import set_seed

    from prefdata.train.hardware import decide_checkpointing, estimate_step_memory
    from prefdata.train.models import load_model, load_tokenizer

    tokenizer = load_tokenizer(inputs.model)
    set_seed(inputs.recipe.seed)
    lora = inputs.recipe.lora is not None
    model = load_model(
        inputs.model, dtype=inputs.precision.weight_dtype(lora=lora), model_kwargs=inputs.recipe.model_kwargs
    )
    check_lora_targets(model, inputs.recipe.lora)
    max_length = inputs.args.max_length or getattr(model.config, "max_position_embeddings", 2048)
    tokens = inputs.args.per_device_train_batch_size * max_length * sequences_per_pair
    estimate = estimate_step_memory(
        model,
        tokens_per_micro_batch=tokens,
        precision=inputs.precision,
        trainable_params=0 if lora else None,  # LoRA adapters are a rounding error next to the base weights
    )
    checkpointing = decide_checkpointing(inputs.recipe.activation_checkpointing, estimate)
    # Later transformers 5.x releases read `activation_checkpointing` (earlier ones only
    # `gradient_checkpointing`, which TRL 1.x still reads as a deprecated mirror), so set both.
    inputs.args.gradient_checkpointing = checkpointing
    if hasattr(inputs.args, "activation_checkpointing"):
        inputs.args.activation_checkpointing = checkpointing
    progress(
        f"activation checkpointing: {'on' if checkpointing else 'off'} "
        f"({inputs.recipe.activation_checkpointing}; {estimate.describe()})"
    )
    return model, tokenizer

"""Training recipes: one YAML file per stage, parsed and validated in one place.

A recipe says which model, which TRL config fields, and which LoRA settings a stage uses. The
shipped defaults live in ``prefdata/resources/recipes/{sft,dpo}.yaml`` (the checkout's ``train/``
folder links there) so an installed wheel finds them. A recipe given with ``--recipe FILE``
*replaces* the default rather than patching it: the file is then the whole, reviewable truth, and a
DPO recipe that forgets ``beta`` is refused instead of silently inheriting one. Flags override
single values (``overrides={"trl.beta": 0.2}``); the effective recipe is saved next to the model.

Everything here is checked before any model loads: unknown or renamed TRL fields (TRL 1.x names
only: ``max_length``, never ``max_seq_length``/``max_prompt_length``), values TRL itself rejects,
DPO's ``beta`` (explicit, > 0, warned outside [0.01, 1]) and ``loss_type`` (against the list TRL's
``DPOTrainer`` implements).

>>> r = load_recipe("dpo", overrides={"model": "m", "trl.beta": 0.05})   # doctest: +SKIP
>>> r.trl["beta"], r.lora.r                                                 # doctest: +SKIP
(0.05, 16)
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import math
import os
import re
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from prefdata.config_files import YAML11_BOOLEANS, load_data_yaml, not_text, read_text, represent_text, underscored_number
from prefdata.train.errors import RecipeError

Stage = Literal["sft", "dpo"]

#: The largest seed ``transformers.set_seed`` takes (numpy's seeds are 0 .. 2**32 - 1).
SEED_MAX = 2**32 - 1
#: The largest count (batch size, steps, length, LoRA rank) a recipe takes: a batch size past sys.maxsize
#: passed every check, the model loaded, and torch's sampler crashed (exit 3); none near it fits a device.
COUNT_MAX = 2**31 - 1

#: DPO's beta outside this range is legal but almost always a mistake (typical values 0.01-0.5).
BETA_USUAL_RANGE = (0.01, 1.0)


class FieldError(RecipeError):
    """One recipe field is invalid; ``load_recipe`` adds where the value came from (file or flag)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


class PrefdataTrainWarning(UserWarning):
    """A recipe value that is allowed but probably wrong (e.g. a wild beta)."""


#: Names from older TRL/transformers releases that people still paste into configs, with the fix.
RENAMED_FIELDS: dict[str, str] = {
    "max_seq_length": "renamed to `max_length` in TRL 1.x",
    "max_prompt_length": "removed in TRL 1.x; set `max_length` (prompt + completion). Pairs whose prompt alone "
    "reaches max_length are dropped by TRL, and prefdata counts them before training",
    "max_completion_length": "removed from DPOConfig in TRL 1.x; set `max_length` (prompt + completion)",
    "max_target_length": "removed in TRL 1.x; set `max_length`",
    "tokenizer": "TRL 1.x takes the tokenizer as the trainer argument `processing_class`, which prefdata passes",
    "warmup_ratio": "removed in transformers 5; use `warmup_steps` (a float below 1 is a fraction of the steps)",
    "evaluation_strategy": "renamed to `eval_strategy`",
    "rpo_alpha": "removed in TRL 1.x; use `loss_type: [sigmoid, sft]` with `loss_weights: [1.0, ALPHA]`",
    "reference_free": "removed in TRL 1.x",
    "generate_during_eval": "removed in TRL 1.x",
    "pad_token": "deprecated in TRL 1.1; prefdata sets `tokenizer.pad_token` itself",
}

#: TRL config fields prefdata sets itself, and where the user controls them instead.
OWNED_FIELDS: dict[str, str] = {
    "output_dir": "set with --output",
    "seed": "set the top-level `seed:` of the recipe (or --seed)",
    "bf16": "set the top-level `precision:` (auto picks bf16/fp16/fp32 from the hardware)",
    "fp16": "set the top-level `precision:` (auto picks bf16/fp16/fp32 from the hardware)",
    "use_cpu": 'set the top-level `precision:`; the device follows the hardware (CUDA_VISIBLE_DEVICES="" forces CPU)',
    "gradient_checkpointing": "deprecated in transformers 5 (now `activation_checkpointing`); set the top-level "
    "`activation_checkpointing:` (auto, true or false)",
    "activation_checkpointing": "set the top-level `activation_checkpointing:` (auto, true or false)",
    "model_init_kwargs": "prefdata loads the model; use the top-level `model_kwargs:`",
    "completion_only_loss": "prefdata's SFT always trains on prompt-completion data with loss on the completion",
    "dataset_kwargs": "prefdata prepares the dataset for TRL; skipping that preparation is not supported",
    "push_to_hub": "push the saved model yourself; prefdata writes provenance next to it first",
    "per_device_eval_batch_size": "set `eval.batch_size` (the batch size of the held-out evaluation, which "
    "prefdata also hands to TRL)",
}
#: TRL/transformers fields prefdata's runs cannot honour, refused rather than recorded as if they ran.
UNSUPPORTED_FIELDS: dict[str, str] = {
    "resume_from_checkpoint": "a run writes its checkpoints into its own staging folder, which the next run "
    "starts afresh, and the Trainer reads this field only when train() is told to; rerun from the start",
    "chat_template_path": "prefdata checks the data with the tokenizer's own chat template, which training must then "
    "render with too; put the template in the tokenizer's files instead (`chat_template` in tokenizer_config.json, "
    "or chat_template.jinja), so the check gate and training use the same one",
}

#: Keys of ``model_kwargs`` that would fight the precision prefdata chooses.
OWNED_MODEL_KWARGS = ("dtype", "torch_dtype", "device_map", "quantization_config")


def _a_number(value: Any) -> Any:
    """Refuse ``true``/``false`` where a number belongs: pydantic's lax mode reads ``lora.r: true`` (or
    YAML's ``yes``) as 1, a value nobody means."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {str(value).lower()}")  # noqa: TRY004 - pydantic reports ValueError
    return value


class LoraSpec(BaseModel):
    """LoRA via PEFT (the default). ``lora: null`` in a recipe, or ``--full``, means full fine-tuning."""

    model_config = ConfigDict(extra="forbid")
    r: int = Field(16, gt=0, le=COUNT_MAX)
    alpha: int = Field(32, gt=0, le=COUNT_MAX)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: list[str] | str = "all-linear"

    _numbers = field_validator("r", "alpha", "dropout", mode="before")(_a_number)


class EvalSpec(BaseModel):
    """Held-out evaluation on the test split, else the validation split (DPO: before and after training)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    batch_size: int = Field(8, gt=0, le=COUNT_MAX)
    #: Evaluate on at most this many held-out pairs (first ones, in file order); ``null`` means all.
    max_pairs: int | None = Field(None, gt=0, le=COUNT_MAX)

    _numbers = field_validator("batch_size", "max_pairs", mode="before")(_a_number)


class CheckSpec(BaseModel):
    """The ``prefdata check`` gate before training, told what your CI's ``prefdata check`` is told: a
    team config (a check made an error, or turned off as a false positive), a suite, ``strict``, the
    benchmark prompts of the contamination check. Paths are read from the working directory."""

    model_config = ConfigDict(extra="forbid")
    config: str | None = None
    suite: str | None = None
    strict: bool = False
    benchmark_prompts: str | None = None

    @field_validator("config", "suite", "benchmark_prompts", mode="before")
    @classmethod
    def _path_as_text(cls, value: Any) -> Any:
        """A ``Path`` from the Python API, as ``model=`` and ``prefdata.check(config=)`` take one."""
        return os.fspath(value) if isinstance(value, os.PathLike) else value


class Recipe(BaseModel):
    """A validated recipe. ``trl`` holds fields of ``trl.SFTConfig`` / ``trl.DPOConfig`` by their TRL 1.x names."""

    model_config = ConfigDict(extra="forbid")
    stage: Stage
    model: str | None = None
    #: DPO only: the model is instruction-tuned though it has no SFT record (``--from-instruct``).
    from_instruct: bool = False
    #: DPO with full fine-tuning only: the reference model (``--ref-model``; default: ``model``).
    ref_model: str | None = None
    seed: int = Field(0, ge=0, le=SEED_MAX)  # numpy's range: set_seed refused others after the check gate

    _seed = field_validator("seed", mode="before")(_a_number)
    precision: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    activation_checkpointing: Literal["auto"] | bool = "auto"
    lora: LoraSpec | None = Field(default_factory=LoraSpec)
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    trl: dict[str, Any] = Field(default_factory=dict)
    eval: EvalSpec = Field(default_factory=EvalSpec)
    check: CheckSpec = Field(default_factory=CheckSpec)

    @field_validator("model_kwargs")
    @classmethod
    def _no_owned_model_kwargs(cls, value: dict[str, Any]) -> dict[str, Any]:
        owned = sorted(set(value) & set(OWNED_MODEL_KWARGS))
        if owned:
            raise ValueError(f"{owned} are set by prefdata from `precision:` and the hardware; remove them")
        return value


def default_recipe_path(stage: Stage) -> Path:
    """The shipped recipe for ``stage`` (works from a wheel as well as a checkout)."""
    from prefdata.resources import resource_path

    return resource_path("recipes", f"{stage}.yaml")


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = load_data_yaml(read_text(path), name=str(path))  # YAML 1.2 scalars: `1e-6` is a number, `no` text
    except FileNotFoundError:
        raise RecipeError(f"recipe not found: {path}") from None
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read the recipe ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise RecipeError(not_text(path, exc)) from None
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RecipeError(
            f"{path}: a recipe is a YAML mapping (stage, model, lora, trl, ...), got {type(data).__name__}"
        )
    return data


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Return a copy of ``data`` with dotted-key ``overrides`` applied (``{"trl.beta": 0.2, "lora": None}``).

    >>> apply_overrides({"trl": {"beta": 0.1}, "lora": {"r": 16}}, {"trl.beta": 0.2, "lora.r": 8})
    {'trl': {'beta': 0.2}, 'lora': {'r': 8}}
    """
    overrides = overrides or {}
    check_distinct_keys(overrides)
    out = copy.deepcopy(data)
    for dotted, value in overrides.items():
        keys = dotted.split(".")
        node = out
        for i, key in enumerate(keys[:-1]):
            child = node.get(key)
            if child is None:
                if key == "lora":
                    raise RecipeError(
                        f"cannot set {dotted}: LoRA is off (lora: null / --full). Remove --full or the LoRA flag"
                    )
                child = node[key] = {}
            if not isinstance(child, dict):
                raise RecipeError(f"cannot set {dotted}: {'.'.join(keys[: i + 1])} is not a mapping")
            node = child
        node[keys[-1]] = value
    return out


def overlaps(a: str, b: str) -> bool:
    """Whether dotted keys ``a`` and ``b`` set one value: equal, or one the mapping that holds the other
    (``trl`` and ``trl.beta``: setting ``trl`` replaces the whole mapping, ``trl.beta`` and every default
    under it included, so applied in order one of the two would win silently).

    >>> overlaps("trl", "trl.beta"), overlaps("trl.beta", "trl.beta"), overlaps("trl.beta", "trl.beta_x")
    (True, True, False)
    """
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def check_distinct_keys(overrides: dict[str, Any]) -> None:
    """Refuse overrides of which one would silently undo another (``{"trl": {...}, "trl.beta": 0.2}``)."""
    keys = list(overrides)
    for i, key in enumerate(keys):
        for other in keys[:i]:
            if not overlaps(key, other):
                continue
            parent, child = sorted((key, other), key=len)
            if parent == "lora" and overrides[parent] is None:
                raise RecipeError(
                    f"cannot set {child}: LoRA is off (lora: null / --full). Remove --full or the LoRA flag"
                )
            raise RecipeError(
                f"{parent} and {child} are both set: {parent} replaces the whole mapping, {child} included, so one "
                "of them would win silently; set single keys (or only the mapping)"
            )


def load_recipe(
    stage: Stage,
    path: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> Recipe:
    """Read a recipe (default: the shipped one for ``stage``), apply ``overrides`` and validate it fully.

    Raises :class:`RecipeError` naming the file and field. Emits :class:`PrefdataTrainWarning` for legal but
    suspicious values. Imports TRL (to check field names against its config class) but loads no model.
    """
    source = Path(path) if path is not None else default_recipe_path(stage)
    overrides = dict(overrides or {})
    if overrides.get("stage", stage) == stage:
        overrides.pop("stage", None)  # the command's own stage: nothing to change
    if "stage" in overrides:  # `train sft --set stage=dpo` built a DPOConfig for SFTTrainer and crashed after loading
        other = "dpo" if stage == "sft" else "sft"
        raise RecipeError(
            f"stage (set by a flag): the stage is the command's (`prefdata train {stage}`); "
            f"run `prefdata train {other}` to train {other}"
        )
    data = _read_yaml(source)
    data.setdefault("stage", stage)
    if data["stage"] != stage:
        raise RecipeError(f"{source}: this is a `{data['stage']}` recipe, but `prefdata train {stage}` was run")
    data = apply_overrides(data, overrides)

    def origin(field: str) -> str:
        """Say whether the offending value came from a flag or from the file."""
        if any(field == k or field.startswith((k + ".", k + "[")) for k in overrides):
            return f"{field} (set by a flag)"
        return f"{source}: {field}"

    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(recipe)"
        raise RecipeError(f"{origin(field)}: {err['msg']}") from None
    try:
        recipe.trl = coerce_trl_fields(stage, recipe.trl)
        check_numbers(recipe.trl)
        recipe.trl = normalize_trl_fields(recipe.trl)
        check_supported(stage, recipe)
        if stage == "dpo":
            recipe.trl["beta"] = check_beta(recipe.trl.get("beta"))
            check_loss_settings(recipe.trl, check_loss_types(recipe.trl.get("loss_type", ["sigmoid"])))
    except FieldError as exc:
        raise RecipeError(f"{origin(exc.field)}: {exc.problem}") from None
    beta = recipe.trl.get("beta")
    if beta is not None and not (BETA_USUAL_RANGE[0] <= beta <= BETA_USUAL_RANGE[1]):
        warnings.warn(
            f"trl.beta = {beta} is outside the usual range [{BETA_USUAL_RANGE[0]}, {BETA_USUAL_RANGE[1]}]: "
            "a tiny beta lets the policy drift far from the reference, a large one barely moves it",
            PrefdataTrainWarning,
            stacklevel=2,
        )
    return recipe


#: Keys only a DPO recipe has (an SFT recipe.yaml leaves them out).
DPO_ONLY_KEYS = ("from_instruct", "ref_model")


def dump_recipe(recipe: Recipe) -> str:
    """The effective recipe as YAML, loadable again with ``--recipe``."""
    data = recipe.model_dump(mode="json", exclude=set(DPO_ONLY_KEYS) if recipe.stage == "sft" else None)
    return yaml.dump(data, Dumper=_RecipeDumper, sort_keys=False, allow_unicode=True)


class _RecipeDumper(yaml.SafeDumper):
    """Quotes the strings YAML 1.2 would read back as something else: PyYAML quotes by YAML 1.1's rules, so a
    string ``1e6`` or ``09`` would be written bare and rerun as a number."""


_RecipeDumper.add_representer(str, represent_text)


# ---------------------------------------------------------------------------------------------------------------
# Checks against the installed TRL


def trl_config_class(stage: Stage):
    """``trl.SFTConfig`` or ``trl.DPOConfig`` (imports TRL)."""
    if stage == "sft":
        from trl import SFTConfig

        return SFTConfig
    from trl import DPOConfig

    return DPOConfig


@lru_cache(maxsize=2)
def _trl_field_types(stage: Stage) -> dict[str, Any]:
    import typing

    cls = trl_config_class(stage)
    hints = typing.get_type_hints(cls)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls) if f.init}


def coerce_trl_fields(stage: Stage, fields: dict[str, Any]) -> dict[str, Any]:
    """Check ``fields`` against the installed TRL config class and coerce values to the field types.

    Recipes are read with YAML 1.2 scalars (``5e-5`` and ``{min_lr: 1e-6}`` are numbers); pydantic's lax mode
    still turns a string from the Python API (``"5e-5"``) into the float the field declares.
    """
    from pydantic import TypeAdapter

    known = _trl_field_types(stage)
    cls_name = trl_config_class(stage).__name__
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name in RENAMED_FIELDS and name not in known:
            raise FieldError(f"trl.{name}", RENAMED_FIELDS[name])
        if name in OWNED_FIELDS:
            raise FieldError(f"trl.{name}", f"is set by prefdata: {OWNED_FIELDS[name]}")
        if name in UNSUPPORTED_FIELDS:
            raise FieldError(f"trl.{name}", f"is not supported: {UNSUPPORTED_FIELDS[name]}")
        if name not in known:
            close = [k for k in known if k.replace("_", "") == name.replace("_", "") or name in k][:3]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise FieldError(f"trl.{name}", f"not a field of trl.{cls_name} in the installed TRL{hint}")
        if name == "loss_type" and isinstance(value, str):
            value = [value]  # DPOConfig accepts one name and wraps it; keep the recipe's form uniform
        if name == "truncation_mode" and value == "keep_end":
            raise FieldError(
                "trl.truncation_mode", "'keep_end' is deprecated in TRL 1.x; 'keep_start' is the only supported value"
            )
        try:
            adapter = TypeAdapter(known[name])
        except Exception:  # noqa: BLE001 (a type pydantic cannot describe: leave the value to TRL's own checks)
            out[name] = value
            continue
        if value is False and _accepts(adapter, "no") and not _accepts(adapter, False):
            value = "no"  # `save_strategy: false` (YAML 1.1, as recipes were read, made `no` false): the string "no"
        if (_accepts(adapter, True) and _accepts(adapter, "some text")) or isinstance(value, dict) or (
            isinstance(value, list) and _accepts(adapter, [True])
        ):
            # `include_num_input_tokens_seen: off` (str | bool) would stay the truthy text "off"; a mapping such as
            # `lr_scheduler_kwargs: {num_cycles: 1_000}` is free-form. A plain boolean field reads `off` as false
            # (pydantic), `save_strategy: no` takes no boolean, and a list of text (`label_names: [y]`) holds
            # text: all kept.
            refuse_yaml11_words(value, f"trl.{name}")
        booleans = [value] if isinstance(value, bool) else [v for v in value if isinstance(v, bool)] if isinstance(value, list) else []
        numeric = _accepts(adapter, [1.0] if isinstance(value, list) else 1.0) or _accepts(adapter, [1] if isinstance(value, list) else 1)
        if booleans and numeric and not _accepts(adapter, value):  # lax mode would read true as 1 (beta, learning_rate, ...)
            raise FieldError(f"trl.{name}", f"expected a number, got {value!r} (true/false, or YAML's yes/no/on/off)")
        try:
            out[name] = adapter.validate_python(value)
        except ValidationError as exc:
            raise FieldError(
                f"trl.{name}", f"{value!r} is not a valid {known[name]} ({exc.errors()[0]['msg']})"
            ) from None
    return out


#: Text a recipe refuses where text would be taken as true: YAML 1.1's boolean words, and ``y``/``n``.
YAML11_BOOLEAN_WORDS = frozenset(YAML11_BOOLEANS) | {"y", "n"}


def refuse_yaml11_words(value: Any, where: str) -> None:
    """Refuse text that YAML 1.1 (as recipes were read before) gave another meaning: ``no``, ``off``
    (booleans there; text now, and a non-empty string is true, so ``trust_remote_code: no`` in
    ``model_kwargs`` would run the model's code) and ``1_000`` (a number there). Free-form mappings
    (``model_kwargs``, ``*_kwargs``) take any value, so nothing else would catch them."""
    if isinstance(value, dict):
        for key, item in value.items():
            refuse_yaml11_words(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            refuse_yaml11_words(item, f"{where}[{i}]")
    elif isinstance(value, str):
        if value.strip().lower() in YAML11_BOOLEAN_WORDS:
            raise FieldError(where, f"{value!r} is text (recipes are YAML 1.2, as build configs are), and any text is true: "
                                    "write true or false")  # fmt: skip
        if (number := underscored_number(value)) is not None:
            raise FieldError(where, f"{value!r} is text in YAML 1.2: write {number}")


def _accepts(adapter, value: Any) -> bool:
    try:
        adapter.validate_python(value, strict=True)
    except ValidationError:
        return False
    return True


@lru_cache(maxsize=1)
def trl_loss_types() -> tuple[str, ...]:
    """The DPO loss types the installed TRL implements, read from ``DPOTrainer`` itself.

    TRL keeps no public constant for them; the trainer's loss function dispatches on
    ``loss_type == "<name>"``, so that source is the list. Falls back to the names documented in the
    ``DPOConfig.loss_type`` help when the source is not available (e.g. a bytecode-only install).
    """
    from trl import DPOConfig

    names = re.findall(r'loss_type == "([a-z0-9_]+)"', _trainer_source("_compute_loss"))
    if not names:
        help_text = DPOConfig.__dataclass_fields__["loss_type"].metadata.get("help", "")
        names = re.findall(r"`'([a-z0-9_]+)'`", help_text)
    return tuple(dict.fromkeys(names))


#: Fields TRL/transformers accept values of that cannot train (every number must also be finite):
#: 0 epochs "trains" nothing and saves the base model as if trained, a batch of 0 fails after loading.
POSITIVE_FIELDS = ("learning_rate", "num_train_epochs")  # beta: check_beta, with its own advice
AT_LEAST_ONE_FIELDS = ("per_device_train_batch_size", "gradient_accumulation_steps", "max_length")
NON_NEGATIVE_FIELDS = ("weight_decay", "max_grad_norm", "warmup_steps")
#: Seeds, in numpy's range like the recipe's own ``seed`` (``data_seed: -1`` crashed after the model loaded).
SEED_FIELDS = ("data_seed",)
#: List fields whose every element must be >= 0 (a negative DPO loss weight trains against the preference).
NON_NEGATIVE_ELEMENTS = ("loss_weights",)


def _numbers(value: Any, where: str):
    """``(where, number)`` for every number in ``value``, descending into lists and mappings.

    >>> list(_numbers({"a": [1, {"b": 2.5}], "c": "x"}, "trl.f"))
    [('trl.f.a[0]', 1), ('trl.f.a[1].b', 2.5)]
    """
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _numbers(item, f"{where}[{i}]")


def check_numbers(fields: dict[str, Any]) -> None:
    """Refuse numbers that make a run crash late (after the model loaded) or finish with a broken model:
    NaN or infinite values anywhere, inside lists and mappings too (``--lr inf`` or ``loss_weights: [.nan]``
    train NaN weights), and out-of-range learning rates, epochs, batch sizes, loss weights and the like
    (``--set trl.num_train_epochs=0`` saved an untrained model), and seeds outside numpy's range."""
    for name, value in fields.items():
        for where, number in _numbers(value, f"trl.{name}"):
            if not math.isfinite(number):
                raise FieldError(where, f"must be a finite number, got {number}")
            if name in NON_NEGATIVE_ELEMENTS and number < 0:
                raise FieldError(
                    where,
                    f"must be >= 0, got {number}: a negative weight trains that loss term against the preference "
                    "(0 switches it off)",
                )
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if name in POSITIVE_FIELDS and not value > 0:
            raise FieldError(f"trl.{name}", f"must be > 0, got {value}")
        if name in AT_LEAST_ONE_FIELDS and value < 1:
            raise FieldError(f"trl.{name}", f"must be at least 1, got {value}")
        if name in (*AT_LEAST_ONE_FIELDS, "max_steps") and value > COUNT_MAX:
            raise FieldError(f"trl.{name}", f"must be at most {COUNT_MAX} (2**31 - 1), got {value}")
        if name in NON_NEGATIVE_FIELDS and value < 0:
            raise FieldError(f"trl.{name}", f"must be >= 0, got {value}")
        if name in SEED_FIELDS and not 0 <= value <= SEED_MAX:
            raise FieldError(f"trl.{name}", f"must be between 0 and {SEED_MAX} (2**32 - 1), got {value}")


def normalize_trl_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Give values with two spellings of one meaning their TRL spelling, so the recorded recipe says what ran.

    ``max_steps`` <= 0 means "train for ``num_train_epochs``" (``--max-steps`` overrides the epochs only when
    > 0), which transformers spells -1: it treats 0 as a limit and trains exactly one step.

    >>> normalize_trl_fields({"max_steps": 0, "num_train_epochs": 2})
    {'max_steps': -1, 'num_train_epochs': 2}
    """
    out = dict(fields)
    steps = out.get("max_steps")
    if isinstance(steps, int) and not isinstance(steps, bool) and steps <= 0:
        out["max_steps"] = -1
    return out


def strategy_name(value: Any) -> str:
    """An ``IntervalStrategy``-typed value as its plain string (``"no"``, ``"steps"``, ``"epoch"``)."""
    return str(getattr(value, "value", value))


def is_all_linear(targets: Any) -> bool:
    """``lora.target_modules: all-linear`` in any case (PEFT lower-cases it): every linear layer, no pattern."""
    return isinstance(targets, str) and targets.lower() == "all-linear"


def check_supported(stage: Stage, recipe: Recipe) -> None:
    """Refuse legal TRL values that prefdata's stages cannot run, before any model loads (they used to crash
    after loading, with a traceback):

    - ``from_instruct``/``ref_model`` in an SFT recipe (DPO's settings);
    - ``max_length: null``: the check gate and the drop report judge the data at the run's ``max_length``;
    - SFT ``packing``: packed blocks no longer carry the pair ids the drop report counts TRL's drops with;
    - ``eval_strategy`` other than ``no`` where prefdata hands TRL no eval dataset (SFT, or ``eval.enabled:
      false``); a DPO dataset without held-out pairs is refused by :func:`prefdata.train.data.check_eval_split`;
    - a ``lora.target_modules`` pattern that is not a valid regular expression;
    - a tracker, optimizer or Liger kernels whose package is not installed (:func:`prefdata.train.optional_packages.check_optional_packages`).
    """
    refuse_yaml11_words(recipe.model_kwargs, "model_kwargs")  # free-form: `trust_remote_code: no` would be true
    trl = recipe.trl
    if stage == "sft":
        for key in DPO_ONLY_KEYS:
            if getattr(recipe, key) not in (None, False):
                why = "SFT has no reference model to set" if key == "ref_model" else "SFT needs no SFT record to stand in for"
                raise FieldError(key, f"is a setting of `prefdata train dpo`; {why}")
    if "max_length" in trl and trl["max_length"] is None:
        raise FieldError(
            "trl.max_length",
            "must be set (prefdata checks which pairs it would drop, and reports the pairs TRL drops or "
            "truncates at it); use e.g. --max-length 1024",
        )
    if stage == "sft" and trl.get("packing"):
        raise FieldError(
            "trl.packing",
            "is not supported: packing concatenates pairs into max_length blocks, so TRL's prepared data no longer "
            "carries the pair ids prefdata needs to report (and record) which pairs TRL dropped or truncated. "
            "Remove it or set it to false",
        )
    strategy = strategy_name(trl.get("eval_strategy", "no"))
    if strategy != "no":
        if stage == "sft":
            raise FieldError(
                "trl.eval_strategy",
                f"{strategy!r} needs an eval dataset, and prefdata's SFT stage trains without one (the held-out "
                "evaluation is DPO's, on the test or validation split); remove trl.eval_strategy",
            )
        if not recipe.eval.enabled:
            raise FieldError(
                "trl.eval_strategy",
                f"{strategy!r} evaluates on the held-out split during training, but eval.enabled is false; "
                "remove trl.eval_strategy or enable eval",
            )
    targets = recipe.lora.target_modules if recipe.lora is not None else None
    if isinstance(targets, str) and not is_all_linear(targets):
        try:
            re.compile(targets)
        except re.error as exc:
            raise FieldError(
                "lora.target_modules",
                f"{targets!r} is not a valid regular expression ({exc}); PEFT matches a string as a regex on the "
                "full module name, a list by module-name suffix",
            ) from None
    check_scheduler_kwargs(stage, trl)
    from prefdata.train.optional_packages import check_optional_packages

    check_optional_packages(trl)


def check_scheduler_kwargs(stage: Stage, trl: dict[str, Any]) -> None:
    """Refuse an ``lr_scheduler_kwargs`` key the chosen scheduler does not take (``min_lr`` with ``cosine``):
    transformers passes them as keyword arguments when the trainer builds the scheduler, after the model
    has loaded, and a ``TypeError`` there was exit 3."""
    kwargs = trl.get("lr_scheduler_kwargs")
    if not isinstance(kwargs, dict) or not kwargs:
        return
    from transformers.optimization import TYPE_TO_SCHEDULER_FUNCTION
    from transformers.trainer_utils import SchedulerType

    name = strategy_name(trl.get("lr_scheduler_type") or getattr(trl_config_class(stage), "lr_scheduler_type", "linear"))
    try:
        function = TYPE_TO_SCHEDULER_FUNCTION[SchedulerType(name)]
    except (ValueError, KeyError):
        return  # an unknown scheduler is TRL's own refusal
    params = inspect.signature(function).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    takes = [n for n in params if n not in ("optimizer", "num_warmup_steps", "num_training_steps", "last_epoch")]
    if unknown := [k for k in kwargs if k not in takes]:
        raise FieldError("trl.lr_scheduler_kwargs", f"{unknown[0]!r} is not an argument of the {name!r} scheduler (it takes "
                                                    f"{', '.join(takes) or 'none'}); e.g. min_lr goes with cosine_with_min_lr")  # fmt: skip


def check_beta(beta: Any) -> float:
    """DPO's beta must be explicit and > 0 (TRL would silently use 0.1, or train nonsense with beta <= 0)."""
    if beta is None:
        raise FieldError(
            "trl.beta",
            "not set. DPO's beta (how strongly the policy is held to the reference) has no safe universal "
            "default, so prefdata wants it explicit: add `beta: 0.1` under `trl:` in the recipe or pass --beta 0.1 "
            "(0.01-0.5 is the usual range)",
        )
    if isinstance(beta, bool) or not isinstance(beta, (int, float)):
        raise FieldError("trl.beta", f"must be a number, got {beta!r}")
    if not beta > 0:
        raise FieldError(
            "trl.beta",
            f"must be > 0, got {beta}. beta scales the implicit reward beta*log(pi/pi_ref); at 0 or below the loss "
            "no longer prefers the chosen response. Use e.g. --beta 0.1",
        )
    return float(beta)


def _trainer_source(name: str) -> str:
    """The source of ``DPOTrainer.<name>`` ("" when it is not available, e.g. a bytecode-only install)."""
    from trl import DPOTrainer

    return _source(getattr(DPOTrainer, name, None))


@lru_cache(maxsize=8)
def _source(function: object) -> str:
    """``function``'s source, cached by the function itself, not its name: a ``DPOTrainer.__init__``
    wrapped or patched for a while (a profiler, a test's spy) is read again once it is put back."""
    try:
        return inspect.getsource(function)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return ""


def check_loss_settings(trl: dict[str, Any], types: list[str]) -> None:
    """Refuse the loss settings ``DPOTrainer``'s constructor or first step refuses, before any model loads
    (they crashed after it, exit 3): an ``f_divergence_type`` TRL does not implement, a non-default one
    with a loss that has no f-divergence form, ``exo_pair`` without label smoothing, a ``label_smoothing``
    outside its loss's range (:func:`check_label_smoothing`), and WPO weighting with the ``aot`` losses. The values are read from the installed TRL's source, as the loss types are;
    where it is not available, the constructor's own refusal is still an exit 2 (``setup_errors``)."""
    divergence = trl.get("f_divergence_type", "reverse_kl")
    known = re.findall(r'f_divergence_type == "([a-z0-9_]+)"', _trainer_source("_compute_loss"))
    if known and divergence not in known:
        raise FieldError("trl.f_divergence_type", f"{divergence!r} unknown to the installed TRL; choose from {known}")
    found = re.search(r"f_divergence_loss_types = \{([^}]*)\}", _trainer_source("__init__"))
    with_divergence = re.findall(r'"([a-z0-9_]+)"', found.group(1)) if found else None
    if divergence != "reverse_kl" and with_divergence and not set(types) <= set(with_divergence):
        raise FieldError(
            "trl.f_divergence_type",
            f"{divergence!r} works only with the loss types {sorted(with_divergence)} (TRL); the recipe has {types}",
        )
    if "exo_pair" in types and not trl.get("label_smoothing"):
        raise FieldError("trl.loss_type", "exo_pair needs trl.label_smoothing > 0 (TRL refuses 0; the EXO paper uses 1e-3: "
                                          "--set trl.label_smoothing=0.001)")
    check_label_smoothing(trl.get("label_smoothing") or 0.0, types)
    if trl.get("use_weighting") and {"aot", "aot_unpaired"} & set(types):
        raise FieldError("trl.use_weighting", "is not implemented by TRL for the aot and aot_unpaired losses")


#: How the DPO losses of TRL 1.16 use ``label_smoothing`` (read from the installed TRL's source when it is
#: there, :func:`label_smoothing_forms`): ``robust`` divides by ``1 - 2*label_smoothing``; the others weigh
#: the flipped preference by it (cDPO's form; EXO's target probability of the rejected response).
LABEL_SMOOTHING_FORMS: dict[str, str] = {"robust": "divides", "exo_pair": "flips", "aot": "flips", "aot_unpaired": "flips"}


@lru_cache(maxsize=1)
def label_smoothing_forms() -> dict[str, str]:
    """Loss type -> how the installed ``DPOTrainer`` uses ``label_smoothing`` in it: ``"divides"`` where the
    loss divides by ``1 - 2*label_smoothing`` (``robust``), ``"flips"`` where it only weighs the flipped
    preference by it. Loss types that do not read it are left out (in TRL 1.16 ``sigmoid`` is one: its
    conservative-DPO form was removed). Read from the loss function's ``if loss_type == "..."`` branches,
    like :func:`trl_loss_types`; :data:`LABEL_SMOOTHING_FORMS` where the source is not available."""
    source = _trainer_source("_compute_loss")
    if not source:
        return dict(LABEL_SMOOTHING_FORMS)
    forms: dict[str, str] = {}
    lines = source.splitlines()
    for i, line in enumerate(lines):
        branch = re.match(r'(\s*)(?:el)?if loss_type == "([a-z0-9_]+)":', line)
        if not branch:
            continue
        indent, body = len(branch.group(1)), []
        for following in lines[i + 1:]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following)
        text = "\n".join(body)
        if "self.label_smoothing" in text:
            divides = re.search(r"1\s*-\s*2\s*\*\s*self\.label_smoothing", text)
            forms[branch.group(2)] = "divides" if divides else "flips"
    return forms


def check_label_smoothing(smoothing: float, types: list[str]) -> None:
    """Refuse a ``label_smoothing`` that cannot train with the run's loss types, before any model loads.

    It is the probability that a preference label is flipped: ``robust`` divides by ``1 - 2*label_smoothing``,
    so 0.5 trains NaN weights (TRL only logs a warning) and above it the sign flips; the losses that weigh
    the flipped preference by it train against the preference above 0.5. Every listed loss type counts, a
    zero ``loss_weights`` entry too (0 times NaN is NaN). A non-zero value that no listed loss reads is
    legal but does nothing, so it is warned about.
    """
    forms = label_smoothing_forms()
    used = [t for t in dict.fromkeys(types) if t in forms]
    why = "it is the probability that a preference label is flipped" + (
        ", and above 0.5 the loss trains against the preference" if smoothing > 0.5 else ""
    )
    for loss in used:
        if forms[loss] == "divides" and not 0 <= smoothing < 0.5:
            raise FieldError(
                "trl.label_smoothing",
                f"must be in [0, 0.5) with the {loss} loss, got {smoothing}: {why}, and TRL's {loss} loss divides "
                "by 1 - 2*label_smoothing, which trains NaN weights at 0.5 (the Robust DPO paper uses 0.1)",
            )
        if not 0 <= smoothing <= 0.5:
            low = "(0" if loss == "exo_pair" else "[0"
            raise FieldError("trl.label_smoothing", f"must be in {low}, 0.5] with the {loss} loss, got {smoothing}: {why}")
    if smoothing and not used:
        warnings.warn(
            f"trl.label_smoothing = {smoothing} has no effect: the installed TRL uses it only in the "
            f"{', '.join(sorted(forms)) or 'no'} loss{'es' if len(forms) != 1 else ''}, and this run's loss_type is {types}",
            PrefdataTrainWarning,
            stacklevel=2,
        )


def check_loss_types(loss_type: Any) -> list[str]:
    """Refuse loss types TRL does not implement (TRL itself only notices at the first training step)."""
    types = [loss_type] if isinstance(loss_type, str) else list(loss_type or [])
    if not types:
        raise FieldError("trl.loss_type", "is empty; use e.g. [sigmoid]")
    known = trl_loss_types()
    unknown = [t for t in types if t not in known]
    if unknown:
        raise FieldError("trl.loss_type", f"{unknown} unknown to the installed TRL; choose from {list(known)}")
    if twice := sorted({t for t in types if types.count(t) > 1}):  # TRL sums the terms: a doubled loss, lr doubled unsaid
        raise FieldError("trl.loss_type", f"names {', '.join(twice)} twice ({types}); give each loss type once "
                         "(trl.loss_weights weighs them)")
    return types

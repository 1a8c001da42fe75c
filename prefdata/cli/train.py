"""``prefdata train sft|dpo``: parse options, call :func:`prefdata.train.train_sft` / ``train_dpo``, print.

Flags override single recipe values (``--beta 0.2`` is ``trl.beta: 0.2``); ``--set KEY=VALUE`` reaches
any other recipe key (``--set trl.lr_scheduler_type=linear``). Progress goes to stderr, the summary
to stdout; under ``accelerate launch`` only the main process prints. Exit code 2 for invalid inputs.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import yaml

from prefdata.cli.common import NonEmptyPath, OnceEach, fail_on_prefdata_errors
from prefdata.config_files import load_data_yaml
from prefdata.train.recipe import COUNT_MAX, overlaps


def _is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"


def _wrote(output) -> str:
    """The files the run wrote (``eval.json`` only when the evaluation ran)."""
    names = ["model"] + [n for n in ("eval.json", "recipe.yaml", "prefdata_train.json") if (output / n).is_file()]
    return f"wrote {output}/ ({', '.join(names)})"


def _echo(msg: str, err: bool = False) -> None:
    if _is_main_process():
        click.echo(msg, err=err)


@contextmanager
def _print_train_warnings() -> Iterator[None]:
    """Show prefdata's recipe warnings (e.g. a wild beta) as one ``warning:`` line each."""
    from prefdata.train.recipe import PrefdataTrainWarning

    original = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, PrefdataTrainWarning):
            _echo(f"warning: {message}", err=True)
        else:
            original(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", PrefdataTrainWarning)
            yield
    finally:
        warnings.showwarning = original


def _parse_sets(values: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(
                f"{item!r}: expected KEY=VALUE, e.g. trl.lr_scheduler_type=linear", param_hint="--set"
            )
        key = key.strip()
        if key in out:  # the last would win silently
            raise click.BadParameter(f"{key} is set twice; give it once", param_hint="--set")
        if other := next((k for k in out if overlaps(key, k)), None):  # `trl={...}` would replace trl.beta
            parent, child = sorted((key, other), key=len)
            raise click.BadParameter(
                f"{parent} and {child} are both set: {parent} replaces the whole mapping, {child} included; "
                "set single keys (or only the mapping)",
                param_hint="--set",
            )
        try:  # YAML 1.2 scalars, as recipes: `1e-6` is a number, `no` the text; a key twice in a mapping refused
            out[key] = load_data_yaml(raw)
        except yaml.YAMLError as exc:
            raise click.BadParameter(f"{item!r}: the value is not valid YAML ({exc})", param_hint="--set") from None
    return out


def _common_options(func: Callable) -> Callable:
    options = [
        click.option(
            "--data",
            "data",
            required=True,
            type=NonEmptyPath(file_okay=False),
            help="Dataset directory (OUT of `prefdata build`).",
        ),
        click.option(
            "--model", "model", help="Local model dir, hub id, or smollm2-135m-instruct [default: recipe's `model`]."
        ),
        click.option(
            "--output",
            "output",
            required=True,
            type=NonEmptyPath(file_okay=False),
            help="Directory for the trained model.",
        ),
        click.option(
            "--recipe",
            "recipe",
            type=NonEmptyPath(dir_okay=False, exists=True),
            help="Recipe YAML replacing the default train/<stage>.yaml.",
        ),
        click.option("--full", is_flag=True, help="Full fine-tuning instead of LoRA."),
        click.option("--lora-r", type=click.IntRange(1, COUNT_MAX), help="LoRA rank (lora.r)."),
        click.option(
            "--learning-rate",
            "--lr",
            "learning_rate",
            type=click.FloatRange(0, min_open=True),
            help="trl.learning_rate",
        ),
        click.option("--epochs", type=click.FloatRange(0, min_open=True), help="trl.num_train_epochs"),
        click.option("--max-steps", type=click.IntRange(max=COUNT_MAX), help="trl.max_steps (overrides epochs when > 0; 0 or less trains the epochs)."),
        click.option("--batch-size", type=click.IntRange(1, COUNT_MAX), help="trl.per_device_train_batch_size"),
        click.option("--grad-accum", type=click.IntRange(1, COUNT_MAX), help="trl.gradient_accumulation_steps"),
        click.option("--max-length", type=click.IntRange(1, COUNT_MAX), help="trl.max_length (prompt + response tokens)."),
        click.option("--seed", type=click.IntRange(0, 2**32 - 1), help="Seed of everything random in the run."),
        click.option(
            "--precision",
            type=click.Choice(["auto", "bf16", "fp16", "fp32"]),
            help="[default: auto, from the hardware]",
        ),
        click.option(
            "--set",
            "sets",
            multiple=True,
            metavar="KEY=VALUE",
            help="Any other recipe value, e.g. trl.logging_steps=1 (repeatable).",
        ),
        click.option("--no-check", is_flag=True, help="Train even if `prefdata check` finds errors in the dataset."),
        click.option(
            "--check-config",
            type=NonEmptyPath(dir_okay=False, exists=True),
            help="Check config the gate runs with, as `prefdata check --config` (check.config).",
        ),
        click.option(
            "--check-suite",
            type=NonEmptyPath(dir_okay=False, exists=True),
            help="Expectation suite the gate runs, as `prefdata check --suite` (check.suite).",
        ),
        click.option("--overwrite", is_flag=True, help="Allow a non-empty --output directory."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _overrides(params: dict[str, Any], mapping: dict[str, str], named: dict[str, str] | None = None) -> dict[str, Any]:
    """The recipe overrides of the flags in ``mapping`` and of ``--set``, each recipe value given once.

    ``named`` maps recipe keys to the flags given that reach the recipe another way (``--model`` is
    ``model``), so that ``--set model=B`` next to ``--model A`` is refused too.
    """
    out: dict[str, Any] = {}
    full = params.pop("full", False)
    if full:
        out["lora"] = None
    flags: dict[str, str] = dict(named or {})
    for flag, key in mapping.items():
        value = params.pop(flag, None)
        if value is not None and value != ():
            out[key] = list(value) if isinstance(value, tuple) else value
            flags[key] = "--" + flag.replace("_", "-")
    sets = _parse_sets(params.pop("sets", ()))
    for key in sets:  # one value, given once: `--loss-type sigmoid --set trl.loss_type=ipo` ran ipo without a word
        if full and overlaps(key, "lora"):
            raise click.BadParameter(f"{key} sets LoRA, which --full turns off; drop one of them", param_hint="--set")
        also = [flag if k == key else f"{flag} ({k})" for k, flag in flags.items() if overlaps(key, k)]
        if also:  # `--set 'trl={beta: 0.2}'` replaced --beta, --max-steps and every trl default without a word
            raise click.BadParameter(f"{key} is also given by {', '.join(also)}; give each value once", param_hint="--set")
    out.update(sets)
    return out


COMMON_KEYS = {
    "lora_r": "lora.r",
    "learning_rate": "trl.learning_rate",
    "epochs": "trl.num_train_epochs",
    "max_steps": "trl.max_steps",
    "batch_size": "trl.per_device_train_batch_size",
    "grad_accum": "trl.gradient_accumulation_steps",
    "max_length": "trl.max_length",
    "seed": "seed",
    "precision": "precision",
    "check_config": "check.config",
    "check_suite": "check.suite",
}


def _quiet_datasets() -> None:
    """TRL maps the dataset several times; its progress bars would bury prefdata's own report."""
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()


@click.group("train")
def command() -> None:
    """Train on a checked dataset: `sft` (stage 1), then `dpo` (stage 2)."""


@command.command("sft", cls=OnceEach)
@_common_options
def sft(**params: Any) -> None:
    """Stage 1: supervised fine-tuning on prompt -> chosen (loss on the completion only; LoRA by default)."""
    from prefdata.train import train_sft

    data, model, output, recipe = params.pop("data"), params.pop("model"), params.pop("output"), params.pop("recipe")
    no_check, overwrite = params.pop("no_check"), params.pop("overwrite")
    overrides = _overrides(params, COMMON_KEYS, named={"model": "--model"} if model is not None else None)
    with fail_on_prefdata_errors(), _print_train_warnings():
        _quiet_datasets()
        result = train_sft(
            data,
            model,
            output,
            recipe=recipe,
            overrides=overrides,
            no_check=no_check,
            overwrite=overwrite,
            progress=lambda m: _echo(m, err=True),
        )
    _echo_done("sft", result.train_metrics)
    _echo(_wrote(Path(output)))  # as the user named it


def _echo_done(stage: str, metrics: dict[str, Any]) -> None:
    loss, seconds = metrics.get("train_loss", float("nan")), metrics.get("train_runtime", 0)
    _echo(f"{stage} done: train_loss {loss:.4f} in {seconds:.1f}s")


@command.command("dpo", cls=OnceEach)
@_common_options
@click.option("--beta", type=float, help="trl.beta: > 0, usually 0.01-0.5 (required here or in the recipe).")
@click.option("--loss-type", multiple=True, help="trl.loss_type (repeatable to combine), e.g. sigmoid, ipo.")
@click.option(
    "--from-instruct", is_flag=True, help="The model is already instruction-tuned: allow DPO without an SFT record."
)
@click.option(
    "--ref-model",
    help="Reference model for full fine-tuning [default: --model]. With LoRA the reference is the model with adapters off.",
)
@click.option(
    "--precompute-ref-log-probs/--no-precompute-ref-log-probs", default=None, help="trl.precompute_ref_log_probs"
)
@click.option("--eval-max-pairs", type=click.IntRange(1, COUNT_MAX), help="Evaluate on at most this many held-out (test, else validation) pairs.")
def dpo(**params: Any) -> None:
    """Stage 2: DPO from the SFT model, with held-out reward accuracy before and after."""
    from prefdata.train import train_dpo

    data, model, output, recipe = params.pop("data"), params.pop("model"), params.pop("output"), params.pop("recipe")
    no_check, overwrite = params.pop("no_check"), params.pop("overwrite")
    from_instruct, ref_model = params.pop("from_instruct"), params.pop("ref_model")
    keys = {
        **COMMON_KEYS,
        "beta": "trl.beta",
        "loss_type": "trl.loss_type",
        "precompute_ref_log_probs": "trl.precompute_ref_log_probs",
        "eval_max_pairs": "eval.max_pairs",
    }
    named = {"model": "--model", "ref_model": "--ref-model", "from_instruct": "--from-instruct"}
    given = {"model": model, "ref_model": ref_model, "from_instruct": from_instruct or None}
    overrides = _overrides(params, keys, named={k: flag for k, flag in named.items() if given[k] is not None})
    with fail_on_prefdata_errors(), _print_train_warnings():
        _quiet_datasets()
        result = train_dpo(
            data,
            model,
            output,
            recipe=recipe,
            overrides=overrides,
            from_instruct=from_instruct,
            ref_model=ref_model,
            no_check=no_check,
            overwrite=overwrite,
            progress=lambda m: _echo(m, err=True),
        )
    from prefdata.train.evaluate import format_eval_table

    _echo_done("dpo", result.train_metrics)
    if result.eval_before is not None or result.eval_after is not None:
        split = (result.record.get("eval") or {}).get("split", "test")
        _echo(format_eval_table(result.eval_before, result.eval_after, beta=result.record["trl_config"]["beta"], split=split))
    _echo(_wrote(Path(output)))  # as the user named it

"""Typed errors of ``prefdata train``: each says what is wrong, where, and how to fix it.

The CLI maps every :class:`TrainError` to exit code 2 (the run was refused before or while validating
its inputs); anything else that escapes is a bug or a failure inside torch/TRL and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefdata.errors import PrefdataError


class TrainError(PrefdataError):
    """Base class: training was refused because an input (recipe, data, model, flags) is invalid."""


class RecipeError(TrainError):
    """The recipe or a flag that overrides it is invalid (unknown field, bad value, deprecated TRL name)."""


class DataError(TrainError):
    """The dataset is not in the form TRL must receive (see ``prefdata/schema.py``), or nothing is left to train on."""


class CheckFailedError(DataError):
    """``prefdata check`` found error-severity problems in the dataset; ``--no-check`` overrides."""


class ModelError(TrainError):
    """The model could not be resolved or loaded (no such path, hub unreachable, package missing)."""


class StageError(TrainError):
    """The stages are out of order: DPO was asked of a model that has no SFT record."""


class OutputDirError(TrainError):
    """``--output`` cannot be used (not empty without ``--overwrite``, or the same as the input model)."""


def _raised_in(exc: BaseException, package: str) -> bool:
    """Whether the innermost frame of ``exc``'s traceback is in ``package`` (e.g. ``"peft"``)."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    name = tb.tb_frame.f_globals.get("__name__", "")
    return name == package or name.startswith(package + ".")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none), for one-line errors."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@contextmanager
def setup_errors(*, check_command: str | None = None) -> Iterator[None]:
    """Turn the errors TRL/PEFT/transformers raise while a trainer is *constructed* from a validated recipe into
    :class:`RecipeError` (exit 2, one line naming the recipe key) instead of a traceback (exit 3, "a bug").

    prefdata checks these before any model loads where it can (``recipe.check_supported``,
    ``data.check_eval_split``, ``trl_config.check_lora_targets``); this is the net behind those checks for
    what only the trainer's constructor finds. A chat template that raises on a pair while TRL renders the
    dataset (``raise_exception('System role not supported')``; the check gate reports it, ``--no-check`` skips
    that) becomes a :class:`DataError` that quotes the template and gives ``check_command`` (the run's
    ``prefdata check``, from :func:`prefdata.train.gate.check_command`), which lists the pairs. Anything
    else propagates unchanged::

        with setup_errors(check_command="prefdata check out --tokenizer model --max-length 1024"):
            trainer = DPOTrainer(...)
    """
    try:
        yield
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if type(exc).__name__ == "NoMatchingPeftModuleError" or "not found in the base model" in message:
            raise RecipeError(
                f"lora.target_modules: PEFT found no module to put LoRA adapters on ({first_line(exc)}); "
                "list module names of this model (e.g. q_proj, v_proj) or use all-linear"
            ) from exc
        if "eval_strategy" in message and "eval_dataset" in message:
            raise RecipeError(
                "trl.eval_strategy: evaluation during training needs the held-out split, and this run has none "
                "(the dataset has no test pairs and no validation pairs, or eval.enabled is false); remove trl.eval_strategy"
            ) from exc
        if _raised_in(exc, "peft"):
            raise RecipeError(f"lora: PEFT rejected the LoRA settings of the recipe: {first_line(exc)}") from exc
        if isinstance(exc, ValueError) and _raised_in(exc, "trl"):  # a TypeError there is more likely prefdata's bug
            raise RecipeError(f"trl: TRL refused to set up this run: {first_line(exc)}") from exc
        raise
    except NotImplementedError as exc:
        if _raised_in(exc, "trl"):
            raise RecipeError(f"trl: TRL does not implement this run's settings: {first_line(exc)}") from exc
        raise
    except Exception as exc:
        if _is_template_error(exc):
            command = check_command or "prefdata check DATA --tokenizer MODEL --max-length N"
            raise DataError(
                f"the chat template raised an error while TRL rendered the pairs: {first_line(exc)}. "
                f"Run `{command}` to list the pairs it raises on (chat_template_roundtrip), then fix or drop them, "
                "or use a tokenizer whose template accepts them"
            ) from exc
        raise


def _is_template_error(exc: BaseException) -> bool:
    """Whether ``exc`` is jinja2's (``TemplateError``: ``raise_exception`` in a chat template, a syntax error...).
    jinja2 is imported only here: it comes with transformers, which the training extra installs."""
    try:
        from jinja2.exceptions import TemplateError
    except ImportError:
        return False
    return isinstance(exc, TemplateError)

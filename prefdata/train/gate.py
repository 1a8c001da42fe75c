"""The ``check`` gate: training refuses a dataset that ``prefdata check`` finds errors in.

A GPU day spent on ties, identical pairs or prompts leaking into the test split is the failure
prefdata exists to prevent, so the gate is on by default and ``--no-check`` is the explicit way past it.
The gate runs the checks with the tokenizer and ``max_length`` of the run about to start, so the
tokenizer-level checks (pairs whose difference lies past the cut, chat-template round trip, doubled
BOS) judge the data as TRL will see it. It never writes ``checks.json`` into the dataset.

SFT trains on the prompt and the chosen response only, so its gate leaves out ``truncation_identical``
(chosen and rejected identical after the cut): a pair whose difference lies past ``max_length`` loses
DPO its signal, but SFT still learns the chosen response.
"""

from __future__ import annotations

import inspect
import shlex
from pathlib import Path
from typing import Any

from prefdata.train.errors import CheckFailedError, DataError, RecipeError
from prefdata.train.recipe import CheckSpec

#: How many failed checks the refusal lists.
SHOW_CHECKS = 10
#: Checks that judge what DPO sees of a pair's rejected response; SFT never reads it.
DPO_ONLY_CHECKS = ("truncation_identical",)


def run_check_gate(
    path: str | Path,
    *,
    no_check: bool = False,
    tokenizer: str | Path | None = None,
    max_length: int | None = None,
    shards_verified: bool = False,
    stage: str = "dpo",
    spec: CheckSpec | None = None,
) -> dict[str, Any]:
    """Run ``prefdata.check`` on ``path``; raise :class:`CheckFailedError` if an error-severity check fails.

    ``shards_verified``: the caller has just compared the shards with ``manifest.json``
    (:func:`prefdata.train.integrity.verify_shards`), so ``shard_integrity`` does not hash them again.
    ``stage``: ``"sft"`` leaves out :data:`DPO_ONLY_CHECKS`. ``spec``: the recipe's ``check:`` section
    (the config, suite, strictness and benchmark prompts the team's ``prefdata check`` runs with).

    Returns a summary for the training record: ``{"ran": bool, "passed": bool | None, "failed": [...]}``
    (``failed`` lists the non-blocking findings when it passes).
    """
    if no_check:
        return {"ran": False, "passed": None, "failed": [], "reason": "--no-check"}
    import prefdata

    try:
        check = prefdata.check
    except (AttributeError, ImportError) as exc:
        raise DataError(
            f"cannot gate {path}: `prefdata check` is not available in this installation ({exc}). "
            "Pass --no-check to train without the quality gate"
        ) from None
    spec = spec or CheckSpec()
    off = (["shard_integrity"] if shards_verified else []) + (list(DPO_ONLY_CHECKS) if stage == "sft" else [])
    options = {
        "tokenizer": str(tokenizer) if tokenizer else None,
        "max_length": max_length,
        "write": False,
        "config": _config_with(spec.config, off),
        "suite": spec.suite,
        "strict": spec.strict or None,
        "benchmark_prompts": spec.benchmark_prompts,
    }
    params = inspect.signature(check).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    result = check(path, **{k: v for k, v in options.items() if v is not None and (takes_any or k in params)})
    failed_json = [_describe(c) for c in (*getattr(result, "expectations", []), *getattr(result, "checks", []))]
    failed_json = [c for c in failed_json if c is not None]
    if not result.passed:
        errors = [c for c in failed_json if c["severity"] == "error"] or failed_json
        listed = "\n  ".join(f"[{c['severity']}] {c['id']}: {c['message']}" for c in errors[:SHOW_CHECKS])
        more = f"\n  ... and {len(errors) - SHOW_CHECKS} more" if len(errors) > SHOW_CHECKS else ""
        raise CheckFailedError(
            f"{path}: `prefdata check` found errors, so training is refused:\n  {listed}{more}\n"
            f"See `{check_command(path, spec, options['tokenizer'], max_length)}` for details; fix the data (or its build config), or pass --no-check "
            "to train anyway"
        )
    return {
        "ran": True,
        "passed": True,
        "failed": failed_json,
        "tokenizer": options["tokenizer"],
        "max_length": max_length,
        **{k: v for k, v in spec.model_dump().items() if v not in (None, False)},  # what the gate was told, for the record
    }


def _config_with(config: str | None, off: list[str]) -> dict[str, Any] | None:
    """The check config the gate runs: the recipe's ``check.config`` file (or the defaults) with the
    checks in ``off`` turned off (the shards were just verified; SFT never reads the rejected response)."""
    if config is None:
        return {"checks": {name: {"enabled": False} for name in off}} if off else None
    from prefdata.check.config import load_config
    from prefdata.check.errors import CheckError

    try:
        loaded = load_config(config).model_dump(by_alias=True)
    except CheckError as exc:
        raise RecipeError(f"check.config: {exc}") from None
    for name in off:
        loaded["checks"][name]["enabled"] = False
    return loaded


def check_command(path: str | Path, spec: CheckSpec, tokenizer: str | None, max_length: int | None) -> str:
    """The ``prefdata check`` command line that finds what the gate found: the run's tokenizer and
    ``max_length`` (the truncation and chat-template checks need them) and the recipe's ``check:``
    options, each path quoted for a shell. (It also runs the checks the gate leaves out: the shard
    hashes it had just verified, and for SFT ``truncation_identical``.)"""
    words = ["prefdata", "check", str(path)]
    for flag, value in (("--config", spec.config), ("--suite", spec.suite), ("--benchmark-prompts", spec.benchmark_prompts),
                        ("--tokenizer", tokenizer), ("--max-length", max_length)):
        if value is not None:
            words += [flag, str(value)]
    if spec.strict:
        words.append("--strict")
    return shlex.join(words)


def _describe(outcome: Any) -> dict[str, str] | None:
    """A failed check or suite expectation as ``{id, severity, message}``; None if it passed."""
    if getattr(outcome, "passed", True):
        return None
    if hasattr(outcome, "expectation_type"):  # a suite expectation: name it by type and column
        column = (getattr(outcome, "kwargs", None) or {}).get("column")
        unexpected = (getattr(outcome, "result", None) or {}).get("unexpected_count")
        return {
            "id": outcome.expectation_type + (f"({column})" if column else ""),
            "severity": getattr(outcome, "severity", "?"),
            "message": f"{unexpected} unexpected value(s)" if unexpected is not None else "expectation failed",
        }
    return {
        "id": getattr(outcome, "id", "?"),
        "severity": getattr(outcome, "severity", "?"),
        "message": getattr(outcome, "message", ""),
    }

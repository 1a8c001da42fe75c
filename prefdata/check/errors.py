"""Typed errors of ``prefdata check``.

A failing check is a *result* (``CheckResult.passed`` is False, the CLI exits 1); these errors are for
when checking cannot happen at all — an unreadable dataset, a malformed suite or config, a missing
optional dependency — and the CLI turns every one of them into exit code 2. Each message names the
file and the field at fault, because the person reading it is usually fixing a YAML or JSON file.
"""

from __future__ import annotations

from prefdata import errors as _base


class CheckError(_base.PrefdataError):
    """Base class: the dataset, suite, config or options cannot be checked (CLI exit 2)."""


class DatasetError(CheckError):
    """The path is not a dataset in the canonical layout, or a shard cannot be read."""


class SuiteError(CheckError):
    """An expectation suite file is malformed (not JSON, missing ``type``/``kwargs``, bad kwargs)."""


class UnsupportedExpectationError(SuiteError):
    """The polars engine has no translation for an expectation type (never a silent pass)."""


class ConfigError(CheckError, _base.ConfigError):
    """The thresholds config is malformed or names an unknown check or field."""


class OptionsError(CheckError):
    """Options that do not go together (e.g. ``--tokenizer`` without ``--max-length``)."""


class EngineError(CheckError):
    """The requested engine cannot run (e.g. ``--engine gx`` without the ``gx`` extra)."""


class InputFileError(CheckError):
    """An auxiliary input (benchmark prompts, tokenizer) cannot be read."""

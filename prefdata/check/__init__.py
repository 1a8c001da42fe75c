"""``prefdata check``: expectation suites on a polars engine, and the preference checks nobody else has.

>>> import prefdata
>>> result = prefdata.check("out/")          # doctest: +SKIP
>>> result.passed                            # doctest: +SKIP

Layout: :mod:`.dataset` opens any dataset in the canonical layout, :mod:`.view` flattens it for the
suites, :mod:`.suite` loads GX suite JSON, :mod:`.engine_polars` / :mod:`.engine_gx` evaluate it
(:mod:`.python_regex` rewrites its regexes for polars, :mod:`.exact_stats` sums exactly),
:mod:`.checks` holds one module per family of preference checks, :mod:`.single_pass` evaluates all
row-level work in one lazy scan, :mod:`.similarity` / :mod:`.minhash` do MinHash LSH, :mod:`.config`
the thresholds, :mod:`.results` checks.json, :mod:`.api` ties them together.
"""

from __future__ import annotations

from prefdata.check.api import check
from prefdata.check.config import CHECK_IDS, CheckConfig, load_config
from prefdata.check.errors import (
    CheckError,
    ConfigError,
    DatasetError,
    EngineError,
    InputFileError,
    OptionsError,
    SuiteError,
    UnsupportedExpectationError,
)
from prefdata.check.results import CheckOutcome, CheckResult, ExpectationOutcome

__all__ = [
    "CHECK_IDS", "CheckConfig", "CheckError", "CheckOutcome", "CheckResult", "ConfigError", "DatasetError",
    "EngineError", "ExpectationOutcome", "InputFileError", "OptionsError", "SuiteError",
    "UnsupportedExpectationError", "check", "load_config",
]

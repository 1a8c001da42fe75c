"""Load Great Expectations 1.x suite JSON without importing Great Expectations.

A suite file is what GX itself writes with ``suite.to_json_dict()``::

    {"name": "canonical",
     "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"},
                       "severity": "critical", "meta": {"notes": "..."}}]}

GX's ``severity`` (critical/warning/info) maps onto prefdata's error/warn/info; a missing severity is
GX's default, critical. ``id`` fields (present in suites GX has saved) are accepted and ignored: the
shipped suites carry none so they stay diff-friendly. The default suite ships inside the package so an
installed wheel finds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefdata.check.errors import SuiteError
from prefdata.config_files import parse_json
from prefdata.resources import resource_path

DEFAULT_SUITE = "canonical"
SEVERITY_FROM_GX = {"critical": "error", "warning": "warn", "info": "info"}
SEVERITY_TO_GX = {v: k for k, v in SEVERITY_FROM_GX.items()}
_EXPECTATION_KEYS = {"type", "kwargs", "severity", "meta", "id", "notes", "description", "rendered_content"}


@dataclass(frozen=True)
class Expectation:
    type: str
    kwargs: dict[str, Any]
    severity: str  # error | warn | info
    meta: dict[str, Any] = field(default_factory=dict)
    index: int = 0  # position in the suite, for error messages

    def where(self, origin: str) -> str:
        return f"{origin}: expectations[{self.index}] ({self.type})"

    def to_dict(self) -> dict[str, Any]:
        return {"expectation_type": self.type, "kwargs": self.kwargs, "severity": self.severity, "meta": self.meta}


@dataclass(frozen=True)
class Suite:
    name: str
    expectations: tuple[Expectation, ...]
    origin: str  # file path, for error messages


def default_suite_path() -> Path:
    return resource_path("expectations", f"{DEFAULT_SUITE}.json")


def load_suite(source: str | Path | None = None) -> Suite:
    """The suite in ``source`` (a JSON file), or the shipped default suite when ``source`` is None."""
    path = default_suite_path() if source is None else Path(source)
    origin = str(path)
    try:
        raw = parse_json(path.read_text(encoding="utf-8"), parse_constant=_no_nan)
    except _NaNInSuite as exc:
        raise SuiteError(f"{origin}: {exc}") from exc
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise SuiteError(f"{origin}: not valid JSON: {exc}") from exc
    except OSError as exc:
        raise SuiteError(f"{origin}: cannot read suite: {exc.strerror or exc}") from exc
    return parse_suite(raw, origin)


class _NaNInSuite(ValueError):
    """A suite holds NaN (see :func:`_no_nan`)."""


def _no_nan(constant: str) -> float:
    """``json.loads`` reads NaN and Infinity, which JSON does not have; a NaN bound compares false with
    everything (a row count "between NaN and NaN" would pass any table), so it is refused."""
    if constant == "NaN":
        raise _NaNInSuite("NaN is not a number a suite can compare with (and not valid JSON)")
    return float(constant)


#: A Great Expectations 0.x suite, and what 1.x calls its keys.
_GX0_HINT = (
    "this looks like a Great Expectations 0.x suite: 1.x (which prefdata reads) names the suite 'name' "
    "(not 'expectation_suite_name') and each expectation's type 'type' (not 'expectation_type')"
)


def parse_suite(raw: Any, origin: str = "suite") -> Suite:
    if not isinstance(raw, dict):
        raise SuiteError(f"{origin}: a suite is a JSON object with 'name' and 'expectations'")
    if (field_path := _lone_surrogate(raw)) is not None:
        raise SuiteError(
            f"{origin}: {field_path} holds a lone surrogate escape (such as \\ud800), which is no character: "
            "write the character itself, or both halves of its surrogate pair"
        )
    items = raw.get("expectations")
    gx0 = "expectation_suite_name" in raw or (isinstance(items, list) and any(isinstance(x, dict) and "expectation_type" in x for x in items))
    if gx0:
        raise SuiteError(f"{origin}: {_GX0_HINT}")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise SuiteError(f"{origin}: 'name' must be a non-empty string")
    if not isinstance(items, list):
        raise SuiteError(f"{origin}: 'expectations' must be a list")
    expectations = []
    for i, item in enumerate(items):
        where = f"{origin}: expectations[{i}]"
        if not isinstance(item, dict):
            raise SuiteError(f"{where}: must be an object with 'type' and 'kwargs'")
        unknown = set(item) - _EXPECTATION_KEYS
        if unknown:
            raise SuiteError(f"{where}: unknown keys {sorted(unknown)} (allowed: {sorted(_EXPECTATION_KEYS)})")
        etype = item.get("type")
        if not isinstance(etype, str) or not etype.startswith("expect_"):
            raise SuiteError(f"{where}: 'type' must be an expectation type name like 'expect_column_values_to_not_be_null'")
        kwargs = item.get("kwargs", {})
        if not isinstance(kwargs, dict):
            raise SuiteError(f"{where} ({etype}): 'kwargs' must be an object")
        severity = item.get("severity", "critical")
        if severity not in SEVERITY_FROM_GX:
            raise SuiteError(f"{where} ({etype}): severity must be one of {sorted(SEVERITY_FROM_GX)}, got {severity!r}")
        meta = item.get("meta") or {}
        if not isinstance(meta, dict):
            raise SuiteError(f"{where} ({etype}): 'meta' must be an object")
        expectations.append(Expectation(etype, dict(kwargs), SEVERITY_FROM_GX[severity], dict(meta), i))
    return Suite(name=name, expectations=tuple(expectations), origin=origin)


def _lone_surrogate(value: Any, where: str = "") -> str | None:
    """Where the first string (key or value) holding a lone surrogate is (``expectations[0].kwargs.value_set[1]``),
    or None. JSON allows ``"\\ud800"`` and ``json.loads`` keeps it, but it is no character: polars
    cannot hold it and checks.json (UTF-8) cannot be written with it, so it would fail as a traceback."""
    if isinstance(value, str):
        return None if _encodes(value) else where or "the suite"
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else key
            if not _encodes(key):
                return f"the key {key!a} in {where or 'the suite'}"
            if (found := _lone_surrogate(item, inner)) is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            if (found := _lone_surrogate(item, f"{where}[{i}]")) is not None:
                return found
    return None


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True

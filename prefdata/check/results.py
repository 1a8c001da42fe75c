"""Results of ``prefdata check`` and the checks.json file (format: docs/contracts.md).

``report`` and CI read checks.json, so it is written atomically and its fields are a contract:
every check with ``id``, ``severity``, ``passed``, ``statistic``, ``threshold``, ``offending_ids``
(capped at :data:`MAX_IDS_IN_FILE`), the exact ``offending_count``, and a one-line ``message``.

``offending_count`` is the number of offending *pairs* (rows), the number the message states, and
``offending_ids`` has one entry per such pair in row order: an id repeats when copies of a pair
offend, and a pair whose id is null is named by its place ("row 3 of data/train-...parquet", see
:meth:`prefdata.check.dataset.Dataset.locate`), so the list stays strings. Counting distinct ids
instead would report 1 offending pair for 40 pairs that all lack an id.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefdata.errors import writing
from prefdata.io.discover import shown_name
from prefdata.shard_fingerprint import FileVersion, ShardChangedError, changed, fingerprints

#: ``offending_ids`` in checks.json is cut to this many ids; ``offending_count`` stays exact.
MAX_IDS_IN_FILE = 1000


@dataclass
class CheckOutcome:
    """The verdict of one preference check."""

    id: str
    severity: str
    passed: bool
    statistic: dict[str, Any]
    threshold: dict[str, Any]
    offending_ids: list[str]
    message: str
    offending_count: int | None = None
    skipped: str | None = None  # why the check did not run (e.g. no --tokenizer); then passed is True

    def __post_init__(self) -> None:
        if self.offending_count is None:
            self.offending_count = len(self.offending_ids)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "severity": self.severity,
            "passed": self.passed,
            "statistic": self.statistic,
            "threshold": self.threshold,
            "offending_ids": self.offending_ids[:MAX_IDS_IN_FILE],
            "offending_count": self.offending_count,
            "message": self.message,
        }
        if self.skipped is not None:
            out["skipped"] = self.skipped
        return out


@dataclass
class ExpectationOutcome:
    """One expectation of the suite with its GX-shaped result."""

    expectation_type: str
    kwargs: dict[str, Any]
    severity: str
    success: bool
    result: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)

    # The same three attributes as a check, so callers can treat both alike.
    @property
    def passed(self) -> bool:
        return self.success

    def to_dict(self) -> dict[str, Any]:
        out = {
            "expectation_type": self.expectation_type,
            "kwargs": self.kwargs,
            "severity": self.severity,
            "success": self.success,
            "result": self.result,
        }
        if self.meta:
            out["meta"] = self.meta
        return out


def _failing(severity: str, strict: bool) -> bool:
    return severity == "error" or (strict and severity == "warn")


@dataclass
class CheckResult:
    """Everything ``prefdata.check`` found; ``passed`` is what CI gates on."""

    dataset: str
    engine: str
    suite: str
    strict: bool
    expectations: list[ExpectationOutcome]
    checks: list[CheckOutcome]
    rows: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    #: the shards checked, ``{path in the dataset: file}``; their sha256 (:attr:`shard_sha256`) is
    #: what checks.json records, so the report shows these results only while the shards are these
    shards: dict[str, Path] = field(default_factory=dict, repr=False)
    #: ``{path in the dataset: the version of the file checked}``: only those bytes are hashed
    versions: dict[str, FileVersion] = field(default_factory=dict, repr=False)

    @property
    def passed(self) -> bool:
        """False when an error-severity check or expectation failed (with ``strict``, also a warning)."""
        return not any(_failing(x.severity, self.strict) for x in self.failures())

    def failures(self) -> list[CheckOutcome | ExpectationOutcome]:
        return [x for x in (*self.expectations, *self.checks) if not x.passed]

    def __repr__(self) -> str:
        """A line, not every offending id (megabytes in a notebook cell at 20,000 pairs)."""
        failed = ", ".join(f"{getattr(x, 'id', None) or x.expectation_type} ({x.severity})" for x in self.failures()) or "none"
        return f"CheckResult(dataset={self.dataset!r}, passed={self.passed}, rows={self.rows:,}, failed: {failed})"

    def check(self, check_id: str) -> CheckOutcome:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(check_id)

    @property
    def shard_sha256(self) -> dict[str, str]:
        """``{path in the dataset: sha256}``, hashed when asked (for checks.json): a check that writes
        nothing (``write=False``, the benchmarks) reads the shards once, not twice. A shard that is
        no longer the version checked is a :class:`ShardChangedError`, not another file's hash."""
        return fingerprints(self.shards, self.versions)

    @property
    def summary(self) -> dict[str, int]:
        failed = self.failures()
        return {
            "error": sum(x.severity == "error" for x in failed),
            "warn": sum(x.severity == "warn" for x in failed),
            "info": sum(x.severity == "info" for x in failed),
            "checks": len(self.checks),
            "expectations": len(self.expectations),
            "failed": len(failed),
        }

    def to_dict(self) -> dict[str, Any]:
        from prefdata import __version__

        return {
            "prefdata_version": __version__,
            "dataset": shown_name(self.dataset),  # a folder name that is not UTF-8 cannot go into UTF-8 JSON as is
            "engine": self.engine,
            "suite": self.suite,
            "strict": self.strict,
            "passed": self.passed,
            "rows": self.rows,
            "shard_sha256": self.shard_sha256,
            "summary": self.summary,
            "expectations": [e.to_dict() for e in self.expectations],
            "checks": [c.to_dict() for c in self.checks],
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }

    def write(self, path: str | Path) -> Path:
        """Write checks.json atomically (a reader never sees a half-written file), and only while the
        shards are still the versions checked (a build may swap OUT in at any moment); an ``OSError``
        names ``path``, not the temporary file."""
        path = Path(path)
        text = json.dumps(_jsonable(self.to_dict()), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        if moved := changed(self.shards, self.versions):
            raise ShardChangedError(f"{self.shards[moved[0]]}: replaced or changed since it was checked")
        with writing(path):
            fd, tmp = tempfile.mkstemp(prefix=".checks-", suffix=".json", dir=path.parent)
            try:
                os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes it private (0600); CI uploaders and teammates read it
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(text)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return path


def _umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _jsonable(x: Any) -> Any:
    """JSON-safe copy: NaN/inf become null (strict JSON has neither), tuples become lists."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if x is None or isinstance(x, (str, int, bool)):
        return x
    return str(x)

"""Typed errors of ``prefdata report``; the CLI turns each into a message and exit code 2."""

from __future__ import annotations

from prefdata.errors import PrefdataError


class ReportError(PrefdataError):
    """Base class of the errors ``prefdata report`` raises on purpose."""


class DatasetError(ReportError):
    """OUT is not a dataset in the canonical layout (no ``data/*.parquet``, or a canonical column is missing)."""


class ChecksFileError(ReportError):
    """``OUT/checks.json`` exists but is not valid JSON or does not follow docs/contracts.md."""

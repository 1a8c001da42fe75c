"""Typed errors raised by the library. The CLI turns them into messages and exit code 2.

Each message names what the user has to look at (the file, the config key, the record) and, where
there is one, how to fix it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


class PrefdataError(Exception):
    """Base class of every error prefdata raises on purpose."""


class InputError(PrefdataError):
    """RAW cannot be used: nothing exists there, or nothing in it is readable."""


class ConfigError(PrefdataError):
    """A build config is invalid; the message names the source and key and lists valid values."""


class AmbiguousLayoutError(PrefdataError):
    """Auto-detection could not tell how to read a file; carries a config to start from."""

    def __init__(self, message: str, suggested_config: str) -> None:
        super().__init__(message)
        self.suggested_config = suggested_config


class OutputError(PrefdataError):
    """OUT cannot be written (e.g. it exists and is not a prefdata dataset)."""


class ReconciliationError(PrefdataError):
    """Counts do not add up: a record was lost or counted twice. Always a bug in prefdata."""


class UnreadableFileError(InputError):
    """One raw file cannot be read at all (e.g. a damaged Parquet file): it is skipped with this reason."""


@contextmanager
def naming_target(path: str | os.PathLike[str]) -> Iterator[None]:
    """Re-raise an ``OSError`` of writing ``path`` through a temporary file with ``path`` as its name.

    An atomic write goes to a temporary file beside ``path`` and renames it, so the system's error
    (a folder where the file goes, a full disk) names the temporary file, which is already deleted
    (``os.replace`` even keeps the target in ``filename2``, which the CLI does not print). The user
    has to look at ``path``.
    """
    try:
        yield
    except OSError as exc:
        if exc.errno is None:
            raise
        raise type(exc)(exc.errno, exc.strerror, os.fspath(path)) from exc

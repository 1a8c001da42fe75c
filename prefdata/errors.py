"""Typed errors raised by the library. The CLI turns them into messages and exit code 2.

Each message names what the user has to look at (the file, the config key, the record) and, where
there is one, how to fix it.
"""

from __future__ import annotations

import os
import re
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
def writing(path: str | os.PathLike[str]) -> Iterator[None]:
    """What the system refuses while ``path`` is written, as an ``OSError`` that names ``path``.

    The CLI tells a refused write (exit 2, the file named) from a bug by the errno, and the user needs
    to know which file: an atomic write's error names its temporary file, already deleted (and
    ``os.replace`` keeps the target in ``filename2``, which the CLI does not print); polars wraps a
    full disk in a ``ComputeError`` ("... (os error 28)") or an ``OSError`` without its errno; pyarrow
    and ``file.write`` leave the file out.
    """
    try:
        yield
    except Exception as exc:
        named = exc.errno if isinstance(exc, OSError) else None
        code = named or (_errno_in(str(exc)) if isinstance(exc, OSError) or _from_polars(exc) else None)
        if code is None:
            raise
        raise OSError(code, os.strerror(code), os.fspath(path)) from exc


def _from_polars(exc: Exception) -> bool:
    return type(exc).__module__.startswith("polars")


def _errno_in(message: str) -> int | None:
    """The errno a polars or pyarrow message carries ("(os error 28)", "[errno 28]"), or None."""
    found = re.search(r"\b(?:os error|errno) (\d+)", message, re.IGNORECASE)
    return int(found.group(1)) if found else None

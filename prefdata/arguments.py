"""Type checks of the Python API's options, shared by ``build``, ``check``, ``report`` and ``train``.

The CLI hands every command typed values; Python callers hand over whatever a pipeline read (an
environment variable, a YAML 1.1 file, an argparse wrapper). Taken as they are, the text ``"no"``
is true: ``overwrite="no"`` would replace a model directory and ``strict="no"`` fail a dataset on
warnings. Each entry point checks its options here, raising its own error class, so that the
message names the option instead of a later ``TypeError`` naming nothing.
"""

from __future__ import annotations

import os
from typing import Any


def require_bool(name: str, value: Any, error: type[Exception]) -> None:
    """Refuse anything but ``True``/``False`` (``0``, ``"no"`` and ``None`` included)."""
    if not isinstance(value, bool):
        raise error(f"{name} must be True or False, got {value!r}")


def require_path(name: str, value: Any, error: type[Exception]) -> None:
    """Refuse anything but a ``str`` or an ``os.PathLike``."""
    if not isinstance(value, (str, os.PathLike)):
        raise error(f"{name} must be a path (str or os.PathLike), got {type(value).__name__}")

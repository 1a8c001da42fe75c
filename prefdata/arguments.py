"""Type checks of the Python API's options, shared by ``build``, ``check``, ``inspect``, ``report`` and ``train``.

The CLI hands every command typed values; Python callers hand over whatever a pipeline read (an
environment variable, a YAML 1.1 file, an argparse wrapper). Taken as they are, the text ``"no"``
is true: ``overwrite="no"`` would replace a model directory and ``strict="no"`` fail a dataset on
warnings; ``True`` is the number 1 and ``False`` the number 0, so ``seed=True`` would be seed 1 and
``test_fraction=False`` a build without a test split; and an empty path (an unset ``$RAW``) is the
current folder. Each entry point checks its options here, raising its own error class, so that the
message names the option instead of a later ``TypeError`` naming nothing.
"""

from __future__ import annotations

import numbers
import os
from typing import Any


def require_bool(name: str, value: Any, error: type[Exception]) -> None:
    """Refuse anything but ``True``/``False`` (``0``, ``"no"`` and ``None`` included)."""
    if not isinstance(value, bool):
        raise error(f"{name} must be True or False, got {value!r}")


def require_path(name: str, value: Any, error: type[Exception], *, what: str = "a file or folder") -> None:
    """Refuse anything but a ``str`` or an ``os.PathLike``, and an empty one: ``Path("")`` is ``.``,
    so ``build(os.environ.get("RAW", ""), out)`` would read (or, as OUT, replace) the current folder,
    as the CLI refuses for ``"$RAW"`` unset (:class:`~prefdata.cli.common.NonEmptyPath`)."""
    if not isinstance(value, (str, os.PathLike)):
        raise error(f"{name} must be a path (str or os.PathLike), got {type(value).__name__}")
    if not os.fspath(value):
        raise error(f"{name} is an empty path; name {what} (is a variable unset?)")


def require_whole(name: str, value: Any, error: type[Exception], *, least: int | None = None, most: int | None = None, why: str = "") -> int:
    """The ``int`` of an integer in ``[least, most]`` (a numpy integer included: a pipeline's value
    often is one); anything else is refused, ``True``, ``2.0`` and ``"2"`` included. ``why`` follows
    the range in the message (what a bound comes from)."""
    whole = not isinstance(value, bool) and isinstance(value, numbers.Integral)
    if not whole or (least is not None and value < least) or (most is not None and value > most):
        if least is not None and most is not None:
            bounds = f" from {least:,} to {most:,}"
        elif least is not None:
            bounds = f" >= {least}"
        else:
            bounds = f" <= {most:,}" if most is not None else ""
        raise error(f"{name} must be a whole number{bounds}{why}, got {value!r}")
    return int(value)


def require_number(name: str, value: Any, error: type[Exception]) -> float:
    """The ``float`` of a real number (a numpy one included); ``True``/``False`` and ``"0.2"`` are
    refused. The range is the option's own check."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise error(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except OverflowError:  # an int past a float (10**400): no fraction or threshold is that
        raise error(f"{name} must be a number a float holds, got {value!r}") from None

"""prefdata: raw LLM feedback logs -> validated preference datasets -> SFT and DPO models.

The Python API is the product; the ``prefdata`` command is a thin skin over it::

    import prefdata
    result = prefdata.build("raw/", "out/")       # canonical dataset + rejects + manifest + card
    result.counts["pairs_written"]

The training stack (torch, transformers, TRL) is never imported here: ``prefdata.train`` loads it
when a training command runs. Nor is the data stack: each API name is imported on first use
(:func:`__getattr__`), so ``import prefdata`` is cheap and the command's Ctrl-C handling is in place
before polars loads (an interrupt in the first second printed a traceback).
"""

from __future__ import annotations

import importlib as _importlib
import sys as _sys
import types as _types
import typing as _typing

__version__ = "0.1.0"

#: Each API name -> the module that defines it, imported when the name is first used.
_API: dict[str, str] = {
    "build": "prefdata.build.pipeline",
    "BuildResult": "prefdata.build.pipeline",
    "check": "prefdata.check.api",
    "CheckResult": "prefdata.check.api",
    "inspect": "prefdata.inspect",
    "InspectResult": "prefdata.inspect",
    "report": "prefdata.report",
    "ReportResult": "prefdata.report",
}

__all__ = ["BuildResult", "CheckResult", "InspectResult", "ReportResult", "__version__", "build", "check", "inspect", "report"]

if _typing.TYPE_CHECKING:
    from prefdata.build.pipeline import BuildResult, build
    from prefdata.check.api import CheckResult, check
    from prefdata.inspect import InspectResult, inspect
    from prefdata.report import ReportResult, report


def __getattr__(name: str) -> object:
    if name not in _API:
        raise AttributeError(f"module 'prefdata' has no attribute {name!r}")
    try:
        module = _importlib.import_module(_API[name])
    except AttributeError as exc:
        # an AttributeError (a dependency's own, say numpy 2 beside an older pyarrow) would read as "no
        # such name" to `from prefdata import build`, which would then bind the subpackage instead
        raise ImportError(f"cannot load prefdata.{name}: {exc}") from exc
    value = getattr(module, name)
    if isinstance(value, _types.FunctionType):
        # `import prefdata.check.api as api` looks up `check` on the package, gets this function, and
        # falls back to sys.modules[f"{check.__name__}.api"]: named "check", that failed ("cannot
        # import name 'api' from 'check'"); named for its place in the package, it finds the module
        value.__name__ = f"prefdata.{name}"
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})


class _Package(_types.ModuleType):
    """``prefdata`` itself. The functions share their names with the subpackages and module that
    implement them (``prefdata.build`` is both): importing ``prefdata.build.pipeline`` sets the
    package's ``build`` to the subpackage, which here leaves the name to the function."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _API and isinstance(value, _types.ModuleType):
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package

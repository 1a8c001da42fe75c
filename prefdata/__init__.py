"""prefdata: raw LLM feedback logs -> validated preference datasets -> SFT and DPO models.

The Python API is the product; the ``prefdata`` command is a thin skin over it::

    import prefdata
    result = prefdata.build("raw/", "out/")       # canonical dataset + rejects + manifest + card
    result.counts["pairs_written"]

The training stack (torch, transformers, TRL) is never imported here: ``prefdata.train`` loads it
when a training command runs.
"""

from __future__ import annotations

__version__ = "0.1.0"

# The functions share their names with the subpackages that implement them (``prefdata.build`` is
# both); importing them here, after the subpackages, makes the attribute the function for good.
from prefdata.build.pipeline import BuildResult, build
from prefdata.check.api import CheckResult, check
from prefdata.inspect import InspectResult, inspect
from prefdata.report import ReportResult, report

__all__ = ["BuildResult", "CheckResult", "InspectResult", "ReportResult", "__version__", "build", "check", "inspect", "report"]

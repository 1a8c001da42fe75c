"""The reference engine: the same suite run by Great Expectations itself, on pandas.

For Data Docs (``--data-docs DIR``), for expectation types the polars engine does not translate, and
as the yardstick of the parity test. It validates exactly the view the polars engine sees
(:func:`prefdata.check.view.view_frame`, converted to pandas once) and its results are reshaped to the
same fields. Great Expectations is imported here only, and only when this engine is asked for.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from prefdata.check.dataset import Dataset
from prefdata.check.errors import EngineError, SuiteError
from prefdata.check.suite import SEVERITY_TO_GX, Suite
from prefdata.check.view import view_frame

#: Result fields kept from GX's SUMMARY result (the ones the polars engine produces too).
RESULT_KEYS = (
    "observed_value", "element_count", "unexpected_count", "unexpected_percent", "missing_count",
    "missing_percent", "unexpected_percent_total", "unexpected_percent_nonmissing", "partial_unexpected_list",
    "details",
)
_INDEX_KEY = "prefdata_index"


def _import_gx():
    try:
        import great_expectations as gx
    except ImportError as exc:
        raise EngineError("--engine gx needs Great Expectations: pip install 'prefdata[gx]'") from exc
    return gx


def _clean(value: Any) -> Any:
    """NaN (pandas' missing value) -> None, numpy scalars -> Python, recursively."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return _clean(value.item())
        except (ValueError, AttributeError):
            return value
    return value


def build_gx_suite(gx, suite: Suite):
    from great_expectations.expectations.registry import get_expectation_impl

    expectations = []
    for e in suite.expectations:
        try:
            cls = get_expectation_impl(e.type)
        except Exception as exc:
            raise SuiteError(f"{e.where(suite.origin)}: Great Expectations has no expectation type {e.type!r}") from exc
        try:
            expectations.append(
                cls(**e.kwargs, severity=SEVERITY_TO_GX[e.severity], meta={**e.meta, _INDEX_KEY: e.index})
            )
        except Exception as exc:  # pydantic validation of the kwargs
            raise SuiteError(f"{e.where(suite.origin)}: Great Expectations rejects the kwargs: {exc}") from exc
    return gx.ExpectationSuite(name=gx_name(suite.name), expectations=expectations)


def gx_name(name: str) -> str:
    """The suite's name as GX stores it: Data Docs keep pages under the suite's name and refuse one
    holding ``/`` or ``\\`` (a ``ValueError`` from deep in GX, exit 3, for a suite named
    ``team/prefs-v2``), so those become ``_``. Results and checks.json keep the name as written."""
    return name.replace("/", "_").replace("\\", "_")


def _raised(exception_info: Any) -> dict[str, Any] | None:
    """The first exception GX caught while evaluating an expectation, or None.

    GX 1.x files exceptions either at the top level of ``exception_info`` or, when a metric failed,
    under the metric's id (``{"MetricConfigurationID(...)": {"raised_exception": True, ...}}``); an
    expectation whose metric raised has ``success: false`` and an empty result, which must not read as
    "the data failed".
    """
    if not isinstance(exception_info, dict):
        return None
    if exception_info.get("raised_exception"):
        return exception_info
    for value in exception_info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return value
    return None


def validate(dataset: Dataset, suite: Suite, *, data_docs: str | Path | None = None) -> list[dict[str, Any]]:
    """GX results (``success`` and ``result``) for every expectation, in suite order."""
    try:
        return _validate(dataset, suite, data_docs=data_docs)
    except (SuiteError, EngineError):
        raise
    except Exception as exc:  # GX's own refusals outside the kwargs check: suite parameters, re-validation
        gx_module = type(exc).__module__.split(".")[0]
        if gx_module not in ("great_expectations", "pydantic"):
            raise
        raise SuiteError(f"{suite.origin}: Great Expectations cannot run the suite: {type(exc).__name__}: {exc}") from exc


def _validate(dataset: Dataset, suite: Suite, *, data_docs: str | Path | None = None) -> list[dict[str, Any]]:
    gx = _import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    frame = dataset.collect(view_frame(dataset.scan())).to_pandas()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas("prefdata")
        .add_dataframe_asset("pairs")
        .add_batch_definition_whole_dataframe("all")
    )
    gx_suite = context.suites.add(build_gx_suite(gx, suite))
    result_format = {"result_format": "SUMMARY"}
    if data_docs is None:
        run = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(gx_suite, result_format=result_format)
        results = run.results
    else:
        from great_expectations.checkpoint import UpdateDataDocsAction

        site = {
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(Path(data_docs).resolve())},
        }
        context.add_data_docs_site("prefdata", site)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=gx_suite.name, data=batch_definition, suite=gx_suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name="prefdata-check",
                validation_definitions=[definition],
                actions=[UpdateDataDocsAction(name="data_docs", site_names=["prefdata"])],
                result_format=result_format,
            )
        )
        run = checkpoint.run(batch_parameters={"dataframe": frame})
        results = [r for v in run.run_results.values() for r in v.results]
    ordered: list[dict[str, Any] | None] = [None] * len(suite.expectations)
    for r in results:
        index = r.expectation_config.meta[_INDEX_KEY]
        if (raised := _raised(r.exception_info)) is not None:
            raise SuiteError(
                f"{suite.origin}: expectations[{index}] ({r.expectation_config.type}): Great Expectations raised: "
                f"{raised.get('exception_message')}"
            )
        result = {k: _clean(v) for k, v in (r.result or {}).items() if k in RESULT_KEYS}
        ordered[index] = {"success": bool(r.success), "result": result}
    missing = [i for i, x in enumerate(ordered) if x is None]
    if missing:
        raise EngineError(f"Great Expectations returned no result for expectations {missing}")
    return ordered  # type: ignore[return-value]

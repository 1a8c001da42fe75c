"""``prefdata.check``: validate a dataset in the canonical layout and say whether it may be trained on."""

from __future__ import annotations

import os
import time
from pathlib import Path

from prefdata.arguments import require_bool, require_path, require_whole
from prefdata.check.checks import FAMILIES
from prefdata.check.checks.base import Context, Options, disabled
from prefdata.check.config import CHECK_IDS, CheckConfig, load_config
from prefdata.check.dataset import open_dataset
from prefdata.check.engine_polars import finish_suite, plan_suite
from prefdata.check.errors import OptionsError
from prefdata.check.results import CheckResult, ExpectationOutcome
from prefdata.check.single_pass import single_pass
from prefdata.check.suite import Suite, load_suite
from prefdata.check.view import VIEW_COLUMNS, view_frame
from prefdata.progress import Progress

ENGINES = ("polars", "gx")


def check(
    path: str | Path,
    *,
    suite: str | Path | None = None,
    config: CheckConfig | dict | str | Path | None = None,
    engine: str = "polars",
    tokenizer: str | Path | None = None,
    max_length: int | None = None,
    benchmark_prompts: str | Path | None = None,
    strict: bool = False,
    write: bool = True,
    data_docs: str | Path | None = None,
    quiet: bool = True,
) -> CheckResult:
    """Run the expectation suite and every enabled preference check on the dataset at ``path``
    (a check the config disables is listed as skipped, so every check id is in the result).

    ``suite``: a GX suite JSON file (default: the shipped ``canonical`` suite). ``config``: thresholds
    (YAML/JSON path, dict or :class:`CheckConfig`). ``engine``: "polars" (default) or "gx" (Great
    Expectations on pandas; needs the ``gx`` extra). ``tokenizer`` + ``max_length``: enable the TRL
    truncation and chat-template checks. ``benchmark_prompts``: a file of prompts for the
    contamination check. ``strict``: warnings fail too. ``write``: write ``path/checks.json``.
    ``data_docs``: with the gx engine, write GX Data Docs to this directory. ``quiet=False`` shows a
    progress display on stderr when it is a terminal (the CLI's default).

    Raises a :class:`prefdata.check.errors.CheckError` when checking is impossible (bad path, suite,
    config or options); a dataset that fails checks is a result with ``passed`` False, not an error.

    >>> result = prefdata.check("out/")                       # doctest: +SKIP
    >>> result.passed, [c.id for c in result.checks if not c.passed]   # doctest: +SKIP
    """
    t0 = time.perf_counter()
    for name, value in (("strict", strict), ("write", write), ("quiet", quiet)):
        require_bool(name, value, OptionsError)
    # the dataset is checked by open_dataset; an empty one is the current folder: a suite or config "cannot be read", GX Data Docs written here
    for name, value in (("suite", suite), ("tokenizer", tokenizer), ("benchmark_prompts", benchmark_prompts), ("data_docs", data_docs)):
        if value is not None:
            require_path(name, value, OptionsError)
    if isinstance(config, (str, os.PathLike)):  # else a mapping or a CheckConfig, which load_config checks
        require_path("config", config, OptionsError)
    if engine not in ENGINES:
        raise OptionsError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if (tokenizer is None) != (max_length is None):
        raise OptionsError("--tokenizer and --max-length go together (the truncation checks need both)")
    if max_length is not None:
        max_length = require_whole("max_length", max_length, OptionsError, least=1, why=" (tokens)")
    if data_docs is not None and engine != "gx":
        raise OptionsError("Data Docs are written by Great Expectations: use --engine gx with --data-docs")
    cfg = load_config(config)
    the_suite: Suite = load_suite(suite)
    dataset = open_dataset(path)

    seconds: dict[str, float] = {}
    with Progress(enabled=None if not quiet else False) as progress, dataset.unchanged():
        view_schema = view_frame(dataset.scan()).collect_schema()
        plans = plan_suite(the_suite, view_schema) if engine == "polars" else []
        progress.phase(f"reading {dataset.rows:,} pairs once for the suite and the row-level checks")
        t = time.perf_counter()
        frame = single_pass(dataset, cfg, plans)
        seconds["single_pass"] = time.perf_counter() - t

        progress.phase(f"expectations ({engine} engine)")
        t = time.perf_counter()
        if engine == "polars":
            raw = finish_suite(the_suite, plans, frame, VIEW_COLUMNS)
        else:
            from prefdata.check import engine_gx

            raw = engine_gx.validate(dataset, the_suite, data_docs=data_docs)
        seconds["expectations"] = time.perf_counter() - t
        expectations = [
            ExpectationOutcome(e.type, e.kwargs, e.severity, r["success"], r["result"], e.meta)
            for e, r in zip(the_suite.expectations, raw)
        ]

        ctx = Context(
            dataset=dataset, frame=frame, config=cfg,
            options=Options(tokenizer=tokenizer, max_length=max_length, benchmark_prompts=benchmark_prompts),
            seconds=seconds, progress=progress,
        )
        t = time.perf_counter()
        outcomes = []
        for family in FAMILIES:
            progress.phase(f"checks: {family.__name__.rsplit('.', 1)[-1].replace('_', ' ')}")
            outcomes += family.run(ctx)
        origin = str(config) if isinstance(config, (str, Path)) else "the config"
        outcomes += [disabled(ctx, i, origin) for i in CHECK_IDS if not cfg.checks.get(i).enabled]
        outcomes.sort(key=lambda o: CHECK_IDS.index(o.id))
        seconds["checks"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t0

    result = CheckResult(
        dataset=str(path), engine=engine, suite=the_suite.name, strict=strict,
        expectations=expectations, checks=outcomes, rows=frame.height, seconds=seconds,
        shards=dataset.files, versions=dataset.versions,
    )
    if write:
        with dataset.unchanged():  # hashes the versions checked; a shard replaced since is refused, not hashed
            result.write(Path(path) / "checks.json")
    return result

"""``prefdata check DATASET``: parse options, call :func:`prefdata.check.check`, print a table, pick the exit code.

Exit codes: 0 no error-severity check or expectation failed (with ``--strict``: no warning either),
1 one did, 2 the dataset, suite, config or options could not be used.
"""

from __future__ import annotations

import codecs
import json
import os
import shutil
import sys
from pathlib import Path

import click

from prefdata.cli.common import NonEmptyPath, OnceEach, fail_on_prefdata_errors

#: Width of the tables when stdout is not a terminal and COLUMNS is unset (CI logs, pipes).
LOG_WIDTH = 160
#: The narrowest tables (a classic terminal's width): every column whole, the findings folded. Rich
#: takes COLUMNS as given, and at 0 (or 5) it printed nothing at all, not even the verdict line.
MIN_WIDTH = 80

_PATH = NonEmptyPath(path_type=Path)
_FILE = NonEmptyPath(dir_okay=False, path_type=Path)


def _status(passed: bool, skipped: bool = False) -> str:
    if skipped:
        return "[dim]skip[/dim]"
    return "[green]pass[/green]" if passed else "[red]FAIL[/red]"


def _severity(sev: str) -> str:
    return {"error": "[red]error[/red]", "warn": "[yellow]warn[/yellow]", "info": "[blue]info[/blue]"}[sev]


def _width(is_terminal: bool) -> int:
    """The tables' width: COLUMNS when it is a whole number above 0, else the terminal's width, or
    :data:`LOG_WIDTH` in a CI log or a pipe (rich would assume 80 columns there and fold each finding
    into slivers); never under :data:`MIN_WIDTH`."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:  # unset, or no width: 0, -5, "abc"
        columns = shutil.get_terminal_size().columns if is_terminal else LOG_WIDTH
    return max(columns, MIN_WIDTH)


def _print(result) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(stderr=False, highlight=False)
    console.width = _width(console.is_terminal)
    failed = [e for e in result.expectations if not e.success]
    title = f"suite {result.suite}: {len(result.expectations) - len(failed)}/{len(result.expectations)} expectations pass"
    if failed:
        suite = Table(title=title, title_justify="left")
        for col in ("expectation", "column", "severity", "result", "unexpected"):
            suite.add_column(col, min_width={"severity": 5, "result": 4}.get(col))
        for e in failed:
            column = e.kwargs.get("column") or ",".join(str(e.kwargs[k]) for k in ("column_A", "column_B") if k in e.kwargs)
            unexpected = e.result.get("unexpected_count", e.result.get("observed_value", ""))
            suite.add_row(e.expectation_type, escape(str(column)), _severity(e.severity), _status(False), escape(str(unexpected)))
        console.print(suite)
    else:
        console.print(title)
    table = Table(title=f"preference checks on {result.rows:,} pairs", title_justify="left")
    for col in ("check", "severity", "result", "offending", "finding"):
        # the verdict columns keep their width on a narrow terminal; the finding folds
        table.add_column(col, overflow="fold", no_wrap=col in ("severity", "result"),
                         min_width={"check": 10, "severity": 5, "result": 4, "offending": 5, "finding": 16}.get(col))
    for c in result.checks:
        table.add_row(c.id, _severity(c.severity), _status(c.passed, c.skipped is not None), f"{c.offending_count:,}", escape(c.message))
    console.print(table)
    s = result.summary
    verdict = "[green]passed[/green]" if result.passed else "[red]failed[/red]"
    console.print(
        f"{verdict}: {s['error']} error, {s['warn']} warn, {s['info']} info failing"
        f"{' (strict: warnings fail)' if result.strict else ''}; {result.seconds.get('total', 0):.1f}s"
    )


@click.command("check", cls=OnceEach)
@click.argument("dataset", type=NonEmptyPath())
@click.option("--suite", type=_FILE, help="Great Expectations suite JSON [default: the shipped canonical suite].")
@click.option("--config", "config_path", type=_FILE, help="YAML/JSON thresholds and severities of the checks.")
@click.option("--engine", type=click.Choice(["polars", "gx"]), default="polars", show_default=True, help="Expectation engine (gx needs the gx extra).")
@click.option("--data-docs", type=NonEmptyPath(file_okay=False, path_type=Path), help="With --engine gx: write GX Data Docs here.")
@click.option("--tokenizer", type=_PATH, help="Local tokenizer (with a chat template) for the TRL truncation checks.")
@click.option("--max-length", type=click.IntRange(min=1), help="TRL max_length for the truncation checks.")
@click.option("--benchmark-prompts", type=_FILE, help="Benchmark prompts (.txt/.jsonl/.json/.csv/.parquet) for the contamination check.")
@click.option("--strict", is_flag=True, help="Warnings fail too.")
@click.option("--no-write", is_flag=True, help="Do not write DATASET/checks.json.")
@click.option("--json", "as_json", is_flag=True, help="Print checks.json to stdout instead of the tables.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display (it shows only when stderr is a terminal).")
def command(
    dataset: str, suite: Path | None, config_path: Path | None, engine: str, data_docs: Path | None,
    tokenizer: Path | None, max_length: int | None, benchmark_prompts: Path | None, strict: bool,
    no_write: bool, as_json: bool, quiet: bool,
) -> None:
    """Check a dataset: expectation suite + preference checks; exit 1 when an error-severity one fails."""
    from prefdata.check import check

    with fail_on_prefdata_errors():
        result = check(
            dataset, suite=suite, config=config_path, engine=engine, tokenizer=tokenizer, max_length=max_length,
            benchmark_prompts=benchmark_prompts, strict=strict, write=not no_write, data_docs=data_docs, quiet=quiet,
        )
    if as_json:
        from prefdata.check.results import _jsonable

        # JSON escapes what the terminal's encoding cannot show (backslashreplace would write invalid JSON)
        utf8 = codecs.lookup(getattr(sys.stdout, "encoding", None) or "ascii").name in ("utf-8", "utf-8-sig")
        click.echo(json.dumps(_jsonable(result.to_dict()), indent=2, ensure_ascii=not utf8))
    else:
        _print(result)
    sys.exit(0 if result.passed else 1)

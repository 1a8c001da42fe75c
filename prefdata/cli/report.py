"""``prefdata report OUT``: parse options, call :func:`prefdata.report`, print where the report went."""

from __future__ import annotations

import click

from prefdata.cli.common import NonEmptyPath, OnceEach, fail_on_prefdata_errors
from prefdata.io.discover import shown_name
from prefdata.report.api import MAX_EXAMPLES, MAX_SAMPLE, MAX_SEED  # cheap: the report's heavy imports happen inside report()


@click.command("report", cls=OnceEach)
@click.argument("out", type=NonEmptyPath())
@click.option("--run-checks", is_flag=True, help="Run `prefdata check` first when OUT/checks.json is missing or stale (describes other data), overwriting it.")
@click.option("--sample", default=8, show_default=True, type=click.IntRange(0, MAX_SAMPLE), help="Pairs shown as conversations.")
@click.option("--examples", default=3, show_default=True, type=click.IntRange(0, MAX_EXAMPLES), help="Offending pairs shown per failed check.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, MAX_SEED), help="Seed of the sample of pairs.")
@click.option("--no-card", is_flag=True, help="Leave OUT/README.md as it is.")
def command(out: str, run_checks: bool, sample: int, examples: int, seed: int, no_card: bool) -> None:
    """Write OUT/report.html (self-contained: plots, checks, sample pairs) and OUT/report.md."""
    from prefdata.report import report

    with fail_on_prefdata_errors():
        result = report(out, run_checks=run_checks, sample=sample, examples_per_check=examples, seed=seed, card=not no_card)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    verdict = {None: "checks not run", True: "checks passed", False: "checks failed"}[result.checks_passed]
    click.echo(f"{result.pairs:,} pairs, {verdict} ({result.seconds:.1f} s)")
    for path in (result.html_path, result.md_path, result.card_path):
        if path is not None:
            click.echo(f"wrote {shown_name(str(path))}")

"""``prefdata inspect RAW``: print what :func:`prefdata.inspect` found."""

from __future__ import annotations

import click

from prefdata.cli.common import NonEmptyPath, OnceEach, fail_on_prefdata_errors
from prefdata.errors import InputError
from prefdata.io.decode import json_text


def _short(value: object, width: int = 240) -> str:
    text = json_text(value, ensure_ascii=False)  # a record may nest deeper than json.dumps recurses
    return text if len(text) <= width else text[: width - 3] + "..."


@click.command("inspect", cls=OnceEach)
@click.argument("raw", type=NonEmptyPath())
@click.option("--sample", "sample_size", default=200, show_default=True, type=click.IntRange(min=1), help="Records per file the field table describes (the shape is detected from the first 200, as the build does; more than a file holds is all of it).")
@click.option("--examples", default=2, show_default=True, type=click.IntRange(min=0), help="Records shown per file: the first of the sample, so at most --sample.")
def command(raw: str, sample_size: int, examples: int) -> None:
    """Show each raw file's fields, a few records, its detected shape and a config that would build it."""
    from prefdata.inspect import inspect
    from prefdata.io.discover import shown_name

    with fail_on_prefdata_errors():
        result = inspect(raw, sample_size=sample_size, examples=examples)
    for f in result.files:
        comp = f", {f.compression}" if f.compression else ""
        click.secho(f"== {shown_name(f.path)} ({f.format}{comp}, {f.bytes:,} bytes; {f.sampled} record{'' if f.sampled == 1 else 's'} sampled)", bold=True)
        for s in f.fields:
            types = ", ".join(f"{t} {n}" for t, n in sorted(s.types.items(), key=lambda kv: -kv[1]))
            chars = f", ~{s.mean_chars:,.0f} chars" if s.mean_chars is not None else ""
            click.echo(f"  {shown_name(s.name):24s} {s.present:>5}/{f.sampled}  {types}{chars}")  # a "bad\nkey" on one line
        for i, rec in enumerate(f.examples, 1):
            click.echo(f"  example {i}: {_short(rec)}")
        if f.unread:
            click.secho(f"  damaged before its first record: {f.unread}; a build without --config skips this file, one whose "
                        "config does not read the damaged column builds the rest", fg="yellow")
        if f.damage:
            click.secho(f"  damaged at {f.damage}; the build keeps the records before it and rejects the rest as one damaged_file record", fg="yellow")
        if f.problem:
            click.secho(f"  not detected: {f.problem}", fg="yellow")
        else:
            click.secho(f"  detected {f.description}", fg="green")
        if f.config_yaml.strip():
            click.echo("  config:" if not f.problem else "  config to complete:")
            click.echo("\n".join("    " + line for line in f.config_yaml.rstrip().splitlines()))
    for s in result.skipped:
        click.echo(f"== {shown_name(s.name)}: skipped ({s.reason})")
    if not any(f.sampled for f in result.files):  # as the build: exit 2, so `inspect && build` stops here
        with fail_on_prefdata_errors():
            raise InputError(f"nothing readable in RAW '{raw}'")

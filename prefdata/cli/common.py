"""What every subcommand shares: library errors become a message and exit code 2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from prefdata.errors import AmbiguousLayoutError, PrefdataError


@contextmanager
def fail_on_prefdata_errors() -> Iterator[None]:
    """Print a library error without a traceback and exit 2 (usage/input error)."""
    try:
        yield
    except AmbiguousLayoutError as exc:
        click.echo(f"error: {exc}", err=True)
        click.echo("\nsuggested config:\n" + exc.suggested_config, err=True)
        raise SystemExit(2) from None
    except PrefdataError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None


def not_empty(ctx: click.Context, param: click.Parameter, value: object) -> object:
    """Refuse an empty path argument: ``prefdata build "$RAW" out`` with RAW unset read the current
    folder, and built every file under it."""
    if isinstance(value, (str, bytes)) and not value or str(value) == "":
        raise click.BadParameter("is empty; name a file or folder (is a shell variable unset?)", ctx=ctx, param=param)
    return value

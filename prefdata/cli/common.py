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


class NonEmptyPath(click.Path):
    """``click.Path`` that refuses an empty value: ``--data "$DATA"`` with DATA unset would be read as
    the current folder (``Path("")`` is ``.``)."""

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        if isinstance(value, str) and value == "":
            self.fail("is empty; name a file or folder (is a shell variable unset?)", param, ctx)
        return super().convert(value, param, ctx)

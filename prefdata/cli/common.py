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


class OnceEach(click.Command):
    """A command whose options that hold one value are refused when given twice (``--beta 0.1 --beta
    0.3``, ``--lr 1e-4 --learning-rate 3e-4``, ``--precompute-ref-log-probs --no-precompute-ref-log-probs``): click keeps the last without a
    word, so a script with a duplicated flag trained, built or checked with a value its author may not
    have meant. Repeatable options (``--set``) and plain on-flags (``-q -q`` says nothing twice) are free."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not ctx.resilient_parsing:
            try:  # on a copy: the parser consumes the list it is given
                _, _, order = self.make_parser(ctx).parse_args(args=list(args))
            except click.UsageError:
                order = []  # click's own parse below says what is wrong
            if not any(getattr(param, "is_eager", False) for param in order):  # --help: just the help
                for param in dict.fromkeys(order):
                    times = order.count(param)
                    if times > 1 and _holds_one_value(param):
                        raise click.UsageError(f"{_names(param)} is given {'twice' if times == 2 else f'{times} times'}; give it once "
                                               "(the last would win without a word)", ctx)
        return super().parse_args(ctx, args)


def _names(param: click.Option) -> str:
    """Every spelling of the option (``'--lr' / '--learning-rate'``; a switch's off form too: the user may have
    typed ``--x --no-x``, which click's own hint would name as ``'--x'`` alone)."""
    return " / ".join(f"'{name}'" for name in (*param.opts, *param.secondary_opts))


def _holds_one_value(param: click.Parameter) -> bool:
    """A value-taking option (``--beta X``) or an on/off switch (``--precompute-ref-log-probs/--no-...``), not a
    repeatable one (``multiple``, ``count``) or a plain flag."""
    if not isinstance(param, click.Option) or param.multiple or param.count:
        return False
    return not param.is_flag or bool(param.secondary_opts)


class NonEmptyPath(click.Path):
    """``click.Path`` that refuses an empty value: ``--data "$DATA"`` with DATA unset would be read as
    the current folder (``Path("")`` is ``.``)."""

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        if isinstance(value, str) and value == "":
            self.fail("is empty; name a file or folder (is a shell variable unset?)", param, ctx)
        return super().convert(value, param, ctx)

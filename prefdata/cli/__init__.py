"""The ``prefdata`` command: a thin skin over the Python API.

Each subcommand lives in its own module (``prefdata/cli/<name>.py``) exposing a click command named
``command``; it parses options, calls one API function, prints, and picks the exit code. Subcommand
modules are imported only when their command runs, so ``prefdata build --help`` never loads torch.

Exit codes: 0 success, 1 the job ran and found a failure (e.g. ``check`` errors), 2 usage or input
errors (bad option, unreadable RAW, invalid config), 3 an internal error (a bug in prefdata: the
traceback is printed). A crash must never read as "the data failed its checks" to a CI job.
"""

from __future__ import annotations

import errno
import importlib
import os
import signal
import sys
import threading
import traceback
from typing import Any, NoReturn

import click

from prefdata import __version__

#: Subcommand name -> one-line help shown by ``prefdata --help`` without importing the module.
COMMANDS: dict[str, str] = {
    "build": "Turn raw feedback logs into a validated preference dataset.",
    "inspect": "Show the detected shape of raw data and a config that would build it.",
    "check": "Check a dataset (expectation suite + preference checks); exit 1 when an error-severity check fails.",
    "train": "Train on a checked dataset: SFT (stage 1), then DPO (stage 2), through TRL.",
    "report": "Write an HTML and Markdown quality report (plots, checks, sample pairs) of a dataset.",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(f"prefdata.cli.{name}")
        return module.command

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        """click's, with "Did you mean 'build'?" for ``prefdata bild``: click draws its suggestions from
        ``self.commands``, which stays empty here, so a mistyped command got none."""
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            no_such = getattr(click.exceptions, "NoSuchCommand", None)  # click 8.4+; 8.1 suggests no command at all
            if no_such is None or not isinstance(exc, no_such):
                raise
            raise no_such(exc.command_name, possibilities=list(COMMANDS), ctx=ctx) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl(list(COMMANDS.items()))


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="prefdata")
def cli() -> None:
    """prefdata: raw LLM feedback logs -> validated preference datasets -> SFT and DPO models."""


#: Exit code of an unexpected exception, distinct from 1 ("the job found a failure").
INTERNAL_ERROR = 3


#: Exit code of a run the user interrupted (Ctrl-C): 128 + SIGINT, as shells report it, not 1.
INTERRUPTED = 130


class _OutlivesItsReader:
    """stdout or stderr whose reader may leave (``prefdata inspect RAW | head``): what is written after
    that goes to /dev/null, so the command finishes and exits with its own code. click turned the
    broken pipe into exit 1 (a failed check's code) at whichever line met it, mid-build included."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_devnull()

    def _to_devnull(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())  # the buffer still held is flushed there, at exit too
        os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _stream_or_devnull(stream: Any, fd: int) -> Any:
    """``stream``, or /dev/null where Python found no stream: a closed stdout or stderr (``cmd >&-``, a
    daemon) is None, which every write then crashed on (exit 3, or exit 1 before OUT was written). The
    free descriptor is taken too, so no file the command opens next lands on fd 1 or 2 and gets its output."""
    if stream is not None:
        return stream
    try:
        os.fstat(fd)
    except OSError:  # free: hold it with /dev/null
        devnull = os.open(os.devnull, os.O_WRONLY)
        if devnull != fd:
            os.dup2(devnull, fd)
            os.close(devnull)
    return open(os.devnull, "w", encoding="utf-8")  # lives as long as the process


def main() -> None:
    """The ``prefdata`` command, callable in-process (it ends in ``SystemExit``).

    A Ctrl-C exits 130 with ``interrupted``, also when the ``KeyboardInterrupt`` it raised came back
    as another error: raised inside Python code that polars' Rust called, it surfaced as a TypeError
    and read as a bug (exit 3). The handler that notes it is this call's: set only where Python's own
    is in place (a shell that ignores SIGINT for a background job keeps it ignored, a caller's own
    handler stays), and put back on the way out."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    ours = in_main_thread and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    _Interrupt.seen = False
    if ours:
        signal.signal(signal.SIGINT, _on_interrupt)
    try:
        _main()
    finally:
        if ours:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def console_main() -> None:
    """The console script's and ``python -m prefdata``'s entry: :func:`main`, then SIGINT ignored while
    the interpreter exits. A Ctrl-C arriving as it shuts down (threads joined, files flushed) ended
    the process by the signal, not with the code chosen (a parent reading the status saw "killed by
    SIGINT", not 0 or 130)."""
    try:
        main()
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)


class _Interrupt:
    """Whether the running :func:`main` call has had a Ctrl-C (:func:`_on_interrupt`; reset by each call)."""

    seen = False


def _on_interrupt(signum: int, frame: object) -> None:
    _Interrupt.seen = True
    raise KeyboardInterrupt


def _interrupted() -> NoReturn:
    click.echo("interrupted", err=True)
    sys.exit(INTERRUPTED)


def _exit_if_interrupted() -> None:
    """Whatever error a Ctrl-C left behind, the command was interrupted: say so, exit 130."""
    if _Interrupt.seen:
        _interrupted()


def _main() -> None:
    sys.stdout, sys.stderr = _stream_or_devnull(sys.stdout, 1), _stream_or_devnull(sys.stderr, 2)
    for stream in (sys.stdout, sys.stderr):  # a terminal that cannot show a name prints it escaped, not exit 3
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    sys.stdout, sys.stderr = _OutlivesItsReader(sys.stdout), _OutlivesItsReader(sys.stderr)  # type: ignore[assignment]
    try:
        code = cli.main(standalone_mode=False, color=False if os.environ.get("NO_COLOR") else None)
    except click.exceptions.Abort as exc:  # click's wrapper of Ctrl-C, and of an EOFError (a bug, unless at a prompt)
        if not isinstance(exc.__cause__, KeyboardInterrupt) and exc.__cause__ is not None:
            _internal_error(exc.__cause__)
        _interrupted()
    except KeyboardInterrupt:
        _interrupted()
    except click.ClickException as exc:
        _exit_if_interrupted()
        exc.show()
        sys.exit(exc.exit_code)
    except OSError as exc:
        if exc.errno not in REFUSED:  # an OSError of another kind is as likely prefdata's own bug
            _internal_error(exc)
        _exit_if_interrupted()
        click.echo(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": ") + _os_hint(exc), err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 (the last line of defence: every other error has its own exit code)
        _internal_error(exc)
    except BaseException as exc:  # a panic in polars' Rust code (pyo3's PanicException) is no Exception: a bug too
        if isinstance(exc, (SystemExit, GeneratorExit)):
            raise
        _internal_error(exc)
    sys.exit(code if isinstance(code, int) else 0)


#: What the system refuses about a path or the disk (no permission, a folder where a file goes, a
#: read-only or full disk): the user's to fix, exit 2 with the file named.
REFUSED = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EISDIR, errno.ENOTDIR,
                     errno.ENAMETOOLONG, errno.ELOOP, errno.EEXIST, errno.ENOTEMPTY})


def _internal_error(exc: BaseException) -> NoReturn:
    _exit_if_interrupted()
    traceback.print_exception(exc)
    click.echo(
        f"\ninternal error in prefdata {__version__} (a bug, not a problem with your data): "
        "please report it with the traceback above",
        err=True,
    )
    sys.exit(INTERNAL_ERROR)


def _os_hint(exc: OSError) -> str:
    from prefdata.io.discover import BUILD_TEMP_MARK  # here: the entry point imports no more than it must

    name = os.path.basename(str(exc.filename or ""))
    if isinstance(exc, PermissionError) and (name == "checks.json" or (name.startswith(".checks-") and name.endswith(".json"))):
        return " (a read-only dataset can be checked with `prefdata check --no-write`)"
    if BUILD_TEMP_MARK in str(exc.filename or ""):
        return " (in the folder the build writes the new dataset into beside OUT: it is removed, and the previous OUT is left as it was)"
    return ""

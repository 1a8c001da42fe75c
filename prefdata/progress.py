"""Progress displays for long commands: rich on stderr when it is a terminal, silent otherwise.

A 1 GB build or the tokenizer pass of a million-pair check runs for minutes; on a terminal the user
needs a sign of life and an estimate. Logs and pipes must stay clean, so a display shows only when
stderr is a terminal, never with ``--quiet``, and disappears when its command ends.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any, ClassVar


class Progress(AbstractContextManager):
    """One task at a time: :meth:`phase` starts the next (with a total when it is known)."""

    #: Extra task fields the columns show, with their starting values.
    fields: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, enabled: bool | None = None, *, console: Any = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._console = console
        self._bar: Any = None
        self._task: Any = None

    def columns(self) -> list[Any]:
        from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        return [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]

    def __enter__(self) -> Progress:  # noqa: PYI034 (typing.Self needs Python 3.11)
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(*self.columns(), console=self._console or Console(stderr=True), transient=True)
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
            self._bar = None

    def phase(self, text: str, total: int | None = None) -> None:
        if self._bar is not None:
            if self._task is not None:
                self._bar.remove_task(self._task)
            self._task = self._bar.add_task(text, total=total, **self.fields)

    def advance(self, n: int = 1, **fields: Any) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=n, **fields)


#: A display that never shows (the default of the Python API).
SILENT = Progress(enabled=False)

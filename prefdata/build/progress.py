"""Progress display for long builds: shown on a terminal, silent otherwise or with ``quiet``."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from typing import Any


class Progress(AbstractContextManager):
    """Bytes and records read per file, then the finishing phases."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar: Any = None
        self._task: Any = None
        self._records = 0

    def __enter__(self) -> Progress:  # noqa: PYI034 (typing.Self needs Python 3.11)
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeRemainingColumn, TransferSpeedColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[records]:,} records"),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def file(self, name: str, total_bytes: int | None) -> None:
        if self._bar is not None:
            if self._task is not None:
                self._bar.remove_task(self._task)
            self._records = 0
            self._task = self._bar.add_task(f"reading {name}", total=total_bytes, records=0)

    def advance(self, nbytes: int, records: int) -> None:
        if self._bar is not None and self._task is not None:
            self._records += records
            self._bar.update(self._task, advance=nbytes, records=self._records)

    def phase(self, text: str, total: int | None = None) -> None:
        if self._bar is not None:
            if self._task is not None:
                self._bar.remove_task(self._task)
            self._task = self._bar.add_task(text, total=total, records=0)

"""Progress display for long builds: bytes and records read per file, then the finishing phases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from prefdata.progress import Progress as _Progress


class Progress(_Progress):
    fields: ClassVar[Mapping[str, Any]] = {"records": 0}

    def __init__(self, enabled: bool | None = None, *, console: Any = None) -> None:
        super().__init__(enabled, console=console)
        self._records = 0

    def columns(self) -> list[Any]:
        from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeRemainingColumn, TransferSpeedColumn

        return [
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[records]:,} records"),
        ]

    def file(self, name: str, total_bytes: int | None) -> None:
        self._records = 0
        self.phase(f"reading {name}", total=total_bytes)

    def advance(self, n: int = 1, records: int = 0) -> None:
        """``n`` more bytes read, holding ``records`` more records."""
        self._records += records
        super().advance(n, records=self._records)

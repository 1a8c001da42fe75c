"""`prefdata check` shows its phases on a terminal (the tokenizer and MinHash passes with a count of
pairs), and stays silent in logs, pipes, with --quiet and from the Python API by default."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from prefdata.check import check
from prefdata.cli import cli
from prefdata.progress import Progress
from tests.check.conftest import MAX_LENGTH
from tests.support.terminal import run_on_a_terminal

api = importlib.import_module("prefdata.check.api")


class Recording(Progress):
    """Records phases and advances instead of drawing them."""

    def __init__(self, enabled: bool | None = None, **kwargs) -> None:
        super().__init__(False)
        self.asked_enabled = enabled
        self.events: list[tuple[str, int | None]] = []
        Recording.last = self

    def phase(self, text: str, total: int | None = None) -> None:
        self.events.append((text, total))

    def advance(self, n: int = 1, **fields) -> None:
        self.events.append(("+", n))


def _advanced_in(events: list[tuple[str, int | None]], phase_start: str) -> tuple[int | None, int]:
    """(total, sum of advances) of the first phase whose text starts with ``phase_start``."""
    at = next(i for i, (text, _) in enumerate(events) if text.startswith(phase_start))
    done = 0
    for text, n in events[at + 1 :]:
        if text != "+":
            break
        done += n
    return events[at][1], done


def test_the_long_passes_count_every_pair(clean_dataset: Path, tokenizer_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "Progress", Recording)
    result = check(clean_dataset, tokenizer=tokenizer_dir, max_length=MAX_LENGTH, write=False, quiet=False)
    events = Recording.last.events
    assert Recording.last.asked_enabled is None  # quiet=False: shown when stderr is a terminal
    assert events[0][0].startswith(f"reading {result.rows:,} pairs")
    assert _advanced_in(events, "checks: tokenizing") == (result.rows, result.rows)
    assert _advanced_in(events, "checks: near duplicates") == (result.rows, result.rows)


def test_the_python_api_is_quiet_by_default(clean_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "Progress", Recording)
    check(clean_dataset, write=False)
    assert Recording.last.asked_enabled is False


def test_progress_shows_on_a_terminal(clean_dataset: Path, tokenizer_dir: Path) -> None:
    args = ["check", str(clean_dataset), "--no-write", "--tokenizer", str(tokenizer_dir), "--max-length", str(MAX_LENGTH)]
    shown = run_on_a_terminal(args)
    # a fast phase may end between two refreshes, so any phase will do
    assert "checks: " in shown or "pairs once for the suite" in shown, shown


def test_quiet_on_a_terminal_shows_nothing(clean_dataset: Path) -> None:
    assert run_on_a_terminal(["check", str(clean_dataset), "--no-write", "--quiet"]).strip() == ""


def test_no_progress_when_not_a_terminal(clean_dataset: Path) -> None:
    res = CliRunner().invoke(cli, ["check", str(clean_dataset), "--no-write"])
    assert res.exit_code == 0, res.output
    assert "checks: " not in res.stderr and "\x1b[" not in res.stderr

"""The progress display shows on a terminal and stays silent otherwise (or with --quiet)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from prefdata.cli import cli
from tests.conftest import FIXTURES
from tests.support.terminal import run_on_a_terminal


def test_progress_shows_on_a_terminal(tmp_path: Path) -> None:
    shown = run_on_a_terminal(["build", str(FIXTURES / "raw" / "transcript" / "hh.jsonl"), str(tmp_path / "out")])
    # a small build may finish between two refreshes, so any phase of the display will do
    assert any(text in shown for text in ("reading hh.jsonl", "deduplicating and splitting", "writing rejects and manifest")), shown


def test_quiet_on_a_terminal_shows_nothing(tmp_path: Path) -> None:
    shown = run_on_a_terminal(["build", str(FIXTURES / "raw" / "transcript" / "hh.jsonl"), str(tmp_path / "out"), "--quiet"])
    assert shown.strip() == ""


def test_no_progress_when_not_a_terminal(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["build", str(FIXTURES / "raw" / "transcript" / "hh.jsonl"), str(tmp_path / "out")])
    assert res.exit_code == 0
    assert "reading hh.jsonl" not in res.stderr and "\x1b[" not in res.stderr


def _shown(progress) -> list[tuple[str, dict]]:
    """The tasks the rich display holds now: (description, fields)."""
    return [(t.description, dict(t.fields)) for t in progress._bar.tasks]


def test_one_phase_at_a_time_and_records_counted_per_file() -> None:
    """prefdata.progress: "One task at a time: phase starts the next" (a new phase replaces the last,
    so finished ones do not pile up); build's display counts "bytes and records read per file", so the
    count starts again at each file."""
    import io

    from rich.console import Console

    from prefdata.build.progress import Progress as BuildProgress
    from prefdata.progress import Progress

    console = Console(file=io.StringIO(), force_terminal=True)
    with Progress(enabled=True, console=console) as progress:
        progress.phase("one", total=3)
        progress.phase("two")
        progress.phase("three", total=5)
        assert _shown(progress) == [("three", {})]
    with BuildProgress(enabled=True, console=console) as progress:
        progress.file("a.jsonl", 100)
        progress.advance(50, records=7)
        progress.advance(10, records=3)
        assert _shown(progress) == [("reading a.jsonl", {"records": 10})]
        progress.file("b.jsonl", 100)
        progress.advance(10, records=2)
        assert _shown(progress) == [("reading b.jsonl", {"records": 2})]

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

"""``prefdata report OUT``: a thin skin over :func:`prefdata.report.report`; exit 2 on input errors."""

from __future__ import annotations

import re

from click.testing import CliRunner

from prefdata.cli import cli
from tests.report.report_datasets import simple_rows, write_dataset


def test_report_command_writes_and_prints_paths(rich_dataset):
    out, _ = rich_dataset
    result = CliRunner().invoke(cli, ["report", str(out), "--sample", "3", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert re.search(r"^151 pairs, checks failed \(\d+\.\d s\)$", result.stdout, flags=re.MULTILINE)
    for name in ("report.html", "report.md", "README.md"):
        assert f"wrote {out.resolve() / name}" in result.stdout
    assert len(re.findall(r'<article class="pair"', (out / "report.html").read_text())) >= 3


def test_report_command_notes_go_to_stderr(tmp_path):
    out = write_dataset(tmp_path / "out", {"train": simple_rows(3)}, manifest=False)
    result = CliRunner().invoke(cli, ["report", str(out), "--no-card"])
    assert result.exit_code == 0
    assert "checks not run" in result.stdout
    assert "note: No manifest.json" in result.stderr
    assert "README.md" not in result.stdout


def test_report_command_exit_code_2_on_bad_input(tmp_path):
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "error:" in result.stderr and "no such directory" in result.stderr
    out = write_dataset(tmp_path / "out", {"train": simple_rows(3)})
    (out / "checks.json").write_text("{")
    result = CliRunner().invoke(cli, ["report", str(out)])
    assert result.exit_code == 2 and "checks.json" in result.stderr and "Traceback" not in result.output
    result = CliRunner().invoke(cli, ["report", str(out), "--sample", "-1"])
    assert result.exit_code == 2


def test_report_is_listed_in_help():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0 and re.search(r"^\s+report\s+\S", result.output, flags=re.MULTILINE)

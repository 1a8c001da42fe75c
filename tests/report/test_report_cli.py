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


def test_report_command_warnings_go_to_stderr(tmp_path):
    """README: for a card header that does not parse (`pretty_name: Chats: 2024`) `report` prints a
    `warning:`; like the notes it goes to stderr, leaving stdout to the verdict line and the paths."""
    out = write_dataset(tmp_path / "out", {"train": simple_rows(3)})
    assert CliRunner().invoke(cli, ["report", str(out)]).exit_code == 0
    card = out / "README.md"
    text = card.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    card.write_text("---\npretty_name: Chats: 2024\n" + text[4:], encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", str(out)])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "warning:" not in result.stdout


def test_report_command_examples_sets_the_offending_pairs_shown_apart_from_sample(tmp_path):
    """README: `--examples N` offending pairs per failed check (the first N distinct ids), `--sample N` pairs
    shown: with --examples 2 --sample 5 a check naming 4 ids shows the first 2 of them."""
    rows = simple_rows(8)
    check = {"id": "x_chk", "severity": "warn", "passed": False, "statistic": {}, "offending_ids": [r["id"] for r in rows[:4]],
             "offending_count": 4, "message": "4 pairs"}
    checks = {"prefdata_version": "0.1.0", "dataset": "OUT", "engine": "polars", "suite": "canonical", "strict": False,
              "passed": True, "expectations": [], "checks": [check]}
    out = write_dataset(tmp_path / "out", {"train": rows}, checks=checks)
    result = CliRunner().invoke(cli, ["report", str(out), "--examples", "2", "--sample", "5", "--no-card"])
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Show the first 2 offending pairs (of 4)" in page

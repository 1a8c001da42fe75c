"""Acceptance 2 (second half): ``prefdata check`` through the CLI — exit codes 0/1/2 and checks.json."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from prefdata.cli import cli
from tests.check import seeded
from tests.check.conftest import CONFIG


def run(*args: str):
    return CliRunner().invoke(cli, ["check", *map(str, args)], catch_exceptions=False)


def test_clean_dataset_exits_0_and_writes_checks_json(tmp_path):
    out = seeded.materialize(tmp_path / "clean", keys=seeded.clean_keys())
    result = run(out, "--config", CONFIG)
    assert result.exit_code == 0, result.output
    assert "passed" in result.output
    doc = json.loads((out / "checks.json").read_text())
    assert doc["passed"] is True and doc["engine"] == "polars" and doc["suite"] == "canonical"
    assert {c["id"] for c in doc["checks"]} >= {"identical_responses", "length_bias", "pii"}
    for c in doc["checks"]:
        assert set(c) >= {"id", "severity", "passed", "statistic", "threshold", "offending_ids", "offending_count", "message"}


def test_error_findings_exit_1(fresh_seeded):
    result = run(fresh_seeded, "--config", CONFIG)
    assert result.exit_code == 1, result.output
    doc = json.loads((fresh_seeded / "checks.json").read_text())
    assert doc["passed"] is False and doc["summary"]["error"] > 0
    failed = {c["id"] for c in doc["checks"] if not c["passed"]}
    assert {"identical_responses", "exact_duplicates", "contradictory_pairs"} <= failed


def test_warnings_fail_only_with_strict(tmp_path):
    # clean rows plus one near-identical pair: a warning, no error
    out = seeded.materialize(tmp_path / "warn", keys=seeded.clean_keys() | {"near-identical"})
    assert run(out, "--config", CONFIG, "--no-write").exit_code == 0
    strict = run(out, "--config", CONFIG, "--no-write", "--strict")
    assert strict.exit_code == 1, strict.output
    assert not (out / "checks.json").exists()


def test_json_output_is_the_checks_document(tmp_path):
    out = seeded.materialize(tmp_path / "clean", keys=seeded.clean_keys())
    result = run(out, "--config", CONFIG, "--json", "--no-write")
    doc = json.loads(result.output)
    assert doc["summary"]["failed"] == 0 and len(doc["expectations"]) == 20


@pytest.mark.parametrize(
    "args, message",
    [
        (["{missing}"], "no such dataset directory"),
        (["{data}", "--tokenizer", "{data}"], "--tokenizer and --max-length go together"),
        (["{data}", "--suite", "{bad_suite}"], "does not support this expectation type"),
        (["{data}", "--config", "{bad_config}"], "checks.length_bias.max_share_chosen_longer"),
        (["{data}", "--data-docs", "{tmp}/docs"], "use --engine gx"),
        (["{data}", "--engine", "spark"], "Invalid value for '--engine'"),
        (["{data}", "--max-length", "0", "--tokenizer", "{data}"], "Invalid value for '--max-length'"),
        (["{data}", "--benchmark-prompts", "{tmp}/nope.txt"], "benchmark prompts file not found"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args, message):
    data = seeded.materialize(tmp_path / "d", keys=seeded.clean_keys())
    bad_suite = tmp_path / "suite.json"
    bad_suite.write_text(json.dumps({"name": "x", "expectations": [{"type": "expect_column_kl_divergence_to_be_less_than", "kwargs": {"column": "id"}}]}))
    bad_config = tmp_path / "config.yaml"
    bad_config.write_text("checks:\n  length_bias:\n    max_share_chosen_longer: lots\n")
    (tmp_path / "nope.txt").unlink(missing_ok=True)
    names = {"missing": tmp_path / "missing", "data": data, "bad_suite": bad_suite, "bad_config": bad_config, "tmp": tmp_path}
    result = run(*[a.format(**names) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_tables_in_a_log_keep_each_finding_on_one_line(tmp_path, monkeypatch):
    """Not a terminal (CI log, pipe) and no COLUMNS: the table is wide enough that a finding is not
    folded over several lines, as rich's 80-column default did."""
    monkeypatch.delenv("COLUMNS", raising=False)
    out = seeded.materialize(tmp_path / "clean", keys=seeded.clean_keys())
    result = run(out, "--config", CONFIG)
    lines = result.output.splitlines()
    finding = "skipped: needs --tokenizer and --max-length"
    assert any(finding in line and "truncation_dropped" in line for line in lines), result.output
    assert max(len(line) for line in lines) <= 160


@pytest.mark.parametrize(("columns", "widest"), [("0", 160), ("5", 80), ("-5", 160), ("abc", 160), ("100", 100)])
def test_any_columns_value_prints_the_tables_and_the_verdict(tmp_path, monkeypatch, columns: str, widest: int):
    """COLUMNS=0 printed nothing at all (rich takes it as given), COLUMNS=5 only the time: a width that
    is no whole number above 0 is ignored, and a narrow one widened to 80 columns."""
    monkeypatch.setenv("COLUMNS", columns)
    out = seeded.materialize(tmp_path / "clean", keys=seeded.clean_keys())
    result = run(out, "--config", CONFIG, "--no-write")
    lines = result.output.splitlines()
    assert any(line.startswith("passed: 0 error") for line in lines) and any("identical_responses" in line for line in lines), result.output
    assert max(len(line) for line in lines) <= widest


def _table_rows(stdout: str, first_cells: set[str]) -> dict[str, list[str]]:
    """First table line of each named row, split into its cells at rich's box characters."""
    rows: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.replace("┃", "│").split("│")]
        cells = [c for c in cells if c]
        if cells and cells[0] in first_cells and cells[0] not in rows:
            rows[cells[0]] = cells
    return rows


def test_the_tables_and_verdict_say_what_checks_json_says(tmp_path, monkeypatch):
    """README's check output: the title "suite S: P/N expectations pass" counts the passing expectations;
    the result column says FAIL for a failed check, skip for a skipped one ("marked as skipped, not as
    passed") and pass otherwise; the failed-expectations table gives each one's unexpected count; the last
    line counts failed checks and expectations per severity ("E error, W warn, I info failing"). Oracle:
    checks.json written by the same run."""
    monkeypatch.setenv("COLUMNS", "250")
    out = seeded.materialize(tmp_path / "d", keys=seeded.clean_keys() | {"near-identical", "dup", "identical"})
    result = run(out, "--config", CONFIG)
    doc = json.loads((out / "checks.json").read_text())
    lines = result.output.splitlines()
    exps = doc["expectations"]
    failed_exps = [e for e in exps if not e["success"]]
    assert failed_exps and len(failed_exps) < len(exps)
    assert lines[0].strip() == f"suite canonical: {len(exps) - len(failed_exps)}/{len(exps)} expectations pass"

    want = {c["id"]: "skip" if c.get("skipped") else "pass" if c["passed"] else "FAIL" for c in doc["checks"]}
    assert set(want.values()) == {"skip", "pass", "FAIL"}
    rows = _table_rows(result.output, set(want))
    assert {i: r[2] for i, r in rows.items()} == want

    counted = [e for e in failed_exps if "unexpected_count" in e["result"]]
    assert counted
    exp_rows = _table_rows(result.output, {e["expectation_type"] for e in counted})
    assert {t: r[-1] for t, r in exp_rows.items()} == {e["expectation_type"]: str(e["result"]["unexpected_count"]) for e in counted}

    n = {s: sum(1 for c in doc["checks"] if not c["passed"] and not c.get("skipped") and c["severity"] == s)
         + sum(1 for e in failed_exps if (e.get("severity") or "error") == s) for s in ("error", "warn", "info")}
    assert n["warn"] != n["info"]
    assert any(line.startswith(f"failed: {n['error']} error, {n['warn']} warn, {n['info']} info failing; ") for line in lines), lines[-3:]


def test_strict_says_on_the_verdict_line_that_warnings_fail(tmp_path):
    """Under --strict a failed warning alone fails the run (README: exit 1 with `--strict`: warnings too),
    and the verdict line says so: "(strict: warnings fail)"; without --strict it does not."""
    out = seeded.materialize(tmp_path / "warn", keys=seeded.clean_keys() | {"near-identical"})
    plain = run(out, "--config", CONFIG, "--no-write")
    strict = run(out, "--config", CONFIG, "--no-write", "--strict")
    assert (plain.exit_code, strict.exit_code) == (0, 1)
    assert "(strict" not in plain.output
    verdict = [line for line in strict.output.splitlines() if line.startswith("failed:")]
    assert verdict and verdict[-1].startswith("failed: 0 error, 1 warn, 0 info failing (strict: warnings fail); "), verdict

"""``prefdata inspect``: fields, examples, the detected shape and a config that builds the file."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

import prefdata
from prefdata.cli import cli
from tests.conftest import FIXTURES
from tests.support.dataset import pairs


def test_inspect_api_proposes_a_config_that_builds(tmp_path: Path) -> None:
    result = prefdata.inspect(FIXTURES / "raw" / "pairwise" / "arena.jsonl")
    (report,) = result.files
    assert report.shape == "pairwise" and report.sampled == 4
    fields = {f.name: f for f in report.fields}
    assert fields["winner"].types == {"string": 4} and fields["prompt"].mean_chars and fields["prompt"].mean_chars > 10
    cfg = yaml.safe_load(report.config_yaml)
    prefdata.build(FIXTURES / "raw" / "pairwise" / "arena.jsonl", tmp_path / "out", config=cfg)
    assert pairs(tmp_path / "out").height == 2


def test_inspect_cli_on_a_folder(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["inspect", str(FIXTURES / "raw" / "pairwise"), "--examples", "1"])
    assert res.exit_code == 0, res.output
    assert "== arena.jsonl (jsonl" in res.stdout and "detected pairwise" in res.stdout
    assert "== winner_01.jsonl" in res.stdout and "not detected: file winner_01.jsonl: looks pairwise" in res.stdout
    assert "config to complete:" in res.stdout and "winner_values: {a: [<value meaning A wins>]" in res.stdout
    assert "example 1:" in res.stdout
    assert "response1" in res.stdout and "number 6" in res.stdout  # annotators.jsonl field stats

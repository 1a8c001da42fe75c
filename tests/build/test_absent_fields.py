"""A config field path that no sampled record holds is named in a warning before the build reads on:
a misspelt optional field (``system``, scores, a template's second field, a filter's field) would
otherwise read as absent in every record, silently."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

import prefdata
from prefdata.cli import cli
from tests.support.dataset import pairs


def _raw(root: Path, files: int = 2) -> Path:
    root.mkdir(parents=True)
    for i in range(files):
        rows = [{"p": f"q{i}-{j}", "system_prompt": "Be brief.", "c": "yes", "r": "no", "sc": 9, "sr": 2, "lang": "en"} for j in range(3)]
        (root / f"f{i}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_misspelt_optional_fields_are_named_with_their_source_and_key(tmp_path: Path) -> None:
    raw = _raw(tmp_path / "raw")
    config = tmp_path / "build.yaml"
    config.write_text(
        "sources:\n"
        "  - name: logs\n"
        "    shape: preference\n"
        "    columns: {prompt_template: '{p}\\n\\n{contxt}', chosen: c, rejected: r, system: sytem_prompt, score_chosen: sc, score_rejected: score_r}\n"
        "    filters: [\"langauge == 'en'\"]\n"
    )
    res = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out"), "--config", str(config)])
    assert res.exit_code == 0, res.output
    warned = [line for line in res.stderr.splitlines() if line.startswith("warning:") and line.endswith("is it misspelt?")]
    where = f"warning: {config}: sources[0] (name: logs)"
    assert warned == [
        f"{where}.columns.prompt_template: field 'contxt' is in none of the 6 sampled records of 2 files; is it misspelt?",
        f"{where}.columns.system: field 'sytem_prompt' is in none of the 6 sampled records of 2 files; is it misspelt?",
        f"{where}.columns.score_rejected: field 'score_r' is in none of the 6 sampled records of 2 files; is it misspelt?",
        f"{where}.filters: field 'langauge' is in none of the 6 sampled records of 2 files; is it misspelt?",
    ]


def test_a_misspelt_models_from_field_is_named_under_its_own_key(tmp_path: Path) -> None:
    """Each warning names "the source, the key that gives it" (AbsentFields.warnings): a pairwise
    source's ``models_from.field``, not ``columns``, which holds no such name."""
    raw = tmp_path / "raw"
    raw.mkdir()
    rows = [{"q": f"q{i}", "a": "yes", "b": "no", "w": "a", "cmp_key": "m1_m2"} for i in range(3)]
    (raw / "f.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = {"sources": [{"name": "pw", "shape": "pairwise", "columns": {"prompt": "q", "response_a": "a", "response_b": "b", "winner": "w"},
                           "models_from": {"field": "cmp_kye", "separator": "_"}}]}
    result = prefdata.build(raw, tmp_path / "out", config=config)
    assert result.warnings == [
        "config: sources[0] (name: pw).models_from.field: field 'cmp_kye' is in none of the 3 sampled records of 1 file; is it misspelt?"
    ]


def test_fields_present_in_some_file_and_detected_sources_give_no_warning(tmp_path: Path) -> None:
    raw = _raw(tmp_path / "raw")
    # the system field appears in the second file only: present in the data, so no warning
    (raw / "f0.jsonl").write_text("".join(json.dumps({"p": f"q{j}", "c": "yes", "r": "no"}) + "\n" for j in range(3)))
    config = {"sources": [{"shape": "preference", "columns": {"prompt": "p", "chosen": "c", "rejected": "r", "system": "system_prompt"}}]}
    result = prefdata.build(raw, tmp_path / "out", config=config)
    assert result.warnings == []
    assert pairs(tmp_path / "out").height == 6
    detectable = tmp_path / "detectable.jsonl"
    detectable.write_text(json.dumps({"prompt": "q", "chosen": "yes", "rejected": "no"}) + "\n")
    result = prefdata.build(detectable, tmp_path / "out2")  # detected, not configured: nothing to misspell
    assert result.warnings == []


def test_a_config_built_in_code_names_the_source(tmp_path: Path) -> None:
    raw = _raw(tmp_path / "raw", files=1)
    config = {"sources": [{"name": "mine", "shape": "preference", "columns": {"prompt": "p", "chosen": "c", "rejected": "r", "score_chosen": "scc"}}]}
    result = prefdata.build(raw, tmp_path / "out", config=config)
    assert result.warnings == ["config: sources[0] (name: mine).columns.score_chosen: field 'scc' is in none of the 3 sampled records of 1 file; is it misspelt?"]

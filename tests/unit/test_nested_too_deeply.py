"""Lists or mappings nested thousands of levels deep in a file prefdata parses exhausted Python's
recursion (RecursionError, exit 3, "a bug in prefdata"). Each site now gives the error it gives for
any file of its kind that does not parse, naming the file and saying "nested too deeply"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from prefdata.config_files import (
    MAX_NESTING,
    load_card_yaml,
    load_data_yaml,
    load_json,
    load_yaml,
    parse_json,
    too_deep,
)

DEEP = "[" * 5000 + "]" * 5000


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize("load", [load_yaml, load_data_yaml, load_card_yaml])
def test_yaml_loaders_refuse_deep_nesting_with_a_yaml_error_naming_the_place(load) -> None:
    assert load(f"x: {nested(MAX_NESTING - 1)}\n") is not None
    for text in (f"x: {DEEP}\n", f"x: {nested(MAX_NESTING)}\n"):
        with pytest.raises(yaml.YAMLError, match="nested too deeply"):
            load(text, "cfg.yaml")
    with pytest.raises(yaml.YAMLError, match=r'nested too deeply(.|\n)*in "cfg.yaml", line 2'):
        load(f"a: 1\nx: {DEEP}\n", "cfg.yaml")


@pytest.mark.parametrize("load", [load_yaml, load_data_yaml])
def test_a_value_exactly_max_nesting_levels_deep_loads_as_json_loads_it(load) -> None:
    """"More than MAX_NESTING levels" are refused, so a scalar inside exactly 100 lists loads, the
    same value parse_json gives; one more level is refused by both."""
    text = "[" * MAX_NESTING + "1" + "]" * MAX_NESTING
    assert load(text) == parse_json(text)
    with pytest.raises(yaml.YAMLError, match="nested too deeply"):
        load("[" + text + "]")


@pytest.mark.parametrize("load", [load_json, parse_json])
def test_json_loaders_refuse_deep_nesting_with_a_json_decode_error(load) -> None:
    assert load(nested(MAX_NESTING)) is not None
    for text in (DEEP, nested(MAX_NESTING + 1), nested(990)):  # 990: json reads it, code walking it would not
        with pytest.raises(json.JSONDecodeError, match="nested too deeply") as caught:
            load(text)
        assert "nested too deeply" in caught.value.msg


def test_the_depth_walk_is_bounded_for_aliases_and_loops() -> None:
    """Aliases repeating one list (a YAML "billion laughs") are walked once per level, and a list that
    holds itself is too deep, not an endless loop."""
    bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10))
    assert not too_deep(load_yaml(bomb))
    loop: list = []
    loop.append(loop)
    assert too_deep(loop)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_build_config(tmp_path) -> None:
    from prefdata.config import load_config
    from prefdata.errors import ConfigError

    with pytest.raises(ConfigError, match=r"b.yaml is not valid YAML: nested too deeply"):
        load_config(_write(tmp_path, "b.yaml", f"sources: {DEEP}\n"))


@pytest.mark.parametrize(("name", "text"), [("c.json", f'{{"checks": {DEEP}}}'), ("c.yaml", f"checks: {DEEP}\n")])
def test_check_config(tmp_path, name: str, text: str) -> None:
    from prefdata.check.config import load_config
    from prefdata.check.errors import ConfigError

    with pytest.raises(ConfigError, match=rf"{name}: not valid (JSON|YAML): nested too deeply"):
        load_config(_write(tmp_path, name, text))


def test_check_suite(tmp_path) -> None:
    from prefdata.check.errors import SuiteError
    from prefdata.check.suite import load_suite

    with pytest.raises(SuiteError, match=r"s.json: not valid JSON: nested too deeply"):
        load_suite(_write(tmp_path, "s.json", f'{{"name": "s", "expectations": {DEEP}}}'))


@pytest.mark.parametrize("name", ["bp.json", "bp.jsonl"])
def test_benchmark_prompts(tmp_path, name: str) -> None:
    from prefdata.check.checks.contamination import load_benchmark_prompts
    from prefdata.check.errors import InputFileError

    with pytest.raises(InputFileError, match=rf"{name}: cannot read benchmark prompts: .*nested too deeply"):
        load_benchmark_prompts(_write(tmp_path, name, f'"a prompt"\n{DEEP}\n' if name.endswith("l") else DEEP))


def test_recipe_and_set_values(tmp_path) -> None:
    import click

    from prefdata.cli.train import _parse_sets
    from prefdata.train.errors import RecipeError
    from prefdata.train.recipe import _read_yaml

    with pytest.raises(RecipeError, match=r"r.yaml: not valid YAML: nested too deeply"):
        _read_yaml(_write(tmp_path, "r.yaml", f"stage: dpo\ntrl: {{beta: 0.1, loss_type: {DEEP}}}\n"))
    with pytest.raises(click.BadParameter, match=r"the value is not valid YAML \(nested too deeply"):
        _parse_sets((f"trl.loss_type={DEEP}",))


def test_dataset_files_manifest_checks_json_and_card(tmp_path) -> None:
    """``manifest.json`` and ``checks.json`` read whole, and the card's header, as check and report read them."""
    from prefdata.build.card import UserEdits
    from prefdata.card_configs import CardError, _header
    from prefdata.manifest_shards import ManifestUnreadable, listed_shards
    from prefdata.report.errors import ChecksFileError
    from prefdata.report.manifest import ManifestProblem, read_json_object, read_manifest

    manifest = _write(tmp_path, "manifest.json", f'{{"outputs": [], "x": {DEEP}}}')
    with pytest.raises(ManifestProblem, match="not valid JSON \\(nested too deeply"):
        read_manifest(manifest)
    with pytest.raises(ManifestUnreadable, match=r"manifest.json: cannot read the list of shards \(.*nested too deeply"):
        listed_shards(manifest)
    with pytest.raises(ChecksFileError, match="checks.json: not valid JSON \\(nested too deeply"):
        read_json_object(_write(tmp_path, "checks.json", DEEP), ChecksFileError, prefix="checks.json: ")
    card = _write(tmp_path, "README.md", f"---\nx: {DEEP}\n---\n")
    with pytest.raises(CardError, match="the dataset card's YAML header does not parse \\(nested too deeply"):
        _header(card)
    edits = UserEdits.read(card)  # a rebuild over this card: the header kept as written, with a warning
    assert edits.header == f"x: {DEEP}" and "nested too deeply" in edits.warning()

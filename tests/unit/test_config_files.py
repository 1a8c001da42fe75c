"""A key written twice in a build config, a check config or a recipe is an error naming the file, the
key and its line: plain ``yaml.safe_load`` and ``json.loads`` kept the last value without a word."""

from __future__ import annotations

import codecs
import math

import pytest
import yaml

from prefdata.config_files import DuplicateKeyError, load_json, load_yaml


def test_a_repeated_key_is_an_error_at_any_depth() -> None:
    assert load_yaml("a: 1\nb: {c: 2}\n") == {"a": 1, "b": {"c": 2}}
    with pytest.raises(yaml.YAMLError, match=r"found the key 'c' twice\n  in \"cfg.yaml\", line 3"):
        load_yaml("b:\n  c: 2\n  c: 3\n", name="cfg.yaml")
    assert load_json('{"a": {"b": 1}, "c": [{"b": 2}]}') == {"a": {"b": 1}, "c": [{"b": 2}]}
    with pytest.raises(DuplicateKeyError, match=r"found the key 'b' twice in one object$"):
        load_json('{"a": {"b": 1, "b": 2}}')
    # a merge brings keys a mapping may override; a list as a key is the loader's own error, not a crash
    assert load_yaml("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n")["use"] == {"x": 1, "y": 3}
    with pytest.raises(yaml.YAMLError, match="unhashable"):
        load_yaml("? [a]\n: 1\n")


def test_the_build_config_refuses_a_repeated_key(tmp_path) -> None:
    from prefdata.config import load_config
    from prefdata.errors import ConfigError

    path = tmp_path / "build.yaml"
    path.write_text("sources:\n  - shape: preference\n    shape: transcript\n")
    with pytest.raises(ConfigError, match=r"build.yaml is not valid YAML(.|\n)*found the key 'shape' twice"):
        load_config(path)


@pytest.mark.parametrize(("name", "text"), [("check.yaml", "checks:\n  pii: {kinds: [email]}\n  pii: {}\n"),
                                            ("check.json", '{"checks": {"pii": {"kinds": ["email"]}, "pii": {}}}')])
def test_the_check_config_refuses_a_repeated_key(tmp_path, name: str, text: str) -> None:
    from prefdata.check.config import load_config
    from prefdata.check.errors import ConfigError

    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"{name}: not valid (YAML|JSON)(.|\n)*found the key 'pii' twice"):
        load_config(path)


def test_a_recipe_refuses_a_repeated_key(tmp_path) -> None:
    pytest.importorskip("trl")
    from prefdata.train.errors import RecipeError
    from prefdata.train.recipe import load_recipe

    path = tmp_path / "dpo.yaml"
    path.write_text("stage: dpo\nbeta: 0.1\nbeta: 0.5\n")
    with pytest.raises(RecipeError, match=r"dpo.yaml: not valid YAML(.|\n)*found the key 'beta' twice"):
        load_recipe("dpo", path)


def test_a_build_config_reads_yes_and_no_as_the_data_values_they_name(tmp_path) -> None:
    """YAML 1.1 read ``labels: {up: [yes], down: [no]}`` and ``ok in [yes, no]`` as booleans, so no
    record labelled with the string "yes" matched: every record was filtered out. A setting that is a
    boolean takes only ``true``/``false``, as the check config's do: ``dedup: yes`` is refused, naming
    the field (pydantic read the text as true, and ``seed: true`` as 1)."""
    from click.testing import CliRunner

    import prefdata
    from prefdata.cli import cli

    raw = tmp_path / "f.jsonl"
    raw.write_text('{"prompt": "p1", "response": "good", "ok": "yes"}\n{"prompt": "p1", "response": "bad", "ok": "no"}\n')
    config = tmp_path / "c.yaml"
    config.write_text("sources:\n  - shape: feedback\n    columns: {prompt: prompt, response: response, label: ok}\n"
                      "    labels: {up: [yes], down: [no]}\n    filters: ['ok in [yes, no]', 'ok != off']\n"
                      "dedup: true\noutput: {kto_export: false}\n")
    result = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out"), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "2 records read -> 1 pair (train 1, test 0), 0 rejected" in result.output
    built = prefdata.build(raw, tmp_path / "again", config=config)
    assert built.config.dedup is True and built.config.output.kto_export is False
    config.write_text(config.read_text().replace("dedup: true", "dedup: yes").replace("kto_export: false", "kto_export: no"))
    result = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "refused"), "--config", str(config)])
    assert result.exit_code == 2
    assert "  dedup: Input should be a valid boolean, got the text 'yes' (YAML 1.2: only true and false are booleans)" in result.stderr
    assert "  output.kto_export: Input should be a valid boolean, got the text 'no'" in result.stderr


def test_build_config_scalars_are_yaml_12_and_boolean_words_still_match_booleans(tmp_path) -> None:
    """``010`` was 8 and ``1:30`` was 90 (YAML 1.1); and after yes/no became strings, a config written
    for JSON true/false fields (``labels: {up: [yes]}``, ``deleted == no``) matched nothing."""
    from prefdata.config_files import load_data_yaml

    assert load_data_yaml("[010, 1:30, 1e-3, 0o17, 2024-01-15, yes]") == [10, "1:30", 0.001, 15, "2024-01-15", "yes"]
    raw = tmp_path / "b.jsonl"
    raw.write_text('{"prompt": "p", "response": "good", "ok": true, "deleted": false}\n'
                   '{"prompt": "p", "response": "bad", "ok": false, "deleted": false}\n'
                   '{"prompt": "p", "response": "gone", "ok": false, "deleted": true}\n')
    config = tmp_path / "c.yaml"
    config.write_text("sources:\n  - shape: feedback\n    columns: {prompt: prompt, response: response, label: ok}\n"
                      "    labels: {up: [yes], down: [no]}\n    filters: ['deleted == no']\n")
    import prefdata

    result = prefdata.build(raw, tmp_path / "out", config=config)
    assert result.counts["pairs_written"] == 1 and result.counts["rejected_by_reason"] == {"filtered_out": 1}



def test_a_printed_config_keeps_every_string_that_yaml_12_reads_as_something_else() -> None:
    """Label values and value-map keys go through the same dumper as source names."""
    from prefdata.config import dump_config
    from prefdata.config_files import load_data_yaml

    values = ["08", "09", "010", "1e6", "1.5e3", "0o17", "0x1F", "+1", "-.5", ".inf", ".nan", "true", "False",
              "null", "~", "", "yes", "1:30", "2024-01-15", "plain text", "-"]
    assert load_data_yaml(dump_config({"values": values}))["values"] == values


def test_the_check_config_takes_numpy_integers_as_the_build_config_and_api_do() -> None:
    """A check config dict built in code may hold ``np.int64``: it reads as the plain int; a numpy
    boolean or a whole float still is no count."""
    np = pytest.importorskip("numpy")
    from prefdata.check.config import load_config
    from prefdata.check.errors import ConfigError

    cfg = load_config({"minhash": {"seed": np.int64(3), "num_perm": np.int32(32), "bands": np.uint8(8)},
                       "checks": {"pii": {"max_count": np.int64(2)}, "length_bias": {"max_share_chosen_longer": np.float32(0.75)}}})
    assert (cfg.minhash.seed, cfg.minhash.num_perm, cfg.minhash.bands, cfg.checks.pii.max_count) == (3, 32, 8, 2)
    assert type(cfg.minhash.seed) is int and cfg.checks.length_bias.max_share_chosen_longer == 0.75
    for wrong in (np.bool_(True), np.float64(2.0), True):
        with pytest.raises(ConfigError, match=r"checks\.pii\.max_count: Input should be a valid integer"):
            load_config({"checks": {"pii": {"max_count": wrong}}})


@pytest.mark.parametrize(
    ("text", "value"),
    [("TRUE", True), ("FALSE", False), ("True", True), ("+5", 5), ("-5", -5), ("0x1F", 31), ("0x10", 16), ("0o17", 15),
     (".Inf", math.inf), ("-.INF", -math.inf), ("+.inf", math.inf), ("1E3", 1000.0)],
)
def test_build_config_scalars_follow_the_yaml_12_core_schema_in_every_spelling(text: str, value: object) -> None:
    """load_data_yaml reads scalars as YAML 1.2 does (core schema, YAML 1.2.2 section 10.3.2): each
    case of true/false, a signed integer, hexadecimal and octal integers, and .inf in its three cases."""
    from prefdata.config_files import load_data_yaml

    got = load_data_yaml(f"a: {text}")["a"]
    assert (got, type(got)) == (value, type(value))


def test_build_config_nan_is_a_float_in_each_spelling_yaml_12_gives() -> None:
    from prefdata.config_files import load_data_yaml

    assert all(math.isnan(load_data_yaml(f"a: {t}")["a"]) for t in (".nan", ".NaN", ".NAN"))


def test_only_text_with_underscores_between_digits_gets_the_yaml_12_hint() -> None:
    """underscored_number: the number to write for text YAML 1.1 read as one with '_' between digits,
    or None; a quoted "5" is no such text, so its error does not say "YAML 1.2 ... write 5"."""
    from prefdata.config import parse_config
    from prefdata.config_files import underscored_number
    from prefdata.errors import ConfigError

    assert (underscored_number("1_000"), underscored_number("5"), underscored_number("1.5e3")) == ("1000", None, None)
    cfg = {"sources": [{"path": "a.jsonl", "shape": "preference", "columns": {"prompt": "p"}}], "split": {"seed": "5"}}
    with pytest.raises(ConfigError, match="got the text '5'") as err:
        parse_config(cfg)
    assert "YAML 1.2" not in str(err.value)


@pytest.mark.parametrize(("bom", "encoding"), [(codecs.BOM_UTF16_BE, "utf-16-be"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF8, "utf-8"), (b"", "utf-8")])
def test_a_config_is_read_in_utf8_or_utf16_of_either_byte_order(tmp_path, bom: bytes, encoding: str) -> None:
    """read_text: UTF-8 (a byte order mark allowed), or UTF-16 with its byte order mark, big-endian as
    well as the little-endian PowerShell writes; the mark itself is no text."""
    from prefdata.config_files import read_text

    text = "sources:\n  - path: données.jsonl\n    shape: preference\n"
    path = tmp_path / "c.yaml"
    path.write_bytes(bom + text.encode(encoding))
    assert read_text(path) == text


def test_a_config_that_is_not_utf8_names_the_byte_where_it_stops(tmp_path) -> None:
    """The error says where the first byte that is not UTF-8 is, so it can be found and fixed."""
    from prefdata.config import load_config
    from prefdata.errors import ConfigError

    path = tmp_path / "c.yaml"
    data = b"sources:\n  - path: caf\xe9.jsonl\n"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    at = len(b"sources:\n  - path: caf")  # 22: the Latin-1 e-acute
    assert str(path) in message and f"at byte {at}" in message and "save it as UTF-8" in message

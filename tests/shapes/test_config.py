"""Config errors name the source and key and list valid values; unknown keys are errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import prefdata
from prefdata.cli import cli
from prefdata.config import BuildConfig, SplitConfig, TurnMarkers, dump_config, load_config, parse_config, value_key, value_map
from prefdata.config_files import load_data_yaml
from prefdata.errors import ConfigError
from tests.conftest import FIXTURES
from tests.support.dataset import pairs, rejects


def _error(cfg: dict) -> str:
    with pytest.raises(ConfigError) as err:
        parse_config(cfg)
    return str(err.value)


def test_unknown_key_names_source_and_lists_valid_keys() -> None:
    msg = _error({"sources": [{"name": "logs", "shape": "preference", "columns": {"prompt": "q", "chosn": "c"}}]})
    assert "sources[0] (name: logs).columns.chosn: unknown key" in msg
    assert "chosen" in msg and "prompt_template" in msg


def test_unknown_shape_lists_shapes() -> None:
    msg = _error({"sources": [{"name": "x", "shape": "pairs"}]})
    assert "'shape' must be one of: preference, transcript, pairwise, rated, ranked, feedback, tree, custom" in msg


def test_bad_enum_value_lists_valid_values() -> None:
    msg = _error({"sources": [{"shape": "rated", "columns": {"prompt": "p"}, "binarize": {"policy": "best"}}]})
    assert "sources[0].binarize.policy" in msg and "'best_vs_worst', 'best_vs_random' or 'all_pairs'" in msg


def test_rules_between_keys() -> None:
    assert "exactly one of columns.winner" in _error({"sources": [{"shape": "pairwise", "columns": {"prompt": "p"}}]})
    msg = _error({"sources": [{"shape": "pairwise", "columns": {"prompt": "p", "winner": "w"}, "winner_values": {"a": [1], "tie": [1]}}]})
    assert "listed under both 'a' and 'tie'" in msg
    assert "a_below must be <= b_above" in _error(
        {"sources": [{"shape": "pairwise", "columns": {"prompt": "p", "winner": "w"}, "winner_threshold": {"a_below": 0.7, "b_above": 0.3}}]}
    )
    assert "needs 'prompt' or 'prompt_template'" in _error({"sources": [{"shape": "preference", "columns": {}}]})
    assert "split.test_fraction" in _error({"sources": [{"shape": "transcript"}], "split": {"test_fraction": 1.5}})
    assert "unknown key" in _error({"sources": [{"shape": "transcript"}], "splits": {}})


PAIRWISE = {"shape": "pairwise", "columns": {"prompt": "q", "response_a": "ra", "response_b": "rb", "winner": "w"}}


def test_a_verdict_value_listed_twice_under_one_label_is_no_error() -> None:
    """config.WinnerValues: only a value under two different labels is an error ("listed under both");
    the same value twice under one label (`a: [a, A]`, `tie: [1, "1.0"]`: one value as matched) is harmless."""
    source = parse_config({"sources": [{**PAIRWISE, "winner_values": {"a": ["a", "A"], "b": ["b"], "tie": [1, "1.0"]}}]}).sources[0]
    assert source.winner_values.a == ["a", "A"] and source.winner_values.tie == [1, "1.0"]  # type: ignore[union-attr]
    assert "value 'A' is listed under both 'a' and 'b'" in _error({"sources": [{**PAIRWISE, "winner_values": {"a": ["a"], "b": ["A"]}}]})


def test_value_key_normalises_a_configured_value_as_value_text_does_a_raw_one() -> None:
    """value_key's docstring: configured values are matched as shapes.fields.value_text reads raw ones:
    trimmed, lower-cased, a whole number as an integer, anything else as written. So 1.5 is not 1
    (a configured 1.5 matched no raw 1.5, and 1 and 1.5 under two labels were refused as one value)."""
    import polars as pl

    from prefdata.shapes.fields import value_text

    written = ["1", "1.0", "1.5", " 2.50 ", "-0.5", "Tie", "1e3", "0.1", "-3.0"]
    expected = ["1", "1", "1.5", "2.50", "-0.5", "tie", "1000", "0.1", "-3"]  # by hand
    assert [value_key(v) for v in written] == expected
    assert pl.DataFrame({"v": written}).select(value_text(pl.col("v"))).to_series().to_list() == expected
    assert (value_key(1.5), value_key(1.0), value_key(-0.5)) == ("1.5", "1", "-0.5")
    parse_config({"sources": [{**PAIRWISE, "winner_values": {"a": [1], "tie": [1.5]}}]})  # two values, no error


def test_a_whole_number_a_float_cannot_hold_exactly_keeps_its_text(tmp_path: Path) -> None:
    """value_text writes a whole number as an integer only while a float holds it exactly (below 2**53);
    past that the raw text is kept, as value_key keeps it: 9007199254740993 and ...992 stay two
    verdicts, and a verdict of 1e300 is an unknown one (it was forced through an Int64 cast: a polars
    error stopped the build)."""
    import json

    import polars as pl

    from prefdata.shapes.fields import value_text

    written = ["9007199254740993", "9007199254740992", "1e300", "-12345678901234567890", "7.0", " 3 ", "-9007199254740991"]
    expected = ["9007199254740993", "9007199254740992", "1e300", "-12345678901234567890", "7", "3", "-9007199254740991"]  # by hand
    assert pl.DataFrame({"v": written}).select(value_text(pl.col("v"))).to_series().to_list() == expected
    assert [value_key(v) for v in written] == expected
    rows = [{"q": f"q{i}", "ra": f"x{i}", "rb": f"y{i}", "w": w}
            for i, w in enumerate([9007199254740993, 9007199254740992, 1e300])]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = {"sources": [{**PAIRWISE, "winner_values": {"a": [9007199254740993], "b": [9007199254740992]}}]}
    prefdata.build(tmp_path / "p.jsonl", tmp_path / "out", config=config)
    assert sorted(pairs(tmp_path / "out")["chosen_position"].to_list()) == ["a", "b"]
    assert rejects(tmp_path / "out").select("record", "reason").rows() == [(3, "unknown_verdict")]


def test_a_value_written_out_wins_over_a_yaml11_word_for_it() -> None:
    """value_map's docstring (README "Values are YAML 1.2"): a YAML 1.1 word (`yes`, `off`) also matches the
    boolean it meant, but a value written out (`true`) wins over that reading, whichever comes first."""
    assert value_map([("yes", "up"), (True, "down")]) == {"yes": "up", "true": "down"}
    assert value_map([(False, "up"), ("off", "down")]) == {"false": "up", "off": "down"}
    assert value_map([("Yes", "up"), ("no", "down")]) == {"yes": "up", "no": "down", "true": "up", "false": "down"}


def test_a_winner_threshold_with_no_tie_band_is_valid(tmp_path: Path) -> None:
    """README pairwise: between `a_below` and `b_above` is a tie band, and the error says "a_below must be
    <= b_above": equal bounds are a band of one value, so 0.2 -> A, 0.5 -> tie, 0.8 -> B."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "p.jsonl").write_text("".join(f'{{"q": "q{i}", "ra": "A{i}", "rb": "B{i}", "w": {w}}}\n' for i, w in enumerate([0.2, 0.5, 0.8])))
    source = {**PAIRWISE, "winner_threshold": {"a_below": 0.5, "b_above": 0.5}}
    prefdata.build(raw, tmp_path / "out", config={"sources": [source]})
    got = sorted((row["chosen"][0]["content"], row["rejected"][0]["content"]) for row in pairs(tmp_path / "out").iter_rows(named=True))
    assert got == [("A0", "B0"), ("B2", "A2")]
    assert rejects(tmp_path / "out").select("record", "reason").rows() == [(2, "tie")]


def test_two_sources_claiming_one_file_is_an_error(tmp_path: Path) -> None:
    cfg = {"sources": [{"shape": "transcript", "path": "transcript/hh.jsonl"}, {"shape": "transcript", "path": "transcript/*.jsonl"}]}
    with pytest.raises(ConfigError, match="matched by sources\\[0\\].*and sources\\[1\\]"):
        prefdata.build(FIXTURES / "raw", tmp_path / "out", config=cfg)


def test_bad_filter_and_custom_function_are_config_errors(tmp_path: Path) -> None:
    raw = FIXTURES / "raw" / "pairwise" / "arena.jsonl"
    base = {"shape": "pairwise", "columns": {"prompt": "prompt", "winner": "winner"}}
    with pytest.raises(ConfigError, match="expected '<field> <op> <value>'"):
        prefdata.build(raw, tmp_path / "a", config={"sources": [base | {"filters": ["lang is en"]}]})
    with pytest.raises(ConfigError, match="cannot import module 'no_such_module'"):
        prefdata.build(raw, tmp_path / "b", config={"sources": [{"shape": "custom", "function": "no_such_module:f"}]})
    assert "function must look like" in _error({"sources": [{"shape": "custom", "function": "nocolon"}]})


def test_cli_config_error_exits_2_with_the_message(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("sources:\n  - name: hh\n    shape: transcript\n    colums: {}\n")
    res = CliRunner().invoke(cli, ["build", str(FIXTURES / "raw"), str(tmp_path / "out"), "--config", str(cfg)])
    assert res.exit_code == 2
    assert "sources[0] (name: hh).colums: unknown key" in res.stderr
    assert "columns" in res.stderr and "markers" in res.stderr


def test_shipped_configs_are_valid() -> None:
    for path in (FIXTURES / "configs").glob("*.yaml"):
        load_config(path)


@pytest.mark.parametrize(
    ("columns", "key", "problem"),
    [
        ({"prompt": "q..x"}, "columns.prompt", "invalid field path 'q..x'"),
        ({"prompt": "q", "chosen": "[0].text"}, "columns.chosen", "it must start with a field name"),
        ({"prompt_template": "{instruction} and {"}, "columns.prompt_template", "Single '{' encountered"),
        ({"prompt_template": "{instruction}\n\n{in..put}"}, "columns.prompt_template", "invalid field path 'in..put'"),
    ],
)
def test_bad_field_paths_and_templates_are_errors_naming_file_and_key(tmp_path: Path, columns, key, problem) -> None:
    """Caught when the config is read, with the file and key, not later from inside a shape without either."""
    cfg = tmp_path / "mine.yaml"
    cfg.write_text(yaml.safe_dump({"sources": [{"name": "logs", "shape": "preference", "columns": columns}]}))
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert f"invalid build config {cfg}" in str(err.value)
    assert f"sources[0] (name: logs).{key}: " in str(err.value) and problem in str(err.value)


@pytest.mark.parametrize(
    ("where", "problem"),
    [
        ({"filters": ["lang is en"]}, "filters[0]: filter 'lang is en': expected '<field> <op> <value>'"),
        ({"filters": ["lang == en", "turns < many"]}, "filters[1]: filter 'turns < many': < needs a number"),
        ({"filters": ["meta..lang == en"]}, "filters[0]: invalid field path 'meta..lang'"),
    ],
)
def test_bad_filters_are_errors_naming_file_and_key(tmp_path: Path, where, problem) -> None:
    cfg = tmp_path / "mine.yaml"
    cfg.write_text(yaml.safe_dump({"sources": [{"name": "hh", "shape": "transcript", **where}]}))
    res = CliRunner().invoke(cli, ["build", str(FIXTURES / "raw"), str(tmp_path / "out"), "--config", str(cfg)])
    assert res.exit_code == 2, res.output
    assert f"invalid build config {cfg}" in res.stderr and f"sources[0] (name: hh).{problem}" in res.stderr
    assert not (tmp_path / "out").exists()


def test_tree_message_filters_are_checked_with_the_config() -> None:
    msg = _error({"sources": [{"shape": "tree", "message_filters": ["lang = en"]}]})
    assert "sources[0].message_filters[0]: filter 'lang = en'" in msg


def test_source_path_globs_select_files_as_raw_globs_do(tmp_path: Path) -> None:
    """``*`` stays within one folder and ``**`` spans any number of folders (none included), as in a RAW glob."""
    raw = tmp_path / "raw"
    (raw / "sub").mkdir(parents=True)
    hh = (FIXTURES / "raw" / "transcript" / "hh.jsonl").read_text()
    (raw / "hh.jsonl").write_text(hh)
    (raw / "sub" / "hh2.jsonl").write_text(hh)
    for pattern, selected in (("**/hh*", {"hh.jsonl", "sub/hh2.jsonl"}), ("*.jsonl", {"hh.jsonl"}), ("sub", {"sub/hh2.jsonl"}), ("sub/*", {"sub/hh2.jsonl"}),
                              # written as paths are: RAW itself, a leading ./, a doubled or trailing slash
                              (".", {"hh.jsonl", "sub/hh2.jsonl"}), ("./hh.jsonl", {"hh.jsonl"}), ("./sub//", {"sub/hh2.jsonl"})):
        result = prefdata.build(raw, tmp_path / "out", config={"sources": [{"shape": "transcript", "path": pattern}]})
        assert {i["path"] for i in result.manifest["inputs"]} == selected, pattern


def test_a_source_path_naming_a_folder_takes_only_that_folder(tmp_path: Path) -> None:
    """A source's ``path`` is "a file, folder or glob relative to RAW" (README): ``logs`` takes what lies
    under ``logs/``, not ``logs2/`` nor ``logs.jsonl``, whose names only begin alike."""
    from prefdata.build.plan import plan_build

    raw = tmp_path / "raw"
    for name in ("logs/a.jsonl", "logs2/b.jsonl", "logs.jsonl"):
        (raw / name).parent.mkdir(parents=True, exist_ok=True)
        (raw / name).write_text(json.dumps({"prompt": "q?", "chosen": "yes", "rejected": "no"}) + "\n")
    config = BuildConfig.model_validate({"sources": [{"name": "logs", "shape": "preference", "path": "logs",
                                                      "columns": {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"}}]})
    plan = plan_build(raw, config)
    assert [p.file.name for p in plan.files] == ["logs/a.jsonl"]
    assert sorted(s.name for s in plan.skipped) == ["logs.jsonl", "logs2/b.jsonl"]


@pytest.mark.parametrize(
    ("name", "pattern", "selected"),
    [("x/y.jsonl", "x[!a]y.jsonl", False), ("xby.jsonl", "x[!a]y.jsonl", True), ("x^y.jsonl", "x[^a]y.jsonl", True),
     ("az.jsonl", "a[z-a].jsonl", False), ("a[.jsonl", "a[.jsonl", True), ("d/e/f.jsonl", "d/**", True)],
)
def test_glob_classes_stay_within_a_folder_and_never_crash(name: str, pattern: str, selected: bool) -> None:
    from prefdata.build.plan import glob_match

    assert glob_match(name, pattern) is selected


def test_verdict_and_label_values_are_single_values(tmp_path: Path) -> None:
    """winner_values and labels took any YAML value: a nested list, which no raw value can match, was
    accepted, and YAML aliases ("billion laughs") nested one tenfold per level into the normalized
    config (a 535-byte config wrote a 40 MB manifest.json). Text, numbers and true/false keep their type."""
    bomb = "&x0 [lol, lol, lol]" + "".join(f", &x{i} [" + ", ".join([f"*x{i - 1}"] * 10) + "]" for i in range(1, 6))
    config = tmp_path / "c.yaml"
    config.write_text(
        "sources:\n  - shape: pairwise\n    columns: {prompt: p, response_a: a, response_b: b, winner: w}\n"
        f"    winner_values: {{a: [model_a], b: [model_b], tie: [tie, {bomb}]}}\n"
        "  - shape: feedback\n    path: f.jsonl\n    columns: {prompt: p, response: r, label: l}\n    labels: {up: [yes, 1], down: [null]}\n")
    res = CliRunner().invoke(cli, ["build", str(tmp_path), str(tmp_path / "out"), "--config", str(config)])
    assert res.exit_code == 2
    assert "sources[0].winner_values.tie[1]: expected a single value (text, a number, true or false), got a list" in res.output
    assert "sources[1].labels.down[0]: expected a single value (text, a number, true or false), got null" in res.output
    assert len(res.output) < 2000
    labels = parse_config({"sources": [{"shape": "feedback", "columns": {"prompt": "p", "response": "r", "label": "l"},
                                        "labels": {"up": ["yes", 1, 1.5, True], "down": ["no"]}}]}).sources[0].labels
    assert labels.up == ["yes", 1, 1.5, True] and [type(v) for v in labels.up] == [str, int, float, bool]



def _rated_cap(n: int) -> dict:
    return {"shape": "rated", "columns": {"prompt": "q", "completions": "c", "text": "t", "score": "s"}, "binarize": {"policy": "all_pairs", "max_pairs": n}}


def _feedback_cap(n: int) -> dict:
    return {"shape": "feedback", "columns": {"prompt": "p", "response": "r", "label": "l"}, "max_pairs_per_prompt": n}


@pytest.mark.parametrize("source,key", [(_rated_cap, "sources[0].binarize.max_pairs"), (_feedback_cap, "sources[0].max_pairs_per_prompt")])
def test_a_cap_wider_than_64_bits_is_a_config_error(source, key: str) -> None:  # type: ignore[no-untyped-def]
    """polars compares the caps as 64-bit integers: a wider one passed the config and crashed the
    build after reading the data (TypeError, exit 3). The widest one polars takes is accepted."""
    assert f"{key}: Input should be less than or equal to 9223372036854775807" in _error({"sources": [source(10**23)]})
    parse_config({"sources": [source(2**63 - 1)]})


@pytest.mark.parametrize(("shape", "extra"), [("tree", {}), ("ranked", {"columns": {"prompt": "q"}})])
def test_a_printed_config_writes_which_rank_is_best_for_tree_and_ranked_sources(shape: str, extra: dict) -> None:
    """Which rank is best is never to be guessed: a printed config writes lower_rank_is_better out, at
    its default too, for tree sources as for ranked ones."""
    cfg = parse_config({"sources": [{"path": "a.jsonl", "shape": shape, **extra}]})
    assert load_data_yaml(dump_config(cfg))["sources"][0]["lower_rank_is_better"] is True


def test_a_printed_config_writes_default_prompt_markers_out() -> None:
    """``prompt_markers: {}`` (the default markers) is printed written out: ``{}`` would not say which
    markers the prompt is split at."""
    cfg = parse_config({"sources": [{"path": "a.jsonl", "shape": "preference", "columns": {"prompt": "q", "prompt_markers": {}}}]})
    markers = load_data_yaml(dump_config(cfg))["sources"][0]["columns"]["prompt_markers"]
    assert markers == TurnMarkers().model_dump(mode="json") and markers != {}


@pytest.mark.parametrize("function", ["mymod:", ":fn"])
def test_a_custom_function_needs_both_a_module_and_a_name(function: str) -> None:
    """``function`` must look like 'package.module:function': one ':' with text on both sides."""
    assert "function must look like 'package.module:function'" in _error({"sources": [{"shape": "custom", "function": function}]})


def test_a_bad_split_option_names_the_option_as_typed() -> None:
    """--test-fraction out of range is an error naming ``--test-fraction``, not the config key's ``--test_fraction``."""
    with pytest.raises(ConfigError, match="--test-fraction:") as err:
        SplitConfig().overridden(test_fraction=1.5)
    assert "--test_fraction" not in str(err.value)


RATED = {"path": "a.jsonl", "shape": "rated", "columns": {"prompt": "q"}}
FEEDBACK = {"path": "a.jsonl", "shape": "feedback", "columns": {"prompt": "q", "response": "r"}}


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"sources": [RATED], "split": {"test_fraction": 1}}, "split.test_fraction"),  # a test split cannot take every group
        ({"sources": [{**RATED, "binarize": {"min_margin": -1}}]}, "binarize.min_margin"),  # a minimum gap is >= 0
        ({"sources": [{**FEEDBACK, "max_pairs_per_prompt": 0}]}, "max_pairs_per_prompt"),  # 0 would pair nothing
    ],
)
def test_numbers_past_their_bounds_are_config_errors_naming_the_key(config: dict, key: str) -> None:
    """The bounds of split.test_fraction (0 <= f < 1), binarize.min_margin (>= 0) and feedback
    max_pairs_per_prompt (>= 1) at their edges: each value just past one is refused, the edge itself kept."""
    assert key in _error(config)
    parse_config({"sources": [{**RATED, "binarize": {"min_margin": 0}}], "split": {"test_fraction": 0}})
    parse_config({"sources": [{**FEEDBACK, "max_pairs_per_prompt": 1}]})

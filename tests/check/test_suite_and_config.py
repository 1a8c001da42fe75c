"""Suites and thresholds: loaded, validated, and wrong ones refused with the file and field named."""

from __future__ import annotations

import json
import zipfile

import pytest

from prefdata.check import ConfigError, SuiteError, UnsupportedExpectationError, check, load_config
from prefdata.check.config import CHECK_IDS
from prefdata.check.suite import default_suite_path, load_suite, parse_suite
from tests.check import seeded


def suite_file(tmp_path, expectations, name="s"):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"name": name, "expectations": expectations}))
    return path


@pytest.fixture
def data(tmp_path):
    return seeded.materialize(tmp_path / "d", keys=seeded.clean_keys())


def test_default_suite_ships_inside_the_package():
    path = default_suite_path()
    assert path.parts[-3:] == ("resources", "expectations", "canonical.json")
    suite = load_suite()
    assert suite.name == "canonical" and len(suite.expectations) == 20
    raw = json.loads(path.read_text())
    assert all("id" not in e for e in raw["expectations"])  # no GX ids in the shipped suites
    assert {e.severity for e in suite.expectations} == {"error", "warn"}


def test_default_suite_is_in_the_wheel(tmp_path):
    """An installed wheel finds the suite: the package data pattern puts it in the wheel.

    Built from a copy of the sources, so the checkout gets no build/ or egg-info changes.
    """
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(repo / name, src / name)
    shutil.copytree(repo / "prefdata", src / "prefdata", ignore=shutil.ignore_patterns("__pycache__"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(src)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    if build.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {build.stderr[-300:]}")
    wheel = next((tmp_path / "dist").glob("prefdata-*.whl"))
    assert "prefdata/resources/expectations/canonical.json" in zipfile.ZipFile(wheel).namelist()


def test_unsupported_type_is_an_error_not_a_pass(data, tmp_path):
    path = suite_file(tmp_path, [{"type": "expect_column_values_to_be_dateutil_parseable", "kwargs": {"column": "id"}}])
    with pytest.raises(UnsupportedExpectationError, match=r"expectations\[0\].*dateutil_parseable.*--engine gx"):
        check(data, suite=path, write=False)


@pytest.mark.parametrize(
    "expectation, message",
    [
        ({"type": "expect_column_values_to_be_between", "kwargs": {"column": "prompt_turns", "min_vlaue": 1}}, "unknown kwargs \\['min_vlaue'\\]"),
        ({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "prompt"}}, "column 'prompt' is not in the checked view"),
        ({"type": "expect_column_values_to_match_regex", "kwargs": {"column": "id", "regex": "(?<=a)b"}}, "cannot run on the polars engine"),
        # "$" ends the group, and the "\n" after it is more pattern: refused, naming the pattern and the other engine
        ({"type": "expect_column_values_to_match_regex", "kwargs": {"column": "id", "regex": r"(a$)\n"}},
         (r"expectations\[0\] \(expect_column_values_to_match_regex\): regex '\(a\$\)\\\\n' cannot run on the polars engine: "
          r"'\$' followed by more pattern.*--engine gx runs it")),
        ({"type": "expect_column_values_to_be_between", "kwargs": {"column": "prompt_turns"}}, "cannot both be null"),
        ({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id", "mostly": 2}}, "'mostly' must be a number between 0 and 1"),
        ({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}, "severity": "fatal"}, "severity must be one of"),
        ({"type": "not_an_expectation", "kwargs": {}}, "'type' must be an expectation type"),
    ],
)
def test_malformed_expectations_name_the_file_and_field(data, tmp_path, expectation, message):
    path = suite_file(tmp_path, [expectation])
    with pytest.raises(SuiteError, match=message) as err:
        check(data, suite=path, write=False)
    assert str(path) in str(err.value)


def test_suite_severity_decides_pass(data, tmp_path):
    failing = {"type": "expect_table_row_count_to_be_between", "kwargs": {"max_value": 1}}
    for severity, strict, passed in (("critical", False, False), ("warning", False, True), ("warning", True, False), ("info", True, True)):
        path = suite_file(tmp_path, [{**failing, "severity": severity}])
        result = check(data, suite=path, strict=strict, write=False)
        assert result.passed is passed, (severity, strict)


def test_gx_saved_suites_with_ids_are_accepted(data, tmp_path):
    path = suite_file(tmp_path, [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}, "id": "1c4b", "meta": {}, "severity": "critical"}])
    assert check(data, suite=path, write=False).expectations[0].success


def test_config_defaults_and_overrides(tmp_path):
    assert load_config(None).checks.length_bias.max_share_chosen_longer == 0.65
    cfg = tmp_path / "c.yaml"
    cfg.write_text("checks:\n  pii: {severity: error, kinds: [email]}\nminhash: {num_perm: 32, bands: 8}\n")
    loaded = load_config(cfg)
    assert loaded.checks.pii.severity == "error" and loaded.checks.pii.kinds == ("email",)
    assert loaded.minhash.num_perm == 32
    assert load_config({"checks": {"schema": {"enabled": False}}}).checks.get("schema").enabled is False


@pytest.mark.parametrize(
    "text, message",
    [
        ("checks:\n  lenght_bias: {}\n", "checks.lenght_bias: unknown field"),
        ("checks:\n  pii: {max_count: -1}\n", "checks.pii.max_count"),
        ("checks:\n  length_bias: {min_share_chosen_longer: 0.9}\n", "must not exceed"),
        ("minhash: {num_perm: 64, bands: 10}\n", "multiple of bands"),
        ("checks: [1, 2\n", "not valid YAML"),
        ("- 1\n", "expected a mapping"),
        # strict types: a bool, a quoted number or "yes" is a mistake, not a value to coerce
        ("checks:\n  length_bias: {min_pairs: true}\n", "checks.length_bias.min_pairs: Input should be a valid integer"),
        ("checks:\n  length_bias: {max_share_chosen_longer: '0.7'}\n", "checks.length_bias.max_share_chosen_longer"),
        ("checks:\n  pii: {enabled: 'yes'}\n", "checks.pii.enabled: Input should be a valid boolean"),
        ("checks:\n  contamination: {ngram: 1e9}\n", "checks.contamination.ngram"),
        # schema fails on any problem: a count limit would be accepted and then ignored
        ("checks:\n  schema: {max_count: 5}\n", "checks.schema.max_count: unknown field"),
        # a Jaccard threshold is in (0, 1]: at 0 every pair reaches it, for each of the three near checks
        ("checks:\n  near_identical_responses: {min_jaccard: 0}\n", "checks.near_identical_responses.min_jaccard"),
        ("checks:\n  near_duplicates: {min_jaccard: 0}\n", "checks.near_duplicates.min_jaccard"),
        ("checks:\n  prompt_leakage_near: {min_jaccard: 0}\n", "checks.prompt_leakage_near.min_jaccard"),
        # a group of 0 pairs has no share to judge, for either bias check
        ("checks:\n  length_bias: {min_pairs: 0}\n", "checks.length_bias.min_pairs"),
        ("checks:\n  position_bias: {min_pairs: 0}\n", "checks.position_bias.min_pairs"),
        ("checks:\n  position_bias: {min_share_a_wins: 0.6, max_share_a_wins: 0.5}\n", "must not exceed"),
        ("minhash: {num_perm: 1024, bands: 16}\n", "minhash.num_perm"),  # at most 512 buckets per text
        # YAML 1.1 booleans in any case (https://yaml.org/type/bool.html) get the hint, not only "yes"
        ("checks:\n  pii: {enabled: Yes}\n", "checks.pii.enabled: .*write true or false, not Yes"),
        ("checks:\n  pii: {enabled: ON}\n", "checks.pii.enabled: .*write true or false, not ON"),
        ("checks:\n  pii: {enabled: Off}\n", "checks.pii.enabled: .*write true or false, not Off"),
    ],
)
def test_config_errors_name_file_and_field(tmp_path, text, message):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        load_config(cfg)
    assert str(cfg) in str(err.value)


def test_config_yaml_reads_numbers_as_yaml_1_2(tmp_path):
    """The check config was read with YAML 1.1 scalars: ``min_jaccard: 7e-1`` was refused as text,
    ``max_count: 010`` silently became 8 (octal) and ``1:30`` 90 (sexagesimal). It is read as the
    build config is (YAML 1.2): 0.7, ten, and text that the count refuses; ``enabled: no`` is text too,
    refused with a hint, and a key written twice is still an error."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text("checks:\n  near_identical_responses: {min_jaccard: 7e-1}\n  pii: {max_count: 010}\n")
    loaded = load_config(cfg)
    assert loaded.checks.near_identical_responses.min_jaccard == 0.7 and loaded.checks.pii.max_count == 10
    for text, message in (
        ("checks:\n  pii: {max_count: 1:30}\n", "checks.pii.max_count: Input should be a valid integer"),
        ("checks:\n  pii: {enabled: no}\n", "checks.pii.enabled: .*write true or false"),
        ("checks:\n  pii: {max_count: 1_000}\n", r"checks.pii.max_count: .*write 1000, not 1_000"),  # YAML 1.1 read 1000
        ("checks:\n  pii: {max_count: 1}\n  pii: {max_count: 2}\n", "found the key 'pii' twice"),
    ):
        cfg.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_config(cfg)


def test_thresholds_and_switches_change_verdicts(tmp_path):
    out = seeded.materialize(tmp_path / "d", keys=seeded.clean_keys() | {"identical", "pii-email"})
    strict_default = check(out, write=False)
    assert not strict_default.check("identical_responses").passed
    relaxed = check(out, config={"checks": {"identical_responses": {"max_count": 1}, "pii": {"enabled": False}}}, write=False)
    assert relaxed.check("identical_responses").passed
    assert relaxed.check("identical_responses").threshold == {"max_count": 1}
    assert relaxed.check("pii").skipped == "disabled in the config" and not relaxed.check("pii").offending_ids
    demoted = check(out, config={"checks": {"identical_responses": {"severity": "info"}}}, write=False)
    assert demoted.passed and not demoted.check("identical_responses").passed


def test_a_disabled_check_is_listed_as_skipped_with_its_config(tmp_path):
    """A check with ``enabled: false`` vanished from the table, checks.json (19 checks) and the
    report, whose headline read "Checks passed": no sign that near duplicates were not looked for.
    It is listed as skipped, naming the config file, like a check that cannot run."""
    import prefdata
    from prefdata.check.config import CHECK_IDS

    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps({"prompt": f"question {i}", "chosen": f"good answer {i}", "rejected": f"bad {i}"}) + "\n" for i in range(30)))
    out = prefdata.build(raw, tmp_path / "d").out
    cfg = tmp_path / "c.yaml"
    cfg.write_text("checks:\n  near_duplicates: {enabled: false}\n")
    result = check(out, config=cfg)
    doc = json.loads((out / "checks.json").read_text())
    assert [c["id"] for c in doc["checks"]] == list(CHECK_IDS) and doc["summary"]["checks"] == len(CHECK_IDS)
    entry = next(c for c in doc["checks"] if c["id"] == "near_duplicates")
    assert entry["skipped"] == f"disabled in {cfg}" and entry["message"] == f"skipped: disabled in {cfg}"
    assert entry["severity"] == "warn" and entry["threshold"] == {"max_count": 0, "min_jaccard": 0.8}
    assert result.check("near_duplicates").skipped == f"disabled in {cfg}"
    prefdata.report(out, card=False)
    row = next(line for line in (out / "report.md").read_text().splitlines() if "near_duplicates" in line)
    assert row.startswith("| skipped") and "skipped: disabled in" in row and "c.yaml" in row
    assert f"({sum('skipped' in c for c in doc['checks'])} skipped)" in (out / "report.md").read_text()  # near_duplicates among them


def test_the_default_suite_reads_a_split_name_as_the_split_rules_do():
    """The split expectation is :data:`prefdata.splits.SAYS_A_SPLIT`, one definition with the
    loader's keywords: the Hub's and the README's names pass, a name that says no split does not."""
    import re

    from prefdata.splits import SAYS_A_SPLIT

    (split,) = [e for e in load_suite().expectations if e.kwargs.get("column") == "split"]
    assert split.type == "expect_column_values_to_match_regex" and split.kwargs["regex"] == SAYS_A_SPLIT
    says = re.compile(SAYS_A_SPLIT)
    for name in ("train", "test", "validation", "train_prefs", "test_prefs", "sft_train", "train_gen", "dev", "my-eval", "val.1"):
        assert says.search(name), name
    for name in ("gen", "pretraining", "contest", "trains", "part"):
        assert not says.search(name), name


def test_an_expectation_without_severity_is_critical_so_an_error():
    """GX's default severity is critical (README: critical/warning/info map to error/warn/info)."""
    suite = parse_suite({"name": "s", "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}, "severity": "warning"}]})
    assert [e.severity for e in suite.expectations] == ["error", "warn"]


def test_an_expectation_typed_the_gx_0x_way_gets_the_0x_hint_even_under_a_1x_name():
    """A suite with 1.x's 'name' but 0.x's 'expectation_type' per expectation is a 0.x suite half
    converted: the error says what 1.x calls the key, not "unknown keys ['expectation_type']"."""
    raw = {"name": "s", "expectations": [{"expectation_type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}}]}
    with pytest.raises(SuiteError) as err:
        parse_suite(raw, "s.json")
    assert str(err.value).startswith("s.json: this looks like a Great Expectations 0.x suite")
    assert "each expectation's type 'type' (not 'expectation_type')" in str(err.value)
    assert "unknown keys" not in str(err.value)


def test_a_lone_surrogate_in_a_key_of_the_suite_is_a_suite_error_naming_it():
    """As one in a value: json.loads keeps "\\ud800" in a key too, which no UTF-8 checks.json can hold."""
    raw = json.loads('{"name": "s", "expectations": [{"type": "expect_column_values_to_not_be_null", '
                     '"kwargs": {"column": "id", "\\ud800": 1}}]}')
    with pytest.raises(SuiteError) as err:
        parse_suite(raw, "s.json")
    assert str(err.value).startswith("s.json: the key '\\ud800' in expectations[0].kwargs holds a lone surrogate")


def test_length_bias_bounds_may_be_equal_but_not_crossed():
    """check/config.py: min_share_chosen_longer "must not exceed" max_share_chosen_longer; equal bounds are a check
    that wants exactly that share, and valid."""
    both = load_config({"checks": {"length_bias": {"min_share_chosen_longer": 0.5, "max_share_chosen_longer": 0.5}}})
    assert both.checks.length_bias.min_share_chosen_longer == both.checks.length_bias.max_share_chosen_longer == 0.5
    with pytest.raises(ConfigError, match="must not exceed"):
        load_config({"checks": {"length_bias": {"min_share_chosen_longer": 0.6, "max_share_chosen_longer": 0.5}}})


def test_an_unknown_check_lists_the_checks_and_an_unknown_field_of_a_check_does_not():
    """A typo in a check's name gets the list of check ids to pick from; a typo inside a known check
    (checks.pii.foo) is named alone, since the check ids are not what was mistyped."""
    assert {"length_bias", "pii", "schema"} <= set(CHECK_IDS)
    with pytest.raises(ConfigError) as typo:
        load_config({"checks": {"lenght_bias": {}}})
    assert str(typo.value) == f"config: checks.lenght_bias: unknown field (checks are: {', '.join(CHECK_IDS)})"
    with pytest.raises(ConfigError) as inner:
        load_config({"checks": {"pii": {"foo": 1}}})
    assert str(inner.value) == "config: checks.pii.foo: unknown field"


def test_position_bias_bounds_may_be_equal_but_not_crossed():
    """check/config.py: min_share_a_wins "must not exceed" max_share_a_wins, as for length_bias: equal
    bounds (a share of exactly 0.5) are valid."""
    both = load_config({"checks": {"position_bias": {"min_share_a_wins": 0.5, "max_share_a_wins": 0.5}}})
    assert both.checks.position_bias.min_share_a_wins == both.checks.position_bias.max_share_a_wins == 0.5


def test_num_perm_may_be_512():
    assert load_config({"minhash": {"num_perm": 512, "bands": 16}}).minhash.num_perm == 512


@pytest.mark.parametrize("text", ["", "# thresholds: none changed yet\n"])
def test_an_empty_config_file_is_the_defaults(tmp_path, text):
    """An empty YAML document is null: a config that overrides nothing yet is the defaults, not
    "expected a mapping"."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text, encoding="utf-8")
    assert load_config(cfg) == load_config(None)


def test_an_expectation_with_a_null_meta_has_no_meta():
    """GX 1.x's Expectation declares ``meta: Union[dict, None] = None``, so GX writes and reads a null
    meta; a non-object meta is still refused."""
    raw = {"name": "s", "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}, "meta": None}]}
    assert parse_suite(raw, "s.json").expectations[0].meta == {}

"""The Python API: what it imports, what it writes, and datasets prefdata did not build."""

from __future__ import annotations

import json
import subprocess
import sys

import polars as pl
import pytest

from prefdata.check import DatasetError, check
from prefdata.check.results import MAX_IDS_IN_FILE
from prefdata.schema import CANONICAL_SCHEMA, pair_id
from tests.check import seeded
from tests.check.rows import write_rows


def test_default_path_imports_neither_torch_nor_transformers_nor_gx(clean_dataset):
    code = (
        "import sys; from prefdata.check import check; "
        f"r = check({str(clean_dataset)!r}, write=False); "
        "print(sorted(m for m in ('torch', 'transformers', 'great_expectations', 'datasets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_checks_json_round_trips_the_result(fresh_seeded):
    result = check(fresh_seeded)
    doc = json.loads((fresh_seeded / "checks.json").read_text())
    assert doc["passed"] == result.passed is False
    assert doc["summary"] == result.summary
    assert [c["id"] for c in doc["checks"]] == [c.id for c in result.checks]
    assert doc["rows"] == len(seeded.rows()) and doc["dataset"] == str(fresh_seeded)
    assert not list(fresh_seeded.glob(".checks-*"))  # the atomic write left no temporary file


def test_offending_ids_are_capped_in_the_file_not_in_the_count(tmp_path):
    n = MAX_IDS_IN_FILE + 5
    rows = []
    for i in range(n):
        p, c = [{"role": "user", "content": f"question {i}"}], [{"role": "assistant", "content": f"same answer {i}"}]
        rows.append({"id": pair_id(p, c, c), "prompt": p, "chosen": c, "rejected": c, "source": "s",
                     "lineage": [{"file": "f", "record": i + 1}]})
    (tmp_path / "data").mkdir()
    pl.DataFrame(rows, schema=CANONICAL_SCHEMA).write_parquet(tmp_path / "data" / "train-00000-of-00001.parquet")
    result = check(tmp_path)
    assert result.check("identical_responses").offending_count == n
    doc = json.loads((tmp_path / "checks.json").read_text())
    entry = next(c for c in doc["checks"] if c["id"] == "identical_responses")
    assert len(entry["offending_ids"]) == MAX_IDS_IN_FILE and entry["offending_count"] == n


def test_not_a_dataset_is_a_typed_error(tmp_path):
    with pytest.raises(DatasetError, match="no data/\\*.parquet"):
        check(tmp_path, write=False)
    (tmp_path / "data").mkdir()
    pl.DataFrame({"prompt": ["p"], "chosen": [[1]], "rejected": ["r"]}).write_parquet(tmp_path / "data" / "train-0.parquet")
    with pytest.raises(DatasetError, match="train-0.parquet: column 'chosen' has type"):
        check(tmp_path, write=False)


def test_foreign_dataset_with_plain_strings_and_no_metadata(tmp_path):
    """A dataset in TRL's standard (string) format with only the three text columns still gets checked."""
    (tmp_path / "data").mkdir()
    pl.DataFrame(
        {"prompt": ["Hi?", "Hello?"], "chosen": ["Hi there.", "Hello, how can I help?"], "rejected": ["Go away.", "No."]}
    ).write_parquet(tmp_path / "data" / "train-00000-of-00001.parquet")
    result = check(tmp_path, write=False)
    assert result.rows == 2
    schema = result.check("schema")
    assert not schema.passed and "a plain string" in schema.message
    assert "id" in json.dumps(schema.statistic["problems"])
    assert result.check("trl_traps").passed  # consistently strings: not mixed
    assert result.check("id_integrity").passed  # ids were computed, so they are consistent


def test_seconds_are_reported(clean_dataset):
    result = check(clean_dataset, write=False)
    assert {"single_pass", "expectations", "checks", "similarity", "total"} <= set(result.seconds)


@pytest.mark.parametrize("when", ["before_reading", "before_writing"])
def test_a_rebuild_swapped_in_while_checking_is_refused_not_certified(tmp_path, monkeypatch, when):
    """A build that swapped OUT in mid-check made check crash on a vanished shard (exit 3), or exit 0
    with a checks.json holding the old pairs' results under the new shards' sha256, so the report
    showed stale results as current. Now the check is refused, and no checks.json is written."""
    import prefdata
    from prefdata.check import api, results
    from tests.conftest import FIXTURES

    raw, out = FIXTURES / "raw" / "transcript" / "hh.jsonl", tmp_path / "out"
    prefdata.build(raw, out)
    target, name = (api, "single_pass") if when == "before_reading" else (results.CheckResult, "write")
    original = getattr(target, name)

    def rebuilt_first(*args, **kwargs):
        prefdata.build(raw, out, test_fraction=0.5, partitions=1 if when == "before_writing" else 2)
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, rebuilt_first)
    with pytest.raises(DatasetError, match="changed while being checked .* run check again"):
        check(out)
    assert not (out / "checks.json").exists()


def test_summary_counts_a_failing_info_check_under_info(tmp_path):
    """docs/contracts.md: ``summary`` counts the failing checks and expectations by severity; a check
    whose config severity is info counts under "info", not "warn"."""
    from tests.check.rows import write_rows

    rows = [{"prompt": "q", "chosen": "same", "rejected": "same"}]
    rows += [{"prompt": f"q{i}", "chosen": "a", "rejected": "b"} for i in range(5)]
    result = check(write_rows(tmp_path, rows), write=False, config={"checks": {"identical_responses": {"severity": "info"}}})
    identical = result.check("identical_responses")
    assert identical.severity == "info" and not identical.passed
    failed = result.failures()
    assert result.summary["failed"] == len(failed)
    for severity in ("error", "warn", "info"):
        assert result.summary[severity] == sum(f.severity == severity for f in failed), severity
    assert result.summary["info"] == 1


@pytest.mark.parametrize(
    ("options", "refused"),
    [
        ({"tokenizer": "tok"}, "--tokenizer and --max-length go together"),
        ({"max_length": 512}, "--tokenizer and --max-length go together"),
        ({"tokenizer": "tok", "max_length": 0}, "max_length"),
    ],
)
def test_tokenizer_and_a_max_length_of_at_least_one_token_go_together(tmp_path, options, refused):
    """README: the truncation checks need --tokenizer and --max-length; the API refuses either alone and
    a max_length under 1 token as options, before the dataset (which need not exist) is read."""
    from prefdata.check.errors import OptionsError

    with pytest.raises(OptionsError, match=refused):
        check(tmp_path / "no-such-dataset", write=False, **options)


def test_checks_are_listed_in_check_id_order_a_disabled_one_in_its_place(clean_dataset):
    """check(): every check id is in the result, in CHECK_IDS order (checks.json and the report read it
    so); one the config turns off is listed as skipped where it belongs, not appended."""
    from prefdata.check.config import CHECK_IDS

    assert [c.id for c in check(clean_dataset, write=False).checks] == list(CHECK_IDS)
    result = check(clean_dataset, config={"checks": {"near_duplicates": {"enabled": False}}}, write=False)
    assert [c.id for c in result.checks] == list(CHECK_IDS)
    assert next(c for c in result.checks if c.id == "near_duplicates").skipped == "disabled in the config"


def test_a_check_disabled_in_a_config_file_names_the_file(clean_dataset, tmp_path):
    """README: a check the config turns off is listed as `skipped: disabled in c.yaml`, naming the file."""
    config = tmp_path / "c.yaml"
    config.write_text("checks:\n  near_duplicates: {enabled: false}\n")
    result = check(clean_dataset, config=config, write=False)
    (outcome,) = [c for c in result.checks if c.id == "near_duplicates"]
    assert (outcome.passed, outcome.message) == (True, f"skipped: disabled in {config}")


def test_the_single_pass_frame_is_contiguous(tmp_path, monkeypatch):
    """The streaming engine returns each column of the single pass in one chunk per morsel, and every
    check family's select, filter and join over the frame then paid per chunk (the PII matches'
    extraction took 1.5 s on the 1M-pair benchmark, 0.02 s on one chunk): the frame the families
    read is made contiguous once."""
    from prefdata.check import api
    from prefdata.check.single_pass import single_pass
    from tests.check.rows import write_rows

    rows = [{"prompt": f"q{i}", "chosen": f"a{i}", "rejected": f"b{i}", "split": "test" if i % 4 == 0 else "train"} for i in range(40)]
    frames = []

    def kept(*args, **kwargs):
        frames.append(single_pass(*args, **kwargs))
        return frames[-1]

    monkeypatch.setattr(api, "single_pass", kept)
    check(write_rows(tmp_path, rows), write=False)
    assert set(frames[0].n_chunks("all")) == {1}


def test_only_a_check_that_did_not_run_carries_skipped_in_checks_json(tmp_path):
    """docs/contracts.md: a check that could not run "has `skipped` with the reason"; the example's
    length_bias, which ran, has no ``skipped`` key, so a reader may test ``"skipped" in check``."""
    root = write_rows(tmp_path / "d", [{"prompt": f"q{i}", "chosen": f"yes {i}", "rejected": f"no {i}"} for i in range(4)])
    doc = json.loads(check(root).write(tmp_path / "checks.json").read_text())
    ran = [c for c in doc["checks"] if not c["message"].startswith("skipped: ")]
    skipped = [c for c in doc["checks"] if c["message"].startswith("skipped: ")]
    assert {c["id"] for c in skipped} >= {"truncation_dropped", "chat_template_roundtrip"}  # no tokenizer given
    assert [c["id"] for c in ran if "skipped" in c] == []
    assert all(c["skipped"] == c["message"].removeprefix("skipped: ") for c in skipped)


def test_an_infinite_observed_value_is_written_as_null(tmp_path):
    """results._jsonable: "NaN/inf become null (strict JSON has neither)". The max of a score column
    holding inf is inf; checks.json (written with allow_nan=False) records it as null, not a crash."""
    root = write_rows(tmp_path / "d", [{"prompt": f"q{i}", "chosen": f"y{i}", "rejected": f"n{i}", "score_chosen": s}
                                       for i, s in enumerate([1.0, float("inf"), -float("inf")])])
    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps({"name": "t", "expectations": [
        {"type": "expect_column_max_to_be_between", "kwargs": {"column": "score_chosen", "min_value": 0}},
        {"type": "expect_column_min_to_be_between", "kwargs": {"column": "score_chosen", "max_value": 0}}]}))
    result = check(root, suite=suite, write=False)
    assert [e.result["observed_value"] for e in result.expectations] == [float("inf"), -float("inf")]
    doc = json.loads(result.write(tmp_path / "checks.json").read_text())
    assert [e["result"] for e in doc["expectations"]] == [{"observed_value": None}, {"observed_value": None}]

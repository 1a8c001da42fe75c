"""Bad input to ``prefdata check``: a finding (exit 1) or a clear error (exit 2), never a traceback.

Foreign column types, null messages under ``--tokenizer``, empty benchmark files, suites whose
arguments do not fit the view's column types, out-of-range config values, offending counts that must
agree with the messages, and hidden files under ``data/``.
"""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from prefdata.check import check
from prefdata.check.dataset import open_dataset
from prefdata.cli import cli
from prefdata.schema import pair_id
from tests.check import seeded
from tests.check.conftest import CONFIG

SHARD = "train-00000-of-00001.parquet"
MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
LINEAGE = pa.list_(pa.struct([("file", pa.string()), ("record", pa.int64())]))
SCHEMA = pa.schema([
    ("id", pa.string()), ("prompt", MESSAGES), ("chosen", MESSAGES), ("rejected", MESSAGES), ("source", pa.string()),
    ("score_chosen", pa.float64()), ("score_rejected", pa.float64()), ("chosen_model", pa.string()),
    ("rejected_model", pa.string()), ("chosen_position", pa.string()), ("lineage", LINEAGE),
])


def run(*args: object):
    return CliRunner().invoke(cli, ["check", *map(str, args)], catch_exceptions=False)


def pairs(n: int) -> list[dict]:
    """``n`` distinct well-formed pairs with valid ids; the chosen response is always the longer one."""
    out = []
    for i in range(n):
        p = [{"role": "user", "content": f"question number {i} about topic {i * 7}"}]
        c = [{"role": "assistant", "content": f"a good answer {i} with plenty of detail"}]
        r = [{"role": "assistant", "content": f"bad {i}"}]
        out.append({
            "id": pair_id(p, c, r), "prompt": p, "chosen": c, "rejected": r, "source": "s", "score_chosen": 1.0,
            "score_rejected": 0.0, "chosen_model": "m1", "rejected_model": "m2", "chosen_position": "a",
            "lineage": [{"file": "f.jsonl", "record": i + 1}],
        })
    return out


def write(root, table: pa.Table, name: str = SHARD):
    (root / "data").mkdir(parents=True, exist_ok=True)
    pq.write_table(table, root / "data" / name)
    return root


def with_column(rows: list[dict], name: str, array: pa.Array) -> pa.Table:
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    return table.set_column(table.schema.get_field_index(name), name, array)


def checks_doc(root) -> dict[str, dict]:
    return {c["id"]: c for c in json.loads((root / "checks.json").read_text())["checks"]}


# --- 1. foreign column types: a schema finding, and the other checks still run ----------------------

EMAIL = "write to jane.doe@example.com"


def _binary_content(n: int) -> pa.Array:
    kind = pa.list_(pa.struct([("role", pa.string()), ("content", pa.binary())]))
    return pa.array([[{"role": "user", "content": f"{EMAIL} {i} \xff".encode("latin-1")}] for i in range(n)], kind)


def _parts_content(n: int) -> pa.Array:
    part = pa.struct([("type", pa.string()), ("text", pa.string())])
    kind = pa.list_(pa.struct([("role", pa.string()), ("content", pa.list_(part))]))
    return pa.array([[{"role": "user", "content": [{"type": "text", "text": f"{EMAIL} {i}"}]}] for i in range(n)], kind)


@pytest.mark.parametrize(
    "column, make, found",
    [
        ("prompt", _binary_content, "messages whose content is Binary"),
        ("prompt", _parts_content, "messages whose content is List"),
        ("lineage", lambda n: pa.array([f"f.jsonl:{i}" for i in range(n)]), "'lineage' is String"),
    ],
)
def test_foreign_column_types_are_schema_findings_and_the_rest_runs(tmp_path, column, make, found):
    n = 12
    root = write(tmp_path / "d", with_column(pairs(n), column, make(n)))
    result = run(root, "--quiet")
    assert result.exit_code == 1, result.output  # the schema check is an error, not a crash
    doc = checks_doc(root)
    schema = doc["schema"]
    assert not schema["passed"] and schema["offending_count"] == n
    assert any(f"data/{SHARD}" in p and found in p for p in schema["statistic"]["problems"]), schema["statistic"]
    assert doc["role_structure"]["passed"], doc["role_structure"]["message"]
    if column == "prompt":
        # the text was read (lossily for invalid UTF-8), so the text checks saw it
        assert doc["pii"]["offending_count"] == n, doc["pii"]["message"]


def test_binary_content_is_decoded_with_replacement_characters(tmp_path):
    root = write(tmp_path / "d", with_column(pairs(2), "prompt", _binary_content(2)))
    prompts = open_dataset(root).scan().select("prompt").collect().get_column("prompt").to_list()
    assert prompts[1] == [{"role": "user", "content": f"{EMAIL} 1 \ufffd"}]


def test_message_content_with_no_text_reading_is_a_usage_error_naming_shard_and_column(tmp_path):
    kind = pa.list_(pa.struct([("role", pa.string()), ("content", pa.list_(pa.int64()))]))
    root = write(tmp_path / "d", with_column(pairs(3), "chosen", pa.array([[{"role": "assistant", "content": [i]}] for i in range(3)], kind)))
    result = run(root, "--quiet", "--no-write")
    assert result.exit_code == 2, result.output
    assert f"data/{SHARD}" in result.output and "'chosen'" in result.output and "'content'" in result.output


# --- 2. null messages with --tokenizer ---------------------------------------------------------------


def test_tokenizer_checks_count_pairs_with_a_null_message_instead_of_crashing(tmp_path, tokenizer_dir):
    rows = pairs(6)
    rows[5]["chosen"] = [None, {"role": "assistant", "content": "y"}]
    root = write(tmp_path / "d", pa.Table.from_pylist(rows, schema=SCHEMA))
    result = run(root, "--quiet", "--tokenizer", tokenizer_dir, "--max-length", 400)
    assert result.exit_code == 1, result.output  # role_structure fails on the null message
    doc = checks_doc(root)
    assert not doc["role_structure"]["passed"]
    for check_id in ("truncation_dropped", "truncation_identical", "chat_template_roundtrip", "double_bos"):
        statistic = doc[check_id]["statistic"]
        assert statistic["pairs_tokenized"] == 5 and statistic["pairs_not_tokenized"] == 1, check_id
        assert "1 pair with missing or null messages not tokenized" in doc[check_id]["message"]


# --- 3. benchmark files with no prompts --------------------------------------------------------------


@pytest.mark.parametrize("name, content", [("empty.txt", ""), ("blank.txt", "\n  \n\t\n"), ("empty.json", "[]"), ("nulls.json", "[null, \" \"]")])
def test_benchmark_file_without_prompts_is_a_usage_error(tmp_path, name, content):
    root = write(tmp_path / "d", pa.Table.from_pylist(pairs(3), schema=SCHEMA))
    bench = tmp_path / name
    bench.write_text(content)
    result = run(root, "--quiet", "--no-write", "--benchmark-prompts", bench)
    assert result.exit_code == 2, result.output
    assert f"benchmark prompts file {bench} holds no prompts" in result.output


# --- 4. suite arguments that do not fit the column types ---------------------------------------------


def _suite(tmp_path, expectation: dict):
    path = tmp_path / "suite.json"
    path.write_text(json.dumps({"name": "x", "expectations": [expectation]}))
    return path


@pytest.mark.parametrize(
    "expectation, message",
    [
        ({"type": "expect_column_values_to_be_between", "kwargs": {"column": "prompt_text", "min_value": 1}},
         "expectations[0] (expect_column_values_to_be_between): column 'prompt_text' is String, but Great Expectations compares numbers (not text)"),
        ({"type": "expect_column_values_to_be_between", "kwargs": {"column": "prompt_turns", "min_value": "a", "max_value": 3}},
         "min_value 'a' (text) cannot be compared with column 'prompt_turns' (number)"),
        ({"type": "expect_column_pair_values_a_to_be_greater_than_b", "kwargs": {"column_A": "prompt_text", "column_B": "score_chosen"}},
         "column_A 'prompt_text' is String and column_B 'score_chosen' is Float64: text and number cannot be compared"),
        ({"type": "expect_column_pair_values_to_be_equal", "kwargs": {"column_A": "prompt_turns", "column_B": "id"}},
         "number and text cannot be compared"),
        ({"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "split", "value_set": None}},
         "kwarg 'value_set' must be a list"),
        ({"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "split", "value_set": [1, 2]}},
         "value_set holds 1 (number), but column 'split' is text"),
        ({"type": "expect_column_values_to_match_regex", "kwargs": {"column": "prompt_turns", "regex": "^1$"}},
         "column 'prompt_turns' is Int64, but a regex matches text"),
        ({"type": "expect_column_value_lengths_to_be_between", "kwargs": {"column": "score_chosen", "min_value": 1}},
         "column 'score_chosen' is Float64, but value lengths are measured on text"),
        ({"type": "expect_column_max_to_be_between", "kwargs": {"column": "prompt_turns", "max_value": "9"}},
         "max_value '9' (text) cannot be compared with the observed value (number)"),
        ({"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": "1"}},
         "min_value '1' (text) cannot be compared with the row count (number)"),
        ({"type": "expect_column_values_to_be_between", "kwargs": {"column": "prompt_turns", "min_value": 1, "strict_min": "yes"}},
         "kwarg 'strict_min' must be true or false"),
    ],
)
def test_suite_type_conflicts_are_usage_errors_naming_the_expectation(tmp_path, expectation, message):
    root = write(tmp_path / "d", pa.Table.from_pylist(pairs(3), schema=SCHEMA))
    result = run(root, "--quiet", "--no-write", "--suite", _suite(tmp_path, expectation))
    assert result.exit_code == 2, result.output
    assert message in result.output.replace("\n", " ")


@pytest.mark.parametrize(
    "suite_text, field",
    [
        # only the list was checked; building the set of names in it then raised "unhashable type: 'list'"
        ('{"name": "x", "expectations": [{"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": [["id"]]}}]}',
         "expectations[0] (expect_table_columns_to_match_set): kwarg 'column_set' must be a list of column names, but holds ['id'] (list)"),
        # an integral float beyond 64 bits reached polars as an integer it cannot hold
        ('{"name": "x", "expectations": [{"type": "expect_column_value_lengths_to_equal", "kwargs": {"column": "chosen_model", "value": 1e300}}]}',
         "expectations[0] (expect_column_value_lengths_to_equal): kwarg 'value' must be an integer of at most 64 bits, got 1e+300"),
        # lone surrogates: polars cannot hold them, and checks.json (UTF-8) could not be written with them
        ('{"name": "x", "expectations": [{"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "chosen_model", "value_set": ["a", "\\ud800"]}}]}',
         "expectations[0].kwargs.value_set[1] holds a lone surrogate"),
        ('{"name": "team\\ud800", "expectations": [{"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}}]}',
         "name holds a lone surrogate"),
        ('{"name": "x", "expectations": [{"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}, "meta": {"notes": "\\udc80"}}]}',
         "expectations[0].meta.notes holds a lone surrogate"),
        ('{"name": "x", "expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "\\ud800x"}}]}',
         "expectations[0].kwargs.column holds a lone surrogate"),
    ],
)
def test_suites_that_crashed_are_usage_errors_naming_the_file_and_field(tmp_path, suite_text, field):
    root = write(tmp_path / "d", pa.Table.from_pylist(pairs(3), schema=SCHEMA))
    suite = tmp_path / "suite.json"
    suite.write_text(suite_text, encoding="utf-8")
    result = run(root, "--quiet", "--suite", suite)  # writes checks.json
    assert result.exit_code == 2, result.output
    assert f"{suite}: {field}" in result.output.replace("\n", " ")


@pytest.mark.parametrize("value_set, unexpected", [([1.0], 0), ([1.5, 1], 0), ([2], 4), ([], 4)])
def test_in_set_compares_ints_and_floats_as_numbers(tmp_path, value_set, unexpected):
    root = write(tmp_path / "d", pa.Table.from_pylist(pairs(4), schema=SCHEMA))  # every prompt has 1 turn
    suite = _suite(tmp_path, {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "prompt_turns", "value_set": value_set}})
    result = check(root, suite=suite, write=False)
    assert result.expectations[0].result["unexpected_count"] == unexpected


# --- 5. MinHash seed range ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed, code", [(-1, 2), (2**64, 2), (2**64 - 1, 0), (7, 0)])
def test_minhash_seed_must_fit_an_unsigned_64_bit_integer(tmp_path, seed, code):
    root = seeded.materialize(tmp_path / "d", keys=seeded.clean_keys())
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.read_text() + f"minhash: {{seed: {seed}}}\n")
    result = run(root, "--quiet", "--no-write", "--config", config)
    assert result.exit_code == code, result.output
    if code == 2:
        assert f"{config}: minhash.seed" in result.output


# --- 6. offending counts are pairs, as the messages say ----------------------------------------------


def test_offending_count_counts_pairs_even_when_their_ids_are_null(tmp_path):
    n = 40
    root = write(tmp_path / "d", with_column(pairs(n), "id", pa.nulls(n, pa.string())))
    run(root, "--quiet")
    doc = checks_doc(root)
    for check_id in ("id_integrity", "length_bias", "position_bias"):
        c = doc[check_id]
        assert not c["passed"], check_id
        assert c["offending_count"] == n == len(c["offending_ids"]), (check_id, c["offending_count"])
        assert f"{n} pairs" in c["message"], c["message"]
        assert c["offending_ids"][3] == f"row 3 of data/{SHARD}"


def test_a_row_past_the_last_shard_is_located_nowhere(tmp_path):
    """check/dataset.py ``Dataset.locate``: "row K of SHARD" (0-based within the shard) names an id-less
    pair; a row past the last one is an IndexError, not a "row 3" of a 3-row shard that no reader finds."""
    data = open_dataset(write(tmp_path / "d", pa.Table.from_pylist(pairs(3), schema=SCHEMA)))
    assert data.locate(2) == f"row 2 of data/{SHARD}"
    for row in (3, 4, -1):
        with pytest.raises(IndexError):
            data.locate(row)


def test_exact_duplicates_count_the_extra_copies(tmp_path):
    rows = pairs(5)
    rows += [rows[0], rows[0], rows[1]]  # 3 extra copies of 2 pairs
    root = write(tmp_path / "d", pa.Table.from_pylist(rows, schema=SCHEMA))
    result = check(root, write=False)
    dup = result.check("exact_duplicates")
    assert dup.offending_count == 3 == dup.statistic["extra_copies"]
    assert dup.offending_ids == [rows[0]["id"], rows[0]["id"], rows[1]["id"]]
    assert dup.message.startswith("3 extra copies of 2 pairs")


def test_groups_across_splits_are_the_duplicate_groups_in_more_than_one_split(tmp_path):
    """exact_duplicates' ``groups_across_splits`` (docs/contracts.md): the groups of copies lying in
    more than one split. Two groups of two copies: one within train, one in train and test."""
    from tests.check.rows import write_rows

    same = {"prompt": "same q", "chosen": "yes", "rejected": "no"}
    other = {"prompt": "other q", "chosen": "yes", "rejected": "no"}
    rows = [same, same, dict(other, split="train"), dict(other, split="test")]
    rows += [{"prompt": f"u{i}", "chosen": "a", "rejected": "b", "split": s} for i, s in enumerate(["train"] * 4 + ["test"] * 2)]
    statistic = check(write_rows(tmp_path, rows), write=False).check("exact_duplicates").statistic
    assert (statistic["duplicate_groups"], statistic["extra_copies"], statistic["groups_across_splits"]) == (2, 2, 1)


def test_leakage_share_is_over_the_evaluation_pairs(tmp_path):
    """prompt_leakage_exact's ``share_of_eval_pairs`` and the message's percentage: leaked evaluation
    pairs over the evaluation pairs (1 of the 2 test pairs), not over all 10 pairs."""
    from tests.check.rows import write_rows

    rows = [{"prompt": f"train q{i}", "chosen": "yes", "rejected": "no"} for i in range(8)]
    rows += [{"prompt": "TRAIN Q0", "chosen": "ok", "rejected": "bad", "split": "test"},
             {"prompt": "fresh question", "chosen": "ok", "rejected": "bad", "split": "test"}]
    leak = check(write_rows(tmp_path, rows), write=False).check("prompt_leakage_exact")
    assert leak.offending_count == 1
    assert leak.statistic["share_of_eval_pairs"] == 0.5
    assert "(50.0%)" in leak.message


def test_leakage_counts_the_training_pairs_that_share_a_leaked_prompt(tmp_path):
    """prompt_leakage_exact's ``train_pairs_sharing_a_prompt``: the training pairs whose prompt a
    leaked evaluation pair reuses -- 3 training pairs of one prompt -- not the leaked prompts (1)."""
    from tests.check.rows import write_rows

    rows = [{"prompt": "shared q", "chosen": f"answer {i}", "rejected": f"bad {i}"} for i in range(3)]
    rows += [{"prompt": f"train q{i}", "chosen": "yes", "rejected": "no"} for i in range(5)]
    rows += [{"prompt": "Shared  Q", "chosen": "ok", "rejected": "bad", "split": "test"},
             {"prompt": "fresh", "chosen": "ok", "rejected": "bad", "split": "test"}]
    statistic = check(write_rows(tmp_path, rows), write=False).check("prompt_leakage_exact").statistic
    assert (statistic["leaked_prompts"], statistic["leaked_pairs"], statistic["train_pairs_sharing_a_prompt"]) == (1, 1, 3)


def test_id_integrity_share_is_over_all_the_pairs(tmp_path):
    """id_integrity's ``share``: pairs whose id is not their content hash over all the pairs (1 of 4)."""
    rows = pairs(4)
    rows[0] = dict(rows[0], id="0" * 64)
    root = write(tmp_path / "d", pa.Table.from_pylist(rows, schema=SCHEMA))
    outcome = check(root, write=False).check("id_integrity")
    assert outcome.statistic == {"mismatched_rows": 1, "share": 0.25}
    assert outcome.offending_ids == ["0" * 64]


def test_schema_count_is_the_pairs_of_the_bad_shards(tmp_path):
    rows = pairs(7)
    write(tmp_path / "d", pa.Table.from_pylist(rows[:4], schema=SCHEMA), "train-00000-of-00002.parquet")
    root = write(tmp_path / "d", with_column(rows[4:], "lineage", pa.array(["x"] * 3)), "train-00001-of-00002.parquet")
    schema = check(root, write=False).check("schema")
    assert schema.offending_count == 3 and schema.offending_ids == [r["id"] for r in rows[4:]]
    assert "(3 pairs)" in schema.message


# --- 7. hidden files under data/ ---------------------------------------------------------------------


def test_hidden_files_under_data_are_not_shards(tmp_path):
    root = seeded.materialize(tmp_path / "clean", keys=seeded.clean_keys())
    bad = seeded.materialize(tmp_path / "bad")  # planted defects, errors included
    shutil.copy(bad / "data" / "train-00000-of-00004.parquet", root / "data" / ".hidden.parquet")
    result = run(root, "--config", CONFIG, "--quiet")
    assert result.exit_code == 0, result.output
    doc = json.loads((root / "checks.json").read_text())
    assert doc["rows"] == len(seeded.clean_keys())
    assert doc["checks"][0]["statistic"]["shards"] == len(list((root / "data").glob("[!.]*.parquet")))


def test_underscore_files_under_data_are_shards_as_the_loader_reads_them(tmp_path):
    """The Hugging Face loader skips only hidden (``.``) files: ``_tmp.parquet`` is trained on, so it is checked."""
    root = seeded.materialize(tmp_path / "clean", keys=seeded.clean_keys())
    bad = seeded.materialize(tmp_path / "bad")
    shutil.copy(bad / "data" / "train-00000-of-00004.parquet", root / "data" / "_tmp.parquet")
    result = run(root, "--config", CONFIG, "--quiet")
    assert result.exit_code == 1, result.output  # the planted defects in _tmp.parquet are found


def test_only_hidden_files_is_no_dataset(tmp_path):
    root = write(tmp_path / "d", pa.Table.from_pylist(pairs(2), schema=SCHEMA), ".hidden.parquet")
    result = run(root, "--quiet")
    assert result.exit_code == 2, result.output
    assert "no data/*.parquet shards" in result.output and "1 hidden file(s) named .* ignored" in result.output

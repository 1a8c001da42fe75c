"""Datasets other tools wrote in the canonical layout, with the variations their writers make: shard
names the Hugging Face loader reads as splits (``train_0.parquet``, ``test_prefs-00000-of-00001``),
the same values stored another way (a pandas ``category`` column, dictionary-encoded roles, integer
scores, message fields in another order) and empty shards typed null. ``check`` reads them as the
loader and the trainer do, and ``train`` accepts what ``check`` accepts."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prefdata.check import check
from prefdata.train.data import open_training_data, validate_for_trl
from tests.check.test_bad_datasets import SCHEMA, checks_doc, pairs, run, with_column, write


def _leaky(root, train_name: str, test_name: str):
    """A train shard of 10 pairs and a test shard of 2 whose first prompt is a train prompt, recased."""
    rows = pairs(12)
    leak = dict(rows[10])
    leak["prompt"] = [{"role": "user", "content": rows[0]["prompt"][0]["content"].upper()}]
    write(root, pa.Table.from_pylist(rows[:10], schema=SCHEMA), train_name)
    write(root, pa.Table.from_pylist([leak, rows[11]], schema=SCHEMA), test_name)
    return root, leak["id"]


@pytest.mark.parametrize(
    ("train_name", "test_name"),
    [
        ("train-00000-of-00001.parquet", "test-00000-of-00001.parquet"),
        ("train_0.parquet", "test_0.parquet"),
        ("train.parquet", "eval.parquet"),
        ("train_prefs-00000-of-00001.parquet", "test_prefs-00000-of-00001.parquet"),
    ],
)
def test_a_leaked_prompt_is_found_whatever_the_loader_calls_the_splits(tmp_path, train_name, test_name):
    root, leaked_id = _leaky(tmp_path / "d", train_name, test_name)
    result = run(root, "--quiet")
    assert result.exit_code == 1, result.output
    leakage = checks_doc(root)["prompt_leakage_exact"]
    assert not leakage["passed"] and leakage["offending_ids"] == [leaked_id], leakage["message"]


def test_a_leaked_prompt_is_found_between_the_splits_a_dataset_card_names(tmp_path):
    """Files whose names say no split are all train by name; the card's configs: make one the test split,
    as ``load_dataset`` reads it, so the leak is found (it passed with exit 0 before)."""
    root, leaked_id = _leaky(tmp_path / "d", "part-a.parquet", "part-b.parquet")
    (root / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n"
        "  - {split: train, path: data/part-a.parquet}\n  - {split: test, path: data/part-b.parquet}\n---\n", encoding="utf-8")
    result = run(root, "--quiet")
    assert result.exit_code == 1, result.output
    doc = checks_doc(root)
    assert doc["prompt_leakage_exact"]["offending_ids"] == [leaked_id]
    data = open_training_data(root)
    assert {split: len(files) for split, files in data.shards.items()} == {"train": 1, "test": 1}


def test_a_dataset_card_the_loader_refuses_is_a_schema_finding(tmp_path):
    root, _ = _leaky(tmp_path / "d", "train_0.parquet", "test_0.parquet")
    (root / "README.md").write_text("---\nconfigs:\n- config_name: default\n  data_files: {train: data/*}\n---\n", encoding="utf-8")
    result = run(root, "--quiet")
    assert result.exit_code == 1, result.output
    schema = checks_doc(root)["schema"]
    assert not schema["passed"] and "README.md: the dataset card's config 'default': data_files must be a pattern or a list" in schema["message"], schema
    assert checks_doc(root)["prompt_leakage_exact"]["offending_ids"]  # splits by file name: still checked


def test_splits_that_are_all_training_or_all_evaluation_skip_leakage(tmp_path):
    root, _ = _leaky(tmp_path / "d", "train_prefs-00000-of-00001.parquet", "train_sft-00000-of-00001.parquet")
    leakage = check(root, write=False).check("prompt_leakage_exact")
    assert leakage.skipped and "needs a training split" in leakage.message


def _dictionary(values: list[str]) -> pa.Array:
    return pa.array(values).dictionary_encode()


def _messages(rows: list[dict], column: str, *, role_first: bool = True, dictionary_roles: bool = False) -> pa.Array:
    roles = [m["role"] for r in rows for m in r[column]]
    contents = [m["content"] for r in rows for m in r[column]]
    role = _dictionary(roles) if dictionary_roles else pa.array(roles)
    fields = [("role", role), ("content", pa.array(contents))] if role_first else [("content", pa.array(contents)), ("role", role)]
    struct = pa.StructArray.from_arrays([a for _, a in fields], names=[n for n, _ in fields])
    offsets = [0]
    for r in rows:
        offsets.append(offsets[-1] + len(r[column]))
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), struct)


def _stored_another_way(rows: list[dict], variant: str) -> pa.Table:
    if variant == "category source":
        return with_column(rows, "source", _dictionary([r["source"] for r in rows]))
    if variant == "integer scores":
        table = with_column(rows, "score_chosen", pa.array([int(r["score_chosen"]) for r in rows], pa.int64()))
        return table.set_column(table.schema.get_field_index("score_rejected"), "score_rejected", pa.array([0] * len(rows), pa.int32()))
    if variant == "float32 scores":
        return with_column(rows, "score_chosen", pa.array([r["score_chosen"] for r in rows], pa.float32()))
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    for column in ("prompt", "chosen", "rejected"):
        array = _messages(rows, column, role_first=variant != "content before role", dictionary_roles=variant == "dictionary roles")
        table = table.set_column(table.schema.get_field_index(column), column, array)
    return table


@pytest.mark.parametrize("variant", ["category source", "integer scores", "float32 scores", "dictionary roles", "content before role"])
def test_values_stored_another_way_pass_the_schema_check_and_train_accepts_them(tmp_path, variant):
    rows = pairs(12)
    root = write(tmp_path / "d", _stored_another_way(rows[:10], variant))
    write(root, _stored_another_way(rows[10:], variant), "test-00000-of-00001.parquet")
    result = check(root, write=False)
    schema = result.check("schema")
    assert schema.passed, schema.statistic["problems"]
    assert result.passed, [c.id for c in result.checks if not c.passed]
    data = open_training_data(root)
    validate_for_trl(data)  # no DataError: train takes what check accepts
    assert data.rows == {"train": 10, "test": 2}


def test_a_string_score_is_still_a_schema_finding(tmp_path):
    rows = pairs(12)
    root = write(tmp_path / "d", with_column(rows, "score_chosen", pa.array(["1.0"] * 12)))
    schema = check(root, write=False).check("schema")
    assert not schema.passed and any("'score_chosen' is String" in p for p in schema.statistic["problems"])


def test_an_empty_shard_without_row_groups_beside_others_loads_and_passes(tmp_path):
    rows = pairs(10)
    root = write(tmp_path / "d", pa.Table.from_pylist(rows, schema=SCHEMA))
    pl.from_arrow(pa.Table.from_pylist([], schema=SCHEMA)).write_parquet(root / "data" / "train-00001-of-00002.parquet")
    assert _loader_error(root) is None
    result = check(root, write=False)
    assert result.check("schema").passed and result.check("role_structure").passed
    validate_for_trl(open_training_data(root))


def _loader_error(root) -> str | None:
    datasets = pytest.importorskip("datasets")
    try:
        datasets.load_dataset(str(root), cache_dir=str(root.parent / "hf-cache"))
    except Exception as exc:  # noqa: BLE001 - which error the loader raises is what is compared
        return f"{exc} {exc.__cause__}"
    return None


@pytest.mark.parametrize(
    ("writer", "loader_says", "problem"),
    [
        (pq.write_table, "BatchSize must be greater than 0", "its first row group holds 0 rows"),
        (lambda table, path: pl.from_arrow(table).write_parquet(path), "corresponds to no data", "the test split holds no rows"),
    ],
    ids=["pyarrow or pandas", "polars"],
)
def test_an_empty_shard_the_loader_fails_on_is_a_schema_finding(tmp_path, writer, loader_says, problem):
    """``check`` passed datasets that ``datasets.load_dataset`` cannot load: an empty shard written with
    a 0-row row group, and a split with no rows."""
    rows = pairs(10)
    root = write(tmp_path / "d", pa.Table.from_pylist(rows, schema=SCHEMA))
    writer(pa.table({c: pa.nulls(0) for c in ("id", "prompt", "chosen", "rejected")}), root / "data" / "test-00000-of-00001.parquet")
    assert loader_says in (_loader_error(root) or "")
    schema = check(root, write=False).check("schema")
    assert not schema.passed and schema.statistic["problems"] == [f"data/test-00000-of-00001.parquet: {problem}" + schema.message.split(problem, 1)[1]]
    (root / "README.md").write_text("---\nconfigs:\n- config_name: default\n  data_files: data/train-*\n---\n", encoding="utf-8")
    assert _loader_error(root) is None  # left out of the card, the shard is not read: nothing to report
    assert check(root, write=False).check("schema").passed


def test_a_shard_whose_chosen_is_null_in_every_row_is_a_role_structure_finding(tmp_path):
    rows = pairs(12)
    root = write(tmp_path / "d", pa.Table.from_pylist(rows[:10], schema=SCHEMA))
    table = pa.table({"id": [r["id"] for r in rows[10:]], "prompt": _messages(rows[10:], "prompt"),
                      "chosen": pa.nulls(2), "rejected": _messages(rows[10:], "rejected")})
    pq.write_table(table, root / "data" / "test-00000-of-00001.parquet")
    result = check(root, write=False)
    structure = result.check("role_structure")
    assert not structure.passed and sorted(structure.offending_ids) == sorted(r["id"] for r in rows[10:])
    assert result.check("trl_traps").passed  # a null column is no second message format


def test_a_message_field_typed_null_is_a_none_filled_finding_not_a_schema_problem(tmp_path):
    """A content field typed null (every content None: the None-filled trap TRL misreads) is no type
    problem (check/dataset.py: an all-null field is not a type problem): schema passes, and trl_traps
    and role_structure name the 2 pairs."""
    rows = pairs(12)
    root = write(tmp_path / "d", pa.Table.from_pylist(rows[:10], schema=SCHEMA))
    null_content = pa.list_(pa.struct([("role", pa.string()), ("content", pa.null())]))
    table = pa.table({"id": [r["id"] for r in rows[10:]], "prompt": _messages(rows[10:], "prompt"),
                      "chosen": pa.array([[{"role": "assistant", "content": None}]] * 2, null_content),
                      "rejected": _messages(rows[10:], "rejected")})
    pq.write_table(table, root / "data" / "test-00000-of-00001.parquet")
    result = check(root, write=False)
    assert result.check("schema").passed
    for check_id in ("trl_traps", "role_structure"):
        assert sorted(result.check(check_id).offending_ids) == sorted(r["id"] for r in rows[10:]), check_id


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("test-train.parquet", "holds the keywords of two splits (train, test)"),
        ("my-split-00000-of-00001.parquet", "split part the Hugging Face loader refuses"),
    ],
)
def test_a_shard_name_the_loader_reads_otherwise_is_a_schema_finding(tmp_path, name, problem):
    rows = pairs(12)
    root = write(tmp_path / "d", pa.Table.from_pylist(rows[:10], schema=SCHEMA))
    write(root, pa.Table.from_pylist(rows[10:], schema=SCHEMA), name)
    schema = check(root, write=False).check("schema")
    assert not schema.passed
    assert [p for p in schema.statistic["problems"] if p.startswith(f"data/{name}: ")] == [
        next(p for p in schema.statistic["problems"] if problem in p)
    ]


def test_a_split_whose_shards_store_messages_differently_trains(tmp_path):
    """One shard with plain roles, one with dictionary-encoded roles: the loader reads both alike, so
    train validates them shard by shard rather than refusing the split with a raw polars error."""
    rows = pairs(12)
    root = write(tmp_path / "d", pa.Table.from_pylist(rows[:5], schema=SCHEMA), "train-00000-of-00002.parquet")
    write(root, _stored_another_way(rows[5:10], "dictionary roles"), "train-00001-of-00002.parquet")
    write(root, pa.Table.from_pylist(rows[10:], schema=SCHEMA), "test-00000-of-00001.parquet")
    assert check(root, write=False).passed
    data = open_training_data(root)
    validate_for_trl(data)
    assert data.rows == {"train": 10, "test": 2}


@pytest.mark.parametrize("id_type", ["list", "string"])
def test_train_names_a_bad_row_by_its_id_read_as_text_or_by_its_place(tmp_path, id_type):
    """An id stored as a list of strings is read as its text, as check reads it; a null id names the
    row by its place. Train used to crash on both (a strict cast, a None joined into the message)."""
    from prefdata.train.errors import DataError

    rows = pairs(12)
    rows[0] = {**rows[0], "prompt": [*rows[0]["prompt"], {"role": "assistant", "content": "an answer already"}]}
    table = pa.Table.from_pylist(rows[:10], schema=SCHEMA)
    ids = pa.array([[r["id"]] for r in rows[:10]]) if id_type == "list" else pa.array([None] + [r["id"] for r in rows[1:10]])
    root = write(tmp_path / "d", table.set_column(0, "id", ids))
    write(root, pa.Table.from_pylist(rows[10:], schema=SCHEMA), "test-00000-of-00001.parquet")
    named = rows[0]["id"] if id_type == "list" else "row 0 of data/train-00000-of-00001.parquet"
    with pytest.raises(DataError, match=rf"does not end with a user or tool turn \(first: {named}\)"):
        validate_for_trl(open_training_data(root))


def test_a_string_view_column_is_reported(tmp_path):
    from prefdata.report import report

    rows = pairs(12)
    table = with_column(rows, "source", pa.array([r["source"] for r in rows], pa.string_view()))
    root = write(tmp_path / "d", table)
    check(root)
    result = report(root, sample=12)
    assert result.pairs == 12


def test_train_suggests_the_card_that_maps_hub_split_names_and_the_card_works(tmp_path):
    from prefdata.train.errors import DataError

    root, leaked_id = _leaky(tmp_path / "d", "train_prefs-00000-of-00001.parquet", "test_prefs-00000-of-00001.parquet")
    with pytest.raises(DataError, match="found splits") as refused:
        open_training_data(root)
    card = "\n".join(line[2:] for line in str(refused.value).split("):\n", 1)[1].splitlines())
    assert "{split: train, path: data/train_prefs-*}" in card and "{split: test, path: data/test_prefs-*}" in card
    (root / "README.md").write_text(card + "\n", encoding="utf-8")
    assert open_training_data(root).rows == {"train": 10, "test": 2}
    run(root, "--quiet")
    assert checks_doc(root)["prompt_leakage_exact"]["offending_ids"] == [leaked_id]


def test_a_split_the_card_reads_outside_data_is_a_schema_finding(tmp_path):
    root, _ = _leaky(tmp_path / "d", "part-a.parquet", "part-b.parquet")
    (root / "eval").mkdir()
    (root / "data" / "part-b.parquet").rename(root / "eval" / "part-b.parquet")
    (root / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n"
        "  - {split: train, path: data/part-a.parquet}\n  - {split: test, path: eval/part-b.parquet}\n---\n", encoding="utf-8")
    schema = check(root, write=False).check("schema")
    assert schema.statistic["problems"] == [(
        "README.md: the dataset card's default config reads eval/part-b.parquet (as test) outside data/, which check does not "
        "read: datasets.load_dataset(OUT) gives pairs that were not checked; move them into data/")]


def test_files_the_card_reads_outside_data_are_named_first_and_counted_after(tmp_path):
    """Two such files: the first named, then " and 1 more" (the others beside the one named)."""
    root, _ = _leaky(tmp_path / "d", "part-a.parquet", "part-b.parquet")
    (root / "eval").mkdir()
    for name in ("x.parquet", "y.parquet"):
        pq.write_table(pq.read_table(root / "data" / "part-b.parquet"), root / "eval" / name)
    (root / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n"
        "  - {split: train, path: [data/part-a.parquet, data/part-b.parquet]}\n  - {split: test, path: eval/*.parquet}\n---\n",
        encoding="utf-8")
    problems = check(root, write=False).check("schema").statistic["problems"]
    assert any("reads eval/x.parquet (as test) and 1 more outside data/" in p for p in problems), problems


def test_a_build_of_only_kto_rows_says_there_is_nothing_to_train_on(tmp_path):
    """Every record unpaired: data/ holds empty splits. The card keeps its default config on
    data/train (a lone kto config became the loader's default, handing out the KTO rows), so
    load_dataset(OUT) fails, and check says why: no pair at all, not shards to delete."""
    import json

    import prefdata

    raw = tmp_path / "fb.jsonl"
    raw.write_text("\n".join(json.dumps({"prompt": f"question {i}", "completion": f"answer {i}", "label": True}) for i in range(4)))
    config = {"sources": [{"shape": "feedback", "columns": {"prompt": "prompt", "response": "completion", "label": "label"}}],
              "output": {"kto_export": True}}
    prefdata.build(raw, tmp_path / "out", config=config)
    result = check(tmp_path / "out", write=False)
    assert not result.check("schema").passed
    assert "holds no pair at all, so there is nothing to train on" in result.check("schema").message


def test_an_empty_first_row_group_before_rows_is_found_and_the_advice_keeps_the_rows(tmp_path):
    rows = pairs(10)
    root = write(tmp_path / "d", pa.Table.from_pylist(rows[:7], schema=SCHEMA))
    table = pa.Table.from_pylist(rows[7:], schema=SCHEMA)
    with pq.ParquetWriter(root / "data" / "test-00000-of-00001.parquet", SCHEMA) as writer:
        writer.write_table(table.slice(0, 0))
        writer.write_table(table)
    assert "BatchSize must be greater than 0" in (_loader_error(root) or "")
    (problem,) = check(root, write=False).check("schema").statistic["problems"]
    assert problem.endswith("rewrite it without the empty row group")


def test_the_suggested_card_maps_the_preference_splits_of_ultrafeedback(tmp_path):
    from prefdata.train.errors import DataError

    rows = pairs(12)
    for i, split in enumerate(("train_prefs", "test_prefs", "train_sft", "test_sft", "train_gen", "test_gen")):
        write(tmp_path / "d", pa.Table.from_pylist(rows[2 * i:2 * i + 2], schema=SCHEMA), f"{split}-00000-of-00001.parquet")
    with pytest.raises(DataError) as refused:
        open_training_data(tmp_path / "d")
    assert "{split: train, path: data/train_prefs-*}" in str(refused.value)
    assert "{split: test, path: data/test_prefs-*}" in str(refused.value)


def test_pairs_without_a_prompt_column_do_not_leak_through_their_empty_prompts(tmp_path):
    rows = pairs(12)
    table = pa.Table.from_pylist(rows, schema=SCHEMA).drop_columns(["prompt"])
    write(tmp_path / "d", table.slice(0, 10), "train-00000-of-00001.parquet")
    write(tmp_path / "d", table.slice(10), "test-00000-of-00001.parquet")
    result = check(tmp_path / "d", write=False)
    assert result.check("trl_traps").statistic["implicit_prompt"] == 12  # the missing prompt is reported here
    leakage = result.check("prompt_leakage_exact")
    assert leakage.passed and leakage.statistic["leaked_pairs"] == 0, leakage.message


def test_train_and_check_see_what_the_loader_reads_beside_hub_shards(tmp_path):
    """A file beside the Hub-sharded shards is left out by ``load_dataset``: training skips it, and
    check still reads it and says that no trainer will see it."""
    rows = pairs(14)
    root = write(tmp_path / "d", pa.Table.from_pylist(rows[:10], schema=SCHEMA), "train-00000-of-00001.parquet")
    write(root, pa.Table.from_pylist(rows[10:12], schema=SCHEMA), "test-00000-of-00001.parquet")
    write(root, pa.Table.from_pylist(rows[12:], schema=SCHEMA), "train_extra.parquet")
    assert open_training_data(root).rows == {"train": 10, "test": 2}
    schema = check(root, write=False).check("schema")
    assert schema.passed and schema.statistic["not_loaded"] == ["data/train_extra.parquet"]
    assert "leaves out, so no trainer sees its pairs: data/train_extra.parquet" in schema.message


def test_another_configs_files_in_data_are_not_pairs_of_the_default(tmp_path):
    rows = pairs(12)
    root = write(tmp_path / "d", pa.Table.from_pylist(rows[:10], schema=SCHEMA), "train-00000-of-00001.parquet")
    write(root, pa.Table.from_pylist(rows[10:], schema=SCHEMA), "test-00000-of-00001.parquet")
    pq.write_table(pa.table({"messages": [[{"role": "user", "content": "hi"}]]}), root / "data" / "sft_train-00000-of-00001.parquet")
    (root / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n  - {split: train, path: data/train-*}\n"
        "  - {split: test, path: data/test-*}\n- config_name: sft\n  data_files:\n  - {split: train, path: data/sft_train-*}\n---\n",
        encoding="utf-8")
    result = run(root, "--quiet")  # the sft config's file has no chosen column: it stopped check (exit 2)
    assert result.exit_code == 0, result.output
    assert open_training_data(root).rows == {"train": 10, "test": 2}


def test_a_test_file_outside_data_the_loader_reads_without_a_card_is_a_finding(tmp_path):
    rows = pairs(14)
    root = write(tmp_path / "d", pa.Table.from_pylist(rows[:10], schema=SCHEMA), "train.parquet")
    write(root, pa.Table.from_pylist(rows[10:12], schema=SCHEMA), "test.parquet")
    (root / "extra").mkdir()
    pq.write_table(pa.Table.from_pylist(rows[12:], schema=SCHEMA), root / "extra" / "test_more.parquet")
    assert _loader_rows(root) == {"train": 10, "test": 4}
    (problem,) = check(root, write=False).check("schema").statistic["problems"]
    assert problem.startswith("extra/test_more.parquet: with no card to say otherwise, datasets.load_dataset(OUT) reads extra/test_more.parquet (as test) outside data/")


def _loader_rows(root) -> dict[str, int]:
    datasets = pytest.importorskip("datasets")
    loaded = datasets.load_dataset(str(root), cache_dir=str(root.parent / "hf-cache"))
    return {name: split.num_rows for name, split in loaded.items()}


def test_without_a_card_a_folder_named_for_a_split_is_what_the_loader_reads(tmp_path):
    """The loader's patterns try folders named for a split before file names: with an ``eval/`` folder
    it reads that alone, so the data/ shards are no trainer's pairs, and eval/ was never checked."""
    rows = pairs(14)
    root = write(tmp_path / "d", pa.Table.from_pylist(rows[:10], schema=SCHEMA), "train.parquet")
    write(root, pa.Table.from_pylist(rows[10:12], schema=SCHEMA), "test.parquet")
    (root / "eval").mkdir()
    pq.write_table(pa.Table.from_pylist(rows[12:], schema=SCHEMA), root / "eval" / "scores.parquet")
    assert _loader_rows(root) == {"test": 2}
    schema = check(root, write=False).check("schema")
    assert schema.statistic["not_loaded"] == ["data/test.parquet", "data/train.parquet"]
    assert schema.statistic["problems"][0].startswith("eval/scores.parquet: with no card to say otherwise")


def test_without_a_card_the_loader_reads_the_commonest_format(tmp_path):
    from prefdata.card_configs import card_splits

    rows = pairs(4)
    root = write(tmp_path / "d", pa.Table.from_pylist(rows, schema=SCHEMA), "part-a.parquet")
    (root / "notes").mkdir()
    for i in range(3):
        (root / "notes" / f"n{i}.jsonl").write_text('{"x": 1}\n')
    datasets = pytest.importorskip("datasets")
    assert all(f.endswith(".jsonl") for fs in datasets.load_dataset_builder(str(root)).config.data_files.values() for f in fs)
    assert card_splits(root, [root / "data" / "part-a.parquet"]).default_read == frozenset()
    assert check(root, write=False).check("schema").statistic["not_loaded"] == ["data/part-a.parquet"]


@pytest.mark.parametrize(
    "extra, refused",
    [
        ({"data/test.jsonl": 1}, True),  # train in Parquet, test in JSON Lines
        ({"data/test.parquet": 1, "data/test.csv": 1}, False),  # a tie in a split goes to Parquet
        ({"data/test.parquet": 1, "data/test_a.json": 1, "data/test_b.jsonl": 1}, False),  # counted by extension
        ({"data/test_a.jsonl": 1, "data/test_b.jsonl": 1, "data/test.parquet": 1}, True),
        ({"data/test.PARQUET": 1}, True),  # the loader keeps files by extension as written: the split has none
        ({"data/test.zip": 1}, False),  # an archive is read by what it holds (a Parquet file here)
        ({"data/test.parquet": 1, "data/test_a.fa": 1, "data/test_b.fa": 1}, True),  # FASTA, a reader of the loader's own
    ],
)
def test_without_a_card_splits_in_different_formats_are_refused_as_the_loader_refuses_them(tmp_path, extra, refused):
    datasets = pytest.importorskip("datasets")
    rows = pairs(12)
    root = write(tmp_path / "d", pa.Table.from_pylist(rows[:8], schema=SCHEMA), "train.parquet")
    for i, (name, _) in enumerate(sorted(extra.items())):
        if name.lower().endswith(".parquet"):
            pq.write_table(pa.Table.from_pylist(rows[8 + i:9 + i], schema=SCHEMA), root / name)
        elif name.endswith(".zip"):
            import io
            import zipfile

            buffer = io.BytesIO()
            pq.write_table(pa.Table.from_pylist(rows[8 + i:9 + i], schema=SCHEMA), buffer)
            with zipfile.ZipFile(root / name, "w") as archive:
                archive.writestr("test.parquet", buffer.getvalue())
        else:
            (root / name).write_text('{"x": 1}\n' if "json" in name else ">s\nACGT\n" if name.endswith(".fa") else "x\n1\n")
    try:
        datasets.load_dataset_builder(str(root))
        loader_refuses = False
    except ValueError as exc:
        loader_refuses = "same data file format" in str(exc)
    assert loader_refuses == refused
    problems = check(root, write=False).check("schema").statistic["problems"]
    mixed = [p for p in problems if "the splits are in different formats" in p]
    assert bool(mixed) == refused, problems
    if refused:  # named by a file of the odd split in the format the loader picked there, not by its Parquet file
        assert mixed[0].startswith("data/test") and not mixed[0].startswith("data/test.parquet"), mixed[0]
        assert "train: parquet (data/train.parquet)" in mixed[0] and "datasets.load_dataset fails on it" in mixed[0]


def test_without_datasets_installed_an_archive_is_still_read_by_what_it_holds(tmp_path, monkeypatch):
    """The fallback extension table (no ``datasets``) listed .zip as a reader of its own, so a test
    split in a zip of Parquet files was said to be in another format than train."""
    import io
    import sys
    import zipfile

    from prefdata.card_configs import _loader_tables, card_splits

    rows = pairs(9)
    root = write(tmp_path / "d", pa.Table.from_pylist(rows[:8], schema=SCHEMA), "train.parquet")
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows[8:], schema=SCHEMA), buffer)
    with zipfile.ZipFile(root / "data" / "test.zip", "w") as archive:
        archive.writestr("test.parquet", buffer.getvalue())
    monkeypatch.setitem(sys.modules, "datasets.load", None)  # `from datasets.load import ...` raises ImportError
    _loader_tables.cache_clear()
    try:
        assert card_splits(root, [root / "data" / "train.parquet"]).problem is None
    finally:
        _loader_tables.cache_clear()



def test_a_null_extra_message_field_is_a_none_filled_finding(tmp_path):
    """check/dataset.py ``_none_filled``: "a message has a null role/content or a null extra struct field" --
    messages with a ``name`` field that one row leaves null are the None-filled trap trl_traps counts."""
    rows = pairs(4)
    named = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string()), ("name", pa.string())]))
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    for column in ("prompt", "chosen", "rejected"):
        value = [[{**m, "name": None if (column, i) == ("prompt", 0) else "alice"} for m in r[column]] for i, r in enumerate(rows)]
        table = table.set_column(table.schema.get_field_index(column), column, pa.array(value, named))
    traps = check(write(tmp_path / "d", table), write=False).check("trl_traps")
    assert traps.statistic["none_filled"] == 1 and traps.offending_ids == [rows[0]["id"]], traps.message


def test_an_empty_shard_the_loader_leaves_out_is_not_listed_as_not_loaded(tmp_path):
    """check/dataset.py ``Dataset.unread``: "Shards with pairs that datasets.load_dataset leaves out" --
    beside Hub-sharded files, a left-out shard holding a pair is listed, an empty one (no pairs to miss) is not."""
    rows = pairs(4)
    root = write(tmp_path / "d", pa.Table.from_pylist(rows[:3], schema=SCHEMA), "train-00000-of-00001.parquet")
    write(root, pa.Table.from_pylist(rows[3:], schema=SCHEMA), "more.parquet")
    write(root, pa.Table.from_pylist([], schema=SCHEMA), "extra.parquet")
    schema = check(root, write=False).check("schema")
    assert schema.statistic["not_loaded"] == ["data/more.parquet"], schema.message


def test_pairs_without_a_prompt_column_beside_prompted_shards_are_implicit_prompt_only(tmp_path):
    """trl_traps.py: a missing prompt is ``implicit_prompt``, and ``mixed_formats`` leaves it out, so a
    shard with no prompt column beside shards with one is 2 implicit-prompt pairs and no mixed format;
    the message names the traps found, not every kind with 0."""
    rows = pairs(5)
    root = write(tmp_path / "d", pa.Table.from_pylist(rows[:3], schema=SCHEMA), "train-00000-of-00002.parquet")
    write(root, pa.Table.from_pylist(rows[3:], schema=SCHEMA).drop_columns(["prompt"]), "train-00001-of-00002.parquet")
    traps = check(root, write=False).check("trl_traps")
    assert (traps.statistic["implicit_prompt"], traps.statistic["mixed_formats"], traps.offending_count) == (2, 0, 2)
    assert traps.message == "2 pairs TRL would misread: 2 implicit prompt"  # only the traps found are named

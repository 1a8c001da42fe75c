"""What reaches TRL is validated first, TRL's silent drops are counted before training, and the check gate holds."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest
from click.testing import CliRunner

from prefdata.cli import cli
from prefdata.schema import CANONICAL_SCHEMA
from prefdata.train import CheckFailedError, DataError, train_dpo, train_sft
from prefdata.train.data import open_training_data, validate_for_trl
from tests.support.canonical_data import canonical_frame, preference_rows, write_canonical
from tests.support.fast_training import DPO_FAST, SFT_FAST


def write_frame(root, df: pl.DataFrame, split: str = "train"):
    (root / "data").mkdir(parents=True, exist_ok=True)
    df.write_parquet(root / "data" / f"{split}-00000-of-00001.parquet")
    return root


def good_frame(n: int = 4) -> pl.DataFrame:
    return canonical_frame(preference_rows(n, seed=3))


def test_a_clean_canonical_dataset_passes(tmp_path):
    data = open_training_data(write_frame(tmp_path, good_frame()))
    validate_for_trl(data)
    assert data.rows == {"train": 4} and data.held_out is None


@pytest.mark.parametrize(
    ("splits", "held_out", "not_evaluated"),
    [
        ({"train": 4, "validation": 3}, "validation", []),  # the Hub's other name for a held-out split
        ({"train": 4, "test": 2, "validation": 3}, "test", ["validation 3"]),  # both: test, and the output says so
        ({"train": 4, "test": 0, "validation": 3}, "validation", []),  # an empty test split holds nothing to evaluate
        ({"train": 4, "dev": 3}, None, ["dev 3"]),  # a shard named dev-NNNNN-of-NNNNN is the split `dev`
        ({"train": 4, "test": 0}, None, []),  # `build` wrote the test split empty: no_held_out still names it, "test 0"
    ],
)
def test_the_held_out_split_is_test_else_validation(tmp_path, splits, held_out, not_evaluated):
    for split, n in splits.items():
        write_frame(tmp_path, canonical_frame(preference_rows(n, seed=len(split))) if n else good_frame().head(0), split=split)
    data = open_training_data(tmp_path)
    assert data.held_out == held_out and data.not_evaluated() == not_evaluated
    if held_out is None:  # TrainingData.no_held_out: "naming the splits there are (pairs in them)", empty ones too
        named = ", ".join(f"{split} {n}" for split, n in sorted(splits.items()))
        assert data.no_held_out() == f"{tmp_path} has no test pairs and no validation pairs (splits: {named})"


def test_missing_directory_and_missing_train_split(tmp_path):
    with pytest.raises(DataError, match="no such directory"):
        open_training_data(tmp_path / "nope")
    write_frame(tmp_path, good_frame(), split="test")
    with pytest.raises(DataError, match=r"no train split.*\['test'\]"):
        open_training_data(tmp_path)


def test_hub_split_names_get_a_card_that_maps_the_preference_splits(tmp_path):
    """train/data.py: with no `train` split the refusal suggests a dataset card, mapping "preference splits
    first" (UltraFeedback's train/test x prefs/sft/gen): train_prefs and test_prefs, not train_gen (first by name)."""
    for split in ("train_gen", "train_prefs", "train_sft", "test_gen", "test_prefs", "test_sft"):
        write_frame(tmp_path, good_frame(), split=split)
    with pytest.raises(DataError) as info:
        open_training_data(tmp_path)
    message = str(info.value)
    assert "    - {split: train, path: data/train_prefs-*}\n    - {split: test, path: data/test_prefs-*}\n" in message


def test_a_dataset_folder_whose_name_is_not_utf8_is_refused_with_why(tmp_path):
    """check and report read such a folder through open files; `datasets` does not, and train crashed
    (UnicodeEncodeError, exit 3) after check had passed the dataset."""
    import os

    folder = os.fsdecode(os.fsencode(str(tmp_path)) + b"/ds\xe9")
    (Path(folder) / "data").mkdir(parents=True)
    with open(Path(folder) / "data" / "train-00000-of-00001.parquet", "wb") as fh:  # polars writes to UTF-8 paths only
        good_frame().write_parquet(fh)
    with pytest.raises(DataError, match=r"ds\\xe9: the path is not UTF-8 .*ln -s"):
        open_training_data(folder)


@pytest.mark.parametrize("column", ["image", "images"])
def test_image_column_is_refused(tmp_path, column):
    """TRL reads either name as vision input (README: "no `image`/`images` column"), so both are refused."""
    df = good_frame().with_columns(pl.lit("x.png").alias(column))
    with pytest.raises(DataError, match=rf"\['{column}'\].*vision"):
        validate_for_trl(open_training_data(write_frame(tmp_path, df)))


def test_plain_string_columns_are_refused(tmp_path):
    df = good_frame().with_columns(pl.col("chosen").list.first().struct.field("content").alias("chosen"))
    with pytest.raises(DataError, match=r"train-00000-of-00001\.parquet: `chosen` holds plain strings"):
        validate_for_trl(open_training_data(write_frame(tmp_path, df)))


def test_a_null_typed_message_column_in_a_shard_with_rows_is_refused_as_a_wrong_type(tmp_path):
    """data.py _check_schema: a column typed null passes only in an *empty* shard ("an empty shard written by pandas
    types its columns null; it holds nothing to misread"); in a shard with rows it is a wrong type, refused naming the
    shard and the column before any model loads (let through, the row scan crashed: a polars traceback, exit 3)."""
    df = good_frame().with_columns(pl.lit(None).alias("prompt"))
    assert df.schema["prompt"] == pl.Null and df.height == 4
    with pytest.raises(DataError, match=r"^data/train-00000-of-00001\.parquet: `prompt` has type Null, expected "):
        validate_for_trl(open_training_data(write_frame(tmp_path, df)))


def test_extra_message_fields_are_refused(tmp_path):
    df = good_frame().with_columns(
        pl.col("prompt").list.eval(
            pl.struct(
                pl.element().struct.field("role"),
                pl.element().struct.field("content"),
                pl.lit(None, pl.String).alias("name"),
            )
        )
    )
    with pytest.raises(DataError, match=r"extra fields \['name'\]"):
        validate_for_trl(open_training_data(write_frame(tmp_path, df)))


def test_missing_prompt_column_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"missing column `prompt`.*explicit"):
        validate_for_trl(open_training_data(write_frame(tmp_path, good_frame().drop("prompt"))))


def _with_row(row: dict) -> pl.DataFrame:
    rows = preference_rows(3, seed=5) + [row]
    frame = canonical_frame(rows)
    return frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("bad-id")).otherwise(pl.col("id")).alias("id")
    )


USER = [{"role": "user", "content": "hi"}]
ASSISTANT = [{"role": "assistant", "content": "ok"}]


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (
            {"prompt": [{"role": "user", "content": None}], "chosen": ASSISTANT, "rejected": ASSISTANT},
            "null role or content",
        ),
        ({"prompt": USER, "chosen": [], "rejected": ASSISTANT}, "`chosen` is null or empty"),
        ({"prompt": USER, "chosen": ASSISTANT, "rejected": [{"role": "robot", "content": "x"}]}, "unknown role"),
        (
            {"prompt": USER + ASSISTANT, "chosen": ASSISTANT, "rejected": ASSISTANT},
            "does not end with a user or tool turn",
        ),
        ({"prompt": USER, "chosen": USER, "rejected": ASSISTANT}, "`chosen` has a non-assistant message"),
    ],
)
def test_bad_rows_are_refused_with_split_file_count_and_ids(tmp_path, row, problem):
    with pytest.raises(DataError) as info:
        validate_for_trl(open_training_data(write_frame(tmp_path, _with_row(row))))
    message = str(info.value)
    assert "data/train-00000-of-00001.parquet (train split)" in message
    assert "1 row(s): " in message and problem in message
    assert "bad-id" in message
    assert "Fix or drop these rows" in message


def _named(rows: list[dict], ids: list[str]) -> pl.DataFrame:
    return canonical_frame(rows).with_columns(pl.Series("id", ids, dtype=pl.String))


def test_each_problem_line_counts_the_rows_with_that_problem(tmp_path):
    """train/data.py: the refusal gives "the split, file, count and first offending ids" per problem: each
    line counts the rows with its own problem (2 and 1 here), not every flagged row (3)."""
    rows = preference_rows(2, seed=5) + [
        {"prompt": USER, "chosen": USER, "rejected": ASSISTANT},
        {"prompt": USER, "chosen": USER, "rejected": ASSISTANT},
        {"prompt": USER + ASSISTANT, "chosen": ASSISTANT, "rejected": ASSISTANT},
    ]
    df = _named(rows, ["ok0", "ok1", "role1", "role2", "turn1"])
    with pytest.raises(DataError) as info:
        validate_for_trl(open_training_data(write_frame(tmp_path, df)))
    lines = [line.strip() for line in str(info.value).splitlines() if "row(s):" in line]
    assert sorted(lines) == sorted([
        "2 row(s): `chosen` has a non-assistant message (first: role1, role2)",
        "1 row(s): the prompt does not end with a user or tool turn (first: turn1)",
    ])


def test_the_refusal_names_the_first_five_offending_ids_in_order(tmp_path):
    """train/data.py names "the first offending ids": SHOW_IDS, five, in row order, after the count of all."""
    rows = preference_rows(1, seed=5) + [{"prompt": USER, "chosen": USER, "rejected": ASSISTANT}] * 7
    df = _named(rows, ["ok", *(f"bad{i}" for i in range(7))])
    with pytest.raises(DataError) as info:
        validate_for_trl(open_training_data(write_frame(tmp_path, df)))
    assert "  7 row(s): `chosen` has a non-assistant message (first: bad0, bad1, bad2, bad3, bad4)\n" in str(info.value)


def test_rows_without_ids_are_named_by_row_number(tmp_path):
    df = _with_row({"prompt": USER, "chosen": [], "rejected": ASSISTANT}).drop("id")
    with pytest.raises(DataError, match=r"row 3"):
        validate_for_trl(open_training_data(write_frame(tmp_path, df)))


# --- pairs TRL would silently drop ----------------------------------------------------------------------------------


def test_pairs_trl_drops_are_counted_and_reported_before_training(tmp_path, tiny_model, sft_model, task_splits):
    """Prompts that alone reach max_length: TRL filters them out without a word; prefdata names them first."""
    from prefdata.schema import pair_id

    long_rows = [
        {
            "prompt": [{"role": "user", "content": " ".join(["Pick a snack for Ada."] * 12)}],
            "chosen": [{"role": "assistant", "content": "Ada gets a pear."}],
            "rejected": [{"role": "assistant", "content": "Ada gets a nail."}],
        },
        {
            "prompt": [{"role": "user", "content": " ".join(["What should Bo eat?"] * 12)}],
            "chosen": [{"role": "assistant", "content": "Bo gets a plum."}],
            "rejected": [{"role": "assistant", "content": "Bo gets a sand."}],
        },
    ]
    data = write_canonical(
        tmp_path / "out", {"train": task_splits["train"][:30] + long_rows, "test": task_splits["test"][:8]}
    )
    messages: list[str] = []
    result = train_dpo(
        data,
        str(sft_model),
        tmp_path / "dpo",
        overrides={**DPO_FAST, "trl.max_steps": 1},
        no_check=True,
        progress=messages.append,
    )
    report = result.drops["train"]
    assert report.pairs_in == 32 and report.dropped == 2 and report.pairs_kept == 30
    assert set(report.dropped_ids) == {pair_id(r["prompt"], r["chosen"], r["rejected"]) for r in long_rows}
    drop_line = next(i for i, m in enumerate(messages) if "2 dropped by TRL" in m)
    train_line = next(i for i, m in enumerate(messages) if m.startswith("training:"))
    assert drop_line < train_line
    assert result.record["drops"]["train"]["dropped"] == 2

    sft = train_sft(data, str(tiny_model), tmp_path / "sft", overrides={**SFT_FAST, "trl.max_steps": 1}, no_check=True)
    assert sft.drops["train"].dropped == 2


def test_a_test_split_trl_drops_whole_says_the_evaluation_was_skipped(tmp_path, sft_model, task_splits):
    """Every test prompt alone reaches max_length: eval.json held before/after null and nothing was said."""
    long_test = [{**row, "prompt": [{"role": "user", "content": " ".join(["Pick a snack for Ada."] * 12)}]} for row in task_splits["test"][:3]]
    data = write_canonical(tmp_path / "out", {"train": task_splits["train"][:30], "test": long_test})
    messages: list[str] = []
    result = train_dpo(data, str(sft_model), tmp_path / "dpo", overrides={**DPO_FAST, "trl.max_steps": 1}, no_check=True,
                       progress=messages.append)
    assert any(m.startswith("eval: skipped, TRL dropped all 3 test pairs") for m in messages), messages
    evaluation = json.loads((result.output / "eval.json").read_text())
    assert evaluation["before"] is None and evaluation["dropped_by_trl"] == 3 and "every test pair" in evaluation["skipped"]


def test_nothing_left_to_train_on_is_an_error(tmp_path, sft_model, task_splits):
    data = write_canonical(tmp_path / "out", {"train": task_splits["train"][:4]})
    with pytest.raises(DataError, match=r"nothing is left to train on.*--max-length"):
        train_dpo(data, str(sft_model), tmp_path / "dpo", overrides={**DPO_FAST, "trl.max_length": 3}, no_check=True)


# --- drops counted by each pair's place in its split, whatever its id (hunt traindata23 #01, #02, #06) -----------------

#: A prompt that alone reaches max_length 64 with the tiny tokenizer: TRL drops its pair.
LONG = " ".join(["Pick a snack for Ada."] * 12)


def _long(row: dict) -> dict:
    return {**row, "prompt": [{"role": "user", "content": f"{LONG} {row['prompt'][0]['content']}"}]}


def _with_ids(rows: list[dict], ids: list, dtype) -> pl.DataFrame:
    return canonical_frame(rows).with_columns(pl.Series("id", ids, dtype=dtype))


def _templated_length(tokenizer, messages: list[dict]) -> int:
    return len(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"])


@pytest.mark.parametrize(
    ("ids", "dtype", "shown"),
    [
        (["p", "p", None, "q", None, "q"], pl.String, ["p", "<row 2, no id>", "<row 4, no id>"]),
        ([10, 11, None, 13, 14, 11], pl.Int64, ["11", "<row 2, no id>", "14"]),
    ],
)
def test_the_drop_report_finds_pairs_by_their_place_whatever_their_ids(tmp_path, ids, dtype, shown):
    """Matched by id, a dropped pair whose id a kept pair shares (or a null id) went uncounted, and an integer or null
    id crashed the printed report (TypeError, exit 3). TRL's filter and its shuffle_dataset keep the row column."""
    from prefdata.train.data import ROW, drop_report, load_split

    data = open_training_data(write_frame(tmp_path, _with_ids(preference_rows(6, seed=3), ids, dtype)))
    before = load_split(data, "train")
    after = before.filter(lambda row: row[ROW] not in (1, 2, 4)).shuffle(seed=0)
    report = drop_report("train", before, after, 64)
    assert (report.pairs_in, report.dropped, report.pairs_kept) == (6, 3, 3)
    assert report.dropped_ids == shown
    assert f"3 dropped by TRL because the prompt alone reaches max_length=64 (first ids: {', '.join(shown)})" in report.describe()
    assert report.to_json()["dropped_ids"] == shown


def test_a_dpo_pair_of_exactly_max_length_is_whole_and_one_token_longer_is_truncated():
    """data.py drop_report: DPO's `truncated` counts the kept pairs whose prompt plus longer response is *longer*
    than max_length (its collator cuts them); exactly max_length tokens fit whole, as for SFT
    (test_sft_counts_the_chosen_responses_it_cuts_at_max_length_exactly). TRL's prepared split written by hand."""
    from datasets import Dataset

    from prefdata.train.data import ROW, drop_report

    before = Dataset.from_dict({"id": ["a", "b", "c", "d"], ROW: [0, 1, 2, 3]})
    after = Dataset.from_dict({
        ROW: [0, 1, 2, 3],
        "prompt_ids": [[1] * 4, [1] * 4, [1] * 4, [1] * 4],
        "chosen_ids": [[2] * 3, [2] * 6, [2] * 7, [2] * 2],  # 4 + max(3, 2) = 7, 4 + 6 = 10, 4 + 7 = 11, 4 + 6 = 10
        "rejected_ids": [[3] * 2, [3] * 6, [3] * 1, [3] * 6],
    })  # fmt: skip
    report = drop_report("train", before, after, 10)
    assert (report.pairs_in, report.dropped, report.truncated) == (4, 0, 1)  # only the 11-token pair
    assert report.describe().endswith("; 1 kept but truncated at max_length")


def test_the_printed_drop_report_names_the_first_five_dropped_ids_and_the_record_the_first_thousand():
    """data.py DropReport: the printed line names the first SHOW_IDS (5) dropped ids in order (README "(first ids:
    ...)"); the record's `drops` keeps every count but at most 1000 ids, so a run that drops most of a large split
    does not write megabytes of ids into prefdata_train.json."""
    from prefdata.train.data import DropReport

    seven = DropReport(split="train", max_length=64, pairs_in=10, dropped_ids=[f"p{i}" for i in range(7)])
    assert seven.describe() == (
        "train: 10 pairs, 7 dropped by TRL because the prompt alone reaches max_length=64 (first ids: p0, p1, p2, p3, p4)"
    )
    ids = [f"id{i}" for i in range(1500)]
    doc = DropReport(split="train", max_length=64, pairs_in=2000, dropped_ids=ids).to_json()
    assert (doc["pairs_in"], doc["pairs_kept"], doc["dropped"]) == (2000, 500, 1500)
    assert doc["dropped_ids"] == [f"id{i}" for i in range(1000)]


def test_a_pair_is_placed_in_the_right_shard_at_shard_boundaries_and_a_split_names_its_other_shards():
    """data.py row_place: a pair's 0-based place in its split becomes its row in its own shard; the first row of
    the next shard sits exactly at the previous shard's end and belongs to the next one. _rel names a split of N
    shards "FIRST (+N-1 more)". Pure path arithmetic on a TrainingData: nothing is read."""
    from prefdata.train.data import TrainingData, _rel, row_place

    root = Path("/d")
    a, b, c = (root / "data" / f"train-0000{i}-of-00003.parquet" for i in range(3))
    data = TrainingData(root=root, shards={"train": [a, b, c]}, manifest=None, shard_rows={a: 2, b: 3, c: 1})
    place = row_place(data, "train")
    shard = "data/train-0000{}-of-00003.parquet".format
    assert [place(r) for r in range(6)] == [
        f"row 0 of {shard(0)}", f"row 1 of {shard(0)}",
        f"row 0 of {shard(1)}", f"row 1 of {shard(1)}", f"row 2 of {shard(1)}",
        f"row 0 of {shard(2)}",
    ]  # fmt: skip
    assert _rel(data, [a, b, c]) == f"{shard(0)} (+2 more)"
    assert _rel(data, [a, b]) == f"{shard(0)} (+1 more)"
    assert _rel(data, [c]) == shard(2)


def test_a_dropped_pair_without_an_id_is_named_by_its_row_in_its_shard(tmp_path):
    """As check and validate_for_trl name it (`row 1 of data/train-00001-of-00002.parquet`), not by its place in the
    whole split, which named no file to open (review23_train #03)."""
    from prefdata.train.data import ROW, drop_report, load_split, row_place

    frame = _with_ids(preference_rows(5, seed=3), ["a", None, "c", None, "e"], pl.String)
    (tmp_path / "data").mkdir()
    frame[:2].write_parquet(tmp_path / "data" / "train-00000-of-00003.parquet")
    frame[:0].write_parquet(tmp_path / "data" / "train-00001-of-00003.parquet")
    frame[2:].write_parquet(tmp_path / "data" / "train-00002-of-00003.parquet")
    data = open_training_data(tmp_path)
    before = load_split(data, "train")
    after = before.filter(lambda row: row[ROW] not in (1, 3))
    report = drop_report("train", before, after, 64, place=row_place(data, "train"))
    assert report.dropped_ids == ["<row 1 of data/train-00000-of-00003.parquet, no id>",
                                  "<row 1 of data/train-00002-of-00003.parquet, no id>"]  # fmt: skip


def test_trl_drops_are_counted_right_with_duplicate_null_and_integer_ids(tmp_path, tiny_model, sft_model, task_splits):
    """End to end, DPO and SFT: the printed report, the record's `drops` and eval.json's `dropped_by_trl` (hunt
    traindata23 #01, #02: duplicate/null ids hid drops; integer ids crashed the report after the model loaded)."""
    from transformers import AutoTokenizer

    train = [_long(r) if i in (0, 3, 5) else r for i, r in enumerate(task_splits["train"][:12])]
    train[6] = {**train[6], "chosen": [{"role": "assistant", "content": " ".join(["Ada gets a pear."] * 12)}]}
    train_ids = ["a", "a", "b", "b", None, None, *[f"r{i}" for i in range(6, 12)]]  # rows 0, 3, 5 dropped
    test = [_long(r) if i in (1, 2) else r for i, r in enumerate(task_splits["test"][:6])]
    test_ids = [100, 101, None, 103, 104, 105]  # rows 1, 2 dropped
    root = write_frame(tmp_path / "out", _with_ids(train, train_ids, pl.String))
    write_frame(root, _with_ids(test, test_ids, pl.Int64), split="test")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)

    def cut(rows: list[dict], *, responses: tuple[str, ...]) -> int:  # kept pairs longer than max_length, rendered
        return sum(
            max(_templated_length(tokenizer, r["prompt"] + r[side]) for side in responses) > 64
            for r in rows if _templated_length(tokenizer, r["prompt"]) < 64
        )  # fmt: skip

    messages: list[str] = []
    dpo = train_dpo(root, str(sft_model), tmp_path / "dpo", overrides={**DPO_FAST, "trl.max_steps": 1}, no_check=True,
                    progress=messages.append)  # fmt: skip
    assert cut(train, responses=("chosen", "rejected")) == 1
    assert ("TRL preparation: train: 12 pairs, 3 dropped by TRL because the prompt alone reaches max_length=64 "
            "(first ids: a, b, <row 5 of data/train-00000-of-00001.parquet, no id>); 1 kept but truncated at max_length") in messages  # fmt: skip
    assert ("TRL preparation: test: 6 pairs, 2 dropped by TRL because the prompt alone reaches max_length=64 "
            f"(first ids: 101, <row 2 of data/test-00000-of-00001.parquet, no id>); {cut(test, responses=('chosen', 'rejected'))} kept but truncated at max_length") in messages  # fmt: skip
    assert any(m.startswith("training: 9 pairs") for m in messages), messages
    record = json.loads((dpo.output / "prefdata_train.json").read_text())["drops"]
    assert record["train"] == {"split": "train", "max_length": 64, "pairs_in": 12, "pairs_kept": 9, "dropped": 3,
                               "dropped_ids": ["a", "b", "<row 5 of data/train-00000-of-00001.parquet, no id>"], "truncated": 1}  # fmt: skip
    assert record["test"]["dropped_ids"] == ["101", "<row 2 of data/test-00000-of-00001.parquet, no id>"] and record["test"]["pairs_kept"] == 4
    evaluation = json.loads((dpo.output / "eval.json").read_text())
    assert evaluation["dropped_by_trl"] == 2 and evaluation["pairs"] == 4

    sft = train_sft(root, str(tiny_model), tmp_path / "sft", overrides={**SFT_FAST, "trl.max_steps": 1}, no_check=True)
    assert sft.drops["train"].dropped_ids == ["a", "b", "<row 5 of data/train-00000-of-00001.parquet, no id>"] and sft.drops["train"].pairs_kept == 9
    assert sft.drops["train"].truncated == cut(train, responses=("chosen",)) == 1


def test_sft_counts_the_chosen_responses_it_cuts_at_max_length_exactly(tmp_path, tiny_model, task_splits):
    """`train sft` said nothing of the responses TRL cuts at max_length (their end, and the end-of-turn token, never
    trained on); `train dpo` counts them. A pair exactly max_length tokens long is whole (hunt traindata23 #06)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    rows = [
        {**r, "chosen": [{"role": "assistant", "content": " ".join([r["chosen"][0]["content"]] * k)}]}
        for k, r in enumerate(task_splits["train"][:8], start=1)
    ]
    lengths = [_templated_length(tokenizer, r["prompt"] + r["chosen"]) for r in rows]
    assert lengths == sorted(set(lengths))  # each row longer than the one before
    max_length = lengths[4]  # row 4 fills max_length exactly; rows 5, 6, 7 are cut
    rows.append(_long(rows[0]))  # dropped (its prompt alone is too long), so not counted as cut
    root = write_canonical(tmp_path / "out", {"train": rows}, manifest=False)
    messages: list[str] = []
    result = train_sft(root, str(tiny_model), tmp_path / "sft", no_check=True, progress=messages.append,
                       overrides={**SFT_FAST, "trl.max_steps": 1, "trl.max_length": max_length})  # fmt: skip
    assert result.drops["train"].truncated == 3 and result.drops["train"].dropped == 1
    assert any(m.startswith("TRL preparation: train: 9 pairs, 1 dropped") and m.endswith("; 3 kept but truncated at max_length")
               for m in messages), messages  # fmt: skip
    assert json.loads((result.output / "prefdata_train.json").read_text())["drops"]["train"]["truncated"] == 3


def test_a_chat_template_that_raises_under_no_check_is_a_data_error(tmp_path, tiny_model, task_splits):
    """With --no-check, TRL's rendering met the template's raise_exception: jinja2 traceback, exit 3, "a bug, not a
    problem with your data" (hunt traindata23 #05). The gate reports the same pairs when it runs."""
    import shutil

    model = shutil.copytree(tiny_model, tmp_path / "model")
    (model / "chat_template.jinja").write_text(
        "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
        "{% endif %}{{ '<|' + m['role'] + '|>' + m['content'] + '<|end|>' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
    )
    rows = task_splits["train"][:4]
    rows.append({**rows[0], "prompt": [{"role": "system", "content": "Be brief."}, *rows[0]["prompt"]]})
    root = write_canonical(tmp_path / "out", {"train": rows})
    with pytest.raises(DataError) as info:
        train_sft(root, str(model), tmp_path / "sft", overrides={**SFT_FAST, "trl.max_steps": 1}, no_check=True)
    message = str(info.value)
    assert "the chat template raised an error while TRL rendered the pairs: System role not supported." in message
    command = message.split("Run `", 1)[1].split("`", 1)[0]
    words = shlex.split(command)
    assert words[:2] == ["prefdata", "check"] and words[2] == str(root) and "--max-length" in words
    ran = CliRunner().invoke(cli, words[1:] + ["--no-write"])  # the printed command runs and lists the pair
    assert ran.exit_code == 1, ran.output
    assert "chat_template_roundtrip" in ran.output


# --- the check gate -------------------------------------------------------------------------------------------------


def _fake_check(passed: bool):
    checks = [
        SimpleNamespace(
            id="identical_pairs", severity="error", passed=passed, message="3 pairs have chosen == rejected"
        ),
        SimpleNamespace(
            id="length_bias", severity="warn", passed=False, message="71% of pairs prefer the longer response"
        ),
    ]
    return lambda path, *args, **kwargs: SimpleNamespace(passed=passed, checks=checks)


def test_a_dataset_whose_check_has_errors_is_refused(task_data, tiny_model, tmp_path, monkeypatch):
    import prefdata

    monkeypatch.setattr(prefdata, "check", _fake_check(passed=False), raising=False)
    with pytest.raises(CheckFailedError) as info:
        train_sft(task_data, str(tiny_model), tmp_path / "out", overrides=SFT_FAST)
    message = str(info.value)
    assert "identical_pairs: 3 pairs have chosen == rejected" in message
    assert "--no-check" in message
    assert "length_bias" not in message  # warnings do not block and are not listed as the reason


def test_no_check_skips_the_gate_and_a_passing_check_is_recorded(task_data, tiny_model, tmp_path, monkeypatch):
    import prefdata
    from prefdata.train.gate import run_check_gate

    monkeypatch.setattr(prefdata, "check", _fake_check(passed=False), raising=False)
    assert run_check_gate(task_data, no_check=True) == {
        "ran": False,
        "passed": None,
        "failed": [],
        "reason": "--no-check",
    }
    monkeypatch.setattr(prefdata, "check", _fake_check(passed=True), raising=False)
    summary = run_check_gate(task_data)
    assert summary["ran"] and summary["passed"]
    assert [c["id"] for c in summary["failed"]] == ["length_bias"]


def _failing(check_id: str, severity: str) -> SimpleNamespace:
    return SimpleNamespace(id=check_id, severity=severity, passed=False, message="bad")


def test_the_refusal_lists_ten_failed_checks_and_counts_the_rest(task_data, monkeypatch):
    """gate.py: the refusal lists SHOW_CHECKS (10) failed checks, errors only when there are errors, and says
    how many more failed ("... and N more"); none at exactly 10."""
    import prefdata
    from prefdata.train.gate import run_check_gate

    errors = [_failing(f"e{i:02d}", "error") for i in range(13)]

    def refusal(checks):
        monkeypatch.setattr(prefdata, "check", lambda path, **kwargs: SimpleNamespace(passed=False, checks=checks), raising=False)
        with pytest.raises(CheckFailedError) as info:
            run_check_gate(task_data)
        return str(info.value)

    message = refusal([*errors, _failing("w_only", "warn")])
    listed = re.findall(r"^  \[error\] (e\d\d): bad$", message, flags=re.MULTILINE)
    assert listed == [f"e{i:02d}" for i in range(10)]
    assert "\n  ... and 3 more\n" in message and "w_only" not in message
    message = refusal(errors[:10])
    assert len(re.findall(r"^  \[error\] e\d\d: bad$", message, flags=re.MULTILINE)) == 10 and "... and " not in message


def test_a_strict_gate_lists_the_warnings_that_refused_and_its_check_command_is_strict(task_data, monkeypatch):
    """gate.py: a strict gate refuses warnings as `prefdata check --strict` does, lists them (nothing else
    failed), and the `prefdata check` command it suggests carries --strict: without it that command passes."""
    import prefdata
    from prefdata.train.gate import check_command, run_check_gate
    from prefdata.train.recipe import CheckSpec

    fake = SimpleNamespace(passed=False, checks=[_failing("length_bias", "warn")])
    monkeypatch.setattr(prefdata, "check", lambda path, **kwargs: fake, raising=False)
    with pytest.raises(CheckFailedError) as info:
        run_check_gate(task_data, spec=CheckSpec(strict=True))
    assert "\n  [warn] length_bias: bad\n" in str(info.value)
    command = re.search(r"See `(.*?)` for details", str(info.value)).group(1)
    assert shlex.split(command) == ["prefdata", "check", str(task_data), "--strict"]
    words = shlex.split(check_command(Path("my data"), CheckSpec(strict=True, config="c.yaml"), "org/tok", 512))
    assert words == ["prefdata", "check", "my data", "--config", "c.yaml", "--tokenizer", "org/tok", "--max-length", "512", "--strict"]
    assert shlex.split(check_command(Path("my data"), CheckSpec(), None, None)) == ["prefdata", "check", "my data"]


def test_canonical_schema_is_what_the_support_writer_writes(task_data):
    df = pl.read_parquet(task_data / "data" / "train-00000-of-00001.parquet")
    assert df.schema == CANONICAL_SCHEMA


@pytest.fixture
def real_check():
    import prefdata

    return prefdata.check


def test_real_check_gate_passes_the_synthetic_task_with_the_runs_tokenizer(task_data, tiny_model, real_check):
    from prefdata.train.gate import run_check_gate

    summary = run_check_gate(task_data, tokenizer=tiny_model, max_length=64)
    assert summary["ran"] and summary["passed"]
    assert summary["tokenizer"] == str(tiny_model) and summary["max_length"] == 64
    assert not (task_data / "checks.json").exists()  # the gate never writes into the dataset


def test_real_check_gate_refuses_identical_responses(tmp_path, tiny_model, real_check):
    rows = preference_rows(20, seed=1)
    rows[3]["rejected"] = rows[3]["chosen"]
    data = write_canonical(tmp_path / "out", {"train": rows})
    with pytest.raises(CheckFailedError, match=r"\[error\] identical_responses"):
        train_sft(data, str(tiny_model), tmp_path / "sft", overrides=SFT_FAST)
    assert not (tmp_path / "sft").exists()


def test_failed_suite_expectations_are_named_in_the_refusal(task_data, monkeypatch):
    import prefdata
    from prefdata.train.gate import run_check_gate

    expectation = SimpleNamespace(
        expectation_type="expect_column_values_to_not_be_null",
        kwargs={"column": "id"},
        severity="error",
        passed=False,
        result={"unexpected_count": 2},
    )
    fake = SimpleNamespace(passed=False, expectations=[expectation], checks=[])
    monkeypatch.setattr(prefdata, "check", lambda path, **kwargs: fake, raising=False)
    with pytest.raises(CheckFailedError, match=r"\[error\] expect_column_values_to_not_be_null\(id\): 2 unexpected"):
        run_check_gate(task_data)


def test_the_sft_gate_leaves_out_truncation_identical_which_only_dpo_suffers(tmp_path, tiny_model, real_check):
    """A pair whose responses differ only past max_length gives DPO no signal, but SFT still learns
    the chosen response: only the DPO gate refuses it."""
    from prefdata.train.gate import run_check_gate

    rows = preference_rows(20, seed=2)
    shared = " ".join(["the answer is clear"] * 40)
    rows[5]["chosen"] = [{"role": "assistant", "content": shared + " yes"}]
    rows[5]["rejected"] = [{"role": "assistant", "content": shared + " no"}]
    data = write_canonical(tmp_path / "out", {"train": rows})
    with pytest.raises(CheckFailedError, match=r"\[error\] truncation_identical"):
        run_check_gate(data, tokenizer=tiny_model, max_length=32)
    summary = run_check_gate(data, tokenizer=tiny_model, max_length=32, stage="sft")
    assert summary["ran"] and summary["passed"]
    assert "truncation_identical" not in [c["id"] for c in summary["failed"]]


def test_the_gate_runs_with_the_check_config_and_suite_the_recipe_names(tmp_path, tiny_model, real_check):
    """The gate always ran the default config: a team config that makes `pii` an error failed
    `prefdata check --config` (the CI gate) while `train` trained on the same data, and a check the
    team turned off blocked training with --no-check the only way past."""
    from prefdata.train.errors import RecipeError
    from prefdata.train.gate import run_check_gate
    from prefdata.train.recipe import CheckSpec

    rows = preference_rows(20, seed=3)
    rows[2]["chosen"] = [{"role": "assistant", "content": "Write to help@acme-support.com about it."}]
    rows[4]["rejected"] = rows[4]["chosen"]  # identical_responses: an error by default
    data = write_canonical(tmp_path / "out", {"train": rows})
    team = tmp_path / "team.yaml"
    team.write_text("checks:\n  pii: {severity: error}\n")
    with pytest.raises(CheckFailedError, match=r"\[error\] identical_responses") as info:
        run_check_gate(data, tokenizer=tiny_model, max_length=64, spec=CheckSpec(config=str(team)))
    assert "[error] pii" in str(info.value)
    command = re.search(r"See `(.*?)` for details", str(info.value)).group(1)  # reproduces the refusal in a shell
    assert shlex.split(command) == ["prefdata", "check", str(data), "--config", str(team), "--tokenizer", str(tiny_model), "--max-length", "64"]
    team.write_text("checks:\n  identical_responses: {enabled: false}\n")
    summary = run_check_gate(data, tokenizer=tiny_model, max_length=64, stage="sft", spec=CheckSpec(config=team))  # a Path too
    assert summary["passed"] and summary["config"] == str(team)
    with pytest.raises(CheckFailedError, match=r"\[warn\] pii"):  # strict: warnings refuse too, as check --strict
        run_check_gate(data, tokenizer=tiny_model, max_length=64, spec=CheckSpec(config=str(team), strict=True))
    team.write_text("checks:\n  no_such_check: {}\n")
    with pytest.raises(RecipeError, match=r"check.config: .*team.yaml.*no_such_check"):
        run_check_gate(data, spec=CheckSpec(config=str(team)))


def test_check_config_reaches_the_gate_from_the_cli_and_the_record(tmp_path, task_data, tiny_model, monkeypatch):
    from click.testing import CliRunner

    import prefdata
    from prefdata.cli import cli

    seen = {}

    def fake_check(path, **kwargs):
        seen.update(kwargs)
        return SimpleNamespace(passed=False, expectations=[], checks=[])

    monkeypatch.setattr(prefdata, "check", fake_check, raising=False)
    team, suite = tmp_path / "team.yaml", tmp_path / "suite.json"
    team.write_text("checks:\n  pii: {severity: error}\n")
    suite.write_text("{}")
    result = CliRunner().invoke(cli, ["train", "sft", "--data", str(task_data), "--model", str(tiny_model), "--output",
                                      str(tmp_path / "sft"), "--check-config", str(team), "--check-suite", str(suite)])
    assert result.exit_code == 2, result.output
    assert seen["config"]["checks"]["pii"]["severity"] == "error" and seen["suite"] == str(suite)
    assert seen["config"]["checks"]["shard_integrity"]["enabled"] is False  # still merged with the gate's own


@pytest.mark.parametrize("other", ["no id", "integer id"])
def test_a_split_whose_shards_disagree_on_id_is_refused_naming_them(tmp_path, other):
    """The loader read the first shard's columns for the whole split and failed on the others: a `datasets`
    traceback, exit 3, after validation had passed each shard (hunt traindata23 #03)."""
    frame = good_frame(6)
    (tmp_path / "data").mkdir()
    frame[:3].write_parquet(tmp_path / "data" / "train-00000-of-00002.parquet")
    rest = frame[3:].drop("id") if other == "no id" else frame[3:].with_columns(pl.int_range(3).alias("id"))
    rest.write_parquet(tmp_path / "data" / "train-00001-of-00002.parquet")
    with pytest.raises(DataError) as info:
        validate_for_trl(open_training_data(tmp_path))
    message = str(info.value)
    said = "no `id` column" if other == "no id" else "`id` of type Int64"
    assert ("the train split's shards disagree on `id` (data/train-00000-of-00002.parquet: `id` of type text; "
            f"data/train-00001-of-00002.parquet: {said})") in message  # fmt: skip
    assert "give every shard the same `id` column, or drop it from all of them" in message


@pytest.mark.parametrize("spelling", ["large_string", "dictionary", "dictionary first"])
def test_shards_storing_id_as_text_in_other_arrow_types_agree(tmp_path, spelling):
    """Arrow spellings of one text type (large_string; dictionary-encoded, as pandas `category` writes
    it, which trained before the shard check refused it): the loader reads them alike, so they are not refused."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from prefdata.train.data import load_split

    frame = good_frame(6)
    (tmp_path / "data").mkdir()
    plain, other = (frame[:3].to_arrow(), frame[3:].to_arrow())
    at = other.schema.get_field_index("id")
    ids = other.column("id").cast(pa.large_string()) if spelling == "large_string" else other.column("id").dictionary_encode()
    other = other.set_column(at, "id", ids)
    first, second = (other, plain) if spelling == "dictionary first" else (plain, other)
    pq.write_table(first, tmp_path / "data" / "train-00000-of-00002.parquet")
    pq.write_table(second, tmp_path / "data" / "train-00001-of-00002.parquet")
    data = open_training_data(tmp_path)
    validate_for_trl(data)
    expected = frame["id"].to_list()
    expected = expected[3:] + expected[:3] if spelling == "dictionary first" else expected
    assert [str(i) for i in load_split(data, "train")["id"][:]] == expected


@pytest.mark.parametrize("name", ["run [v1]", "ds*"])
def test_a_dataset_path_with_glob_characters_loads_its_own_rows(tmp_path, name):
    """polars and datasets read paths as globs: a dataset in `run [v1]` could not be validated or
    loaded, and one in `ds*` loaded its neighbour `ds1`'s rows along with its own."""
    from prefdata.train.data import load_split

    write_frame(tmp_path / "ds1", good_frame(7))
    data = open_training_data(write_frame(tmp_path / name, good_frame()))
    validate_for_trl(data)
    assert len(load_split(data, "train")) == 4

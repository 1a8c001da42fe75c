"""A dataset card's ``configs:`` header maps files to splits, and ``datasets.load_dataset(OUT)`` follows
it over file names; check, report and train follow it too, so a test split the card names is checked
for leakage even when its file name says nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import load_dataset_builder

from prefdata.card_configs import card_splits
from prefdata.splits import name_problems, split_names

CARDS = {
    "split per pattern": (["part-a.parquet", "part-b.parquet"],
                          "configs:\n- config_name: default\n  data_files:\n  - {split: train, path: data/part-a*}\n  - {split: test, path: data/part-b*}\n"),
    "path lists": (["a.parquet", "b.parquet", "c.parquet"],
                   "configs:\n- config_name: default\n  data_files:\n  - split: train_prefs\n    path: [data/a.parquet, data/b.parquet]\n  - split: test_prefs\n    path: data/c.parquet\n"),
    "one pattern is all train": (["test.parquet", "x.parquet"], "configs:\n- config_name: default\n  data_files: data/*.parquet\n"),
    "the only config is the default": (["p.parquet", "q.parquet"],
                                       "configs:\n- config_name: prefs\n  data_files:\n  - {split: validation, path: 'data/[p]*.parquet'}\n  - {split: train, path: 'data/q?parquet'}\n"),
    "default marked true": (["sft-1.parquet", "pref-1.parquet", "pref-2.parquet"],
                            "configs:\n- config_name: sft\n  data_files: data/sft-*\n- config_name: prefs\n  default: true\n  data_files:\n  - {split: train, path: data/pref-1*}\n  - {split: test, path: data/pref-2*}\n"),
    "double star": (["train.parquet", "holdout.parquet"],
                    "configs:\n- config_name: default\n  data_files:\n  - {split: train, path: '**/train.parquet'}\n  - {split: test, path: 'data/**/holdout.parquet'}\n"),
    # datasets.naming._split_re is ^\w+(\.\w+)*$: a dotted split name is one the loader takes
    "dotted split name": (["a.parquet", "b.parquet"],
                          "configs:\n- config_name: default\n  data_files:\n  - {split: train.v2, path: data/a*}\n  - {split: test, path: data/b*}\n"),
    "data_dir alone": (["train_x.parquet", "eval_x.parquet"], "configs:\n- config_name: default\n  data_dir: data\n"),
    "no configs": (["part-a.parquet", "test_0.parquet"], "license: mit\n"),
}


def _write(root: Path, names: list[str], header: str) -> list[Path]:
    (root / "data").mkdir(parents=True)
    files = [root / "data" / n for n in names]
    for f in files:
        pq.write_table(pa.table({"x": [1]}), f)
    (root / "README.md").write_text(f"---\n{header}---\n\n# A dataset\n", encoding="utf-8")
    return files


def _problems(root: Path, files: list[Path]) -> dict[str, str]:
    """Name problems by file name, and the card's own problem under README.md (as check reports them)."""
    card = card_splits(root, files)
    problems = {f.name: p for f, p in name_problems(files, card).items()}
    return problems | ({"README.md": card.problem} if card.problem else {})


def _loader_splits(root: Path) -> dict[str, list[str]]:
    """File name -> the splits ``datasets.load_dataset(root)`` reads it into."""
    files = load_dataset_builder(str(root)).config.data_files
    got: dict[str, list[str]] = {}
    for split, fs in files.items():
        for f in fs:
            got.setdefault(os.path.basename(f), []).append(str(split))
    return got


@pytest.mark.parametrize("case", list(CARDS))
def test_splits_follow_the_card_as_the_hugging_face_loader_does(tmp_path: Path, case: str) -> None:
    names, header = CARDS[case]
    files = _write(tmp_path, names, header)
    loader = _loader_splits(tmp_path)
    ours = split_names(files, card_splits(tmp_path, files))
    assert {f.name: [s] for f, s in ours.items() if f.name in loader} == loader
    assert not _problems(tmp_path, files)


def test_the_split_a_card_gives_overrides_the_file_name(tmp_path: Path) -> None:
    names, header = CARDS["one pattern is all train"]
    files = _write(tmp_path, names, header)
    assert split_names(files) == {files[0]: "test", files[1]: "x"}  # file names alone: the loader leaves x out
    assert split_names(files, card_splits(tmp_path, files)) == {files[0]: "train", files[1]: "train"}


def test_a_file_the_default_config_leaves_out_keeps_its_name_split(tmp_path: Path) -> None:
    files = _write(tmp_path, ["train-1.parquet", "test-1.parquet"],
                   "configs:\n- config_name: default\n  data_files:\n  - {split: train, path: data/train-*}\n")
    assert "test-1.parquet" not in _loader_splits(tmp_path)
    assert list(split_names(files, card_splits(tmp_path, files)).values()) == ["train", "test"]


def test_several_configs_and_no_default_is_a_problem_and_file_names_decide(tmp_path: Path) -> None:
    files = _write(tmp_path, ["train_a.parquet", "test_a.parquet"],
                   "configs:\n- config_name: a\n  data_files: data/*\n- config_name: b\n  data_files: data/*\n")
    with pytest.raises(ValueError, match="Config name is missing"):
        __import__("datasets").load_dataset(str(tmp_path))
    assert list(split_names(files, card_splits(tmp_path, files)).values()) == ["train", "test"]
    assert "have no default, so load_dataset(OUT) asks for a config name" in _problems(tmp_path, files)["README.md"]


def test_a_card_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    names, header = CARDS["split per pattern"]
    files = _write(tmp_path, names, header)
    (tmp_path / "README.md").write_text("\ufeff" + (tmp_path / "README.md").read_text(), encoding="utf-8")
    assert _loader_splits(tmp_path) == {"part-a.parquet": ["train"], "part-b.parquet": ["test"]}
    assert list(split_names(files, card_splits(tmp_path, files)).values()) == ["train", "test"]


def test_the_last_config_of_a_name_is_the_one_read(tmp_path: Path) -> None:
    files = _write(tmp_path, ["part-a.parquet", "part-b.parquet"], (
        "configs:\n- config_name: default\n  data_files: data/*\n"
        "- config_name: default\n  data_files:\n  - {split: train, path: data/part-a*}\n  - {split: test, path: data/part-b*}\n"))
    assert _loader_splits(tmp_path) == {"part-a.parquet": ["train"], "part-b.parquet": ["test"]}
    assert list(split_names(files, card_splits(tmp_path, files)).values()) == ["train", "test"]
    assert not _problems(tmp_path, files)


def test_files_the_card_reads_outside_data_are_listed(tmp_path: Path) -> None:
    files = _write(tmp_path, ["part-a.parquet"],
                   "configs:\n- config_name: default\n  data_files:\n  - {split: train, path: data/*}\n  - {split: test, path: eval/*}\n")
    (tmp_path / "eval").mkdir()
    pq.write_table(pa.table({"x": [1]}), tmp_path / "eval" / "test.parquet")
    assert _loader_splits(tmp_path) == {"part-a.parquet": ["train"], "test.parquet": ["test"]}
    card = card_splits(tmp_path, files)
    assert card.outside == {"eval/test.parquet": "test"} and card.splits == {files[0]: ["train"]}


def test_a_file_the_card_reads_into_two_splits_is_a_problem(tmp_path: Path) -> None:
    files = _write(tmp_path, ["a.parquet", "b.parquet"],
                   "configs:\n- config_name: default\n  data_files:\n  - {split: train, path: data/*}\n  - {split: test, path: data/b*}\n")
    assert _loader_splits(tmp_path)["b.parquet"] == ["train", "test"]  # a trainer would train on test pairs
    assert _problems(tmp_path, files) == {"b.parquet": "the dataset card's default config reads it into 2 splits (train, test)"}


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("configs:\n- config_name: default\n  data_files:\n  - {split: my-train, path: data/*}\n", "split name of letters"),
        ("configs:\n- config_name: default\n  data_files: {train: data/*}\n", "data_files must be a pattern or a list"),
        ("configs:\n- config_name: default\n  data_files: data/*\n- config_name: x\n  default: true\n  data_files: data/*\n",
         "several default configs"),
        ("configs:\n- data_files: data/*\n", "config_name"),
        ("configs: [unclosed\n", "does not parse"),
        ("- configs\n", "is a list, not a mapping"),
        ("configs:\n- config_name: default\n  data_files: []\n", "data_files is empty"),
        # datasets' sanitize_patterns: "Some splits are duplicated in data_files"
        ("configs:\n- config_name: default\n  data_files:\n  - {split: train, path: data/a*}\n  - {split: train, path: data/b*}\n",
         "split 'train' is named twice in data_files"),
        ("configs:\n- config_name: default\n  data_files:\n  - {split: train, path: data/a*}\n  - {split: test, path: data/c*}\n",
         "test pattern 'data/c*' matches no file"),
        ("configs:\n- config_name: default\n  data_files:\n  - {split: train, path: 'data/**a.parquet'}\n",
         "'**' can only be an entire path component"),
        ("configs:\n- config_name: default\n  data_dir: data\n  data_files:\n  - {split: train, path: a.parquet}\n",
         "train pattern 'a.parquet' matches no file"),
        ("configs:\n- config_name: default\n  data_files: data/*\n- config_name: other\n  data_files: {train: data/a.parquet}\n",
         "config 'other': data_files must be a pattern or a list"),
        # paths that are not text were str()-ed into patterns; datasets fails on them
        ("configs:\n- config_name: default\n  data_files:\n  - {split: train, path: [[data/a.parquet]]}\n",
         "config 'default': data_files path [['data/a.parquet']] of split 'train' is not a pattern or a list of patterns"),
        ("configs:\n- config_name: default\n  data_files:\n  - {split: train, path: [data/a.parquet, 3]}\n",
         "data_files path ['data/a.parquet', 3] of split 'train' is not a pattern"),
        ("configs:\n- config_name: [a]\n  data_files: data/*\n", "the dataset card's config_name ['a'] is not a name"),
    ],
)
def test_a_card_the_loader_refuses_is_a_problem(tmp_path: Path, header: str, problem: str) -> None:
    files = _write(tmp_path, ["a.parquet", "b.parquet"], header)
    with pytest.raises(Exception):  # noqa: B017 - the loader's own error type varies by case
        __import__("datasets").load_dataset(str(tmp_path))
    problems = _problems(tmp_path, files)
    assert any(problem in p for p in problems.values()), problems


def test_a_card_value_that_an_alias_repeats_is_quoted_short(tmp_path: Path) -> None:
    """A 431-byte card whose data_files path was a YAML alias nesting lists 5 levels deep (100,000 items)
    was str()-ed: a 1.4 MB finding and glob regex (6 levels: over a minute). It is a short problem now."""
    import time

    bomb = "[&x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]" + "".join(
        f", &x{i} [" + ", ".join([f"*x{i - 1}"] * 10) + "]" for i in range(1, 7)) + "]"
    files = _write(tmp_path, ["a.parquet"], f"x: {bomb}\nconfigs:\n- config_name: *x6\n- config_name: default\n"
                                            "  data_files:\n  - split: train\n    path: *x6\n")
    start = time.perf_counter()
    problem = _problems(tmp_path, files)["README.md"]
    assert time.perf_counter() - start < 5 and len(problem) < 300, problem
    assert problem.startswith("the dataset card's config_name [[[...], [...], [...], ...], ")
    (tmp_path / "README.md").write_text(f"---\nx: {bomb}\nconfigs:\n- config_name: default\n  data_files:\n"
                                        "  - split: train\n    path: *x6\n---\n", encoding="utf-8")
    problem = _problems(tmp_path, files)["README.md"]
    assert len(problem) < 300 and "data_files path [[[...], [...], [...], ...]," in problem and "of split 'train'" in problem

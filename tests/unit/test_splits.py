"""Shards get the splits the Hugging Face loader gives them, so check, report and train see the splits a
trainer will: a test split in ``test_0.parquet`` is a test split, not one named ``test_0`` that the
leakage checks pass over."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from datasets.data_files import DataFilesDict, get_data_patterns

from prefdata.splits import is_train_split, loader_reads, split_names

CASES = [
    ["train-00000-of-00002.parquet", "train-00001-of-00002.parquet", "test-00000-of-00001.parquet"],
    ["train_prefs-00000-of-00001.parquet", "test_prefs-00000-of-00001.parquet", "train_sft-00000-of-00001.parquet"],
    ["train_0.parquet", "test_0.parquet"],
    ["train.parquet", "validation.parquet", "test.parquet"],
    ["my-train.parquet", "my-eval.parquet", "dev.parquet", "val_1.parquet"],
    ["training_data.parquet", "testing data.parquet"],
    ["part-a.parquet", "part-b.parquet"],
    ["data.parquet"],
    ["pretrain.parquet", "contest.parquet"],  # a keyword inside a word is no keyword: all train
]


def _loader_splits(root: Path) -> dict[str, str]:
    """File name -> split, as ``datasets.load_dataset(root)`` would assign them."""
    files = DataFilesDict.from_patterns(get_data_patterns(str(root)), base_path=str(root))
    return {os.path.basename(f): str(split) for split, fs in files.items() for f in fs}


@pytest.mark.parametrize("names", CASES, ids=lambda names: names[0])
def test_splits_are_the_hugging_face_loaders(tmp_path: Path, names: list[str]) -> None:
    (tmp_path / "data").mkdir()
    files = [tmp_path / "data" / n for n in names]
    for f in files:
        f.write_bytes(b"")
    ours = {f.name: split for f, split in split_names(files).items()}
    assert ours == _loader_splits(tmp_path)


def test_a_file_the_loader_leaves_out_still_has_a_split() -> None:
    # beside files of the sharded layout the loader reads only those; a keyword names the others here
    got = split_names([Path("train-00000-of-00001.parquet"), Path("test_extra.parquet"), Path("notes-1.parquet")])
    assert list(got.values()) == ["train", "test", "notes"]


def test_beside_hub_shards_the_loader_reads_only_the_shards(tmp_path: Path) -> None:
    """README/``prefdata.splits``: beside files of the Hub's sharded layout the loader reads only those;
    a keyword-named file there (``test_extra``, ``dev``) is left out, so check and report must not count
    it as trained on or evaluated. Oracle: ``datasets``' own pattern resolution."""
    names = ["dev.parquet", "test-00000-of-00001.parquet", "test_extra.parquet", "train-00000-of-00001.parquet"]
    (tmp_path / "data").mkdir()
    files = [tmp_path / "data" / n for n in names]
    for f in files:
        f.write_bytes(b"")
    read = sorted(f.name for f in loader_reads(files))
    assert read == sorted(_loader_splits(tmp_path)) == ["test-00000-of-00001.parquet", "train-00000-of-00001.parquet"]


@pytest.mark.parametrize(
    ("split", "train"),
    [("train", True), ("training", True), ("train_prefs", True), ("sft_train", True), ("train2", True),
     ("test", False), ("test_prefs", False), ("validation", False), ("pretrain", False), ("trainer", False)],
)
def test_training_splits(split: str, train: bool) -> None:
    assert is_train_split(split) is train

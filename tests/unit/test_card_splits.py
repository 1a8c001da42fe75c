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
        # an empty path list: no pattern, so that split has no file ("Couldn't infer the same data file format")
        ("configs:\n- config_name: default\n  data_files:\n  - {split: train, path: data/a.parquet}\n  - {split: test, path: []}\n",
         "data_files path [] of split 'test' is not a pattern or a list of patterns"),
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


def _parquet(root: Path, *rels: str) -> list[Path]:
    """One-row Parquet files at ``rels`` under ``root``; each row's ``f`` is its own path, to see what the loader read."""
    out = []
    for rel in rels:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"f": [rel]}), root / rel)
        out.append(root / rel)
    return out


def _card(root: Path, header: str) -> None:
    (root / "README.md").write_text(f"---\n{header}---\n", encoding="utf-8")


def _loaded(root: Path) -> dict[str, list[str]]:
    """File (its ``f`` value) -> the splits ``datasets.load_dataset(root)`` reads it into."""
    import datasets

    got: dict[str, list[str]] = {}
    for split, rows in datasets.load_dataset(str(root), cache_dir=str(root.parent / "hf-cache")).items():
        for f in sorted(set(rows["f"])):
            got.setdefault(f, []).append(str(split))
    return got


@pytest.mark.parametrize("data_dir", ["data", "data/", "/data/"])
def test_a_data_dir_with_slashes_is_the_same_folder(tmp_path: Path, data_dir: str) -> None:
    """``data_dir: data/`` names the folder ``data`` (the loader joins it to the dataset path): its shards
    are the default config's, split by name (CardSplits: an empty list under a data_dir alone)."""
    files = _parquet(tmp_path, "data/train.parquet", "data/test.parquet")
    _card(tmp_path, f"configs:\n- config_name: default\n  data_dir: {data_dir}\n")
    if data_dir == "data/":
        assert _loaded(tmp_path) == {"data/train.parquet": ["train"], "data/test.parquet": ["test"]}
    card = card_splits(tmp_path, files)
    assert (card.followed, card.problem, card.splits) == (True, None, {files[0]: [], files[1]: []})


def test_a_data_dir_alone_holds_only_the_shards_under_it(tmp_path: Path) -> None:
    """A default config with ``data_dir: data/en`` and no data_files reads data/en only: data/fr is not its."""
    files = _parquet(tmp_path, "data/en/train.parquet", "data/en/test.parquet", "data/fr/train.parquet")
    _card(tmp_path, "configs:\n- config_name: default\n  data_dir: data/en\n")
    assert _loaded(tmp_path) == {"data/en/train.parquet": ["train"], "data/en/test.parquet": ["test"]}
    assert card_splits(tmp_path, files).splits == {files[0]: [], files[1]: []}


def test_without_a_card_dunder_folders_are_not_data(tmp_path: Path) -> None:
    """``resolve_pattern`` skips ``__``-named folders unless a pattern names them (module doc of
    _dataset_files: "not in hidden or ``__`` folders"), so ``__x/test.parquet`` is not read outside data/."""
    files = _parquet(tmp_path, "data/train.parquet", "__x/test.parquet", ".hidden/test.parquet")
    assert _loaded(tmp_path) == {"data/train.parquet": ["train"]}
    card = card_splits(tmp_path, files[:1])
    assert (card.outside, card.problem, card.default_read) == ({}, None, frozenset(files[:1]))


def test_without_a_card_parquet_wins_a_tie_of_counts(tmp_path: Path) -> None:
    """One .parquet and one .txt in a split: the loader picks Parquet on the tie (_reader: "on a tie Parquet first")."""
    files = _parquet(tmp_path, "train.parquet")
    (tmp_path / "train.txt").write_text("hello\n", encoding="utf-8")
    assert _loaded(tmp_path) == {"train.parquet": ["train"]}
    assert card_splits(tmp_path, files).default_read == frozenset(files)


def test_a_negated_class_in_a_card_glob(tmp_path: Path) -> None:
    """``[!b]`` is a negated class in fsspec's glob, as in fnmatch: ``part-[!b]`` matches part-a only."""
    files = _parquet(tmp_path, "data/part-a.parquet", "data/part-b.parquet", "data/part-!.parquet")
    _card(tmp_path, "configs:\n- config_name: default\n  data_files:\n"
                    "  - {split: train, path: 'data/part-[!b].parquet'}\n  - {split: test, path: data/part-b.parquet}\n")
    expected = {"data/part-a.parquet": ["train"], "data/part-!.parquet": ["train"], "data/part-b.parquet": ["test"]}
    assert _loaded(tmp_path) == expected
    card = card_splits(tmp_path, files)
    assert card.problem is None
    assert {f.relative_to(tmp_path).as_posix(): s for f, s in card.splits.items()} == expected


def test_a_file_outside_the_shards_read_into_two_splits_is_named_with_its_first(tmp_path: Path) -> None:
    """_outside: "each with its first split", the first of data_files' order (train here, listed first)."""
    files = _parquet(tmp_path, "data/train.parquet", "data/test.parquet", "extra/x.parquet")
    _card(tmp_path, "configs:\n- config_name: default\n  data_files:\n"
                    "  - split: train\n    path: [data/train.parquet, extra/x.parquet]\n"
                    "  - split: test\n    path: [data/test.parquet, extra/x.parquet]\n")
    assert card_splits(tmp_path, files[:2]).outside == {"extra/x.parquet": "train"}


#: data_files of the default config (beside data/a.parquet, data/b.parquet) -> what load_dataset reads,
#: or None where it fails. ``DataFilesList.from_patterns`` skips a glob (``glob.has_magic``: ``*?[``) that
#: matches nothing, raises for a path without one that names no file, and a split with no file fails.
UNMATCHED = {
    "a glob beside a match is skipped": (
        "  - split: train\n    path: [data/a*, data/zz-*.parquet]\n  - {split: test, path: data/b*}\n",
        {"data/a.parquet": ["train"], "data/b.parquet": ["test"]}),
    "all train, a glob beside a match": ("  data_files: [data/a*, 'data/z[0-9].parquet']\n",
                                         {"data/a.parquet": ["train"]}),
    "a missing path beside a match": (
        "  - split: train\n    path: [data/a.parquet, data/zz.parquet]\n  - {split: test, path: data/b*}\n", None),
    "a ']' alone is no wildcard": ("  - split: train\n    path: [data/a*, 'data/z].parquet']\n", None),
    "a split whose globs all match nothing": (
        "  - {split: train, path: data/a*}\n  - split: test\n    path: [data/zz*, data/yy*]\n", None),
    "a split of one glob that matches nothing": ("  - {split: train, path: data/a*}\n  - {split: test, path: data/zz*}\n", None),
}


@pytest.mark.parametrize("case", list(UNMATCHED))
def test_a_pattern_that_matches_nothing_is_refused_as_the_loader_refuses_it(tmp_path: Path, case: str) -> None:
    body, expected = UNMATCHED[case]
    files = _parquet(tmp_path, "data/a.parquet", "data/b.parquet")
    data_files = body if body.startswith("  data_files:") else "  data_files:\n" + body
    _card(tmp_path, "configs:\n- config_name: default\n" + data_files)
    _agrees_with_the_loader(tmp_path, files, expected, "no file")


def _agrees_with_the_loader(root: Path, files: list[Path], expected: dict[str, list[str]] | None, problem: str) -> None:
    """card_splits reads what ``load_dataset(root)`` reads (``expected``), or, where the loader fails
    (``expected`` None), has a problem saying ``problem`` and no splits."""
    card = card_splits(root, files)
    if expected is None:
        with pytest.raises((FileNotFoundError, ValueError)):
            _loaded(root)
        assert card.problem is not None and problem in card.problem and card.splits == {}
    else:
        assert _loaded(root) == expected
        assert card.problem is None
        assert {f.relative_to(root).as_posix(): s for f, s in card.splits.items()} == expected


#: data_files beside data/a.parquet, data/b.parquet and files the loader has no reader for (``.bak``, an
#: extension-less ``NOTES``) -> what load_dataset reads, or None where it fails. ``resolve_pattern`` keeps a
#: matched file only when one of its name's suffixes is an extension the loader reads: a glob left with
#: none is skipped, a path without wildcards is refused, and a split left with no file fails.
UNREAD_EXTENSIONS = {
    "a split whose glob matches only files without a readable extension": (
        "  - {split: train, path: data/a*}\n  - {split: test, path: data/*.bak}\n", None),
    "an extension-less file": ("  - {split: train, path: data/a*}\n  - {split: test, path: data/NOTES*}\n", None),
    "such a glob beside a match is skipped": (
        "  - split: train\n    path: [data/a*, data/*.bak]\n  - {split: test, path: data/b*}\n",
        {"data/a.parquet": ["train"], "data/b.parquet": ["test"]}),
    "a path naming such a file is refused": (
        "  - split: train\n    path: [data/a.parquet, data/old.bak]\n  - {split: test, path: data/b*}\n", None),
    "a glob over both keeps the readable files": (
        "  - {split: train, path: 'data/[aN]*'}\n  - {split: test, path: data/b*}\n",
        {"data/a.parquet": ["train"], "data/b.parquet": ["test"]}),
}


@pytest.mark.parametrize("case", list(UNREAD_EXTENSIONS))
def test_files_the_loader_has_no_reader_for_match_no_pattern(tmp_path: Path, case: str) -> None:
    body, expected = UNREAD_EXTENSIONS[case]
    files = _parquet(tmp_path, "data/a.parquet", "data/b.parquet")
    (tmp_path / "data" / "old.bak").write_bytes(b"not data")
    (tmp_path / "data" / "NOTES").write_text("not data either", encoding="utf-8")
    _card(tmp_path, "configs:\n- config_name: default\n  data_files:\n" + body)
    _agrees_with_the_loader(tmp_path, files, expected, "no file that datasets reads")


def test_a_split_of_unreadable_files_names_one_of_them(tmp_path: Path) -> None:
    """The problem says why a pattern that names a file matches none: the loader reads no file of its extension."""
    files = _parquet(tmp_path, "data/a.parquet")
    (tmp_path / "data" / "old.bak").write_bytes(b"not data")
    _card(tmp_path, "configs:\n- config_name: default\n  data_files:\n  - {split: train, path: data/a*}\n"
                    "  - {split: test, path: data/*.bak}\n")
    assert card_splits(tmp_path, files).problem == (
        "the dataset card's config 'default': test pattern 'data/*.bak' matches no file that datasets reads "
        "(data/old.bak has no extension it reads): datasets.load_dataset fails on it")


def test_a_split_that_finds_nothing_is_named_with_its_patterns(tmp_path: Path) -> None:
    files = _parquet(tmp_path, "data/a.parquet")
    _card(tmp_path, "configs:\n- config_name: default\n  data_files:\n  - {split: train, path: data/a*}\n"
                    "  - split: test\n    path: [data/zz*, data/yy*]\n")
    assert card_splits(tmp_path, files).problem == (
        "the dataset card's config 'default': test patterns ['data/zz*', 'data/yy*'] match no file: datasets.load_dataset fails on it")

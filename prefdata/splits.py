"""The split each data shard belongs to, read from file names the way the Hugging Face loader reads them.

``datasets.load_dataset(out)`` names the splits of a folder of Parquet files by their names (its
``data_files.get_data_patterns``), and a trainer sees those splits. ``check``, ``report`` and
``train`` must see the same ones, or a test split named ``test_0.parquet`` passes its leakage check
unchecked. The loader's rules, in order:

1. Files named ``{split}-NNNNN-of-NNNNN...`` (the Hub's sharded layout, which ``build`` writes) are
   that split: ``train-00000-of-00004.parquet`` is ``train``, ``test_prefs-00000-of-00001.parquet``
   is ``test_prefs``.
2. Otherwise a name that holds a split keyword, delimited by ``-``, ``.``, ``_``, a space or a digit,
   is that split: ``train``/``training``; ``validation``/``valid``/``dev``/``val``;
   ``test``/``testing``/``eval``/``evaluation``. So ``train_0.parquet`` is ``train`` and
   ``my-eval.parquet`` is ``test``.
3. A folder where no file names a split is one ``train`` split.

A dataset card (``README.md``) whose YAML header has ``configs:`` overrides these rules for the files
its default config names (:mod:`prefdata.card_configs`): pass what ``card_splits`` read from it.

A file the loader leaves out (one that names no split while others do, any file beside files of the
sharded layout, or one the card's default config does not name) still gets a split here: its
keyword's, or the part of its name before the first ``-``, so that ``check`` reads it and shows it.

>>> names = lambda *files: list(split_names([Path(f) for f in files]).values())
>>> names("train-00000-of-00002.parquet", "test-00000-of-00001.parquet")
['train', 'test']
>>> names("train_0.parquet", "test_0.parquet", "dev.parquet")
['train', 'test', 'validation']
>>> names("part-a.parquet", "part-b.parquet")
['train', 'train']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prefdata.card_configs import CardSplits

#: The Hub's sharded file name (``datasets``' ``SPLIT_PATTERN_SHARDED``), and its split name rule.
SHARDED = re.compile(r"^(?P<split>\w+(?:\.\w+)*)-\d{5}-of-\d{5}[^/]*\.[^/]*$")

#: Any name of the sharded form, whatever its split part.
_LOOKS_SHARDED = re.compile(r"^.+-\d{5}-of-\d{5}[^/]*\.[^/]*$")

#: ``datasets``' ``SPLIT_KEYWORDS``, in its order of splits.
KEYWORDS = {
    "train": ("train", "training"),
    "validation": ("validation", "valid", "dev", "val"),
    "test": ("test", "testing", "eval", "evaluation"),
}
#: The characters that delimit a split keyword in a name (a regex and fsspec glob character class).
SEP = r"[-._ 0-9]"
#: A file name holding a keyword: at its start or after a separator, and followed by a separator.
_IN_FILE_NAME = {split: re.compile(rf"(?:^|{SEP})(?:{'|'.join(words)}){SEP}") for split, words in KEYWORDS.items()}


def _between_separators(words: Sequence[str]) -> str:
    """A split name holding one of ``words`` at its start or after a separator, and at its end or before one."""
    return rf"(?:^|{SEP})(?:{'|'.join(words)})(?:{SEP}|$)"


#: A split name that is training data: ``train``, ``training``, ``train_prefs``, ``sft_train``...
_TRAIN_SPLIT = re.compile(_between_separators(KEYWORDS["train"]))
#: A split name that says which split it holds, by a keyword between separators: ``train``,
#: ``train_prefs``, ``sft_train``, ``test_prefs``, ``dev``; not ``gen`` or ``pretraining``. The shipped
#: suite's ``split`` expectation is this pattern (a test holds them equal): leakage is measured from
#: the splits that say train into all others, and ``train`` reads only train and test (or validation),
#: so a split that says none is worth a look.
SAYS_A_SPLIT = _between_separators([w for words in KEYWORDS.values() for w in words])


def split_names(files: Sequence[Path], card: CardSplits | None = None) -> dict[Path, str]:
    """The split of each of ``files`` (the shards of one ``data/`` folder), in the order given; as the
    dataset's card (:func:`prefdata.card_configs.card_splits`) says, where it is given and followed."""
    by_name = _by_file_name(files)
    if card is None or not card.followed:
        return by_name
    under_data_dir = _by_file_name([f for f, splits in card.splits.items() if not splits])  # a config's data_dir alone
    return {f: card.splits[f][0] if card.splits.get(f) else under_data_dir.get(f) or by_name[f] for f in files}


def loader_reads(files: Sequence[Path], card: CardSplits | None = None) -> list[Path]:
    """The ``files`` ``datasets.load_dataset`` reads (the others it leaves out), in the order given:
    those the card's default config names, else the sharded ones, else those that name a split, else all."""
    if card is not None and card.followed:
        by_dir = set(_read_by_name([f for f, splits in card.splits.items() if not splits]))
        return [f for f in files if card.splits.get(f) or f in by_dir]
    if card is not None and card.default_read is not None:  # the loader's own patterns, over the whole folder
        return [f for f in files if f in card.default_read]
    return _read_by_name(files)


def _read_by_name(files: Sequence[Path]) -> list[Path]:
    sharded = [f for f in files if SHARDED.match(f.name)]
    named = [f for f in files if _keyword_split(f.name) is not None]
    return sharded or named or list(files)


def _by_file_name(files: Sequence[Path]) -> dict[Path, str]:
    sharded = {f: m.group("split") for f in files if (m := SHARDED.match(f.name))}
    named = {f: s for f in files if f not in sharded and (s := _keyword_split(f.name)) is not None}
    if not sharded and not named:
        return dict.fromkeys(files, "train")
    return {f: sharded.get(f) or named.get(f) or _name_before_dash(f) for f in files}


def name_problems(files: Sequence[Path], card: CardSplits | None = None) -> dict[Path, str]:
    """Shard names whose split the loader reads otherwise than :func:`split_names` can say: a name that
    holds the keywords of two splits (the loader reads the file into both, so a trainer would train on
    evaluation pairs) and a sharded-looking name whose split part the loader refuses; with the card,
    a file its default config reads into two splits (its name then says nothing)."""
    problems = {}
    followed = card is not None and card.followed
    for f in files:
        splits = card.splits.get(f) if followed else None
        if splits:
            if len(splits) > 1:
                problems[f] = f"the dataset card's default config reads it into {len(splits)} splits ({', '.join(splits)})"
            continue
        if SHARDED.match(f.name):
            continue
        if _LOOKS_SHARDED.match(f.name):
            problems[f] = "a shard name whose split part the Hugging Face loader refuses (it must be letters, digits and _)"
            continue
        named = [split for split, pattern in _IN_FILE_NAME.items() if pattern.search(f.name)]
        if len(named) > 1:
            problems[f] = f"a name that holds the keywords of two splits ({', '.join(named)}): the Hugging Face loader reads it into both"
    return problems


#: The splits evaluation reads, in the order one is chosen: the Hugging Face names of a held-out split
#: (``datasets.Split.TEST``, ``datasets.Split.VALIDATION``). ``check`` measures leakage from the training
#: splits into every other split; ``train`` evaluates on one of these two.
HELD_OUT_SPLITS = ("test", "validation")


def held_out_split(splits: Iterable[str]) -> str | None:
    """The split evaluation reads among ``splits``: ``test``, else ``validation`` (a dataset from the Hub or
    another tool often names its held-out split so), else None.

    >>> held_out_split(["train", "validation"]), held_out_split(["validation", "test"]), held_out_split(["train", "dev"])
    ('validation', 'test', None)
    """
    present = set(splits)
    return next((split for split in HELD_OUT_SPLITS if split in present), None)


def is_train_split(split: str) -> bool:
    """Whether a split holds training data (the side prompt leakage is measured against)."""
    return _TRAIN_SPLIT.search(split) is not None


def train_splits(splits: Iterable[str]) -> list[str]:
    """The training splits among ``splits`` (:func:`is_train_split`), in their order."""
    return [s for s in splits if is_train_split(s)]


def _keyword_split(name: str) -> str | None:
    return next((split for split, pattern in _IN_FILE_NAME.items() if pattern.search(name)), None)


def _name_before_dash(f: Path) -> str:
    return f.name.split("-", 1)[0].removesuffix(".parquet")


__all__ = ["HELD_OUT_SPLITS", "KEYWORDS", "SEP", "SHARDED", "held_out_split", "is_train_split", "loader_reads", "name_problems", "split_names", "train_splits"]

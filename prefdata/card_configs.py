"""The splits a dataset card's ``configs:`` header gives its data files, as the Hugging Face loader reads them.

A dataset card (``README.md``) may map files to splits in its YAML header, and
``datasets.load_dataset(OUT)`` then reads the files of the card's default config under those split
names, not the ones their file names say::

    configs:
    - config_name: default
      data_files:
      - {split: train, path: data/part-a*.parquet}
      - {split: test, path: data/part-b*.parquet}

Here ``part-a.parquet`` and ``part-b.parquet`` name no split, so by file name both are train, and a
prompt leaked between them would pass the leakage check although a trainer evaluates on one of them.
This module reads the header the way ``datasets`` does (``MetadataConfigs``, ``sanitize_patterns``,
``resolve_pattern``): the default config is the only one, or the one named ``default``, or the one
marked ``default: true``; ``data_files`` is a pattern, a list of patterns (all train) or a list of
``{split, path}``; patterns are globs relative to the dataset (and its ``data_dir``), where ``*``
stops at ``/`` and ``**`` crosses it. A card the loader would refuse is a problem, not a guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CARD = "README.md"
#: huggingface_hub's ``REGEX_YAML_BLOCK``: the card's YAML header between two ``---`` lines.
_YAML_BLOCK = re.compile(r"^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))")
#: ``datasets``' split name rule (``naming._split_re``).
_SPLIT_NAME = re.compile(r"^\w+(\.\w+)*$")


class CardError(ValueError):
    """The card's ``configs:`` are not what ``datasets`` accepts (it raises a ValueError there too)."""


@dataclass(frozen=True)
class CardSplits:
    """What the card's default config says about some data files.

    ``splits`` holds, for each file the default config reads, the splits it reads it into (more than
    one when two splits' patterns match it). ``problem`` says why the card cannot be followed (the
    loader would refuse it); ``splits`` is then empty and file names decide.
    """

    splits: dict[Path, list[str]] = field(default_factory=dict)
    problem: str | None = None


def card_splits(root: Path, files: Sequence[Path]) -> CardSplits:
    """The splits the card of ``root`` (``root/README.md``) gives ``files``; empty when it has no
    ``configs:`` header, or several configs and no default one (``load_dataset`` then asks for a name)."""
    card = root / CARD
    try:
        text = card.read_text(encoding="utf-8")
    except FileNotFoundError:
        return CardSplits()
    except (OSError, UnicodeDecodeError) as exc:
        return CardSplits(problem=f"the dataset card cannot be read ({exc}): datasets.load_dataset fails on it")
    match = _YAML_BLOCK.match(text)
    if match is None:
        return CardSplits()
    try:
        header = yaml.safe_load(match.group(2))
    except yaml.YAMLError as exc:
        return CardSplits(problem=f"the dataset card's YAML header does not parse ({' '.join(str(exc).split())}): datasets.load_dataset fails on it")
    if not isinstance(header, dict) or not header.get("configs"):
        return CardSplits()
    try:
        config = _default_config(header["configs"])
        if config is None:
            return CardSplits()
        patterns = _split_patterns(config.get("data_files"))
    except CardError as exc:
        return CardSplits(problem=f"the dataset card's configs: {exc}: datasets.load_dataset fails on it")
    base = str(config.get("data_dir") or "").strip("/")
    if patterns is None:  # a data_dir alone: the files under it, split by name (the caller's rule)
        return CardSplits({f: [] for f in files if _relative(root, f).startswith(f"{base}/" if base else "")})
    splits: dict[Path, list[str]] = {}
    for split, globs in patterns.items():
        regexes = [_glob_regex(_joined(base, g)) for g in globs]
        for f in files:
            rel = _relative(root, f)
            if any(r.fullmatch(rel) or r.fullmatch(f.absolute().as_posix()) for r in regexes):
                splits.setdefault(f, []).append(split)
    return CardSplits(splits)


def _default_config(configs: Any) -> dict[str, Any] | None:
    """``MetadataConfigs.get_default_config_name``: the only config, or the one named or marked default."""
    if not isinstance(configs, list) or not all(isinstance(c, dict) and "config_name" in c for c in configs):
        raise CardError("it must be a list of mappings that each have a config_name")
    defaults = [c for c in configs if len(configs) == 1 or c["config_name"] == "default" or c.get("default")]
    if len(defaults) > 1:
        raise CardError(f"several default configs ({', '.join(repr(c['config_name']) for c in defaults)})")
    return defaults[0] if defaults else None


def _split_patterns(data_files: Any) -> dict[str, list[str]] | None:
    """``sanitize_patterns`` after ``_raise_if_data_files_field_not_valid``: split -> glob patterns."""
    if data_files is None:
        return None
    if isinstance(data_files, str):
        return {"train": [data_files]}
    if not isinstance(data_files, list):
        raise CardError(f"data_files must be a pattern or a list, not {type(data_files).__name__}")
    if all(isinstance(p, str) for p in data_files):
        return {"train": list(data_files)}
    patterns: dict[str, list[str]] = {}
    for item in data_files:
        if not (isinstance(item, dict) and set(item) == {"split", "path"} and isinstance(item["split"], str)
                and _SPLIT_NAME.match(item["split"]) and isinstance(item["path"], (str, list))):
            raise CardError(f"data_files entry {item!r} is not a {{split, path}} mapping with a split name of letters, digits and _")
        if item["split"] in patterns:
            raise CardError(f"split {item['split']!r} is named twice in data_files")
        paths = item["path"] if isinstance(item["path"], list) else [item["path"]]
        patterns[item["split"]] = [str(p) for p in paths]
    return patterns


def _joined(base: str, pattern: str) -> str:
    pattern = pattern.removeprefix("./")
    return pattern if not base or pattern.startswith("/") else f"{base}/{pattern}"


def _relative(root: Path, f: Path) -> str:
    try:
        return f.relative_to(root).as_posix()
    except ValueError:
        return f.as_posix()


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """An fsspec glob as a regex: ``*`` and ``?`` stay within a path part, ``**`` (and ``**/``, which
    may also match nothing) crosses parts, ``[...]`` is a character class."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1:end]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


__all__ = ["CARD", "CardSplits", "card_splits"]

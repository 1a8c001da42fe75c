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
This module reads the header the way ``datasets`` 5 does (``huggingface_hub``'s card parser,
``MetadataConfigs``, ``sanitize_patterns``, ``resolve_pattern``):

- the card is read as UTF-8 with an optional byte order mark;
- configs are keyed by name (a later config of the same name replaces an earlier one); the default
  is the only one, or the one named ``default``, or the one marked ``default: true``;
- ``data_files`` is a pattern, a list of patterns (all train) or a list of ``{split, path}``;
  patterns are globs relative to the dataset folder (``*`` stops at ``/``, ``**`` is a whole path
  part and crosses them); a path without wildcards must name a file, a glob that matches nothing is
  skipped, and each split must find a file, a file counting only with an extension the loader reads;
- the first config's patterns are resolved once from the dataset folder to choose a reader, and the
  default config's from its ``data_dir``, so both must find files.

What the loader would refuse is a problem, never a guess, so that a dataset ``check`` passes is one
``load_dataset(OUT)`` loads. Without a card that maps files, the loader's own patterns decide what it
reads (:func:`_default_reads`: sharded names in ``data/``, then split-named folders and file names
anywhere in the dataset folder), and this module works that out too.
"""

from __future__ import annotations

import functools
import os
import re
import reprlib
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from prefdata.config_files import load_card_yaml
from prefdata.splits import KEYWORDS, SEP, SHARDED

CARD = "README.md"
#: huggingface_hub's ``REGEXYAML_BLOCK``: the card's YAML header between two ``---`` lines.
YAML_BLOCK = re.compile(r"^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))")
#: ``datasets``' split name rule (``naming._split_re``).
_SPLIT_NAME = re.compile(r"^\w+(\.\w+)*$")
#: ``glob.has_magic``, which ``datasets`` (``DataFilesList.from_patterns``) and fsspec's glob use: a pattern
#: with one of these is a glob (a ``]`` alone is not), any other a path that must name a file.
_WILDCARD = re.compile(r"[*?\[]")
#: ``datasets.data_files.FILES_TO_IGNORE``: never data, whatever a pattern says.
NOT_DATA = frozenset({"README.md", "config.json", "dataset_info.json", "dataset_infos.json", "dummy_data.zip", "dataset_dict.json"})


#: Card values quoted in a message are cut to this many characters: a YAML alias in a card of a few
#: hundred bytes can stand for a list of millions of items, which ``repr`` or ``str`` would write out.
SHOWN_CHARS = 80
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 2, 3, 3, SHOWN_CHARS, SHOWN_CHARS


def shown(value: Any) -> str:
    """``value`` from the card for a message: its ``repr``, nested lists and long text cut short."""
    text = _REPR.repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


class CardError(ValueError):
    """The card's header is not what ``datasets`` accepts (it raises a ValueError there too), or, with
    no card, a layout its default patterns refuse; ``at`` names the file to look at."""

    def __init__(self, message: str, at: str = CARD) -> None:
        super().__init__(message)
        self.at = at


@dataclass(frozen=True)
class CardSplits:
    """What the card's default config says about a dataset's data shards.

    ``followed``: the card has a default config, so it, not file names, says which files the loader
    reads and under which split. ``splits`` holds the given shards it reads, with the splits it reads
    each into (more than one when two splits' patterns match it; an empty list for a shard under a
    ``data_dir`` given without ``data_files``, whose split its name says). ``outside`` holds the files
    it reads that are not among the given shards (relative to the dataset, with their split), and
    ``others`` the shards only its other configs read. ``problem`` says why the loader would refuse
    the card; file names then decide.
    """

    followed: bool = False
    splits: dict[Path, list[str]] = field(default_factory=dict)
    outside: dict[str, str] = field(default_factory=dict)
    problem: str | None = None
    #: The file the problem is in (relative to the dataset): the card, or a data file.
    problem_at: str = CARD
    #: Given shards that only the card's other configs read: not the default config's pairs.
    others: frozenset[Path] = frozenset()
    #: Without a card: the given shards the loader's default patterns read (None: not worked out).
    default_read: frozenset[Path] | None = None


def card_splits(root: Path, shards: Sequence[Path]) -> CardSplits:
    """The splits the card of ``root`` (``root/README.md``) gives ``shards`` (files under ``root``).

    Without a card to follow, ``outside`` still holds the Parquet files beyond ``shards`` that the
    loader's default patterns read (:func:`_default_reads`)."""
    files = _dataset_files(root)
    by_path = {_relative(root, f): f for f in shards}
    try:
        header = _header(root / CARD)
        configs = _configs(header) if header is not None else {}
        if not configs:
            read = _default_reads(files)
            return CardSplits(outside=_outside(read, by_path), default_read=frozenset(by_path[r] for r in read if r in by_path))
        default = _default_config(configs)
        first = next(iter(configs.values()))
        if first.get("data_files") is not None:  # resolved from the dataset folder to choose a reader
            _resolve(_split_patterns(first["data_files"]), "", files, first)
        base = str(default.get("data_dir") or "").strip("/")
        if default.get("data_files") is None:  # a data_dir alone: the files under it, split by name
            inside = f"{base}/" if base else ""
            return CardSplits(True, {f: [] for rel, f in by_path.items() if rel.startswith(inside)})
        read = _resolve(_split_patterns(default["data_files"]), base, files, default)
    except CardError as exc:
        return CardSplits(problem=f"{exc}: datasets.load_dataset fails on it", problem_at=exc.at)
    splits = {by_path[rel]: names for rel, names in read.items() if rel in by_path}
    others = {by_path[rel] for rel in _read_by_other_configs(configs, default, files) if rel in by_path}
    return CardSplits(True, splits, _outside(read, by_path), others=frozenset(others - set(splits)))


def _outside(read: dict[str, list[str]], by_path: dict[str, Path]) -> dict[str, str]:
    """The Parquet files of ``read`` (file -> splits) that are not among the shards (``by_path``),
    each with its first split: the loader reads the shards' format only (other files a ``**`` names stay)."""
    return {rel: splits[0] for rel, splits in read.items() if rel not in by_path and rel.endswith(".parquet")}


#: ``datasets.data_files``' default patterns (fsspec >= 2023.12), tried in this order when no card
#: maps the files, after the Hub's sharded names in ``data/``: evaluation logs; task folders;
#: folders named for a split anywhere; file names holding a split keyword anywhere; every file.
_DEFAULT_PATTERNS = (
    {"logs": ["**/*.eval"]},
    {"test": ["**/task.toml", "**/instruction.md"]},
    {split: [p.format(k=k, s=SEP) for k in words for p in ("**/{k}/**", "**/{k}{s}*/**", "**/*{s}{k}/**", "**/*{s}{k}{s}*/**")]
     for split, words in KEYWORDS.items()},
    {split: [p.format(k=k, s=SEP) for k in words for p in ("**/{k}{s}*", "**/*{s}{k}{s}*")] for split, words in KEYWORDS.items()},
    {"train": ["**"]},
)
#: The Parquet reader's extensions, and the others ``datasets`` maps to a reader (``_EXTENSION_TO_MODULE``,
#: the common ones): the loader reads the files of each split's most common one, Parquet on a tie.
_PARQUET = frozenset({".parquet", ".geoparquet", ".gpq"})
_READABLE = _PARQUET | {".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".txt", ".arrow", ".xml", ".hdf5", ".h5", ".eval",
                        ".toml", ".md", ".lance", ".vortex", ".tar", ".zip", ".png", ".jpg", ".jpeg", ".gif", ".bmp",
                        ".tif", ".tiff", ".webp", ".wav", ".mp3", ".flac", ".ogg", ".opus", ".mp4", ".pdf", ".conll",
                        ".conllu", ".tsfile", ".mpg", ".mpeg", ".mov", ".avi", ".mkv", ".webm", ".aiff", ".nii"}
#: Extensions the loader prefers on a tie of counts, first to last (``infer_module_for_data_files_list``).
_TIE_ORDER = (".parquet", ".lance", ".vortex", ".arrow", ".jsonl", ".json", ".csv")
#: ``datasets.load._ALL_METADATA_FILENAMES``: counted after every data file.
_METADATA_FILES = frozenset({"instruction.md", "latest_version_hint.json", "metadata.csv", "metadata.jsonl", "metadata.parquet", "task.toml"})
#: ``datasets.packaged_modules._ALL_METADATA_EXTENSIONS``: kept in a split beside the data files (Lance's).
_METADATA_EXTENSIONS = (".idx", ".manifest", ".txn")
#: Archives whose members decide the reader (``datasets.config.ARCHIVES_MAX_NUMBER_FOR_MODULE_INFERENCE``).
_ARCHIVES_READ = 10
#: Without ``datasets``: extensions that share a reader (``_EXTENSION_TO_MODULE``); any other is its own.
_READER_OF = {".parquet": "parquet", ".geoparquet": "parquet", ".gpq": "parquet", ".json": "json", ".jsonl": "json",
              ".ndjson": "json", ".csv": "csv", ".tsv": "csv", ".hdf5": "hdf5", ".h5": "hdf5", ".tif": "image",
              ".tiff": "image", ".png": "image", ".jpg": "image", ".jpeg": "image", ".gif": "image", ".bmp": "image",
              ".webp": "image", ".wav": "audio", ".mp3": "audio", ".flac": "audio", ".ogg": "audio", ".opus": "audio"}


def _default_reads(files: _Files) -> dict[str, list[str]]:
    """The Parquet files ``load_dataset(folder)`` reads without a card (``get_data_patterns``, then the
    reader ``infer_module_for_data_files`` picks), each with its splits: the first rule that finds any
    file decides; a file two splits' patterns match is read into both. Empty when the loader would
    read another format (more ``.jsonl`` than ``.parquet`` files in a split, say); a :class:`CardError`
    when it would read the splits with different readers, which it refuses."""
    in_data = (f.removeprefix("data/") for f in files.listed if f.startswith("data/"))
    sharded = {f"data/{f}": [m.group("split")] for f in in_data if "/" not in f and (m := SHARDED.match(f))}
    read: dict[str, list[str]] = sharded
    none = {"config_name": "default"}
    for rules in () if sharded else _DEFAULT_PATTERNS:
        for split, patterns in rules.items():
            either = re.compile("|".join(f"(?:{_glob_regex(p, none).pattern})" for p in patterns))
            for f in files.listed:
                if either.fullmatch(f):
                    read.setdefault(f, []).append(split)
        if read:
            break
    by_split: dict[str, list[str]] = {}
    for f, splits in read.items():
        for split in splits:
            by_split.setdefault(split, []).append(f)
    if all(_written_suffixes(f) == [".parquet"] for fs in by_split.values() for f in fs):  # the usual case
        return read
    readers = {split: _reader(fs, files.root) for split, fs in by_split.items()}
    if len(set(readers.values())) > 1:
        example = {split: _example(by_split[split], reader) for split, reader in readers.items()}
        named = ", ".join(f"{split}: {reader or 'no readable file'} ({example[split]})" for split, reader in readers.items())
        odd = next(split for split, reader in readers.items() if reader != "parquet")
        raise CardError(f"with no card to map the files, the splits are in different formats ({named})", at=example[odd])
    if not readers or set(readers.values()) != {"parquet"}:
        return {}
    # the Parquet files, by their extension as written: the loader leaves out a "test.PARQUET"
    return {f: splits for f, splits in read.items() if _PARQUET.intersection(_written_suffixes(f))}


def _reader(files: list[str], root: str) -> str | None:
    """The reader the loader picks for a split of these files (``infer_module_for_data_files_list``): that
    of the most common extension it can read, counting every suffix of a name, metadata files last, and
    on a tie Parquet first, then Lance, Vortex, Arrow, JSON Lines, JSON, CSV, then the name; a ``.zip``
    by what it holds. Files without an extension it reads, as written (``test.PARQUET`` is none), are
    not in the split at all. None: no file it can read."""
    readers, kept = _loader_tables()
    files = [f for f in files if kept.intersection(_written_suffixes(f))]
    counts = Counter((s, f.rsplit("/", 1)[-1] in _METADATA_FILES) for f in files for s in _suffixes(f))
    def rank(item: tuple[tuple[str, bool], int]) -> tuple:
        (ext, metadata), n = item
        return (not metadata, n, *(ext == e for e in _TIE_ORDER), ext)
    for (ext, _), _ in sorted(counts.items(), key=rank, reverse=True):
        if ext in readers:
            return readers[ext]
        if ext == ".zip":
            return _zip_reader([f for f in files if f.endswith(".zip")], root, readers)
    return None


def _zip_reader(archives: list[str], root: str, readers: dict[str, str]) -> str | None:
    """The reader for archives, by the commonest extension of what the first of them hold
    (``infer_module_for_data_files_list_in_archives``)."""
    counts: Counter[str] = Counter()
    for name in archives[:_ARCHIVES_READ]:
        try:
            with zipfile.ZipFile(Path(root) / name) as archive:
                members = [m for m in archive.namelist() if not m.endswith("/")]
        except (OSError, zipfile.BadZipFile):
            continue
        counts.update(s for m in members for s in _suffixes(m))
    top = counts.most_common(1)
    return readers.get(top[0][0]) if top else None


@functools.cache
def _loader_tables() -> tuple[dict[str, str], frozenset[str]]:
    """The loader's own tables when ``datasets`` is installed (``_EXTENSION_TO_MODULE``): each extension's
    reader, named with its options (``.tsv`` is the CSV reader with a tab separator, a reader of its
    own), and the extensions, as written, that keep a file in a split. Without ``datasets``, the
    common ones."""
    try:  # imported only when a split holds files other than Parquet
        from datasets.load import _ALL_ALLOWED_EXTENSIONS as allowed
        from datasets.load import _EXTENSION_TO_MODULE as table
    except ImportError:
        # without .zip, which is read by its members (datasets' table has no .zip either)
        table = {ext: (_READER_OF.get(ext, ext.lstrip(".")), {"sep": "\t"} if ext == ".tsv" else {}) for ext in _READABLE - {".zip"}}
        allowed = [*table, ".zip", *_METADATA_EXTENSIONS]
    readers = {
        ext.lower(): module + (f" ({', '.join(f'{k}={v!r}' for k, v in sorted(kwargs.items()))})" if kwargs else "")
        for ext, (module, kwargs) in table.items()
    }
    return readers, frozenset(allowed)


def _example(files: list[str], reader: str | None) -> str:
    """A file of a split that the loader reads with ``reader`` (its first file when it reads none)."""
    readers, _ = _loader_tables()
    return next((f for f in files if any(readers.get(s) == reader for s in _suffixes(f))), files[0]) if reader else files[0]


def _written_suffixes(f: str) -> list[str]:
    """A file name's suffixes as written (the loader keeps a file by them: ``test.PARQUET`` is none)."""
    return ["." + s for s in f.rsplit("/", 1)[-1].split(".")[1:]]


def _suffixes(f: str) -> list[str]:
    """A file name's suffixes, lower-cased, as the loader counts them."""
    return [s.lower() for s in _written_suffixes(f)]


def _read_by_other_configs(configs: dict[str, dict[str, Any]], default: dict[str, Any], files: _Files) -> set[str]:
    """Files the card's other configs name (the Hub keeps a dataset's ``sft`` or ``kto`` config beside
    its pairs, often in ``data/``): not pairs of the default config, so no shards of it. Those
    configs are only resolved when loaded by name, so a pattern of theirs that matches nothing is
    no problem here."""
    read: set[str] = set()
    for config in configs.values():
        if config is default or config.get("data_files") is None:
            continue
        base = str(config.get("data_dir") or "").strip("/")
        for globs in _split_patterns(config["data_files"], config).values():
            for glob in globs:
                pattern = _joined(base, glob, files.root)
                try:
                    regex = _glob_regex(pattern, config)
                except CardError:
                    continue
                read.update(f for f in files.listed if regex.fullmatch(f))
    return read


def _header(card: Path) -> dict[str, Any] | None:
    """The card's YAML header (None without a card or a header)."""
    try:
        text = card.read_text(encoding="utf-8-sig")  # huggingface_hub strips a byte order mark
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise CardError(f"the dataset card cannot be read ({exc})") from None
    match = YAML_BLOCK.match(text)
    if match is None:
        return None
    try:
        header = load_card_yaml(match.group(2))
    except yaml.YAMLError as exc:
        raise CardError(f"the dataset card's YAML header does not parse ({' '.join(str(exc).split())})") from None
    if header is None:
        return None
    if not isinstance(header, dict):
        raise CardError(f"the dataset card's YAML header is a {type(header).__name__}, not a mapping")
    return header


def _configs(header: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``MetadataConfigs.from_dataset_card_data``: every config checked, keyed by name (the last wins)."""
    configs = header.get("configs")
    if not configs:
        return {}
    if not isinstance(configs, list) or not all(isinstance(c, dict) and "config_name" in c for c in configs):
        raise CardError("the dataset card's configs: must be a list of mappings that each have a config_name")
    for config in configs:
        if isinstance(config["config_name"], (list, dict)):  # a key of datasets' dict of configs: never a list
            raise CardError(f"the dataset card's config_name {shown(config['config_name'])} is not a name")
        if config.get("data_files") is not None:
            _split_patterns(config["data_files"], config)
    return {str(c["config_name"]): c for c in configs}


def _default_config(configs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``MetadataConfigs.get_default_config_name``; ``load_dataset(OUT)`` needs a name when there is none."""
    defaults = [name for name, c in configs.items() if len(configs) == 1 or name == "default" or c.get("default")]
    if len(defaults) > 1:
        raise CardError(f"the dataset card has several default configs ({', '.join(map(shown, defaults))})")
    if not defaults:
        raise CardError(
            f"the dataset card's configs ({', '.join(map(shown, configs))}) have no default, so "
            "load_dataset(OUT) asks for a config name; name one 'default' or mark it 'default: true'"
        )
    return configs[defaults[0]]


def _split_patterns(data_files: Any, config: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """``sanitize_patterns`` after ``_raise_if_data_files_field_not_valid``: split -> glob patterns."""
    where = f"the dataset card's config {shown(config['config_name'])}: " if config else ""
    if isinstance(data_files, str):
        data_files = [data_files]
    if not isinstance(data_files, list):
        raise CardError(f"{where}data_files must be a pattern or a list, not {type(data_files).__name__}")
    if not data_files:
        raise CardError(f"{where}data_files is empty")
    if all(isinstance(p, str) for p in data_files):
        return {"train": list(data_files)}
    patterns: dict[str, list[str]] = {}
    for item in data_files:
        if not (isinstance(item, dict) and set(item) == {"split", "path"} and isinstance(item["split"], str)
                and _SPLIT_NAME.match(item["split"]) and isinstance(item["path"], (str, list))):
            raise CardError(f"{where}data_files entry {shown(item)} is not a {{split, path}} mapping with a split name of letters, digits and _")
        if item["split"] in patterns:
            raise CardError(f"{where}split {shown(item['split'])} is named twice in data_files")
        paths = item["path"] if isinstance(item["path"], list) else [item["path"]]
        if not paths or not all(isinstance(p, str) for p in paths):  # a list in a list: no pattern (datasets fails on it)
            raise CardError(f"{where}data_files path {shown(item['path'])} of split {shown(item['split'])} is not a pattern or a list of patterns")
        patterns[item["split"]] = list(paths)
    return patterns


@dataclass(frozen=True)
class _Files:
    """The files under a dataset folder a pattern can name (relative, ``/``-separated)."""

    root: str
    listed: list[str]
    names: frozenset[str]


def _dataset_files(root: Path) -> _Files:
    """Every file under ``root`` a pattern can name, as ``resolve_pattern`` finds them: not in hidden or
    ``__`` folders, not hidden, not a card or dataset-info file."""
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
        rel = Path(folder).relative_to(root).as_posix()
        prefix = "" if rel == "." else f"{rel}/"
        found += [prefix + n for n in sorted(names) if not n.startswith(".") and n not in NOT_DATA]
    return _Files(Path(root).absolute().as_posix(), found, frozenset(found))


def _resolve(patterns: dict[str, list[str]], base: str, files: _Files, config: dict[str, Any]) -> dict[str, list[str]]:
    """The files the splits' patterns match (from ``base`` within the dataset), each with the splits
    that read it. As ``DataFilesList.from_patterns`` does with ``resolve_pattern``'s FileNotFoundError,
    a path without wildcards that names no file is refused, and a glob that matches nothing is
    skipped; a split none of whose patterns finds a file is refused too (the loader then fails on the
    empty split: "Couldn't infer the same data file format", "corresponds to no data"). A file
    counts only with an extension the loader reads (``resolve_pattern``'s ``allowed_extensions``):
    ``data/*.bak`` matches nothing, and ``data/a.bak`` names no file.

    A card may list thousands of shard paths: a path without wildcards is looked up, and a split's
    globs are matched together, in one pass over the files.
    """
    out: dict[str, list[str]] = {}  # file -> its splits
    for split, given in patterns.items():
        wanted = {glob: _joined(base, glob, files.root) for glob in given}
        literal = {g: p for g, p in wanted.items() if not _WILDCARD.search(p)}
        globs = {g: _glob_regex(p, config) for g, p in wanted.items() if g not in literal}
        matched = dict.fromkeys(p for p in literal.values() if p in files.names and _loaded_by_extension(p))
        unmatched = [g for g, p in literal.items() if p not in matched]
        if globs:
            either = re.compile("|".join(f"(?:{r.pattern})" for r in globs.values()))
            hits = [f for f in files.listed if either.fullmatch(f) and _loaded_by_extension(f)]
            matched.update(dict.fromkeys(hits))
            # a glob is skipped; a path whose wildcards come from data_dir alone is not (has_magic is of the path as given)
            unmatched += [g for g, r in globs.items() if not _WILDCARD.search(g) and not any(r.fullmatch(f) for f in hits)]
        where = f"the dataset card's config {shown(config['config_name'])}: "
        under = f" under {base}/" if base else ""
        if unmatched:
            raise CardError(f"{where}{split} pattern {shown(unmatched[0])} matches no file{under}{_unread(wanted[unmatched[0]], files)}")
        if not matched:
            named = f"pattern {shown(given[0])} matches" if len(given) == 1 else f"patterns {shown(given)} match"
            unread = next(filter(None, (_unread(p, files) for p in wanted.values())), "")
            raise CardError(f"{where}{split} {named} no file{under}{unread}")
        for f in sorted(matched):
            out.setdefault(f, []).append(split)
    return out


def _joined(base: str, pattern: str, root: str) -> str:
    """A pattern relative to the dataset folder (an absolute one within it too)."""
    if pattern.startswith(root + "/"):
        return pattern[len(root) + 1:]
    pattern = pattern.removeprefix("./")
    return pattern if not base or pattern.startswith("/") else f"{base}/{pattern}"


def _loaded_by_extension(f: str) -> bool:
    """Whether the loader keeps a file a pattern matches (``resolve_pattern``): one of its name's
    suffixes, as written, is an extension it reads. A Parquet shard always is, so its table (and
    ``datasets``) is only consulted for other files."""
    suffixes = _written_suffixes(f)
    return bool(_PARQUET.intersection(suffixes)) or bool(_loader_tables()[1].intersection(suffixes))


def _unread(pattern: str, files: _Files) -> str:
    """Why a pattern that names files matches none: the loader reads none of them (their extension)."""
    try:
        regex = re.compile(re.escape(pattern)) if not _WILDCARD.search(pattern) else _glob_regex(pattern, {"config_name": ""})
    except CardError:
        return ""
    named = next((f for f in files.listed if regex.fullmatch(f)), None)
    return f" that datasets reads ({named} has no extension it reads)" if named else ""


def _relative(root: Path, f: Path) -> str:
    try:
        return f.relative_to(root).as_posix()
    except ValueError:
        return f.as_posix()


def _glob_regex(pattern: str, config: dict[str, Any]) -> re.Pattern[str]:
    """An fsspec glob as a regex: ``*`` and ``?`` stay within a path part, ``**`` (a whole part; ``**/``
    may also match nothing) crosses parts, ``[...]`` is a character class."""
    if any("**" in part and part != "**" for part in pattern.split("/")):
        raise CardError(f"the dataset card's config {shown(config['config_name'])}: in {shown(pattern)}, '**' can only be an entire path component")
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


__all__ = ["CARD", "NOT_DATA", "CardSplits", "card_splits"]

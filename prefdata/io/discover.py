"""Find the raw files behind a RAW argument (a file, a directory read recursively, or a glob).

Every file found is either an input (with its format and compression known from its name and first
bytes) or a skipped file with a reason, so the manifest can say what was ignored and why.
"""

from __future__ import annotations

import errno
import fnmatch
import glob as globlib
import os
import posixpath
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prefdata.card_configs import NOT_DATA
from prefdata.config_files import parse_json
from prefdata.errors import InputError
from prefdata.io.compression import CorruptStreamError, open_binary, sniff_compression

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class InputFile:
    """One raw file to read.

    ``name`` is the path relative to RAW's base directory: it is what lineage and the manifest show,
    so that a build does not depend on where the files sit on this machine.
    """

    path: Path
    name: str
    format: str  # jsonl | json | csv | parquet (a .json file holding JSON lines is read as jsonl)
    compression: str | None  # gzip | zstd | None
    bytes: int
    #: (inode, size, mtime in ns) when the file was planned: a build refuses a file that changed
    #: while it ran (a live log appended to, a rotated one), since its records, the raw text of its
    #: rejects and its sha256 would come from different versions
    stamp: tuple[int, int, int] | None = None
    #: Parquet and CSV: the top-level columns the build reads (those its shape and filters name), or
    #: None for every column. A Parquet column nobody reads is never decoded: image bytes, a UUID, a
    #: type polars has no import for cost nothing (see :mod:`prefdata.io.parquet_records`); a CSV or
    #: Parquet name given twice is refused only where it is read.
    columns: tuple[str, ...] | None = None
    #: Parquet: the field paths read below the top-level columns (``("meta", "lang")``; a list's items
    #: are passed over: ``("turns", "text")``), a path ending at a column or struct reading all of it;
    #: None for every field. A struct's fields nobody reads are never decoded either.
    fields: tuple[tuple[str, ...], ...] | None = None


@dataclass(frozen=True)
class SkippedFile:
    name: str
    reason: str

    @classmethod
    def unreadable(cls, f: InputFile, exc: Exception) -> SkippedFile:
        """``f`` skipped for ``exc``, whose message starts with the name (:func:`shown_name`)."""
        return cls(f.name, str(exc).removeprefix(f"{shown_name(f.name)}: "))


def _split_suffixes(path: Path) -> tuple[str | None, str | None, str]:
    """(format, compression, unknown_suffix) from a file name like ``x.jsonl.zst``."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = None
    if suffixes and suffixes[-1] in COMPRESSIONS:
        compression = COMPRESSIONS[suffixes.pop()]
    fmt = FORMATS.get(suffixes[-1]) if suffixes else None
    return fmt, compression, (suffixes[-1] if suffixes else "")


def classify(path: Path, name: str, configured: str | None = None) -> InputFile | SkippedFile:
    """Decide how to read one file, or why not to.

    The format comes from the name; the compression from the first bytes (a renamed ``.gz`` that
    holds zstd, or a ``.jsonl`` that holds gzip, is read as what it is). ``configured`` is the
    format a build config gives the file where a source's path (or RAW) names it: it reads a file
    whose name says none (``logs.txt`` as JSON lines), as the user said, instead of skipping it.
    """
    fmt, named_compression, suffix = _split_suffixes(path)
    if path.name in NOT_DATA or (path.name == "state.json" and any(path.parent.glob("*.arrow"))):
        return SkippedFile(name, HF_METADATA)
    fmt = fmt or configured
    if fmt is None:
        if path.is_symlink() and (why := _unreadable_link(path)) is not None:  # no `path:` reads it either
            return SkippedFile(name, why)
        what = f"unknown extension '{suffix}'" if suffix else "no file extension"
        hint = f"; {ARROW}" if suffix == ".arrow" else ""
        ending = suffix + (path.suffixes[-1] if named_compression else "")  # logs.txt.gz: '*.txt.gz', not '*.txt'
        named = f"'{'**/' if '/' in name else ''}*{ending}'" if suffix else name
        return SkippedFile(
            name, f"{what}; readable: {', '.join(sorted(FORMATS))} (optionally .gz/.zst), or any file a source's `path` names, "
                  f"read with its `format` (e.g. `path: {named}`){hint}"
        )
    try:
        st = path.stat()
        size = st.st_size
        if not stat.S_ISREG(st.st_mode):  # size 0, yet read it would block or never end (/dev/urandom)
            return SkippedFile(name, "not a regular file: a pipe, socket or device")
        compression = sniff_compression(path) if size else None
    except OSError as exc:
        if (why := _unreadable_link(path, exc)) is None and exc.errno in REFUSED_READ:
            raise refused(exc, path, "file") from exc
        return SkippedFile(name, why or f"cannot be read: {exc.strerror or exc}")
    if size == 0:
        return SkippedFile(name, "empty file")
    if named_compression is not None and compression is None:
        return SkippedFile(name, f"named as {named_compression}-compressed, but its first bytes are neither gzip nor zstd data")
    if fmt == "json":
        try:
            fmt = _sniff_json(path, compression)
        except CorruptStreamError as exc:
            return SkippedFile(name, f"{exc}; no record could be read")
        if fmt is None:
            return SkippedFile(name, "empty file (only whitespace)")
    return InputFile(path=path, name=name, format=fmt, compression=compression, bytes=size, stamp=file_stamp(st))


#: What the system answers for a file or folder it will not let the user read: the user's to fix, so the
#: run stops naming it (exit 2) rather than build a dataset that silently lacks its records.
REFUSED_READ = frozenset({errno.EACCES, errno.EPERM})


def refused(exc: OSError, path: Path, what: str) -> OSError:
    """``exc`` (a file or folder in RAW the system refuses to read) as an error naming ``path``, the
    file or folder itself: a folder that cannot be searched made the error name ``sub/manifest.json``."""
    return type(exc)(exc.errno, f"cannot read this {what} in RAW ({exc.strerror}; make it readable, or move it out of RAW)",
                     os.fspath(path))


def _unreadable_link(path: Path, exc: OSError | None = None) -> str | None:
    """Why a symbolic link leads to no file (None: it does, or ``path`` is no link): a loop
    (``a -> b -> a``, ELOOP) is not a broken link, and is not fixed by recreating a target."""
    if exc is None:
        try:
            path.stat()
            return None
        except OSError as err:
            exc = err
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop"
    if path.is_symlink() and exc.errno == errno.ENOENT:
        return "a broken symbolic link"
    return None


def file_stamp(st: os.stat_result) -> tuple[int, int, int]:
    """What tells one version of a file from another without reading it: inode, size, mtime."""
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def no_object_reason(f: InputFile, problem: str | None = None) -> str:
    """Why a file with no JSON object record is skipped; a JSON array in a file named ``.jsonl`` (as
    some Hub datasets ship one) is read with ``format: json``, so say so. ``problem``: what the first
    sampled record that is not one holds (a CSV row with more cells than the header, a line written
    with Python's ``str(dict)``), so the user sees why without opening the file."""
    reason = "no record parses as a JSON object" if f.format != "csv" else "no row of it can be read"
    try:
        if f.format == "jsonl" and _sniff_json(f.path, f.compression) == "json":
            return f"{reason}: the file holds one JSON array; read it with `format: json` in a build config"
    except (OSError, CorruptStreamError):
        pass
    if problem:
        reason += f"; the first: {problem}; a build config that names the file rejects each record with its reason"
    return reason


def _sniff_json(path: Path, compression: str | None) -> str | None:
    """A ``.json`` file is a JSON array when its first non-blank byte is ``[``, else JSON lines; None
    when it holds only whitespace. A UTF-8 byte order mark is no content: after one, a blank head
    is read past as without it."""
    with open_binary(path, compression) as fh:
        head = fh.read(4096)
        rest = head.removeprefix(b"\xef\xbb\xbf")
        while head and not rest.strip():
            rest = head = fh.read(65536)
            if not head:
                return None
    return "json" if rest.lstrip()[:1] == b"[" else "jsonl"


def names_files(pattern: str) -> bool:
    """Whether a path or glob names the files it selects, not just the folder they sit in: its last
    part says more than a wildcard (``logs.txt``, ``*.log.gz``, ``day*``; not ``*``, ``**``,
    ``data/*`` or ``.``). A configured format reads such files whatever their extension; a LICENSE,
    a loader script or a logo beside the data, which only a folder or a bare wildcard takes in, are
    not read as records.

    >>> [names_files(p) for p in ("logs.txt", "*.log.gz", "a/day*", "*", "data/**", "data/*", "[ab]*", ".")]
    [True, True, True, False, False, False, False, False]
    """
    last = posixpath.basename(posixpath.normpath(pattern.rstrip("/") or "."))
    return re.sub(r"\[[^]]*\]|[*?]", "", last) not in ("", ".")


def discover(
    raw: str | os.PathLike[str], *, exclude: Path | None = None, formats: Callable[[str, bool], str | None] | None = None
) -> tuple[list[InputFile], list[SkippedFile]]:
    """Expand RAW into input files (sorted, deterministic) and skipped files.

    Hidden files and folders (``.x``, ``_x``) in directories are not read but listed as skipped;
    ``exclude`` (the output folder, when it sits inside RAW) is never read. ``formats`` gives the
    format a build config names for a file (by its name relative to RAW, and whether RAW itself names
    it: RAW is the file, or a glob that :func:`names_files`), or None.
    """
    raw_str = os.fspath(raw)
    candidates: list[tuple[Path, str]]
    hidden: list[SkippedFile] = []
    raw_names = False
    if any(ch in raw_str for ch in _GLOB_CHARS) and not Path(raw_str).exists():
        candidates, hidden = _glob(raw_str, exclude)
        raw_names = names_files(raw_str)
        if not candidates and not hidden:
            raise InputError(f"RAW glob '{raw_str}' matches no file")
    else:
        root = Path(raw_str)
        if not root.exists():
            raise InputError(f"RAW '{raw_str}' does not exist")
        if root.is_file():
            candidates = [(root, root.name)]
            raw_names = True
        elif not root.is_dir():
            raise InputError(f"RAW '{raw_str}' is neither a file nor a folder (a pipe or a device); write the records to a file first")
        elif _is_prefdata_output(root):
            candidates, hidden = _earlier_output(root, exclude)
        else:
            candidates, hidden = _walk(root, exclude)
            if not candidates and not hidden:
                raise InputError(f"RAW directory '{raw_str}' holds no files")
    inputs: list[InputFile] = []
    skipped: list[SkippedFile] = list(hidden)
    for path, name in candidates:
        text = _utf8(name)
        if text is None:  # the manifest, lineage and rejects name files in UTF-8 text
            skipped.append(SkippedFile(shown_name(name), NOT_UTF8))
            continue
        item = classify(path, text, formats(text, raw_names) if formats is not None else None)
        (inputs if isinstance(item, InputFile) else skipped).append(item)
    skipped.sort(key=lambda item: item.name)
    return inputs, skipped


#: A file or folder whose name starts with one of these is hidden: passed over, and listed as skipped.
HIDDEN_PREFIXES = (".", "_")
HIDDEN = "hidden (the name starts with '.' or '_'), not read"
#: In the name of the folder a build writes into beside OUT (``.OUT.prefdata-tmp-<pid>-<hex>``).
BUILD_TEMP_MARK = ".prefdata-tmp-"
NOT_UTF8 = "the file name is not valid UTF-8 (shown with \\x escapes), so no record of it could name its file; rename it to build it"


def _utf8(name: str) -> str | None:
    """A file name as UTF-8 text, or None when its bytes are not UTF-8.

    The name is judged by its bytes, not by the locale Python decoded it with: under ``LC_ALL=C``
    without UTF-8 mode, ``café.jsonl`` arrives with surrogate escapes but is UTF-8 all the same.
    """
    try:
        return os.fsencode(name).decode("utf-8")
    except UnicodeDecodeError:
        return None


#: What a name shows escaped: C0 and C1 controls and DEL (a line feed splits a message line, a carriage
#: return makes a terminal write over the name's start), line and paragraph separators, and the bidi
#: controls that make a terminal show what follows them reordered.
_UNSHOWABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def shown_name(name: str) -> str:
    """A file name as messages show it: on one line and as what it is. Bytes that are not UTF-8 are
    ``\\xff`` escapes, control characters escapes as Python writes them (``\\n``, ``\\r``, ``\\x1b``,
    ``\\u202e``); a printed config quotes the name in YAML instead, and the manifest keeps it as is.
    ``inspect``'s field table shows a record's field names so too (a ``"bad\\nkey"`` on one line).

    >>> shown_name("new\\nline.jsonl"), shown_name("evil\\rok.jsonl")
    ('new\\\\nline.jsonl', 'evil\\\\rok.jsonl')
    """
    # the name's bytes: surrogate escapes back to the bytes they stand for, any other text as UTF-8
    # (``os.fsencode`` fails on a name made UTF-8 text already when the locale is C)
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _UNSHOWABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


_HF_CACHE_PARTS = {
    "blobs": "the blobs of a Hugging Face cache, read under their names in snapshots/",
    "refs": "the revision names of a Hugging Face cache (refs/main picks the snapshot read)",
}
HF_METADATA = "Hugging Face dataset metadata (the `datasets` loader never reads it as data), not read"
ARROW = ("Arrow files of `Dataset.save_to_disk`: write them out with "
         "`datasets.load_from_disk(folder)[split].to_parquet(...)` or `.to_json(...)` and build from those")
PREFDATA_OUTPUT = "the output of an earlier `prefdata build` (manifest.json and data/), not raw data; pass it as RAW to rebuild from its pairs"


NOT_PAIRS = "part of an earlier `prefdata build` that holds no pairs (rejects, KTO rows, card, manifest), not read"


def _earlier_output(root: Path, exclude: Path | None) -> tuple[list[tuple[Path, str]], list[SkippedFile]]:
    """RAW is the output of an earlier build: its pairs (``data/``) are the raw data, named as in that
    output (``data/train-....parquet``); the rest of it is listed as skipped."""
    candidates, skipped = _walk(root / "data", exclude)
    candidates = [(path, f"data/{name}") for path, name in candidates]
    skipped = [SkippedFile(f"data/{item.name}", item.reason) for item in skipped]
    for child in sorted(root.iterdir()):
        if child.name != "data":
            skipped.append(SkippedFile(child.name + ("/" if child.is_dir() else ""), NOT_PAIRS))
    return candidates, skipped


FOLDER_MATCHED = "a folder the glob matches: a glob reads the files it matches (end it with /** to read inside folders)"


def _glob(pattern: str, exclude: Path | None) -> tuple[list[tuple[Path, str]], list[SkippedFile]]:
    """The files a glob RAW matches, named relative to the folder before its first wildcard, with the
    folder walk's rules: OUT (``exclude``) is passed over, earlier outputs and hidden names below that
    folder are listed as skipped, a file matched twice (through links) is read once, and a matched
    folder with no match inside it is listed, not dropped unsaid. A glob inside an earlier output
    (``ds/**/*.parquet``) reads its ``data/`` alone, as the folder ``ds`` does."""
    base = _glob_base(pattern)
    wildcards = Path(pattern).parts[len(base.parts) :]
    _refuse_unlistable(base, wildcards, exclude)
    matches = sorted(Path(p) for p in globlib.glob(pattern, recursive=True))
    candidates: list[tuple[Path, str]] = []
    skipped: dict[str, str] = {}
    files_read: dict[str, str] = {}
    holding = {os.path.normpath(parent) for p in matches for parent in p.parents}  # folders with a match inside
    # ds/**/*.parquet inside an earlier output ds: its pairs, as the folder ds gives them, not its rejects
    # read as raw records (which stopped the build: no shape has their fields)
    inside_output = _is_prefdata_output(base)
    # a file reached directly and through a link (to it, or to a folder holding it): read under its own name
    for path in sorted(matches, key=lambda m: _through_link(m, base)):
        inside = _is_relative(path, base)
        name = path.relative_to(base).as_posix() if inside else path.name
        if _passed_over(path, exclude):
            continue
        below = Path(name).parts if inside else ()
        if inside_output and below and below[0] != "data":
            skipped[below[0] + ("/" if len(below) > 1 or path.is_dir() else "")] = NOT_PAIRS
            continue
        try:
            output = _earlier_output_above(base, below)
        except PermissionError:  # a matched folder that cannot be searched: the glob reads nothing inside it
            output = None
        if output is not None:
            skipped[output + "/"] = PREFDATA_OUTPUT
        elif _hidden_below(below, wildcards):
            skipped[name + ("/" if path.is_dir() else "")] = HIDDEN
        elif path.is_dir():
            if os.path.normpath(path) not in holding and name != ".":
                skipped[name + "/"] = FOLDER_MATCHED
        elif (real := os.path.realpath(path)) in files_read:
            skipped[name] = f"the same file as {files_read[real]}, which is read already"
        else:
            candidates.append((path, name))
            files_read[real] = name
    return sorted(candidates, key=lambda c: c[1]), [SkippedFile(n, why) for n, why in skipped.items()]


def _refuse_unlistable(base: Path, wildcards: tuple[str, ...], exclude: Path | None) -> None:
    """Stop naming a folder the glob has to list but the system will not let it (exit 2, as the folder walk
    does): Python's glob passes over it without a word, and the build lacked its records. The folders
    listed are those a wildcard component is matched in, and with ``**`` every folder below it; hidden
    names the pattern did not ask for and OUT are not read, so not asked for."""
    level = [base]
    for component in wildcards:
        if component == "**":
            below = []
            for top in level:
                for dirpath, dirnames, _ in os.walk(top, onerror=_raise_refused):
                    dirnames[:] = [d for d in dirnames if not d.startswith(HIDDEN_PREFIXES) and not _passed_over(Path(dirpath, d), exclude)]
                    below.append(Path(dirpath))
            level = below
        elif any(ch in component for ch in _GLOB_CHARS):
            level = [folder / name for folder in level for name in _listed_folders(folder)
                     if fnmatch.fnmatchcase(name, component) and not (name.startswith(HIDDEN_PREFIXES) and _not_asked(component))
                     and not _passed_over(folder / name, exclude)]  # fmt: skip
        else:
            level = [folder / component for folder in level if _is_folder_in(folder, component)]


def _is_folder_in(folder: Path, name: str) -> bool:
    """Whether ``folder/name`` is a folder; a ``folder`` the system will not search is refused naming it."""
    try:
        return stat.S_ISDIR(os.stat(folder / name).st_mode)
    except OSError as exc:
        if exc.errno in REFUSED_READ:
            raise refused(exc, folder, "folder") from exc
        return False


def _listed_folders(folder: Path) -> list[str]:
    """The names of the folders in ``folder``; a folder the system will not list is refused naming it."""
    try:
        with os.scandir(folder) as entries:
            return [e.name for e in entries if e.is_dir()]
    except OSError as exc:
        if exc.errno in REFUSED_READ:
            raise refused(exc, folder, "folder") from exc
        return []


def _passed_over(path: Path, exclude: Path | None) -> bool:
    """Whether ``path`` is OUT (``exclude``), inside it, or in the temp folder of a build into it
    (``.OUT.prefdata-tmp-*`` beside it): never read, and passed over unsaid, so that a rebuild reads
    and records what the first build did."""
    if exclude is None:
        return False
    temp = f".{exclude.name}{BUILD_TEMP_MARK}"
    return _same_or_inside(path, exclude) or any(p.name.startswith(temp) for p in (path, *path.parents))


def _hidden_below(parts: tuple[str, ...], wildcards: tuple[str, ...]) -> bool:
    """Whether a name below the glob's base starts with '.' or '_' where the pattern did not ask for
    it: a component matched by ``*``, ``?`` or ``**`` did not (as in a folder walk), one written with
    that first character or a class (``_*.jsonl``, ``[_]b.jsonl``) did. Components before a ``**``
    line up with the names from the start, those after it from the end."""
    if "**" in wildcards:
        i = wildcards.index("**")
        head, tail = wildcards[:i], wildcards[i + 1 :]
        spans = len(parts) - len(head) - len(tail)
        patterns = [*head, *["**"] * max(spans, 0), *tail][-len(parts) :] if parts else []
    else:
        patterns = list(wildcards)
    if len(patterns) != len(parts):
        patterns = ["*"] * len(parts)
    return any(part.startswith(HIDDEN_PREFIXES) and _not_asked(pattern) for part, pattern in zip(parts, patterns))


def _not_asked(pattern: str) -> bool:
    """Whether a pattern component matches a hidden name without naming its first character: it starts
    with a wildcard or a negated class (``[!a]*``)."""
    return pattern[:1] in ("*", "?") or pattern.startswith(("[!", "[^"))


def _through_link(path: Path, base: Path) -> bool:
    """Whether ``path`` or a folder on its way down from ``base`` is a link."""
    for p in (path, *path.parents):
        if p == base or p == p.parent:
            return False
        if p.is_symlink():
            return True
    return False


def _earlier_output_above(base: Path, parts: tuple[str, ...]) -> str | None:
    """The name of the first folder among ``parts`` (a match's path below ``base``, the match itself
    included) that an earlier build wrote, or None. Folders named before the wildcard are the user's
    choice (``ds/data/*.parquet`` reads an earlier output's pairs) and are not looked at."""
    for depth in range(1, len(parts) + 1):
        if _is_prefdata_output(base.joinpath(*parts[:depth])):
            return "/".join(parts[:depth])
    return None


def _is_prefdata_output(folder: Path) -> bool:
    """A folder ``prefdata build`` wrote: reading it back as raw input would add every pair (and the
    rejects) a second time, which is never what a RAW folder that holds one means."""
    manifest = folder / "manifest.json"
    try:
        if not (manifest.is_file() and (folder / "data").is_dir()):
            return False
    except PermissionError as exc:  # a folder that cannot be searched: name it, not its manifest.json
        raise refused(exc, folder, "folder") from exc
    try:
        doc = parse_json(manifest.read_text(encoding="utf-8"))  # one nested too deeply is a ValueError too
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(doc, dict) and "prefdata_version" in doc


def _raise_refused(exc: OSError) -> None:
    """os.walk's error handler: a folder the system will not list stops the run naming it (os.walk
    passed over it without a word); one that vanished meanwhile is passed over as before."""
    if exc.errno in REFUSED_READ:
        raise refused(exc, Path(exc.filename), "folder") from exc


def _walk(root: Path, exclude: Path | None) -> tuple[list[tuple[Path, str]], list[SkippedFile]]:
    """Every file under ``root`` as ``(path, name relative to root)``, and what was passed over with
    the reason (hidden files and folders, links to what is read already), so the manifest says it.

    Links are followed (data is often linked in from elsewhere), but only after the folders that are
    really there: a file or folder reached both directly and through a link is read once, under its
    own name, and a link cycle ends.
    """
    candidates: list[tuple[Path, str]] = []
    skipped: list[SkippedFile] = []
    files_read: dict[str, str] = {}  # real path -> the name it is read under
    folders_read: set[str] = set()
    links: list[tuple[Path, str]] = []

    def _read_already(real: str) -> bool:
        """Read under another name whose format is known (a Hub cache's ``blobs/<sha>`` is not read)."""
        return real in files_read and _split_suffixes(Path(files_read[real]))[0] is not None

    def walk(top: Path) -> None:
        for dirpath, dirnames, filenames in os.walk(top, onerror=_raise_refused):
            here = Path(dirpath)
            if exclude is not None and _same_or_inside(here, exclude):
                dirnames[:] = []
                continue
            folders_read.add(os.path.realpath(here))
            rel_dir = here.relative_to(root)
            keep = []
            current = _cache_revision(here)
            for d in sorted(dirnames):
                name = (rel_dir / d).as_posix()
                if _passed_over(here / d, exclude):
                    continue
                if (part := _cache_part(here, d)) is not None:
                    skipped.append(SkippedFile(name + "/", part))
                elif current is not None and d != current:
                    skipped.append(SkippedFile(name + "/", f"another revision in a Hugging Face cache (refs/main is {current[:12]}), not read"))
                elif d.startswith(HIDDEN_PREFIXES):
                    skipped.append(SkippedFile(name + "/", HIDDEN))
                elif _is_prefdata_output(here / d):
                    skipped.append(SkippedFile(name + "/", PREFDATA_OUTPUT))
                elif (here / d).is_symlink():
                    links.append((here / d, name))
                else:
                    keep.append(d)
            dirnames[:] = keep
            for fname in sorted(filenames):
                path, name = here / fname, (rel_dir / fname).as_posix()
                if fname.startswith(HIDDEN_PREFIXES):
                    skipped.append(SkippedFile(name, HIDDEN))
                elif path.is_symlink():
                    links.append((path, name))
                elif _read_already(real := os.path.realpath(path)):  # reached again through a linked folder
                    skipped.append(SkippedFile(name, f"the same file as {files_read[real]}, which is read already"))
                else:
                    candidates.append((path, name))
                    files_read[real] = name

    walk(root)
    while links:
        pending, links = sorted(links, key=lambda link: link[1]), []
        for path, name in pending:
            real = os.path.realpath(path)
            if path.is_dir():
                if real in folders_read:
                    skipped.append(SkippedFile(name + "/", "a link to a folder that is read already"))
                else:
                    walk(path)
            elif _read_already(real):
                skipped.append(SkippedFile(name, f"a link to {files_read[real]}, which is read already"))
            elif real in files_read:  # the file itself has a name no format is read by (a Hub cache's blobs/<sha>)
                candidates.append((path, name))
                files_read[real] = name
            else:  # a link to a file outside RAW, or a broken link (classify says so)
                candidates.append((path, name))
                files_read[real] = name
    candidates.sort(key=lambda c: c[1])
    return candidates, skipped


def _cache_part(folder: Path, child: str) -> str | None:
    """Why ``blobs/`` or ``refs/`` of a Hugging Face cache (``huggingface_hub``'s ``blobs/``, ``refs/``,
    ``snapshots/``) is not read: the blobs have no names, and ``snapshots/`` names them through
    links; the refs name a revision. None for any other folder."""
    if child not in _HF_CACHE_PARTS or not ((folder / "snapshots").is_dir() and (folder / "refs").is_dir()):
        return None
    return _HF_CACHE_PARTS[child]


def _cache_revision(folder: Path) -> str | None:
    """The revision ``refs/main`` names when ``folder`` is a Hugging Face cache's ``snapshots/`` and
    holds it: the other snapshots are older downloads of the same files, read once is enough."""
    if folder.name != "snapshots":
        return None
    try:
        revision = (folder.parent / "refs" / "main").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return revision if revision and (folder / revision).is_dir() else None


def _glob_base(pattern: str) -> Path:
    parts = Path(pattern).parts
    base_parts = []
    for part in parts:
        if any(ch in part for ch in _GLOB_CHARS):
            break
        base_parts.append(part)
    return Path(*base_parts) if base_parts else Path(".")


def _is_relative(p: Path, base: Path) -> bool:
    try:
        p.relative_to(base)
        return True
    except ValueError:
        return False


def _same_or_inside(path: Path, other: Path) -> bool:
    try:
        path.resolve().relative_to(other.resolve())
        return True
    except (ValueError, OSError):
        return False

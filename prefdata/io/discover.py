"""Find the raw files behind a RAW argument (a file, a directory read recursively, or a glob).

Every file found is either an input (with its format and compression known from its name and first
bytes) or a skipped file with a reason, so the manifest can say what was ignored and why.
"""

from __future__ import annotations

import glob as globlib
import os
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class SkippedFile:
    name: str
    reason: str


def _split_suffixes(path: Path) -> tuple[str | None, str | None, str]:
    """(format, compression, unknown_suffix) from a file name like ``x.jsonl.zst``."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = None
    if suffixes and suffixes[-1] in COMPRESSIONS:
        compression = COMPRESSIONS[suffixes.pop()]
    fmt = FORMATS.get(suffixes[-1]) if suffixes else None
    return fmt, compression, (suffixes[-1] if suffixes else "")


def classify(path: Path, name: str) -> InputFile | SkippedFile:
    """Decide how to read one file, or why not to.

    The format comes from the name; the compression from the first bytes (a renamed ``.gz`` that
    holds zstd, or a ``.jsonl`` that holds gzip, is read as what it is).
    """
    fmt, named_compression, suffix = _split_suffixes(path)
    if fmt is None:
        what = f"unknown extension '{suffix}'" if suffix else "no file extension"
        return SkippedFile(name, f"{what}; readable: {', '.join(sorted(FORMATS))} (optionally .gz/.zst)")
    try:
        size = path.stat().st_size
        compression = sniff_compression(path) if size else None
    except OSError as exc:
        why = "a broken symbolic link" if path.is_symlink() and not path.exists() else f"cannot be read: {exc.strerror or exc}"
        return SkippedFile(name, why)
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
    return InputFile(path=path, name=name, format=fmt, compression=compression, bytes=size)


def _sniff_json(path: Path, compression: str | None) -> str | None:
    """A ``.json`` file is a JSON array when its first non-blank byte is ``[``, else JSON lines."""
    with open_binary(path, compression) as fh:
        head = fh.read(4096)
        while head and not head.strip():
            more = fh.read(65536)
            if not more:
                return None
            head = more
    first = head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]  # after a UTF-8 byte order mark, if any
    return "json" if first == b"[" else "jsonl"


def discover(raw: str | os.PathLike[str], *, exclude: Path | None = None) -> tuple[list[InputFile], list[SkippedFile]]:
    """Expand RAW into input files (sorted, deterministic) and skipped files.

    Hidden files and folders (``.x``, ``_x``) in directories are not read but listed as skipped;
    ``exclude`` (the output folder, when it sits inside RAW) is never read.
    """
    raw_str = os.fspath(raw)
    candidates: list[tuple[Path, str]]
    hidden: list[SkippedFile] = []
    if any(ch in raw_str for ch in _GLOB_CHARS) and not Path(raw_str).exists():
        base = _glob_base(raw_str)
        matches = sorted(Path(p) for p in globlib.glob(raw_str, recursive=True))
        candidates = [(p, p.relative_to(base).as_posix() if _is_relative(p, base) else p.name) for p in matches if p.is_file() or p.is_symlink()]
        if not candidates:
            raise InputError(f"RAW glob '{raw_str}' matches no file")
    else:
        root = Path(raw_str)
        if not root.exists():
            raise InputError(f"RAW '{raw_str}' does not exist")
        if root.is_file():
            candidates = [(root, root.name)]
        else:
            candidates, hidden = _walk(root, exclude)
            if not candidates and not hidden:
                raise InputError(f"RAW directory '{raw_str}' holds no files")
    inputs: list[InputFile] = []
    skipped: list[SkippedFile] = list(hidden)
    for path, name in candidates:
        item = classify(path, name)
        (inputs if isinstance(item, InputFile) else skipped).append(item)
    skipped.sort(key=lambda item: item.name)
    return inputs, skipped


HIDDEN = "hidden (the name starts with '.' or '_'), not read"


def _walk(root: Path, exclude: Path | None) -> tuple[list[tuple[Path, str]], list[SkippedFile]]:
    """Every file under ``root`` as ``(path, name relative to root)``, and the hidden files and
    folders passed over (each listed, so the manifest says what was not read).

    Symbolic links to folders are followed (data is often linked in from elsewhere); a folder
    reached twice, e.g. through a link cycle, is read once.
    """
    candidates: list[tuple[Path, str]] = []
    hidden: list[SkippedFile] = []
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        here = Path(dirpath)
        real = os.path.realpath(here)
        if real in seen or (exclude is not None and _same_or_inside(here, exclude)):
            dirnames[:] = []
            continue
        seen.add(real)
        rel_dir = here.relative_to(root)
        for d in sorted(dirnames):
            if d.startswith((".", "_")):
                hidden.append(SkippedFile((rel_dir / d).as_posix() + "/", HIDDEN))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        for fname in sorted(filenames):
            rel = (rel_dir / fname).as_posix()
            if fname.startswith((".", "_")):
                hidden.append(SkippedFile(rel, HIDDEN))
            else:
                candidates.append((here / fname, rel))
    candidates.sort(key=lambda c: c[1])
    return candidates, hidden


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

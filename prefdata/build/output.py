"""Writing OUT: shard names, file hashes, and the atomic swap of a finished build into place.

A build writes into a temporary folder beside OUT and swaps it in only when everything is written, so
a build killed at any moment leaves the previous OUT as it was. On Linux the swap is one
``renameat2(RENAME_EXCHANGE)`` call; elsewhere two renames.

A rebuild replaces only what prefdata wrote into OUT. Anything else there (the ``.git`` of a Hub
dataset repository, a model trained into ``OUT/sft``) is moved from the previous OUT into the new one
after the swap, and again by the next build if this one is killed in between.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import glob
import hashlib
import os
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO

import polars as pl

from prefdata.build.previous_out import Settled, settle_previous
from prefdata.card_configs import CardSplits, card_splits
from prefdata.errors import OutputError, writing
from prefdata.io.discover import BUILD_TEMP_MARK, shown_name
from prefdata.non_utf8_paths import scan_parquet
from prefdata.splits import loader_reads, split_names

TMP_MARK = BUILD_TEMP_MARK
#: The previous OUT's name during a swap made of two renames.
OLD_SUFFIX = "-old"


#: The most partitions (shards per split) a build writes: the Hub's sharded names, which the
#: ``datasets`` loader and :mod:`prefdata.splits` read a split from, number shards in five digits.
MAX_PARTITIONS = 99_999


def shard_name(split: str, index: int, count: int) -> str:
    """Hugging Face Hub layout: ``train-00000-of-00004.parquet`` (up to :data:`MAX_PARTITIONS` shards)."""
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


def visible_parquet(folder: Path) -> list[Path]:
    """``folder/*.parquet`` in name order, without hidden names (starting with ".").

    The Hugging Face loader skips hidden files (an editor's swap file, a partial upload's temporary
    name) and reads every other shard, ``_test.parquet`` included; every stage that reads a dataset
    (check, report, train) sees the same files, so a split the trainer loads is never left unchecked.
    """
    return sorted(f for f in folder.glob("*.parquet") if not f.name.startswith("."))


def shards_by_split(out: Path) -> dict[str, list[Path]]:
    """``OUT/data/*.parquet`` (:func:`visible_parquet`) by split (named as the Hugging Face loader names
    them, by the card's ``configs:`` or by file name, :mod:`prefdata.splits`), each list in file-name
    order (empty when there is none); not the files only the card's other configs read."""
    return _by_split(*default_config_shards(out))


def shards_by_split_and_loaded(out: Path) -> tuple[dict[str, list[Path]], set[Path]]:
    """:func:`shards_by_split`, and those of its shards ``datasets.load_dataset(OUT)`` reads: a shard
    beside the Hub-sharded ones, or one the card does not name, is left out by the loader (and so by
    training). The card is read once for both."""
    files, card = default_config_shards(out)
    return _by_split(files, card), set(loader_reads(files, card))


def default_config_shards(out: Path) -> tuple[list[Path], CardSplits]:
    """``OUT/data``'s shards less those only the card's other configs read (an ``sft`` config's files
    beside the pairs), with what the card says of them."""
    files = visible_parquet(out / "data")
    card = card_splits(out, files)
    return [f for f in files if f not in card.others] or files, card


def _by_split(files: list[Path], card: CardSplits) -> dict[str, list[Path]]:
    shards: dict[str, list[Path]] = {}
    for f, split in split_names(files, card).items():
        shards.setdefault(split, []).append(f)
    return shards


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return sha256_stream(fh)


def sha256_stream(fh: BinaryIO, chunk: int = 8 * 1024 * 1024) -> str:
    """sha256 (hex) of what is left to read in ``fh`` (one open file: the bytes of the version opened)."""
    h = hashlib.sha256()
    while block := fh.read(chunk):
        h.update(block)
    return h.hexdigest()


def parquet_schema(path: Path) -> pl.Schema:
    """A Parquet file's schema, its path taken literally.

    ``pl.read_parquet_schema`` (like every polars reader by default) expands a path as a glob, so a
    dataset in ``my out [v1]`` reads as a character class that matches nothing. Every read of a
    concrete file passes ``glob=False``.
    """
    return scan_parquet(path).collect_schema()  # also where the path is not UTF-8 (non_utf8_paths)


#: About how much text a row group of a data shard holds: the rows of a shard are cut into equal
#: row groups of this many bytes of content (the rejects' :class:`ParquetStream` uses the same size).
ROW_GROUP_BYTES = 64 * 1024 * 1024


def write_parquet(df: pl.DataFrame, path: Path, compression: str) -> None:
    """Deterministic Parquet: same rows and settings -> same bytes (no timestamps in the file).

    The row groups are cut by :func:`row_group_rows`, from the rows alone: left to itself, polars
    writes one row group per chunk of the frame, and how the frame is chunked depends on the number
    of threads, so a shard built on an 8-core runner had other bytes (and sha256) than on a laptop.
    zstd at level 1 writes ~30% faster than polars' default level 3 and is still smaller than snappy.
    Min/max statistics of long texts are useless for pruning and cost as much as the compression, so
    only null counts are written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    level = 1 if compression == "zstd" else None
    stats = {"min": False, "max": False, "distinct_count": False, "null_count": True}
    with writing(path):
        df.write_parquet(path, compression=compression, compression_level=level, statistics=stats, row_group_size=row_group_rows(df))


def row_group_rows(frame: pl.DataFrame, target: int = ROW_GROUP_BYTES) -> int:
    """Rows per row group: as many as hold about ``target`` bytes of content on average (text
    columns and message contents by their UTF-8 length, 8 bytes for any other value)."""
    if frame.height == 0:
        return 1
    total = 8 * frame.height * frame.width
    sizes = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            sizes.append(pl.col(name).str.len_bytes().sum())
        elif isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct) and "content" in {f.name for f in dtype.inner.fields}:
            sizes.append(pl.col(name).list.eval(pl.element().struct.field("content").str.len_bytes()).list.sum().sum())
    if sizes:
        total += sum(v or 0 for v in frame.select(sizes).row(0))
    return max(1, min(frame.height, target * frame.height // total))


def content_bytes(frame: pl.DataFrame) -> int:
    """The bytes a frame's values hold: its text's length, plus 8 for every other value.

    Unlike ``DataFrame.estimated_size``, this is the same for the same rows however they sit in
    memory (one frame or several, read back from a spill file or not), so cuts made by it keep a
    build's output bytes independent of how it was partitioned.
    """
    return int(row_bytes(frame).sum())


def row_bytes(frame: pl.DataFrame) -> pl.Series:
    """:func:`content_bytes` row by row."""
    strings = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    other = 8 * (frame.width - len(strings))
    if not strings:
        return pl.Series([other] * frame.height, dtype=pl.Int64)
    return frame.select((pl.sum_horizontal(pl.col(strings).str.len_bytes().fill_null(0)).cast(pl.Int64) + other).alias("b")).to_series()


class ParquetStream:
    """A Parquet file written a frame at a time, for outputs too large to hold at once (``rejects/``).

    Rows are buffered and written in row groups of about ``row_group_bytes`` (by :func:`content_bytes`),
    so a stream of small frames does not become thousands of tiny row groups. A row group ends at
    the first row that reaches the size, wherever the frames given begin and end: the file depends
    only on the rows, and is as deterministic as :func:`write_parquet`'s.
    """

    def __init__(
        self, path: Path, schema: pl.Schema, compression: str, *, long_text: tuple[str, ...] = (), row_group_bytes: int = 64 * 1024 * 1024
    ) -> None:
        """``long_text``: columns given no min/max statistics, which cost as much as compressing long text."""
        import pyarrow.parquet as pq

        path.parent.mkdir(parents=True, exist_ok=True)
        self._schema = pl.DataFrame(schema=schema).to_arrow(compat_level=pl.CompatLevel.oldest()).schema
        codec = "none" if compression == "uncompressed" else compression
        short = [name for name in schema.names() if name not in long_text]
        self._writer = pq.ParquetWriter(
            path, self._schema, compression=codec, compression_level=1 if compression == "zstd" else None, write_statistics=short
        )
        self._buffer: list[pl.DataFrame] = []
        self._buffered = 0
        self._row_group_bytes = row_group_bytes

    def write(self, frame: pl.DataFrame) -> None:
        sizes = row_bytes(frame).cum_sum()  # once per frame, however many row groups it fills
        start = 0  # rows of ``frame`` already taken; ``sizes[start - 1]`` bytes of it
        while start < frame.height:
            before = int(sizes[start - 1]) if start else 0
            # the first row that brings the buffer to the size
            cut = int(sizes.search_sorted(self._row_group_bytes - self._buffered + before, side="left"))
            if cut >= frame.height:
                self._buffer.append(frame.slice(start))
                self._buffered += int(sizes[-1]) - before
                return
            self._buffer.append(frame.slice(start, cut + 1 - start))
            self._flush()
            start = cut + 1

    def _flush(self) -> None:
        if self._buffer:
            # one chunk: pages would otherwise break where the frames given did, and the bytes with them
            table = pl.concat(self._buffer, rechunk=True).to_arrow(compat_level=pl.CompatLevel.oldest()).cast(self._schema)
            self._writer.write_table(table, row_group_size=table.num_rows)
        self._buffer, self._buffered = [], 0

    def close(self) -> None:
        self._flush()
        self._writer.close()


def check_out_dir(out: Path) -> None:
    """Refuse to replace a folder that is not a prefdata dataset (it may hold someone's work), or a
    mount point (a Docker or Kubernetes volume): the build swaps OUT whole by renaming it, and a
    mount point cannot be renamed (EBUSY, after the whole build had run). ``out`` is absolute: a path
    that is not UTF-8 (a Latin-1 folder name) is refused, as polars and pyarrow write Parquet only to
    UTF-8 paths (the build crashed after reading all of RAW)."""
    try:
        str(out).encode("utf-8", "surrogateescape").decode("utf-8")  # the path's bytes, as shown_name reads them
    except UnicodeDecodeError:
        raise OutputError(
            f"OUT '{shown_name(str(out))}' is not a UTF-8 path (shown with \\x escapes): the Parquet writers take only UTF-8 "
            "paths; choose a UTF-8 name for it and the folders above it"
        ) from None
    if out.exists():
        if not out.is_dir():
            raise OutputError(f"OUT '{out}' exists and is not a folder")
        if os.path.ismount(out):
            raise OutputError(
                f"OUT '{out}' is a mount point (a volume), which cannot be renamed, and a build swaps OUT in whole: "
                f"give a folder inside it (e.g. '{out / 'dataset'}')"
            )
        if any(out.iterdir()) and not (out / "manifest.json").exists():
            raise OutputError(f"OUT '{out}' exists, is not empty and is not a prefdata dataset (no manifest.json); choose another OUT or empty it")


def make_temp_dir(out: Path) -> Path:
    """The folder the build writes into, beside OUT (swapped in whole at the end)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(out)
        tmp = out.parent / f".{out.name}{TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        _IN_USE.add(tmp.name)
    except OSError as exc:
        raise OutputError(
            f"OUT '{out}': cannot write in the folder that holds it, '{out.parent}' ({exc.strerror or exc}); "
            "the build writes beside OUT and swaps it in whole"
        ) from None
    return tmp


#: Temp folders this process is building in: any other of its own pid is left from a build that
#: failed or was interrupted here (a notebook that caught Ctrl-C and builds again).
_IN_USE: set[str] = set()


def release_temp_dir(tmp: Path) -> None:
    """``tmp`` is no longer this process's build in progress (it is gone, or holds a previous OUT)."""
    _IN_USE.discard(tmp.name)


def _remove_stale_temps(out: Path) -> None:
    """Temp folders of killed builds (their process is gone) are removed.

    A build killed after its swap leaves the previous OUT in its temp folder: it is settled as the
    build would have (:func:`~prefdata.build.previous_out.settle_previous`); an unfinished build's
    folder holds only what builds write, so nothing of it is kept.
    """
    for p in out.parent.glob(f".{glob.escape(out.name)}{TMP_MARK}*"):
        pid_text = p.name.rsplit(TMP_MARK, 1)[-1].split("-", 1)[0]
        if not pid_text.isdigit() or p.is_symlink() or not p.is_dir():
            continue
        pid = int(pid_text)
        if (pid == os.getpid() and p.name in _IN_USE) or (pid != os.getpid() and _alive(pid)):
            continue
        try:
            if p.name.endswith(OLD_SUFFIX) and not os.path.lexists(out):
                os.rename(p, out)  # killed between the two renames of a swap without RENAME_EXCHANGE
            else:
                settle_previous(p, out)
        except OSError:
            pass  # left for a later build: never a reason to fail this one


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return rc == 0


def swap_into_place(tmp: Path, out: Path) -> Settled:
    """Make ``tmp`` the new ``out``, then settle the previous ``out`` (:mod:`~prefdata.build.previous_out`).

    Until the swap, a failure removes ``tmp`` (the new build) and leaves ``out`` as it was; after it,
    ``tmp`` holds the previous OUT and is never removed with the user's files in it. Which of the two
    happened is read from the folders themselves (the new build's inode), so an interrupt anywhere,
    even as the swap returns, is told apart. Another build into the same OUT may create it between
    the check and the rename: the rename then fails on the non-empty folder, and this build swaps
    with it instead (the last build wins whole).
    """
    new_build = os.stat(tmp).st_ino
    previous = out.parent / f".{out.name}{TMP_MARK}{os.getpid()}{OLD_SUFFIX}"
    release_temp_dir(tmp)  # from here on it is the new OUT, gone, or the previous OUT left to settle
    try:
        if not out.exists():
            try:
                os.rename(tmp, out)
                return Settled()
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST) or not out.is_dir():
                    raise
        if _exchange(tmp, out):
            previous = tmp
        else:
            _rename_out(out, previous)
            os.rename(tmp, out)
    except BaseException:
        _undo_unfinished_swap(tmp, out, previous, new_build)
        raise
    return settle_previous(previous, out)


def _rename_out(out: Path, previous: Path) -> None:
    """Move the previous OUT aside for the new one; a refusal is the user's to fix (exit 2), not a bug.

    A mount point that :func:`check_out_dir` cannot tell (a bind mount of a folder on the same
    filesystem: same device as its parent) or a folder in use is refused here, with EBUSY, after the
    build: the new build is then removed (:func:`_undo_unfinished_swap`) and OUT left as it was.
    """
    try:
        os.rename(out, previous)
    except OSError as exc:
        raise OutputError(
            f"OUT '{out}' could not be renamed ({exc.strerror or exc}): it is a mount point (a volume or bind mount) or in use, "
            f"and a build swaps OUT in whole. The new build was removed and OUT left as it was: give a folder inside it (e.g. '{out / 'dataset'}')"
        ) from exc


def _undo_unfinished_swap(tmp: Path, out: Path, previous: Path, new_build: int) -> None:
    """After a failure or an interrupt during the swap: remove the new build where it is not OUT, and
    put the previous OUT back where the two-rename swap had moved it away."""
    if _inode(out) == new_build:
        return  # the swap happened: tmp (or the -old folder) is the previous OUT, settled by the next build
    if not os.path.lexists(out) and os.path.isdir(previous):
        os.rename(previous, out)
    if _inode(tmp) == new_build:
        shutil.rmtree(tmp, ignore_errors=True)


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None

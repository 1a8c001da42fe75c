"""Stream the records of one raw file as batches of JSON text.

Whatever the format, a batch is a polars DataFrame with ``_record`` (1-based record number inside the
file) and ``_line`` (the record as JSON text). Downstream code therefore has one decoding path, and a
rejected record keeps its raw text. Records that cannot even become JSON text (invalid UTF-8, a CSV
row with the wrong number of cells, a JSON array that breaks off) come out as ``rejects`` with a
reason instead of stopping the build.

Record numbers: JSON lines and CSV count lines/rows (blank JSON lines are counted but are not
records), a JSON array counts elements, Parquet counts rows; all from 1.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

import orjson
import polars as pl

from prefdata.config import MAX_COUNT
from prefdata.errors import InputError, UnreadableFileError
from prefdata.io.compression import CorruptStreamError, open_binary
from prefdata.io.decode import json_kind
from prefdata.io.discover import InputFile, shown_name
from prefdata.io.json_array import WHITESPACE, ArraySplitter, Elements
from prefdata.io.parquet_records import (
    Undecoded,
    as_text,
    columns_to_read,
    json_with_non_finite,
    named_twice,
    non_finite_rows,
    parquet_file,
    read_schema,
    text_or_null,
    utf8_checked,
)
from prefdata.text_keys import ASCII_WHITESPACE, WHITE_SPACE_NON_ASCII

#: Under glibc's largest mmap threshold (32 MB), so freed blocks are reused instead of handed back to
#: the kernel and page-faulted in again: reading a file in 16 MB blocks costs half of 32 MB ones.
BLOCK_BYTES = 16 * 1024 * 1024
#: CSV and Parquet batches end at this many rows or at about BLOCK_BYTES of record text, whichever
#: comes first: a 2,000-column row or a 20 KB one would otherwise make a 50,000-row batch a gigabyte.
BATCH_ROWS = 50_000
#: JSON-lines blocks under this size are split into lines in Python, larger ones by polars.
SMALL_BLOCK_BYTES = 64 * 1024
#: What a blank line may hold: Unicode White_Space, as polars' regex ``\s`` (the large-block path) matches it.
BLANK_LINE = "".join(ASCII_WHITESPACE + WHITE_SPACE_NON_ASCII)
#: A UTF-8 byte order mark, which Windows tools put at the start of text files: skipped, not data.
#: In JSON lines it is skipped at the start of every line, not only the file's: files joined end to
#: end (``cat a.jsonl b.jsonl``, ``cat a.gz b.gz``, zstd frames) each start with their own.
BOM = codecs.BOM_UTF8
#: The BOM of a part joined after another: where a block's lines may hold one at their start.
LINE_BOM = b"\n" + BOM

LINES_SCHEMA = pl.Schema({"_record": pl.Int64, "_line": pl.String})
RAW_REJECT_SCHEMA = pl.Schema({"_record": pl.Int64, "_raw": pl.String, "_reason": pl.String, "_detail": pl.String})


@dataclass
class RecordBatch:
    lines: pl.DataFrame  # _record, _line
    rejects: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=RAW_REJECT_SCHEMA))
    blank_lines: int = 0
    bytes_read: int = 0  # decompressed bytes consumed by this batch (for progress)
    #: plain files only: the file offset where each line (JSON lines, blank lines included) or array
    #: element of the batch starts, and for elements also where it ends (a line ends where the next starts)
    line_offsets: pl.Series | None = None
    line_ends: pl.Series | None = None
    #: CSV and Parquet: the file's column names as it gives them (a name given twice included), which
    #: the plan checks against the columns its source reads (:func:`~prefdata.io.parquet_records.named_twice`)
    columns: tuple[str, ...] | None = None
    #: the lenient Parquet sample: ``(record, column, what)`` of each value shown as null because its
    #: bytes are not UTF-8 (:func:`~prefdata.io.parquet_records.text_or_null`)
    undecoded: tuple[tuple[int, str, Undecoded], ...] = ()

    @property
    def records(self) -> int:
        return self.lines.height + self.rejects.height

    def text_bytes(self) -> int:
        """Bytes of record text the batch holds (``bytes_read`` is what the file took, maybe compressed)."""
        return int(self.lines.get_column("_line").str.len_bytes().sum() or 0) + int(self.rejects.get_column("_raw").str.len_bytes().sum() or 0)


def iter_batches(f: InputFile, *, block_bytes: int = BLOCK_BYTES, batch_rows: int = BATCH_ROWS) -> Iterator[RecordBatch]:
    """Yield the records of ``f`` in order, in batches of bounded size."""
    if f.format == "jsonl":
        yield from _jsonl_batches(f, block_bytes)
    elif f.format == "json":
        yield from _json_array_batches(f, block_bytes)
    elif f.format == "csv":
        yield from _csv_batches(f, batch_rows, block_bytes)
    elif f.format == "parquet":
        yield from _parquet_batches(f, batch_rows, block_bytes)
    else:  # discover() only produces the formats above
        raise ValueError(f"unknown format {f.format!r}")


def _lines_frame(records: list[int], lines: list[str]) -> pl.DataFrame:
    # from typed Series: half the cost of a dict with a schema, paid once per small file
    return pl.DataFrame([pl.Series("_record", records, dtype=pl.Int64), pl.Series("_line", lines, dtype=pl.String)])


#: One empty rejects frame for every batch without rejects (frames are never changed in place):
#: building an empty frame costs about as much as splitting a small file into lines.
_NO_REJECTS = pl.DataFrame(schema=RAW_REJECT_SCHEMA)


def _rejects_frame(rows: list[tuple[int, str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=RAW_REJECT_SCHEMA, orient="row") if rows else _NO_REJECTS


# -- JSON lines ---------------------------------------------------------------------------------


def _jsonl_batches(f: InputFile, block_bytes: int) -> Iterator[RecordBatch]:
    """JSON lines in blocks of about ``block_bytes`` cut at line ends, each split into lines by polars.

    Memory stays at a few blocks whatever the file size: plain files are read block by block with
    ``pread`` (polars' own line scanner reads ahead of a slower consumer without bound), compressed
    files through a streaming decompressor. Plain files also report where each line starts, so a
    reject found later can be read back with one ``pread`` (:class:`LineIndex`).
    """
    next_record = 1
    if f.compression is None:
        for start, block in _plain_blocks(f.path, block_bytes):
            batch = _jsonl_block(block, next_record, start)
            next_record += batch.records + batch.blank_lines
            yield batch
        return
    blocks = _StreamBlocks(f, block_bytes)
    for block in blocks:
        batch = _jsonl_block(block, next_record)
        next_record += batch.records + batch.blank_lines
        yield batch
    if blocks.damage is not None:
        yield damaged_rest(next_record, blocks.damage, blocks.partial)


def _line_starts(block: bytes, start: int, boms: bool = False) -> pl.Series:
    """File offsets of the lines of a block (one per line, as read_lines counts them). With ``boms``
    (the block holds a line starting with a BOM), such a line starts after its BOM, which is no text."""
    import numpy as np

    newlines = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
    starts = np.concatenate(([0], newlines[:-1] + 1)) if block.endswith(b"\n") else np.concatenate(([0], newlines + 1))
    starts = starts.astype(np.int64)
    if boms:
        data = np.frombuffer(block + bytes(len(BOM)), dtype=np.uint8)  # padded: a line may start at the end
        starts += len(BOM) * np.logical_and.reduce([data[starts + i] == byte for i, byte in enumerate(BOM)])
    return pl.Series("_offset", starts + start)


def _line_starts_from_lengths(lines: pl.Series, start: int) -> pl.Series:
    """The same offsets from the lines polars split (each line plus its newline): no second scan of
    the block. Only valid when no line lost a ``\r`` to the split."""
    ends = (lines.str.len_bytes().cast(pl.Int64) + 1).cum_sum()
    return (ends.shift(1, fill_value=0) + start).alias("_offset")


def _plain_blocks(path: Path, block_bytes: int) -> Iterator[tuple[int, bytes]]:
    """``(file offset, block)``, each block cut after a newline, read with one ``pread`` (no copy)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        start = 0
        while start < size:
            fh.seek(min(start + block_bytes, size))
            fh.readline()  # the block ends at the end of the line it would cut
            block = os.pread(fh.fileno(), fh.tell() - start, start)
            if not block:
                return
            yield start, block
            start += len(block)


class LineIndex:
    """Where each record of a plain JSON-lines file or JSON array starts (and, for array elements,
    ends): the raw text of any record in one ``pread``."""

    def __init__(self, path: Path, size: int, offsets: list[pl.Series], ends: list[pl.Series] | None = None) -> None:
        self.path = path
        self.starts = pl.concat(offsets) if offsets else pl.Series("_offset", [], dtype=pl.Int64)
        self.ends = pl.concat(ends) if ends else None
        self.size = size  # of the version read (the build refuses a file that changed since)

    def _spans(self, records: pl.Series) -> pl.DataFrame:
        """``_record`` (the given numbers, sorted, once each), ``_start`` and ``_end`` in the file."""
        numbers = records.cast(pl.Int64).unique().sort()
        last = len(self.starts)
        starts = self.starts.gather(numbers - 1)
        if self.ends is not None:
            ends = self.ends.gather(numbers - 1)
        else:  # a line ends where the next starts, the last one at the end of the file
            ends = pl.select(
                pl.when(numbers < last).then(self.starts.gather(numbers.clip(upper_bound=last - 1))).otherwise(self.size)
            ).to_series()
        return pl.DataFrame({"_record": numbers, "_start": starts, "_end": ends})

    def fetch(self, records: pl.Series) -> pl.DataFrame:
        """``_record``, ``_line`` for the given 1-based record (line) numbers."""
        return self._read_spans(self._spans(records))

    def _read_spans(self, spans: pl.DataFrame) -> pl.DataFrame:
        lines = []
        fd = os.open(self.path, os.O_RDONLY)
        try:
            for start, end in spans.select("_start", "_end").iter_rows():
                raw = os.pread(fd, end - start, start)
                # a line ends where the next starts: after the BOM that starts the next, if one does
                raw = raw.strip(WHITESPACE) if self.ends is not None else raw.removesuffix(LINE_BOM).rstrip(b"\n").removesuffix(b"\r")
                lines.append(raw.decode("utf-8", "backslashreplace"))
        finally:
            os.close(fd)
        return pl.DataFrame({"_record": spans.get_column("_record"), "_line": lines}, schema=LINES_SCHEMA)

    def fetch_pieces(self, records: pl.Series, piece_bytes: int = BLOCK_BYTES) -> Iterator[pl.DataFrame]:
        """:meth:`fetch` in record order, in pieces of about ``piece_bytes`` of raw text (one record at least)."""
        spans = self._spans(records)
        piece = ((pl.col("_end") - pl.col("_start")).cum_sum() // piece_bytes).alias("_piece")
        for part in spans.with_columns(piece).partition_by("_piece", maintain_order=True, include_key=False):
            yield self._read_spans(part)


class _StreamBlocks:
    """Blocks of a compressed file's lines, each cut after a newline.

    At a truncated or damaged stream the iteration ends after the last complete line; ``damage``
    then says what happened and ``partial`` holds the line it cut.
    """

    def __init__(self, f: InputFile, block_bytes: int) -> None:
        self.f, self.block_bytes = f, block_bytes
        self.damage: CorruptStreamError | None = None
        self.partial = b""

    def __iter__(self) -> Iterator[bytes]:
        with open_binary(self.f.path, self.f.compression) as fh:
            carry: list[bytes] = []  # the line being cut, in pieces: joined once (a long line stays linear)
            while True:
                try:
                    chunk = fh.read(self.block_bytes)
                except CorruptStreamError as exc:
                    self.damage, self.partial = exc, b"".join(carry)
                    return
                if not chunk:
                    if rest := b"".join(carry):  # nothing after the last newline: no empty last block
                        yield rest
                    return
                cut = chunk.rfind(b"\n")
                if cut < 0:
                    carry.append(chunk)
                    continue
                yield b"".join([*carry, chunk[: cut + 1]])
                carry = [chunk[cut + 1 :]]


def damaged_rest(record: int, damage: CorruptStreamError, partial: bytes) -> RecordBatch:
    """The unreadable end of a truncated or damaged compressed file, as one reject.

    Every record before the damage was read; what follows cannot be, so it is counted as one record
    whose raw text is the cut-off start of the record the damage interrupted (if any). The file
    then shows in ``rejects/`` and the manifest's counts instead of looking shorter than it is.
    """
    detail = damaged_detail(damage)
    raw = partial.decode("utf-8", "backslashreplace")
    return RecordBatch(lines=_lines_frame([], []), rejects=_rejects_frame([(record, raw, "damaged_file", detail)]))


def damaged_detail(damage: CorruptStreamError) -> str:
    """The ``damaged_file`` reject's detail (and ``inspect``'s words for the same damage)."""
    return f"{damage}; nothing after this point can be read"


@dataclass(frozen=True)
class Damage:
    """Where a read met damage, as the build's ``damaged_file`` reject names it."""

    record: int
    detail: str
    #: Parquet: the columns whose pages are damaged, when only they are (:func:`_damaged_columns`)
    columns: tuple[str, ...] = ()

    def __str__(self) -> str:
        """``record 140: the gzip stream ends ...``: how ``inspect`` says it."""
        return f"record {self.record}: {self.detail}"


def first_damage(batch: RecordBatch) -> Damage | None:
    """The batch's ``damaged_file`` reject, if it holds one (a file's damage ends its reading)."""
    damaged = batch.rejects.filter(pl.col("_reason") == "damaged_file")
    return Damage(damaged.item(0, "_record"), damaged.item(0, "_detail")) if damaged.height else None


def _split_blank(frame: pl.DataFrame) -> RecordBatch:
    # an anchored regex stops at the first non-blank character: 5x cheaper than stripping every line
    blank = frame.get_column("_line").str.contains(r"^\s*$")
    n_blank = int(blank.sum())
    return RecordBatch(lines=frame.filter(~blank) if n_blank else frame, blank_lines=n_blank)


def _jsonl_block(block: bytes, first_record: int, start: int | None = None) -> RecordBatch:
    """The lines of one block; with ``start`` (its file offset) also where each line starts.

    A block under ``SMALL_BLOCK_BYTES`` (a small file) is split in Python: polars' fixed cost per
    call would be most of the time a small file takes, and a folder can hold thousands of them.
    A BOM starting a line is dropped (:data:`BOM`), and the line's offset is after it.
    """
    frame = None
    if block and len(block) >= SMALL_BLOCK_BYTES:  # an empty block is one blank line, which polars would not see
        try:
            frame = pl.read_lines(io.BytesIO(block), name="_line", row_index_name="_record", row_index_offset=first_record)
        except pl.exceptions.ComputeError:  # invalid UTF-8: split in Python, which rejects only those lines
            pass
    if frame is None:
        batch = _jsonl_block_by_line(block, first_record)
        if start is not None:
            batch.line_offsets = _line_starts(block, start, block.startswith(BOM) or LINE_BOM in block)
        return batch
    lines = frame.get_column("_line")
    # per line, not a scan of the block: ~1 ms for 16 MB of lines (a byte search takes 20)
    boms = lines.str.starts_with("\ufeff")
    with_boms = bool(boms.any())
    if with_boms:
        frame = frame.with_columns(lines.str.strip_prefix("\ufeff"))
    batch = _split_blank(frame.select(pl.col("_record").cast(pl.Int64), "_line"))
    batch.bytes_read = len(block)
    if start is not None:
        offsets = _line_starts(block, start) if b"\r" in block else _line_starts_from_lengths(lines, start)
        batch.line_offsets = offsets + boms.cast(pl.Int64) * len(BOM) if with_boms else offsets
    return batch


def _jsonl_block_by_line(block: bytes, first_record: int) -> RecordBatch:
    """A block decoded line by line: small blocks, and blocks polars refused (invalid UTF-8).

    Lines are cut and judged blank exactly as the polars path does (``\\n`` ends a line, a trailing
    ``\\r`` and a leading BOM are dropped, blank means only Unicode White_Space), so a file builds the
    same whichever path reads it.
    """
    records: list[int] = []
    lines: list[str] = []
    rejects: list[tuple[int, str, str, str]] = []
    n_blank = 0
    raw_lines = block.split(b"\n")
    if block.endswith(b"\n"):
        raw_lines.pop()
    for offset, raw in enumerate(raw_lines):
        number = first_record + offset
        raw = raw.removesuffix(b"\r").removeprefix(BOM)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            shown = raw.decode("utf-8", "backslashreplace")
            rejects.append((number, shown, "invalid_utf8", f"invalid UTF-8 at byte {exc.start}"))
            continue
        if not text.strip(BLANK_LINE):
            n_blank += 1
            continue
        records.append(number)
        lines.append(text)
    return RecordBatch(lines=_lines_frame(records, lines), rejects=_rejects_frame(rejects), blank_lines=n_blank, bytes_read=len(block))


# -- JSON array ---------------------------------------------------------------------------------


def _json_array_batches(f: InputFile, block_bytes: int) -> Iterator[RecordBatch]:
    """A JSON array, streamed: cut into its elements block by block (:mod:`prefdata.io.json_array`).

    Each element's raw text is a record, numbered from 1; where the array breaks, the rest of the
    file is one ``malformed_json`` reject.
    """
    damage: CorruptStreamError | None = None
    splitter = ArraySplitter()
    with open_binary(f.path, f.compression) as fh:
        try:
            head = fh.read(block_bytes)
            skip = len(BOM) if head.startswith(BOM) else 0
            splitter = ArraySplitter(offset=skip)
            for block in itertools.chain([head[skip:]], iter(lambda: fh.read(block_bytes), b"")):
                first = splitter.count + 1
                got = splitter.feed(block)
                if len(got):
                    batch = _elements_batch(got, first, len(block))
                    if f.compression is None:
                        batch.line_offsets = pl.Series("_offset", got.starts, dtype=pl.Int64)
                        batch.line_ends = pl.Series("_end", got.ends, dtype=pl.Int64)
                    yield batch
        except CorruptStreamError as exc:
            damage = exc
    tail = splitter.finish()
    if damage is not None:
        yield damaged_rest(splitter.count + 1, damage, tail.raw if tail is not None else b"")
    elif tail is not None:
        reject = (splitter.count + 1, tail.raw.decode("utf-8", "backslashreplace"), "malformed_json", tail.detail)
        yield RecordBatch(lines=_lines_frame([], []), rejects=_rejects_frame([reject]))


def _elements_batch(got: Elements, first: int, bytes_read: int) -> RecordBatch:
    lines = pl.DataFrame(
        {"_record": pl.int_range(first, first + len(got), dtype=pl.Int64, eager=True), "_line": pl.from_arrow(got.texts)},
        schema=LINES_SCHEMA,
    )
    rejects = []
    for i, raw in got.invalid.items():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            rejects.append((first + i, raw.decode("utf-8", "backslashreplace"), "invalid_utf8", f"invalid UTF-8 at byte {exc.start}"))
    if rejects:
        lines = lines.filter(pl.col("_line").is_not_null())
    return RecordBatch(lines=lines, rejects=_rejects_frame(rejects), bytes_read=bytes_read)


# -- CSV ----------------------------------------------------------------------------------------


#: The largest CSV cell read (2 GB - 1, what the csv module takes on every platform).
CSV_FIELD_LIMIT = 2**31 - 1


def _csv_batches(f: InputFile, batch_rows: int, block_bytes: int = BLOCK_BYTES, *, lenient: bool = False) -> Iterator[RecordBatch]:
    """CSV cells are text; a row whose cell count differs from the header is a reject, and so is a
    row with bytes that are not UTF-8 (read as escapes, so one bad byte costs its row, not the file).

    A header that gives a column ``f`` reads (:attr:`InputFile.columns`; None: every column) a name
    twice fails the file; a name given twice that is not read, and every one in the ``lenient``
    detection sample, holds its first column's cell (the plan refuses the file if it reads it)."""
    with open_binary(f.path, f.compression) as fb:
        # -sig: drop a BOM; surrogateescape: keep invalid bytes (as lone surrogates) to find their row
        fh = io.TextIOWrapper(fb, encoding="utf-8-sig", errors="surrogateescape", newline="")
        # csv's default cap, 128 KB a cell, is a long answer; the cap is process-wide, so raise it only
        csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            return
        except CorruptStreamError as exc:
            yield damaged_rest(1, exc, b"")
            return
        if (bad := _invalid_utf8(header)) is not None:
            raise InputError(f"{shown_name(f.name)}: the CSV header (line 1) is not valid UTF-8 (cell {bad[0] + 1}, {bad[1]}); no column can be named")
        if not lenient and (twice := named_twice(f, header, f.columns)) is not None:
            raise twice
        columns = tuple(header)
        # a name given twice keeps its first cell; without one (the usual header) each row zips whole
        first_cells = None if len(set(header)) == len(header) else [header.index(name) for name in dict.fromkeys(header)]
        records: list[int] = []
        lines: list[str] = []
        rejects: list[tuple[int, str, str, str]] = []
        number = blank = text_bytes = 0
        position = 0 if _position(fb) is not None else None  # the header's bytes go to the first batch

        def batch() -> RecordBatch:
            """The rows so far; ``bytes_read`` is the file's bytes they took (their JSON text when unknown)."""
            nonlocal position
            at = _position(fb)
            done = at - position if at is not None and position is not None else text_bytes
            position = at
            return RecordBatch(lines=_lines_frame(records, lines), rejects=_rejects_frame(rejects), blank_lines=blank, bytes_read=done, columns=columns)

        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except CorruptStreamError as exc:
                yield batch()
                yield damaged_rest(number + 1, exc, b"")
                return
            number += 1
            if not row:
                blank += 1
            elif (bad := _invalid_utf8(row)) is not None:
                shown = [cell.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") for cell in row]
                if len(row) != len(header):
                    raw = orjson.dumps(shown).decode("utf-8")
                else:  # keyed by the header, as the row would have been read
                    raw = orjson.dumps(dict(zip(header, shown)) if first_cells is None else {header[i]: shown[i] for i in first_cells}).decode("utf-8")
                where = f"column '{header[bad[0]]}'" if bad[0] < len(header) else f"cell {bad[0] + 1}"
                rejects.append((number, raw, "invalid_utf8", f"{where}: {bad[1]}"))
                text_bytes += len(raw)
            elif len(row) != len(header):
                raw = orjson.dumps(row).decode("utf-8")
                rejects.append((number, raw, "malformed_record", f"row has {len(row)} cells, header has {len(header)}"))
                text_bytes += len(raw)
            else:
                records.append(number)
                cells = dict(zip(header, row)) if first_cells is None else {header[i]: row[i] for i in first_cells}
                lines.append(orjson.dumps(cells).decode("utf-8"))
                text_bytes += len(lines[-1])
            if len(records) + len(rejects) >= batch_rows or text_bytes >= block_bytes:
                yield batch()
                records, lines, rejects, blank, text_bytes = [], [], [], 0, 0
        yield batch()


def _position(fh: BinaryIO) -> int | None:
    """Where a plain file's reader is (read-ahead included); ``None`` for a decompressing stream."""
    try:
        return fh.tell()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None


def _invalid_utf8(cells: list[str]) -> tuple[int, str] | None:
    """``(cell index, what)`` where a row read with ``surrogateescape`` held bytes that are not UTF-8."""
    for i, cell in enumerate(cells):
        try:
            cell.encode("utf-8")
        except UnicodeEncodeError as exc:
            return i, f"invalid UTF-8 at character {exc.start}"
    return None


# -- Parquet ------------------------------------------------------------------------------------


def _parquet_batches(
    f: InputFile, batch_rows: int, block_bytes: int = BLOCK_BYTES, *, lenient: bool = False, lost: Collection[str] = (),
) -> Iterator[RecordBatch]:
    """Parquet rows as JSON text (see :mod:`prefdata.io.parquet_records`); rows numbered from 1.

    Only the columns ``f`` reads (:attr:`InputFile.columns`). With ``lenient`` (the detection sample)
    every column, those polars cannot import and bytes that are not UTF-8 shown as null: the sample
    names every column, and only a column the build reads may fail it or reject a record.
    Rows are read in Arrow batches of about a quarter of ``block_bytes`` (sized from the first 1,024
    rows, decoded: the footer's sizes understate dictionary-encoded text) and gathered until about
    ``block_bytes`` of data or ``batch_rows`` rows. ``lost`` (lenient only): columns left unread and
    shown as null, those damaged before the first record (:func:`_parquet_sample`).
    """
    import pyarrow as pa

    with parquet_file(f) as parquet:
        schema = parquet.schema_arrow  # type: ignore[attr-defined]
        read = replace(f, columns=None, fields=None) if lenient else f
        columns = columns_to_read(schema, read, lenient=lenient)
        if lost:
            columns = [n for n in (dict.fromkeys(schema.names) if columns is None else columns) if n not in lost]
        as_null = [n for n in dict.fromkeys(schema.names) if columns is not None and n not in columns] if lenient else None
        names = tuple(schema.names)
        # the structs read, cut to the fields read (None: nothing to cut)
        types = read_schema(schema, f, columns) if read.fields is not None and columns is not None else None
        if types is not None and all(types.field(n).type == schema.field(schema.names.index(n)).type for n in columns):  # type: ignore[union-attr]
            types = None
        row_bytes = _row_bytes(parquet, columns, min(batch_rows, 1024))
        read_rows = max(1, min(batch_rows, int(block_bytes / 4 / max(1.0, row_bytes))))
        first = 1
        gathered: list[pa.RecordBatch] = []
        gathered_bytes = gathered_rows = 0  # kept as they grow: a sum over ``gathered`` per batch is quadratic

        def hand_out() -> RecordBatch:
            nonlocal first, gathered, gathered_bytes, gathered_rows
            batch = replace(_parquet_batch(pa.Table.from_batches(gathered), first, columns, as_null, types), columns=names)
            first += gathered_rows
            gathered, gathered_bytes, gathered_rows = [], 0, 0
            return batch

        # row group by row group: damage in one (a broken page) keeps every row group before it, and
        # the rows of its own batches read before the damage, as a damaged compressed file keeps its start
        for group in range(parquet.metadata.num_row_groups):  # type: ignore[attr-defined]
            try:
                for arrow_batch in parquet.iter_batches(batch_size=read_rows, row_groups=[group], columns=columns):  # type: ignore[attr-defined]
                    gathered.append(arrow_batch)
                    gathered_bytes += _decoded_bytes(arrow_batch)
                    gathered_rows += arrow_batch.num_rows
                    if gathered_rows >= batch_rows or gathered_bytes >= block_bytes:
                        yield hand_out()
            except (pa.ArrowException, OSError) as exc:
                if gathered:
                    yield hand_out()
                rows = parquet.metadata.num_rows  # type: ignore[attr-defined]
                detail = (f"row group {group + 1} of {parquet.metadata.num_row_groups} cannot be read ({exc}); "  # type: ignore[attr-defined]
                          f"rows {first:,} to {rows:,} are lost")
                yield RecordBatch(lines=_lines_frame([], []), rejects=_rejects_frame([(first, "", "damaged_file", detail)]))
                return
        if gathered:
            yield hand_out()


def _row_bytes(parquet, columns: list[str] | None, rows: int) -> float:  # type: ignore[no-untyped-def]
    """Decoded bytes per row of the file's first ``rows`` rows (1.0 when it has none). Damage among
    them is the row-group loop's to report (a damaged_file reject after the rows before it), not a
    reason to refuse the whole file: the rows of the row groups before it are measured instead."""
    import pyarrow as pa

    try:
        probe = next(iter(parquet.iter_batches(batch_size=rows, columns=columns)), None)
        return _decoded_bytes(probe) / probe.num_rows if probe is not None and probe.num_rows else 1.0
    except (pa.ArrowException, OSError):
        pass
    seen_rows = seen_bytes = 0
    for group in range(parquet.metadata.num_row_groups):
        if seen_rows >= rows:
            break
        try:
            batch = next(iter(parquet.iter_batches(batch_size=rows - seen_rows, row_groups=[group], columns=columns)), None)
        except (pa.ArrowException, OSError):
            break
        if batch is not None:
            seen_rows, seen_bytes = seen_rows + batch.num_rows, seen_bytes + _decoded_bytes(batch)
    return seen_bytes / seen_rows if seen_rows else 1.0


def _decoded_bytes(batch) -> int:  # type: ignore[no-untyped-def]
    """Bytes of ``batch`` once its dictionary columns are decoded (each row costs its value's bytes,
    as the JSON text built from it will): ``nbytes`` counts a dictionary's values once."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = 0
    for column in batch.columns:
        if isinstance(column, pa.DictionaryArray) and (pa.types.is_string(column.dictionary.type) or pa.types.is_large_string(column.dictionary.type) or pa.types.is_binary(column.dictionary.type)):
            lengths = pc.binary_length(column.dictionary).take(column.indices)
            total += column.indices.nbytes + (pc.sum(lengths).as_py() or 0)
        else:
            total += column.nbytes
    return total


def _parquet_batch(table, first: int, columns: list[str] | None = None, as_null: list[str] | None = None, types=None) -> RecordBatch:  # type: ignore[no-untyped-def]
    """One batch of rows as JSON text. ``columns`` are selected again after the read (pyarrow also
    reads ``a`` for a column named ``a.b``, the path of a nested field), each by its first position
    (the lenient sample reads both columns of a name given twice, and shows the first). ``as_null``:
    the lenient sample's columns left unread, shown as null, and bytes that are not UTF-8 shown as null too
    (the batch's ``undecoded`` says which).
    ``types``: the columns' structs cut to the fields read (:func:`~prefdata.io.parquet_records.read_schema`)."""
    if columns is not None:
        names = table.schema.names
        table = table.select([names.index(n) for n in columns])
    if types is not None:
        table = table.cast(types)
    frame = pl.from_arrow(utf8_checked(table))
    assert isinstance(frame, pl.DataFrame)
    undecoded: list[tuple[int, str, Undecoded]] = []
    if as_null is None:
        text, bad = as_text(frame)
    else:
        text, undecoded = text_or_null(frame)
        text, bad = text.with_columns(pl.lit(None, pl.String).alias(n) for n in as_null), []
    numbers = pl.int_range(first, first + frame.height, dtype=pl.Int64, eager=True)
    if bad:
        numbers = numbers.filter(~pl.int_range(0, frame.height, eager=True).is_in([i for i, _, _ in bad]))
    record = pl.struct(pl.all()).struct.json_encode() if text.width else pl.repeat("{}", pl.len(), dtype=pl.String)
    lines = text.select(numbers.alias("_record"), record.alias("_line"))
    if (non_finite := non_finite_rows(text)) is not None:  # NaN and infinities: written as null by polars
        rows = non_finite.arg_true()
        fixed = [json_with_non_finite(row) for row in text[rows].iter_rows(named=True)]
        lines = lines.with_columns(lines.get_column("_line").scatter(rows, fixed))
    rejects = [(first + i, raw, "invalid_utf8", f"column '{column}' holds bytes that are not UTF-8") for i, column, raw in bad]
    return RecordBatch(lines=lines, rejects=_rejects_frame(rejects), bytes_read=table.nbytes,
                       undecoded=tuple((first + i, column, what) for i, column, what in undecoded))


#: How many of a file's first records the build detects its shape from (and ``inspect`` too, whatever
#: it shows): the config ``inspect`` proposes is then the one the build would detect.
DETECTION_SAMPLE = 200


@dataclass(frozen=True)
class Sample:
    """A file's first records that parse as JSON objects, and its column names as it gives them
    (CSV and Parquet: a name given twice included, shown once in the records; None for JSON)."""

    records: list[dict]
    columns: tuple[str, ...] | None = None
    #: why the first record that is no JSON object is not (``record 2: ...``): a file none of whose
    #: sampled records parse is skipped, and its reason should say what the records look like
    problem: str | None = None
    #: Parquet: the values of ``records`` shown as null because their bytes are not UTF-8, by the
    #: record's index and column (an image's bytes; ``inspect`` counts them as ``binary``)
    undecoded: dict[int, dict[str, Undecoded]] = field(default_factory=dict)
    #: where the sample's read ran into a damaged or truncated compressed file (or Parquet row group)
    #: before it had ``n`` records: the records before it are real, the file is not whole. With
    #: ``columns``: Parquet columns damaged before the first record, unread in every record (``undecoded``)
    damage: Damage | None = None

    @property
    def column_damage(self) -> Damage | None:
        """The damage when it is to Parquet columns before the first record, unread in every record
        (None otherwise: no damage, or damage to whole records)."""
        return self.damage if self.damage is not None and self.damage.columns else None

    def reads_damaged(self, read: Collection[str] | None) -> bool:
        """Whether a build reading the columns ``read`` (None: all) reads a column of :attr:`column_damage`."""
        damage = self.column_damage
        return damage is not None and (read is None or not set(damage.columns).isdisjoint(read))

    def unreadable_for(self, f: InputFile, read: Collection[str] | None) -> UnreadableFileError | None:
        """Why a build reading the columns ``read`` of ``f`` (None: all) skips it, or None: it reads a
        Parquet column damaged before the first record, as a file damaged before its first record is
        skipped; damage in a column it never reads loses nothing."""
        if (damage := self.column_damage) is None or not self.reads_damaged(read):
            return None
        return UnreadableFileError(f"{shown_name(f.name)}: {damage.detail}; the source reads {_it(damage.columns)}, so no record could be read")

    def undetected(self, f: InputFile) -> UnreadableFileError | None:
        """Why a build without a config skips ``f``, or None: a Parquet column damaged before the first
        record shows no value, and detection cannot tell what a missing value would have made of the
        shape (a damaged ``history`` looks like none), so only a config may leave the column unread."""
        if (damage := self.column_damage) is None:
            return None
        it = _it(damage.columns)
        return UnreadableFileError(
            f"{shown_name(f.name)}: {damage.detail}; its shape is not detected without {it}: a --config whose "
            f"source does not read {it} builds the rest"
        )


def _it(columns: Collection[str]) -> str:
    return "it" if len(columns) == 1 else "them"


def read_sample(f: InputFile, n: int = DETECTION_SAMPLE) -> Sample:
    """The first ``n`` records of ``f`` that parse as JSON objects (for shape detection), with the file's
    column names: a name given twice shows its first column, and the plan refuses the file only if its
    source reads that name. An ``n`` past what a 64-bit count holds (``inspect --sample`` is unbounded)
    is all the records, as it is: polars takes no wider number of rows."""
    n = min(n, MAX_COUNT)
    out: list[dict] = []
    problem: str | None = None
    damage: Damage | None = None
    if f.format == "jsonl":
        lines = 0  # lines read whole (ending with a line break)
        try:
            with open_binary(f.path, f.compression) as fh:
                for raw in fh:
                    if not raw.endswith(b"\n"):
                        # the file's last line, or the start of one cut by damage: one more read tells
                        # which (it raises at damage, and the build's damaged_file reject holds that start)
                        fh.read(1)
                    lines += 1
                    raw = raw.removeprefix(BOM)  # at any line's start, as the build reads it
                    try:
                        obj = orjson.loads(raw)
                    except orjson.JSONDecodeError as exc:
                        # a line the build counts as blank is no problem (nor is the BOM before one)
                        if problem is None and raw.decode("utf-8", "replace").strip(BLANK_LINE):
                            problem = f"record {lines} is not JSON: {exc}"
                        continue
                    if isinstance(obj, dict):
                        out.append(obj)
                        if len(out) >= n:
                            break
                    elif problem is None:
                        problem = f"record {lines}: a JSON {json_kind(obj)}, not an object"
        except CorruptStreamError as exc:
            if not out:  # with records before the damage, pass 1 reads them and rejects the rest
                raise UnreadableFileError(f"{shown_name(f.name)}: {exc}; no record could be read") from None
            damage = Damage(lines + 1, damaged_detail(exc))
        return Sample(out, problem=problem, damage=damage)
    if f.format == "parquet":
        return _parquet_sample(f, n)
    if f.format == "csv":
        return _sample_of(f, n, _csv_batches(f, max(n, 1), lenient=True))
    return _sample_of(f, n, iter_batches(f, batch_rows=max(n, 1)))


def _parquet_sample(f: InputFile, n: int) -> Sample:
    """:func:`read_sample` of a Parquet file: every column, even those the build will not read (and may
    not import). Damage confined to some columns' pages before the first record (a broken page) leaves
    those columns unread (``unread`` in ``undecoded``) rather than the file: a build that never reads
    them never meets it (:meth:`Sample.unreadable_for`). They are the columns the build's own sample
    finds damaged, however many records ``inspect`` shows."""
    try:
        return _sample_of(f, n, _parquet_batches(f, max(n, 1), lenient=True))
    except UnreadableFileError as exc:
        unreadable = exc
    try:
        damage = _damaged_columns(f, min(n, DETECTION_SAMPLE))
    except UnreadableFileError:
        damage = None
    if damage is None:
        raise unreadable
    for rows in dict.fromkeys((n, min(n, DETECTION_SAMPLE))):  # inspect's longer read may meet more damage
        try:
            sample = _sample_of(f, rows, _parquet_batches(f, max(rows, 1), lenient=True, lost=damage.columns))
            break
        except UnreadableFileError:
            continue
    else:
        raise unreadable
    unread = {c: Undecoded("unread") for c in damage.columns}
    undecoded = {i: {**sample.undecoded.get(i, {}), **unread} for i in range(len(sample.records))}
    return replace(sample, damage=damage, undecoded=undecoded)


def _damaged_columns(f: InputFile, n: int) -> Damage | None:
    """Where a read of the first row group holding rows meets damage in only some of its columns (the
    first ``n`` rows of each column read apart): the damage with the columns named, or None when
    every column fails or none does (the damage is not one column's). Asked when the sample read no record."""
    import pyarrow as pa

    with parquet_file(f) as parquet:
        names = list(dict.fromkeys(parquet.schema_arrow.names))  # type: ignore[attr-defined]
        metadata = parquet.metadata  # type: ignore[attr-defined]
        group = next((g for g in range(metadata.num_row_groups) if metadata.row_group(g).num_rows), None)
        if group is None:
            return None
        rows = max(1, min(n, metadata.row_group(group).num_rows))  # inspect's sample may be unbounded
        lost: dict[str, str] = {}
        for name in names:
            try:
                next(iter(parquet.iter_batches(batch_size=rows, row_groups=[group], columns=[name])), None)  # type: ignore[attr-defined]
            except (pa.ArrowException, OSError) as exc:
                lost[name] = str(exc).strip()
    if not 0 < len(lost) < len(names):
        return None
    which = f"column {next(iter(lost))!r}" if len(lost) == 1 else "columns " + ", ".join(repr(c) for c in lost)
    return Damage(1, f"{which} of row group {group + 1} of {metadata.num_row_groups} cannot be read ({next(iter(lost.values()))})", tuple(lost))


def _sample_of(f: InputFile, n: int, batches: Iterator[RecordBatch]) -> Sample:
    """:func:`read_sample` of a CSV, Parquet or JSON array file from its ``batches``."""
    out: list[dict] = []
    problem: str | None = None
    damage: Damage | None = None
    columns = None
    undecoded: dict[int, dict[str, Undecoded]] = {}
    for batch in batches:
        columns = columns or batch.columns
        if problem is None and batch.rejects.height:
            first = batch.rejects.row(0, named=True)
            problem = f"record {first['_record']}: {first['_detail']}"
        if damage is None and (damage := first_damage(batch)) is not None and not out and f.format == "parquet":
            # as a compressed file damaged before its first record
            raise UnreadableFileError(f"{shown_name(f.name)}: {damage.detail}; no record could be read")
        nulled: dict[int, dict[str, Undecoded]] = {}
        for record, column, what in batch.undecoded:
            nulled.setdefault(record, {})[column] = what
        for record, line in batch.lines.head(n - len(out)).iter_rows():
            obj = _loads_or_none(line)
            if isinstance(obj, dict):
                if record in nulled:
                    undecoded[len(out)] = nulled[record]
                out.append(obj)
            elif problem is None:  # a JSON array's element that is no object ([[1, 2], [3, 4]])
                problem = f"record {record}: " + ("not JSON" if obj is None and line.strip() != "null" else f"a JSON {json_kind(obj)}, not an object")
        if len(out) >= n:
            break
    return Sample(out, columns, problem, undecoded, damage)


def _loads_or_none(line: str) -> object:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return None


class RecordCursor:
    """The raw text of chosen records of one file, read through once, front to back.

    For files without a :class:`LineIndex` (compressed, CSV, Parquet): the rejects that pass 2 drops
    carry no raw text, and asking for them in ascending record order lets one pass over the file
    answer every request while holding one batch, whatever the number of rejects.
    """

    def __init__(self, f: InputFile) -> None:
        self._batches = iter_batches(f)
        self._held = pl.DataFrame(schema=LINES_SCHEMA)  # lines read but not yet asked for
        self._read_to = 0  # the highest record number read so far
        self._asked_to = 0  # the highest record number asked for so far

    def close(self) -> None:
        """Close the file (the paused batch generator) and drop the lines held."""
        self._batches.close()
        self._held = self._held.clear()

    def take(self, records: pl.Series) -> Iterator[pl.DataFrame]:
        """``_record``, ``_line`` of the given record numbers, which must all exceed any asked before,
        in record order, a batch's worth at a time."""
        wanted = records.cast(pl.Int64).implode()
        top = int(records.max())
        if int(records.min()) <= self._asked_to:
            raise ValueError(f"record {int(records.min())} asked after record {self._asked_to}: a cursor only moves forward")
        self._asked_to = top
        while True:
            found = self._held.filter(pl.col("_record").is_in(wanted))
            self._held = self._held.filter(pl.col("_record") > top)
            if found.height:
                yield found
            if self._read_to >= top:
                return
            batch = next(self._batches, None)
            if batch is None:
                return
            self._held = batch.lines.select("_record", "_line")
            if batch.lines.height:
                self._read_to = int(batch.lines.get_column("_record").max())
            if batch.rejects.height:
                self._read_to = max(self._read_to, int(batch.rejects.get_column("_record").max()))

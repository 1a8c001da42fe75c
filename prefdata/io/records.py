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

import csv
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import polars as pl

from prefdata.io.compression import open_binary
from prefdata.io.discover import InputFile

BLOCK_BYTES = 32 * 1024 * 1024
BATCH_ROWS = 50_000

LINES_SCHEMA = pl.Schema({"_record": pl.Int64, "_line": pl.String})
RAW_REJECT_SCHEMA = pl.Schema({"_record": pl.Int64, "_raw": pl.String, "_reason": pl.String, "_detail": pl.String})


@dataclass
class RecordBatch:
    lines: pl.DataFrame  # _record, _line
    rejects: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=RAW_REJECT_SCHEMA))
    blank_lines: int = 0
    bytes_read: int = 0  # decompressed bytes consumed by this batch (for progress)
    #: plain JSON lines only: the file offset where each line of the batch starts (blank lines included)
    line_offsets: pl.Series | None = None

    @property
    def records(self) -> int:
        return self.lines.height + self.rejects.height


def iter_batches(f: InputFile, *, block_bytes: int = BLOCK_BYTES, batch_rows: int = BATCH_ROWS) -> Iterator[RecordBatch]:
    """Yield the records of ``f`` in order, in batches of bounded size."""
    if f.format == "jsonl":
        yield from _jsonl_batches(f, block_bytes)
    elif f.format == "json":
        yield from _json_array_batches(f, batch_rows)
    elif f.format == "csv":
        yield from _csv_batches(f, batch_rows)
    elif f.format == "parquet":
        yield from _parquet_batches(f, batch_rows)
    else:  # discover() only produces the formats above
        raise ValueError(f"unknown format {f.format!r}")


def _lines_frame(records: list[int], lines: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"_record": records, "_line": lines}, schema=LINES_SCHEMA)


def _rejects_frame(rows: list[tuple[int, str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=RAW_REJECT_SCHEMA, orient="row")


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
            batch = _jsonl_block(block, next_record)
            batch.line_offsets = _line_starts(block, start)
            next_record += batch.records + batch.blank_lines
            yield batch
        return
    for block in _stream_blocks(f, block_bytes):
        batch = _jsonl_block(block, next_record)
        next_record += batch.records + batch.blank_lines
        yield batch


def _line_starts(block: bytes, start: int) -> pl.Series:
    """File offsets of the lines of a block (one per line, as read_lines counts them)."""
    import numpy as np

    newlines = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
    starts = np.concatenate(([0], newlines[:-1] + 1)) if block.endswith(b"\n") else np.concatenate(([0], newlines + 1))
    return pl.Series("_offset", starts.astype(np.int64) + start)


def _plain_blocks(path: Path, block_bytes: int) -> Iterator[tuple[int, bytes]]:
    size = path.stat().st_size
    buf = bytearray(block_bytes)
    with open(path, "rb") as fh:
        start = 0
        while start < size:
            fh.seek(min(start + block_bytes, size))
            fh.readline()  # the block ends at the end of the line it would cut
            end = fh.tell()
            if end - start > len(buf):
                buf = bytearray(end - start)
            view = memoryview(buf)[: end - start]
            got = os.preadv(fh.fileno(), [view], start)
            yield start, bytes(view[:got])
            start += got


class LineIndex:
    """Where each line of a plain JSON-lines file starts: raw text of any record in one ``pread``."""

    def __init__(self, path: Path, offsets: list[pl.Series]) -> None:
        self.path = path
        self.starts = pl.concat(offsets) if offsets else pl.Series("_offset", [], dtype=pl.Int64)
        self.size = path.stat().st_size

    def fetch(self, records: pl.Series) -> pl.DataFrame:
        """``_record``, ``_line`` for the given 1-based record (line) numbers."""
        numbers = sorted(int(r) for r in records.unique())
        lines = []
        fd = os.open(self.path, os.O_RDONLY)
        try:
            for r in numbers:
                start = int(self.starts[r - 1])
                end = int(self.starts[r]) if r < len(self.starts) else self.size
                raw = os.pread(fd, end - start, start).rstrip(b"\n").removesuffix(b"\r")
                lines.append(raw.decode("utf-8", "backslashreplace"))
        finally:
            os.close(fd)
        return pl.DataFrame({"_record": numbers, "_line": lines}, schema=LINES_SCHEMA)


def _stream_blocks(f: InputFile, block_bytes: int) -> Iterator[bytes]:
    with open_binary(f.path, f.compression) as fh:
        carry = b""
        while True:
            chunk = fh.read(block_bytes)
            if not chunk:
                if carry:
                    yield carry
                return
            cut = chunk.rfind(b"\n")
            if cut < 0:
                carry += chunk
                continue
            yield carry + chunk[: cut + 1]
            carry = chunk[cut + 1 :]


def _split_blank(frame: pl.DataFrame) -> RecordBatch:
    # an anchored regex stops at the first non-blank character: 5x cheaper than stripping every line
    blank = frame.get_column("_line").str.contains(r"^\s*$")
    n_blank = int(blank.sum())
    return RecordBatch(lines=frame.filter(~blank) if n_blank else frame, blank_lines=n_blank)


def _jsonl_block(block: bytes, first_record: int) -> RecordBatch:
    try:
        frame = pl.read_lines(io.BytesIO(block), name="_line", row_index_name="_record", row_index_offset=first_record)
    except pl.exceptions.ComputeError:
        return _jsonl_block_by_line(block, first_record)
    batch = _split_blank(frame.select(pl.col("_record").cast(pl.Int64), "_line"))
    batch.bytes_read = len(block)
    return batch


def _jsonl_block_by_line(block: bytes, first_record: int) -> RecordBatch:
    """Slow path for a block polars refused (invalid UTF-8): decode line by line."""
    records: list[int] = []
    lines: list[str] = []
    rejects: list[tuple[int, str, str, str]] = []
    n_blank = 0
    raw_lines = block.split(b"\n")
    if block.endswith(b"\n"):
        raw_lines.pop()
    for offset, raw in enumerate(raw_lines):
        number = first_record + offset
        raw = raw.removesuffix(b"\r")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            shown = raw.decode("utf-8", "backslashreplace")
            rejects.append((number, shown, "invalid_utf8", f"invalid UTF-8 at byte {exc.start}"))
            continue
        if not text.strip():
            n_blank += 1
            continue
        records.append(number)
        lines.append(text)
    return RecordBatch(lines=_lines_frame(records, lines), rejects=_rejects_frame(rejects), blank_lines=n_blank, bytes_read=len(block))


# -- JSON array ---------------------------------------------------------------------------------


def _json_array_batches(f: InputFile, batch_rows: int) -> Iterator[RecordBatch]:
    """A JSON array is parsed whole (use JSON lines for data larger than memory)."""
    with open_binary(f.path, f.compression) as fh:
        data = fh.read()
    try:
        items = orjson.loads(data)
        tail: tuple[str, str] | None = None
    except orjson.JSONDecodeError:
        items, tail = _salvage_json_array(data)
    if not isinstance(items, list):
        items, tail = [], (data.decode("utf-8", "backslashreplace"), "the file is not a JSON array")
    total = len(data)
    for start in range(0, len(items), batch_rows):
        chunk = items[start : start + batch_rows]
        lines = [orjson.dumps(item).decode("utf-8") for item in chunk]
        records = list(range(start + 1, start + 1 + len(chunk)))
        yield RecordBatch(lines=_lines_frame(records, lines), bytes_read=total * len(chunk) // max(len(items), 1))
    if tail is not None:
        raw, detail = tail
        yield RecordBatch(lines=_lines_frame([], []), rejects=_rejects_frame([(len(items) + 1, raw, "malformed_json", detail)]))


def _salvage_json_array(data: bytes) -> tuple[list, tuple[str, str]]:
    """Keep the elements before the point where a JSON array breaks; the rest is one reject."""
    text = data.decode("utf-8", "backslashreplace")
    decoder = json.JSONDecoder()
    items: list = []
    pos = _skip_ws(text, 0)
    if not text.startswith("[", pos):
        return [], (text, "not a JSON array")
    pos += 1
    while True:
        pos = _skip_ws(text, pos)
        if text.startswith("]", pos):
            return items, (text[pos + 1 :], "unexpected content after the closing ']'")
        start = pos
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            return items, (text[start:], f"element {len(items) + 1}: {exc.msg} (char {exc.pos})")
        items.append(item)
        pos = _skip_ws(text, pos)
        if text.startswith(",", pos):
            pos += 1
        elif not text.startswith("]", pos):
            return items, (text[pos:], f"element {len(items)}: expected ',' or ']' (char {pos})")


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


# -- CSV ----------------------------------------------------------------------------------------


def _csv_batches(f: InputFile, batch_rows: int) -> Iterator[RecordBatch]:
    """CSV cells are text; a row whose cell count differs from the header is a reject."""
    with open_binary(f.path, f.compression) as fb:
        fh = io.TextIOWrapper(fb, encoding="utf-8", errors="strict", newline="")
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            return
        records: list[int] = []
        lines: list[str] = []
        rejects: list[tuple[int, str, str, str]] = []
        number = blank = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError as exc:
                rejects.append((number + 1, "", "invalid_utf8", f"invalid UTF-8 at byte {exc.start}; the rest of the file is unreadable"))
                break
            number += 1
            if not row:
                blank += 1
            elif len(row) != len(header):
                raw = orjson.dumps(row).decode("utf-8")
                rejects.append((number, raw, "malformed_record", f"row has {len(row)} cells, header has {len(header)}"))
            else:
                records.append(number)
                lines.append(orjson.dumps(dict(zip(header, row))).decode("utf-8"))
            if len(records) + len(rejects) >= batch_rows:
                yield RecordBatch(lines=_lines_frame(records, lines), rejects=_rejects_frame(rejects), blank_lines=blank)
                records, lines, rejects, blank = [], [], [], 0
        yield RecordBatch(lines=_lines_frame(records, lines), rejects=_rejects_frame(rejects), blank_lines=blank)


# -- Parquet ------------------------------------------------------------------------------------


def _parquet_batches(f: InputFile, batch_rows: int) -> Iterator[RecordBatch]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(f.path)
    first = 1
    for arrow_batch in parquet.iter_batches(batch_size=batch_rows):
        frame = pl.from_arrow(arrow_batch)
        assert isinstance(frame, pl.DataFrame)
        lines = frame.select(
            pl.int_range(first, first + frame.height, dtype=pl.Int64).alias("_record"),
            pl.struct(pl.all()).struct.json_encode().alias("_line"),
        )
        first += frame.height
        yield RecordBatch(lines=lines, bytes_read=arrow_batch.nbytes)


def sample_records(f: InputFile, n: int = 200) -> list[dict]:
    """The first ``n`` records of ``f`` that parse as JSON objects (for shape detection)."""
    out: list[dict] = []
    if f.format == "jsonl":
        with open_binary(f.path, f.compression) as fh:
            for raw in fh:
                try:
                    obj = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(obj, dict):
                    out.append(obj)
                    if len(out) >= n:
                        break
        return out
    for batch in iter_batches(f, batch_rows=max(n, 1)):
        out += [obj for obj in map(_loads_or_none, batch.lines.get_column("_line").head(n - len(out))) if isinstance(obj, dict)]
        if len(out) >= n:
            break
    return out


def _loads_or_none(line: str) -> object:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return None


def fetch_records(f: InputFile, records: pl.Series) -> pl.DataFrame:
    """``_record``, ``_line`` of the given record numbers (to show rejects' raw text after pass 2)."""
    wanted = records.cast(pl.Int64).implode()
    found = [b.lines.filter(pl.col("_record").is_in(wanted)) for b in iter_batches(f)]
    return pl.concat(found) if found else pl.DataFrame(schema=LINES_SCHEMA)

"""Cut a JSON array, read in blocks, into the raw text of its top-level elements.

Parsing a JSON array whole needs the file and every decoded object in memory at once. Instead the
bytes are scanned block by block for the array's structure: the commas outside strings at the
array's own nesting level are the element boundaries. Each element's raw text then goes through the
same strict decoding as a JSON line, so an array streams in bounded memory, a malformed element
rejects only itself, and a reject shows the element exactly as the file holds it.

The scan is vectorized: ``bytes.translate`` marks the few structural bytes (quotes, brackets,
commas) and numpy walks only those *events*, as cumulative sums: a quote toggles "inside a string"
unless an odd run of backslashes escapes it; brackets outside strings move the depth. The state at
the end of a block (inside a string, a trailing backslash run, the depth, the element begun so far)
carries into the next, so a block may end anywhere, even inside a multi-byte character. The
elements of a block are then Arrow string slices of it (UTF-8 validated in one call), not Python
objects one by one.

Malformed structure the scan can see becomes one *tail* reject holding the rest of the file, as a
parser would stop there: content after the closing ``]``, a ``}`` that closes the array, an array
that never closes (a truncated file), a file that does not start with ``[``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

WHITESPACE = b" \t\r\n"
#: Stripped from both ends of an element cut from a block: whitespace, and the comma that ends it.
_TRIM = ", \t\r\n"
_QUOTE, _OPEN, _CLOSE, _COMMA = 1, 2, 3, 4
_KIND = np.zeros(256, dtype=np.uint8)
_KIND[ord('"')] = _QUOTE
_KIND[ord("[")] = _KIND[ord("{")] = _OPEN
_KIND[ord("]")] = _KIND[ord("}")] = _CLOSE
_KIND[ord(",")] = _COMMA
#: ``bytes.translate`` table marking those bytes with 1: translating a block and reading it as a
#: boolean array finds them 4x faster than indexing ``_KIND`` with the whole block.
_IS_EVENT = bytes((_KIND > 0).astype(np.uint8).tolist())
_BACKSLASH = ord("\\")


@dataclass
class Elements:
    """Elements completed by one block, in order: ``texts`` holds each one's raw text, or null where
    it is not valid UTF-8 (its bytes are then in ``invalid``, by position)."""

    texts: pa.Array = field(default_factory=lambda: pa.array([], pa.large_string()))
    invalid: dict[int, bytes] = field(default_factory=dict)
    #: where each element starts and ends in the (decompressed) file, separators and whitespace
    #: around it included: a reject's raw text is read back from there (:class:`~prefdata.io.records.LineIndex`)
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ends: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.texts)

    def __add__(self, other: Elements) -> Elements:
        shifted = {len(self) + i: raw for i, raw in other.invalid.items()}
        return Elements(
            pa.concat_arrays([self.texts, other.texts]),
            {**self.invalid, **shifted},
            np.concatenate([self.starts, other.starts]),
            np.concatenate([self.ends, other.ends]),
        )


@dataclass
class Tail:
    """Where the array broke: the rest of the file from the element that broke, and why."""

    detail: str
    pieces: list[bytes] = field(default_factory=list)

    @property
    def raw(self) -> bytes:
        return b"".join(self.pieces)


class ArraySplitter:
    """Feed the file's bytes in order with :meth:`feed` (each call returns the elements it completed),
    then call :meth:`finish` for the tail reject, if any. Once the array broke, later blocks only
    extend the tail's raw text; once it closed, they are only checked for stray content."""

    def __init__(self, offset: int = 0) -> None:
        """``offset``: where in the file the first block fed begins (after a byte order mark, say)."""
        self.started = False  # the opening '[' was seen
        self.closed = False  # the closing ']' (or a stray '}') was seen
        self.in_string = False
        self.backslashes = 0  # length of the backslash run that ended the previous block
        self.depth = 0
        self.pending: list[bytes] = []  # bytes of the element begun in earlier blocks
        self.pending_start = 0  # ... and where in the file it begins
        self.offset = offset  # where in the file the current block begins
        self.count = 0  # elements cut so far (empty ones included)
        self.tail: Tail | None = None
        self._after: list[bytes] = []  # bytes after the closing ']'

    def feed(self, block: bytes) -> Elements:
        try:
            return self._feed(block)
        finally:
            self.offset += len(block)

    def _feed(self, block: bytes) -> Elements:
        if self.tail is not None:
            self.tail.pieces.append(block)
            return Elements()
        if self.closed:
            self._after.append(block)
            return Elements()
        start = 0
        if not self.started:
            stripped = block.lstrip(WHITESPACE)
            if not stripped:
                return Elements()
            if not stripped.startswith(b"["):
                self.tail = Tail("the file is not a JSON array", [stripped])
                return Elements()
            self.started, self.depth = True, 1
            start = len(block) - len(stripped) + 1
        return self._scan(block, start)

    def finish(self) -> Tail | None:
        """The tail reject of the file, if it has one (call after the last block)."""
        if self.tail is not None:
            return self.tail
        if not self.started:
            return Tail("the file is not a JSON array (it holds only whitespace)")
        if not self.closed:
            rest = b"".join(self.pending).strip(WHITESPACE)
            return Tail(f"element {self.count + 1}: the array breaks off (no closing ']')", [rest])
        after = b"".join(self._after)
        if after.strip(WHITESPACE):
            return Tail("unexpected content after the closing ']'", [after])
        return None

    # -- scanning ------------------------------------------------------------------------------

    def _scan(self, block: bytes, start: int) -> Elements:
        data = np.frombuffer(block, dtype=np.uint8)
        events = np.flatnonzero(np.frombuffer(block.translate(_IS_EVENT), dtype=np.bool_))
        events = events[events >= start]
        kinds = _KIND[data[events]]
        quotes = kinds == _QUOTE
        quote_at = np.flatnonzero(quotes)
        escaped = self._escaped(data, events[quote_at], start)
        if escaped.any():
            keep = np.ones(events.size, dtype=bool)
            keep[quote_at[escaped]] = False
            events, kinds, quotes = events[keep], kinds[keep], quotes[keep]
        # a non-quote event is outside every string when an even number of quotes precede it
        quote_count = np.cumsum(quotes) + self.in_string
        structural = ~quotes & (quote_count % 2 == 0)
        s_pos, s_kind = events[structural], kinds[structural]
        delta = np.where(s_kind == _OPEN, 1, np.where(s_kind == _COMMA, 0, -1))
        depth_after = self.depth + np.cumsum(delta)
        commas = s_pos[(s_kind == _COMMA) & (depth_after == 1)]
        closing = np.flatnonzero(depth_after == 0)
        if not closing.size:
            out, begin = self._cut(block, start, commas)
            if not self.pending:
                self.pending_start = self.offset + begin
            self.pending.append(block[begin:])
            if quote_count.size:
                self.in_string = bool(quote_count[-1] % 2)
            if depth_after.size:
                self.depth = int(depth_after[-1])
            self.backslashes = self._end_backslashes(data, start)
            return out
        close_at = int(s_pos[closing[0]])
        out, begin = self._cut(block, start, commas[commas < close_at])
        last_start = self.pending_start if self.pending else self.offset + begin
        last = b"".join((*self.pending, block[begin:close_at])).strip(WHITESPACE)
        self.pending = []
        self.closed = True
        if block[close_at] == ord("}"):
            self.tail = Tail(f"element {self.count + 1}: '}}' where ',' or ']' belongs", [last, block[close_at:]])
            return out
        self._after.append(block[close_at + 1 :])
        if last or self.count:  # '[]' holds no element; '[1,]' ends with an empty one
            out = out + self._from_pieces([last], [last_start], [self.offset + close_at])
        return out

    def _cut(self, block: bytes, start: int, commas: np.ndarray) -> tuple[Elements, int]:
        """The elements ending at ``commas``, and where the next one begins in ``block``.

        The first element may have begun in an earlier block (joined in Python); the others are
        slices of ``block``, each with the comma that ends it, trimmed in one Arrow call.
        """
        if not commas.size:
            return Elements(), start
        first = block[start : commas[0]]
        first_start = self.offset + start
        if self.pending:
            first = b"".join((*self.pending, first))
            first_start = self.pending_start
            self.pending = []
        out = self._from_pieces([first.strip(WHITESPACE)], [first_start], [self.offset + int(commas[0])])
        if commas.size > 1:
            offsets = (commas + 1).astype(np.int64)
            out = out + self._from_block(block, offsets)
        return out, int(commas[-1]) + 1

    def _from_block(self, block: bytes, offsets: np.ndarray) -> Elements:
        """``block[offsets[i]:offsets[i+1]]`` for each i, trimmed, as text."""
        n = len(offsets) - 1
        starts, ends = self.offset + offsets[:-1], self.offset + offsets[1:] - 1
        binary = pa.LargeBinaryArray.from_buffers(pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(block)])
        try:
            texts = binary.cast(pa.large_string())
        except pa.ArrowInvalid:  # invalid UTF-8 somewhere in the block: sort it out element by element
            pieces = [block[a:b].strip(_TRIM.encode()) for a, b in pairwise(offsets.tolist())]
            return self._from_pieces(pieces, starts, ends)
        self.count += n
        return Elements(pc.utf8_trim(texts, characters=_TRIM), {}, starts, ends)

    def _from_pieces(self, pieces: list[bytes], starts: Sequence[int] | np.ndarray, ends: Sequence[int] | np.ndarray) -> Elements:
        texts: list[str | None] = []
        invalid: dict[int, bytes] = {}
        for i, raw in enumerate(pieces):
            try:
                texts.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                texts.append(None)
                invalid[i] = raw
        self.count += len(pieces)
        return Elements(pa.array(texts, pa.large_string()), invalid, np.asarray(starts, np.int64), np.asarray(ends, np.int64))

    def _escaped(self, data: np.ndarray, quotes: np.ndarray, start: int) -> np.ndarray:
        """Which of ``quotes`` (positions) an odd run of backslashes escapes; a run at the block's
        start continues the previous block's. Vectorized: text full of ``\\"`` stays fast."""
        escaped = (quotes == 0) & (self.backslashes % 2 == 1)
        backslashes = np.flatnonzero(data[start:] == _BACKSLASH) + start
        if not backslashes.size:
            return escaped
        run_begins = np.ones(backslashes.size, dtype=bool)
        run_begins[1:] = backslashes[1:] != backslashes[:-1] + 1
        first_of_run = backslashes[run_begins][np.cumsum(run_begins) - 1]  # per backslash: where its run begins
        at = np.minimum(np.searchsorted(backslashes, quotes - 1), backslashes.size - 1)
        after_backslash = backslashes[at] == quotes - 1
        first = first_of_run[at]
        run = quotes - first + np.where(first == 0, self.backslashes, 0)
        return escaped | (after_backslash & (run % 2 == 1))

    def _end_backslashes(self, data: np.ndarray, start: int) -> int:
        """Length of the backslash run that ends this block (continuing the previous one if all of it)."""
        k = data.size - 1
        while k >= start and data[k] == _BACKSLASH:
            k -= 1
        run = data.size - 1 - k
        return run + self.backslashes if k < start else run


__all__ = ["ArraySplitter", "Elements", "Tail"]

"""Open raw files that may be gzip- or zstd-compressed, as binary streams that fail loudly.

Two things a plain ``gzip.open``/``zstandard.stream_reader`` gets wrong for prefdata:

- **A truncated or damaged stream must not look like a short file.** ``stream_reader`` returns EOF
  at a cut-off zstd frame, and reads only the first of several frames (``zstd -T0``, ``pzstd`` and
  concatenated files write many): both would drop records silently. gzip raises ``EOFError`` or
  ``BadGzipFile``, which say nothing about the file. Here every such case raises
  :class:`CorruptStreamError`, which says where the readable data ends, so the readers can turn the
  rest of the file into a reject instead of losing it without a word.
- **The name can lie.** A ``.gz`` that holds zstd, or a ``.jsonl`` that holds gzip, is common after
  a rename; the first bytes (the formats' magic numbers) decide, not the extension. A zstd file may
  start with a *skippable frame* instead of a data frame (``pzstd`` writes one first, holding the
  frame sizes): its magic is zstd's too.

Memory stays bounded however well the data compresses: each step hands out at most about
:data:`OUT_LIMIT` decompressed bytes. gzip does that exactly, through zlib's ``max_length``. zstd's
streaming decoder has no such limit, so it is fed slices of input sized by how much the data has
expanded so far, starting at 1 KB, at most doubling per step and never over 16 KB: a file that
expands to gigabytes is read in ~16 MB steps, and one whose ratio jumps in mid-stream (incompressible
data, then thousands of repeated records) in steps of at most 16 KB times the new ratio.
zstd frames written with a long window (``zstd --long=31``) are accepted.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: The last three bytes of a zstd skippable frame's magic (RFC 8878 3.1.2: 0x184D2A50 to 0x184D2A5F,
#: little-endian, so the first byte is 0x50 to 0x5F). The decoder reads past such frames (no output).
ZSTD_SKIPPABLE_MAGIC = b"\x2a\x4d\x18"
READ_CHUNK = 1024 * 1024
#: About the most decompressed bytes one step produces.
OUT_LIMIT = 16 * 1024 * 1024
#: The largest slice of zstd input decoded in one step (at a 5,000x ratio, 80 MB of output).
ZSTD_MAX_SLICE = 16 * 1024
#: The largest window a zstd frame may ask for: 2 GiB, what ``zstd --long=31`` writes.
ZSTD_MAX_WINDOW = 2**31


class CorruptStreamError(Exception):
    """A compressed stream ends early or holds bytes that are not compressed data.

    ``decompressed`` is how many bytes came out before the problem: everything before it was read.
    """

    def __init__(self, compression: str, decompressed: int, problem: str) -> None:
        self.compression, self.decompressed, self.problem = compression, decompressed, problem
        super().__init__(f"the {compression} stream {problem} after {decompressed:,} decompressed bytes")


def sniff_compression(path: Path) -> str | None:
    """``gzip``, ``zstd`` or None, from the file's first bytes: a zstd data frame's magic or a
    skippable frame's, which ``pzstd`` puts first (a file starting with one is no less zstd)."""
    with open(path, "rb") as fh:
        head = fh.read(len(ZSTD_MAGIC))
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC) or (head[1:] == ZSTD_SKIPPABLE_MAGIC and head[0] & 0xF0 == 0x50):
        return "zstd"
    return None


#: The largest compression ratio :func:`estimated_size` extrapolates (chat logs sharing a long system
#: prompt reach ~30x).
MAX_ESTIMATED_RATIO = 64


def estimated_size(path: Path, compression: str | None, probe: int = 8 * 1024 * 1024) -> int:
    """About how many bytes ``path`` holds once decompressed, from the ratio of its first ``probe``
    decompressed bytes (prompts sharing long instructions compress 30x, not the usual 4x); the file's
    own size when it is not compressed or cannot be read."""
    size = path.stat().st_size
    if compression is None:
        return size
    try:
        with open_binary(path, compression) as fh:
            out = len(fh.read(probe))
            produced, consumed = fh.progress()  # type: ignore[attr-defined]
    except (OSError, CorruptStreamError):
        return size
    if out < probe:  # the whole file came out
        return out
    # the head may be unrepresentative (thousands of repeated records): extrapolate its ratio only so far
    return int(size * min(MAX_ESTIMATED_RATIO, produced / max(1, consumed)))


def open_binary(path: Path, compression: str | None) -> BinaryIO:
    """A readable binary stream of the decompressed bytes.

    On a truncated or damaged stream, ``read`` first returns every byte before the damage, and the
    next ``read`` raises :class:`CorruptStreamError`.
    """
    if compression is None:
        return open(path, "rb")
    if compression not in _DECODERS:
        raise ValueError(f"unknown compression {compression!r}")
    return _Decompressed(path, compression)  # type: ignore[return-value]


class _GzipMember:
    """One gzip member; ``step`` decompresses at most :data:`OUT_LIMIT` bytes of output."""

    error = zlib.error
    #: NUL bytes after a member are padding (tape blocks, disk images), not a member: CPython's gzip
    #: module reads past them, and a member after them (GNU ``gzip -t`` accepts them at the file's end
    #: only); no member starts with a NUL: its magic is 1f 8b
    padding = True

    def __init__(self) -> None:
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)  # 16+: expect (and check) a gzip header and trailer
        self._before: Any = None  # set by each step(), which salvage() only ever follows

    def step(self, data: bytes | memoryview) -> tuple[bytes, bytes | memoryview]:
        """(output, input still to feed: the unconsumed part, or after the member's end the next one)."""
        self._before = self._z.copy()  # the state this step starts from, for salvage()
        out = self._z.decompress(data, OUT_LIMIT)
        return out, self._z.unused_data if self._z.eof else self._z.unconsumed_tail

    def salvage(self, data: bytes | memoryview) -> bytes:
        """What the failed step's ``data`` decodes to before the damage: zlib raises without returning
        the output it made in the same call, which held every record before the damage (a whole small
        file, or everything before a bad CRC). Replayed from the step's start in 1 KB pieces, then
        byte by byte over the piece that fails."""
        z, view, at, piece = self._before.copy(), memoryview(data), 0, 1024
        out: list[bytes] = []
        size = 4096  # what the last step held back at its output limit comes first (the damage may be in it)
        while True:
            trial = z.copy()
            try:
                got = trial.decompress(b"", size)
            except zlib.error:
                if size == 1:
                    return b"".join(out)
                size = 1
                continue
            if not got:
                break
            out.append(got)
            z = trial
        while at < len(view):
            trial = z.copy()
            try:
                got = trial.decompress(view[at : at + piece])
            except zlib.error:
                if piece == 1:
                    break
                piece = 1
                continue
            out.append(got)
            z, at = trial, at + piece
        return b"".join(out)

    def next(self) -> _GzipMember:
        """The decoder of the member that follows."""
        return _GzipMember()

    @property
    def eof(self) -> bool:
        return self._z.eof


class _ZstdFrame:
    """One zstd frame. Its decoder returns all the output of what it is fed, so it is fed a slice of
    input sized by how much the data has expanded so far, keeping each step near :data:`OUT_LIMIT`.
    Slices stay under :data:`ZSTD_MAX_SLICE`, so a run of repeated records after incompressible data
    (a ratio jump) still comes out in steps of tens of MB, not one of a gigabyte."""

    #: zstd has no padding: the CLI refuses bytes after a frame that start no frame, NULs included
    padding = False

    def __init__(self, slice_bytes: int | None = None) -> None:
        import zstandard

        self.error = zstandard.ZstdError
        self._z = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW).decompressobj()
        # slow start (1 KB for the 16 MB limit): the ratio is unknown until some data came out, and a
        # zstd block can expand ~10,000x; the next frame of the same file starts where this one ended
        self._slice = slice_bytes or max(64, OUT_LIMIT >> 14)

    def step(self, data: bytes | memoryview) -> tuple[bytes, bytes | memoryview]:
        view = memoryview(data)  # slicing a view copies nothing: small frames stay cheap
        part = view[: self._slice]
        out = self._z.decompress(part)
        ratio = max(1, len(out) // max(1, len(part)))
        self._slice = min(ZSTD_MAX_SLICE, 2 * self._slice, max(64, OUT_LIMIT // ratio))
        if self._z.eof:  # the next frame starts where this one's input ended
            return out, view[len(part) - len(self._z.unused_data) :]
        return out, view[len(part) :]

    def next(self) -> _ZstdFrame:
        return _ZstdFrame(self._slice)

    @property
    def eof(self) -> bool:
        return self._z.eof


#: Per compression: the decoder of one member (gzip) or frame (zstd).
_DECODERS: dict[str, Callable[[], Any]] = {"gzip": _GzipMember, "zstd": _ZstdFrame}


class _Decompressed(io.BufferedIOBase):
    """The members (gzip) or frames (zstd) of a file decompressed one after another.

    gzip files may hold several members and zstd files several frames (``pigz``, ``zstd -T0`` and
    ``cat a.gz b.gz`` write them); each ends with an end marker, so the end of the file inside a
    member, or bytes after one that do not start another, are detected, never taken for the end.
    The one exception is gzip's: NUL bytes after a member are padding, read past as CPython's gzip module does.
    """

    def __init__(self, path: Path, compression: str) -> None:
        self._compression = compression
        self._raw = open(path, "rb")  # noqa: SIM115 (closed in close())
        self._decoder = _DECODERS[compression]()
        self._input: bytes | memoryview = b""  # compressed bytes read from the file and not yet decoded
        self._in_member = False  # bytes of the current member were fed and its end not reached
        self._buf, self._pos = b"", 0  # decompressed bytes; those before _pos are handed out
        self._error: CorruptStreamError | None = None  # raised once the bytes before it are out
        self._produced = 0  # decompressed bytes so far
        self._path = path
        self._member_start = 0  # file offset where the current member or frame starts
        self._member_produced = 0  # its decompressed bytes so far
        self._padded = False  # a gzip member ended: NUL bytes before the next one (or the end) are skipped

    def readable(self) -> bool:
        return True

    def progress(self) -> tuple[int, int]:
        """(bytes decompressed so far, compressed bytes they came from)."""
        return self._produced, self._raw.tell() - len(self._input)

    def _available(self) -> int:
        return len(self._buf) - self._pos

    def _take(self, n: int) -> bytes:
        out = self._buf[self._pos : self._pos + n]
        self._pos += n
        return out

    def _done(self, parts: list[bytes]) -> bytes:
        """The bytes read, or the damage once nothing is left before it."""
        if not parts and self._error is not None:
            raise self._error
        return b"".join(parts)

    def read(self, size: int | None = -1) -> bytes:
        parts: list[bytes] = []
        left = size if size is not None and size >= 0 else -1
        while left != 0 and (self._available() or self._fill()):
            n = self._available() if left < 0 else min(self._available(), left)
            parts.append(self._take(n))
            left -= n if left > 0 else 0
        return self._done(parts)

    def read1(self, size: int = -1) -> bytes:
        if not self._available():
            self._fill()
        return self._done([self._take(self._available() if size < 0 else min(size, self._available()))] if self._available() else [])

    def readline(self, size: int | None = -1) -> bytes:
        parts: list[bytes] = []
        left = size if size is not None and size >= 0 else -1
        while left != 0 and (self._available() or self._fill()):
            end = self._buf.find(b"\n", self._pos) + 1 or len(self._buf)
            n = end - self._pos if left < 0 else min(end - self._pos, left)
            parts.append(self._take(n))
            left -= n if left > 0 else 0
            if parts[-1].endswith(b"\n"):
                break
        return self._done(parts)

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _fill(self) -> bool:
        """Decompress the next chunk into ``_buf``; False at the end of the data (or at damage,
        which is then kept in ``_error``)."""
        while not self._available() and self._error is None:
            if not self._input:
                self._input = self._raw.read(READ_CHUNK)
                if not self._input:
                    if not self._in_member:
                        return False
                    # the file ends inside a member: what the decoder held back at its output limit
                    # comes out before the truncation is reported
                    self._buf, self._pos = self._step(), 0
                    if not self._available() and self._error is None:
                        self._fail("ends before its end marker (a truncated file?)")
                    continue
            self._buf, self._pos = self._step(), 0
        return self._available() > 0

    def _step(self) -> bytes:
        """Decode the next piece of ``_input`` (at most about OUT_LIMIT bytes of output)."""
        if self._padded:  # NUL padding after a gzip member, however long: skipped, as CPython's gzip does
            self._input = bytes(self._input).lstrip(b"\0")
            if not self._input:
                return b""
            self._padded = False  # the next member starts here (or garbage, which fails it as ever)
            self._member_start = self._raw.tell() - len(self._input)
        step_start = self._raw.tell() - len(self._input)
        try:
            out, self._input = self._decoder.step(self._input)
        except self._decoder.error as exc:  # the bytes are not compressed data
            salvage = getattr(self._decoder, "salvage", None)
            kept = salvage(self._input) if salvage is not None else self._replay(step_start)
            self._produced += len(kept)
            self._fail(f"is damaged ({exc})")
            return kept
        self._produced += len(out)
        self._member_produced += len(out)
        if self._decoder.eof:
            self._in_member = False
            self._decoder = self._decoder.next()  # the next member or frame starts in _input
            self._member_start, self._member_produced = self._raw.tell() - len(self._input), 0
            self._padded = self._decoder.padding
        else:
            self._in_member = True
        return out

    def _replay(self, failed_at: int) -> bytes:
        """What the zstd frame decodes to after what was handed out and before the damage, which
        the step that met it lost: its decoder has no copy of its state to go back to, so the frame
        is decoded again from its start (only after damage), byte by byte from the failed step on."""
        import zstandard

        z = _DECODERS[self._compression]()._z
        skip, out = self._member_produced, []

        def keep(got: bytes) -> None:
            nonlocal skip
            if skip >= len(got):
                skip -= len(got)
            else:
                out.append(got[skip:])
                skip = 0

        with open(self._path, "rb") as fh:
            fh.seek(self._member_start)
            left = failed_at - self._member_start
            while left > 0 and (piece := fh.read(min(READ_CHUNK, left))):
                keep(z.decompress(piece))
                left -= len(piece)
            while not z.eof and (byte := fh.read(1)):
                try:
                    keep(z.decompress(byte))
                except zstandard.ZstdError:
                    break
        return b"".join(out)

    def _fail(self, problem: str) -> None:
        self._error = CorruptStreamError(self._compression, self._produced, problem)

    def close(self) -> None:
        self._raw.close()
        super().close()

"""Open raw files that may be gzip- or zstd-compressed, as binary streams that fail loudly.

Two things a plain ``gzip.open``/``zstandard.stream_reader`` gets wrong for prefdata:

- **A truncated or damaged stream must not look like a short file.** ``stream_reader`` returns EOF
  at a cut-off zstd frame, and reads only the first of several frames (``zstd -T0``, ``pzstd`` and
  concatenated files write many): both would drop records silently. gzip raises ``EOFError`` or
  ``BadGzipFile``, which say nothing about the file. Here every such case raises
  :class:`CorruptStreamError`, which says where the readable data ends, so the readers can turn the
  rest of the file into a reject instead of losing it without a word.
- **The name can lie.** A ``.gz`` that holds zstd, or a ``.jsonl`` that holds gzip, is common after
  a rename; the first bytes (the formats' magic numbers) decide, not the extension.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
READ_CHUNK = 1024 * 1024


class CorruptStreamError(Exception):
    """A compressed stream ends early or holds bytes that are not compressed data.

    ``decompressed`` is how many bytes came out before the problem: everything before it was read.
    """

    def __init__(self, compression: str, decompressed: int, problem: str) -> None:
        self.compression, self.decompressed, self.problem = compression, decompressed, problem
        super().__init__(f"the {compression} stream {problem} after {decompressed:,} decompressed bytes")


def sniff_compression(path: Path) -> str | None:
    """``gzip``, ``zstd`` or None, from the file's first bytes."""
    with open(path, "rb") as fh:
        head = fh.read(len(ZSTD_MAGIC))
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return None


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


def _gzip_decoder() -> tuple[Callable[[], Any], type[Exception]]:
    # 16+: expect (and check) a gzip header and trailer
    return (lambda: zlib.decompressobj(16 + zlib.MAX_WBITS)), zlib.error


def _zstd_decoder() -> tuple[Callable[[], Any], type[Exception]]:
    import zstandard

    decompressor = zstandard.ZstdDecompressor()
    return decompressor.decompressobj, zstandard.ZstdError


#: Per compression: a factory of decoders for one member/frame (``decompress(bytes)``, ``eof`` and
#: ``unused_data``, as zlib's) and the error a decoder raises on bytes that are not compressed data.
_DECODERS = {"gzip": _gzip_decoder, "zstd": _zstd_decoder}


class _Decompressed(io.BufferedIOBase):
    """The members (gzip) or frames (zstd) of a file decompressed one after another.

    gzip files may hold several members and zstd files several frames (``pigz``, ``zstd -T0`` and
    ``cat a.gz b.gz`` write them); each ends with an end marker, so the end of the file inside a
    member, or bytes after one that do not start another, are detected, never taken for the end.
    """

    def __init__(self, path: Path, compression: str) -> None:
        self._compression = compression
        self._new_decoder, self._decode_error = _DECODERS[compression]()
        self._raw = open(path, "rb")  # noqa: SIM115 (closed in close())
        self._decoder = self._new_decoder()
        self._in_member = False  # bytes of the current member were fed and its end not reached
        self._buf, self._pos = b"", 0  # decompressed bytes; those before _pos are handed out
        self._error: CorruptStreamError | None = None  # raised once the bytes before it are out
        self._produced = 0  # decompressed bytes so far

    def readable(self) -> bool:
        return True

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
            chunk = self._raw.read(READ_CHUNK)
            if not chunk:
                if self._in_member:
                    self._fail("ends before its end marker (a truncated file?)")
                return False
            self._buf, self._pos = self._feed(chunk), 0
        return self._available() > 0

    def _feed(self, chunk: bytes) -> bytes:
        out: list[bytes] = []
        while chunk:
            try:
                out.append(self._decoder.decompress(chunk))
            except self._decode_error as exc:  # the bytes are not compressed data
                self._fail(f"is damaged ({exc})")
                break
            self._produced += len(out[-1])
            if not self._decoder.eof:
                self._in_member = True
                break
            self._in_member = False
            chunk = self._decoder.unused_data  # the next member or frame starts here
            self._decoder = self._new_decoder()
        return b"".join(out)

    def _fail(self, problem: str) -> None:
        self._error = CorruptStreamError(self._compression, self._produced, problem)

    def close(self) -> None:
        self._raw.close()
        super().close()

"""Paths whose name is not UTF-8: read through an open file, written out escaped.

A Linux file name is bytes, and Python shows the bytes that are not UTF-8 as surrogate escapes
(``b"ds\\xe9"`` is ``"ds\\udce9"``). polars and pyarrow take a path only as UTF-8 text: polars
takes such a ``str`` for a file object ("Object does not have a .read() method") and pyarrow
raises ``UnicodeEncodeError``, so a valid dataset in such a folder read as unreadable Parquet. Both
read an open file, so a file under such a path is opened by Python and handed over; every UTF-8
path goes as it is, to the readers' own path handling. Where such a path is written into a UTF-8
file (checks.json, the report), :func:`prefdata.io.discover.shown_name` shows its odd bytes as ``\\xNN``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import polars as pl


def is_utf8(path: str | Path) -> bool:
    """Whether ``path`` is UTF-8 text, as polars and pyarrow need a path to be."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@contextmanager
def source(path: str | Path) -> Iterator[str | BinaryIO]:
    """``path`` as polars and pyarrow take it: its text when UTF-8, else the file opened for reading
    (closed at the end of the block)."""
    if is_utf8(path):
        yield str(path)
        return
    with open(path, "rb") as fh:
        yield fh


def scan_parquet(path: str | Path) -> pl.LazyFrame:
    """``pl.scan_parquet(path, glob=False)`` for any path; the path is literal, never a glob.

    polars keeps a descriptor of its own for an open file it scans, so the scan outlives the file
    object that is closed here.
    """
    with source(path) as src:
        return pl.scan_parquet(src, glob=False)

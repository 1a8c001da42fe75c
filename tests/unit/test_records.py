"""JSON lines read in blocks: every line keeps its number, and a record's raw text can be read back."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from prefdata.io.discover import InputFile
from prefdata.io.records import LineIndex, iter_batches

LINE = st.one_of(
    st.just(""),
    st.just("   "),
    # \x1c-\x1f are whitespace to Python's str.strip() but not to Unicode (nor to polars): left out
    st.text(alphabet=st.characters(blacklist_characters="\n\r\x1c\x1d\x1e\x1f", blacklist_categories=("Cs",)), min_size=1, max_size=40),
)


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(LINE, min_size=1, max_size=40), crlf=st.booleans(), final_newline=st.booleans(), block=st.integers(1, 64))
def test_block_reading_numbers_lines_and_indexes_their_raw_text(lines, crlf, final_newline, block):
    end = "\r\n" if crlf else "\n"
    data = end.join(lines) + (end if final_newline else "")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.jsonl"
        path.write_bytes(data.encode())
        f = InputFile(path, "x.jsonl", "jsonl", None, path.stat().st_size)
        batches = list(iter_batches(f, block_bytes=block))
        got = pl.concat([b.lines for b in batches]) if batches else pl.DataFrame()
        file_lines = data.split(end)
        if data.endswith(end) or not data:
            file_lines.pop()  # a final newline ends the last line; it does not start another
        expected = [(i, line) for i, line in enumerate(file_lines, start=1) if line.strip()]
        assert list(got.iter_rows()) == expected
        assert sum(b.records + b.blank_lines for b in batches) == len(file_lines)
        index = LineIndex(path, [b.line_offsets for b in batches])
        assert len(index.starts) == len(file_lines)
        if expected:
            back = index.fetch(pl.Series([n for n, _ in expected]))
            assert list(back.iter_rows()) == expected

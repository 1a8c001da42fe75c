"""JSON lines read in blocks: every line keeps its number, and a record's raw text can be read back."""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefdata.io import records
from prefdata.io.discover import InputFile, classify, no_object_reason
from prefdata.io.records import LineIndex, RecordCursor, iter_batches, read_sample

LINE = st.one_of(
    st.just(""),
    st.just("   "),
    st.sampled_from(["\u3000\t", "\xa0", "\x1c", "\u200b", " \x85 "]),  # blank, or not, to Unicode (\x1c, ZWSP: not)
    st.sampled_from(["\ufeff", "\ufeff{}", "\ufeff\ufeff{}", "\ufeff ", "{\ufeff}", " \ufeff{}"]),  # a BOM starts a line, or not
    st.text(alphabet=st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)), min_size=1, max_size=40),
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
        small = records.SMALL_BLOCK_BYTES
        try:  # the same blocks through polars' line splitter, which large blocks take
            records.SMALL_BLOCK_BYTES = 0
            by_polars = list(iter_batches(f, block_bytes=block))
        finally:
            records.SMALL_BLOCK_BYTES = small
        for a, b in zip(batches, by_polars, strict=True):
            assert a.lines.equals(b.lines) and a.blank_lines == b.blank_lines and a.line_offsets.equals(b.line_offsets)
        got = pl.concat([b.lines for b in batches]) if batches else pl.DataFrame()
        file_lines = data.split(end)
        if data.endswith(end) or not data:
            file_lines.pop()  # a final newline ends the last line; it does not start another
        file_lines = [line.removeprefix("\ufeff") for line in file_lines]  # a BOM starting a line (the file's first, or a part's joined after it) is no text
        expected = [(i, line) for i, line in enumerate(file_lines, start=1) if line.strip(records.BLANK_LINE)]
        assert list(got.iter_rows()) == expected
        assert sum(b.records + b.blank_lines for b in batches) == len(file_lines)
        index = LineIndex(path, path.stat().st_size, [b.line_offsets for b in batches])
        assert len(index.starts) == len(file_lines)
        if expected:
            back = index.fetch(pl.Series([n for n, _ in expected]))
            assert list(back.iter_rows()) == expected


@settings(max_examples=60, deadline=None)
@given(lines=st.lists(LINE, min_size=1, max_size=30), final_newline=st.booleans(), block=st.integers(1, 64))
def test_compressed_lines_count_as_the_plain_file_does(lines, final_newline, block):
    """A compressed file ending in a newline has no extra blank line after it (it once counted one)."""
    import gzip

    data = ("\n".join(lines) + ("\n" if final_newline else "")).encode()
    with tempfile.TemporaryDirectory() as tmp:
        plain, packed = Path(tmp) / "x.jsonl", Path(tmp) / "x.jsonl.gz"
        plain.write_bytes(data)
        packed.write_bytes(gzip.compress(data))
        counts = []
        for path, compression in ((plain, None), (packed, "gzip")):
            f = InputFile(path=path, name=path.name, format="jsonl", compression=compression, bytes=path.stat().st_size)
            batches = list(iter_batches(f, block_bytes=block))
            counts.append((sum(b.records for b in batches), sum(b.blank_lines for b in batches), sum(b.lines.height for b in batches)))
        assert counts[0] == counts[1]
        assert counts[0][0] + counts[0][1] == data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)



def test_compressed_lines_keep_their_line_numbers_after_blank_lines_of_an_earlier_block(tmp_path):
    """Blank lines are counted (module doc), so a compressed file's later blocks go on numbering lines
    where the earlier ones stopped, blank lines included. Oracle: the lines written."""
    import gzip

    lines = ["", "   "] + [f'{{"n": {i}}}' for i in range(40)] + ["", "{}"]
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    f = InputFile(path, path.name, "jsonl", "gzip", path.stat().st_size)
    batches = list(iter_batches(f, block_bytes=64))
    assert len(batches) > 3
    got = pl.concat([b.lines for b in batches])
    assert list(got.iter_rows()) == [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]


def test_a_file_holding_only_a_byte_order_mark_reads_alike_on_both_paths(tmp_path):
    """Hypothesis found it: with polars' splitter forced, the empty block left after the BOM had no
    line, while the Python split (what a file this small takes) saw one blank line."""
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"\xef\xbb\xbf")
    f = InputFile(path, path.name, "jsonl", None, 3)
    small = records.SMALL_BLOCK_BYTES
    try:
        records.SMALL_BLOCK_BYTES = 0
        assert [b.blank_lines for b in iter_batches(f, block_bytes=1)] == [1]
    finally:
        records.SMALL_BLOCK_BYTES = small
    assert [b.blank_lines for b in iter_batches(f, block_bytes=1)] == [1]


def test_the_detection_sample_reads_a_bom_at_any_line_start_as_the_build_does(tmp_path):
    """``cat a.jsonl b.jsonl`` of BOM-started files: the sample skipped only the file's first BOM."""
    import gzip

    part = b"\xef\xbb\xbf" + b"".join(b'{"prompt": "p%d", "chosen": "c", "rejected": "r"}\n' % i for i in range(3))
    for name, data in (("x.jsonl", part * 3), ("x.jsonl.gz", gzip.compress(part) * 3)):
        path = tmp_path / name
        path.write_bytes(data)
        f = InputFile(path, name, "jsonl", "gzip" if name.endswith(".gz") else None, len(data))
        sample = records.read_sample(f)
        assert [r["prompt"] for r in sample.records] == ["p0", "p1", "p2"] * 3 and sample.problem is None


def test_a_json_array_whose_first_element_is_null_says_so_not_that_it_is_not_json(tmp_path):
    """The skip reason's "the first: ..." says what the first record that is no object holds: an
    array element ``null`` is valid JSON, "a JSON null, not an object"."""
    path = tmp_path / "a.json"
    path.write_text("[ null ,\n null]")
    f = classify(path, "a.json")
    problem = read_sample(f).problem
    assert problem == "record 1: a JSON null, not an object"
    assert "record 1: a JSON null, not an object" in no_object_reason(f, problem)


def test_a_record_cursor_asked_again_for_the_record_it_returned_refuses(tmp_path):
    """RecordCursor.take: records asked must exceed any asked before; asking again for the one it
    just returned is an error, not an answer without that record's line."""
    path = tmp_path / "a.csv"
    path.write_text("prompt,chosen,rejected\n" + "".join(f"q{i},c{i},r{i}\n" for i in range(1, 6)))
    cursor = RecordCursor(classify(path, "a.csv"))
    try:
        assert pl.concat(list(cursor.take(pl.Series([2])))).get_column("_record").to_list() == [2]
        with pytest.raises(ValueError, match="only moves forward"):
            list(cursor.take(pl.Series([2, 4])))
    finally:
        cursor.close()


def test_a_csv_name_given_twice_keeps_its_first_cell(tmp_path):
    """A CSV header naming a column twice that nothing reads keeps its first cell (README: a name given
    twice that nothing reads is no matter), in the detection sample and in the build's lines."""
    path = tmp_path / "a.csv"
    path.write_text("prompt,chosen,rejected,note,note\nq,c,r,first,second\n")
    f = classify(path, "a.csv")
    assert read_sample(f).records == [{"prompt": "q", "chosen": "c", "rejected": "r", "note": "first"}]
    read = replace(f, columns=("prompt", "chosen", "rejected"))
    lines = [line for b in iter_batches(read) for line in b.lines.get_column("_line").to_list()]
    assert [json.loads(line) for line in lines] == [{"prompt": "q", "chosen": "c", "rejected": "r", "note": "first"}]


@pytest.mark.parametrize("n", [1, 2, 5])
def test_read_sample_takes_exactly_n_records_from_json_lines_and_arrays(tmp_path, n):
    """read_sample: "the first n records of f that parse as JSON objects", n and no more, whatever the format."""
    rows = [{"prompt": f"q{i}", "chosen": "c", "rejected": "r"} for i in range(6)]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "b.json").write_text(json.dumps(rows))
    for name in ("a.jsonl", "b.json"):
        assert read_sample(classify(tmp_path / name, name), n).records == rows[:n]

"""RAW may be a file, a folder or a glob; JSONL, JSON, CSV and Parquet, optionally gzip/zstd."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
import zstandard

import prefdata
from prefdata.build import pipeline
from tests.conftest import FIXTURES
from tests.support.dataset import assert_reconciled, pairs, rejects

HH = FIXTURES / "raw" / "transcript" / "hh.jsonl"


def _pair_set(out: Path) -> set[tuple[str, int]]:
    df = pairs(out)
    return set(zip(df.get_column("id"), df.select(pl.col("lineage").list.first().struct.field("record")).to_series()))


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plain") / "out"
    prefdata.build(HH, out)
    return out


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_compressed_jsonl_gives_the_same_pairs(tmp_path: Path, plain: Path, suffix: str) -> None:
    raw = tmp_path / f"hh.jsonl{suffix}"
    data = HH.read_bytes()
    raw.write_bytes(gzip.compress(data) if suffix == ".gz" else zstandard.ZstdCompressor().compress(data))
    out = tmp_path / "out"
    result = prefdata.build(raw, out)
    assert result.manifest["inputs"][0]["compression"] == ("gzip" if suffix == ".gz" else "zstd")
    assert _pair_set(out) == _pair_set(plain)
    assert_reconciled(out)


def test_parquet_and_csv_inputs(tmp_path: Path) -> None:
    rows = [{"prompt": "p1", "chosen": "c1", "rejected": "r1"}, {"prompt": "p2", "chosen": "c2", "rejected": "r2"}]
    raw = tmp_path / "raw"
    raw.mkdir()
    pl.DataFrame(rows).write_parquet(raw / "a.parquet")
    pl.DataFrame([{"prompt": "p3", "chosen": "c3", "rejected": "r3"}]).write_csv(raw / "b.csv")
    with gzip.open(raw / "c.csv.gz", "wt") as fh:
        fh.write("prompt,chosen,rejected\np4,c4,r4\n")
    out = tmp_path / "out"
    result = prefdata.build(raw, out)
    assert {i["path"]: i["format"] for i in result.manifest["inputs"]} == {"a.parquet": "parquet", "b.csv": "csv", "c.csv.gz": "csv"}
    assert sorted(pairs(out).select(pl.col("prompt").list.first().struct.field("content")).to_series()) == ["p1", "p2", "p3", "p4"]
    assert_reconciled(out)


@pytest.mark.parametrize("compress", [False, True])
def test_a_byte_order_mark_is_not_data(tmp_path: Path, compress: bool) -> None:
    """Windows tools start text files with a UTF-8 BOM: every format still reads all its records, and
    a reject found after pass 1 (a duplicate) still shows its raw text exactly."""
    bom = b"\xef\xbb\xbf"
    rows = [{"prompt": f"p{i}", "chosen": "c", "rejected": "r"} for i in range(3)]
    texts = [json.dumps(r) for r in rows] + [json.dumps(rows[0])]  # the last one is a duplicate of the first
    files = {
        "a.jsonl": "\n".join(texts) + "\n",
        "b.json": "[\n" + ",\n".join(texts) + "\n]\n",
        "c.csv": "prompt,chosen,rejected\n" + "".join(f"{r['prompt']},c,r\n" for r in rows) + "p0,c,r\n",
    }
    for name, text in files.items():
        raw = tmp_path / (name + (".gz" if compress else ""))
        data = bom + text.encode()
        raw.write_bytes(gzip.compress(data) if compress else data)
        out = tmp_path / f"out-{name}"
        result = prefdata.build(raw, out)
        assert result.manifest["inputs"][0]["format"] == name.split(".")[1], name
        assert pairs(out).height == 3, name
        rej = rejects(out).row(0, named=True)
        assert (rej["record"], rej["reason"]) == (4, "duplicate_pair"), name
        if name != "c.csv":
            assert rej["raw"] == texts[3], name
        assert_reconciled(out)


@pytest.mark.parametrize("compress", [False, True])
def test_a_byte_order_mark_before_a_long_blank_head_is_not_data_either(tmp_path: Path, compress: bool) -> None:
    """The ``.json`` sniff took the BOM for content, so it did not read past a blank first 4 KB: the
    array was taken for JSON lines and skipped (pairs lost). A file of only a BOM and blank lines is
    an empty file, as without the BOM."""
    bom = b"\xef\xbb\xbf"
    rows = [{"prompt": f"p{i}", "chosen": "c", "rejected": "r"} for i in range(3)]
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, data in {"arr.json": bom + b"\n" * 5000 + json.dumps(rows).encode(), "blank.json": bom + b"\n" * 5000}.items():
        (raw / (name + (".gz" if compress else ""))).write_bytes(gzip.compress(data) if compress else data)
    result = prefdata.build(raw, tmp_path / "out")
    assert [(i["path"], i["format"]) for i in result.manifest["inputs"]] == [("arr.json" + (".gz" if compress else ""), "json")]
    assert result.counts["pairs_written"] == 3
    assert [s["reason"] for s in result.manifest["skipped_files"]] == ["empty file (only whitespace)"]


@pytest.mark.parametrize("rows_in_a", [3, 2000])  # 2,000 rows: a block over 64 KB, which polars splits
@pytest.mark.parametrize("join", ["cat", "gzip members", "zstd frames"])
def test_jsonl_files_joined_end_to_end_each_with_a_bom_read_as_the_parts_do(tmp_path: Path, join: str, rows_in_a: int) -> None:
    """``cat a.jsonl b.jsonl`` of files Windows tools wrote (or ``cat a.gz b.gz``, or zstd frames):
    each part starts with a BOM, and the first record of every part but the first was a
    ``malformed_json`` reject ("UTF-8 byte order mark (BOM) is not supported"). A BOM starting a line
    is skipped as the file's is; rejects show their raw text without it; a part holding only a BOM
    is a blank line."""
    bom = b"\xef\xbb\xbf"
    rows = [json.dumps({"prompt": f"p{i}", "chosen": "c", "rejected": "r"}) for i in range(rows_in_a + 3)]
    parts = [
        bom + "".join(r + "\n" for r in rows[:rows_in_a]).encode(),
        bom + rows[0].encode() + b"\r\n" + "".join(r + "\n" for r in rows[rows_in_a:]).encode(),  # a duplicate (CRLF) first
        bom + b"{bad\n",
        bom,
    ]
    pack = {"cat": lambda d: d, "gzip members": gzip.compress, "zstd frames": zstandard.ZstdCompressor().compress}[join]
    raw = tmp_path / "joined.jsonl"
    raw.write_bytes(b"".join(pack(part) for part in parts))
    out = tmp_path / "out"
    result = prefdata.build(raw, out)
    assert result.counts["pairs_written"] == len(rows)
    got = rejects(out).sort("record").select("record", "reason", "raw").rows()
    assert got == [(rows_in_a + 1, "duplicate_pair", rows[0]), (len(rows) + 2, "malformed_json", "{bad")]
    assert result.counts["records_read"] == len(rows) + 2  # the BOM-only part is a blank line, no record
    assert_reconciled(out)


def test_folder_is_read_recursively_and_glob_selects(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / "a" / "b").mkdir(parents=True)
    shutil.copy(HH, raw / "a" / "one.jsonl")
    shutil.copy(HH, raw / "a" / "b" / "two.jsonl")
    (raw / ".hidden.jsonl").write_text("garbage\n")
    out = tmp_path / "out"
    result = prefdata.build(raw, out)
    assert [i["path"] for i in result.manifest["inputs"]] == ["a/b/two.jsonl", "a/one.jsonl"]
    assert {i["source"] for i in result.manifest["inputs"]} == {"a/b/two", "a/one"}
    # the two files hold the same pairs: the second copy is all duplicates
    assert result.counts["rejected_by_reason"]["duplicate_pair"] == 4
    glob_out = tmp_path / "glob"
    result = prefdata.build(str(raw / "a" / "**" / "two.jsonl"), glob_out)
    assert [i["path"] for i in result.manifest["inputs"]] == ["b/two.jsonl"]


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_blank_lines_in_an_earlier_block_still_count_in_record_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    """``prefdata.io.records``: JSON lines "count lines (blank JSON lines are counted but are not
    records)", so a record's number is its line number whichever block (16 MB each; 512 bytes here)
    it is read in, compressed or not. Oracle: the lines written."""
    monkeypatch.setattr(pipeline, "_batch_sizes", lambda expansion: {"block_bytes": 512})
    lines = ["", "   "] + [json.dumps({"prompt": f"question {i}", "chosen": "yes", "rejected": f"no {i}"}) for i in range(60)] + ["{not json"]
    data = ("\n".join(lines) + "\n").encode()
    assert len(data) > 4 * 512  # several blocks
    raw = tmp_path / f"raw.jsonl{suffix}"
    raw.write_bytes(gzip.compress(data) if suffix else data)
    out = tmp_path / "out"
    result = prefdata.build(raw, out)
    assert result.counts["records_read"] == 61 and result.counts["pairs_written"] == 60
    assert rejects(out).select("record", "reason", "raw").rows() == [(63, "malformed_json", "{not json")]
    got = pairs(out).select(pl.col("lineage").list.first().struct.field("record"), pl.col("prompt").list.first().struct.field("content"))
    assert sorted(got.rows()) == [(i + 3, f"question {i}") for i in range(60)]
    assert_reconciled(out)


def test_json_file_holding_json_lines_is_read_as_lines(tmp_path: Path, plain: Path) -> None:
    raw = tmp_path / "hh.json"
    shutil.copy(HH, raw)
    out = tmp_path / "out"
    result = prefdata.build(raw, out)
    assert result.manifest["inputs"][0]["format"] == "jsonl"
    assert {i for i, _ in _pair_set(out)} == {i for i, _ in _pair_set(plain)}


def test_output_folder_inside_raw_is_not_read(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(HH, raw / "hh.jsonl")
    prefdata.build(raw, raw / "out")
    again = prefdata.build(raw, raw / "out")
    assert [i["path"] for i in again.manifest["inputs"]] == ["hh.jsonl"]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_duplicates_show_their_own_raw_line(tmp_path: Path, newline: bytes, suffix: str) -> None:
    """A duplicate found in pass 2 is reported with the exact raw line of its own record."""
    lines = [
        b'{"prompt": "p", "chosen": "c", "rejected": "r", "note": "first"}',
        b"",
        b'{"prompt": "q", "chosen": "c", "rejected": "r"}',
        b'{"prompt": "p", "chosen": "c", "rejected": "r", "note": "second copy, other metadata"}',
    ]
    data = newline.join(lines) + newline
    raw = tmp_path / f"dups.jsonl{suffix}"
    raw.write_bytes(gzip.compress(data) if suffix else data)
    out = tmp_path / "out"
    prefdata.build(raw, out)
    (dup,) = rejects(out).iter_rows(named=True)
    assert (dup["record"], dup["reason"]) == (4, "duplicate_pair")
    assert dup["raw"] == lines[3].decode()
    assert_reconciled(out)


def test_a_parquet_row_of_bad_bytes_beside_a_decimal_column_is_a_reject(tmp_path: Path) -> None:
    """The reject's raw text could not show the decimal: the whole build crashed (exit 3). The raw
    text holds the columns the source reads: here the filter's ``price``, not ``took``."""
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    raw = tmp_path / "raw"
    raw.mkdir()
    pq.write_table(pa.table({
        "prompt": ["p0", "p1"], "chosen": ["c0", "c1"], "rejected": pa.array([b"r0", b"\xff"], pa.binary()),
        "price": pa.array([decimal.Decimal("1.50")] * 2, pa.decimal128(10, 2)),
        "took": pa.array([1_000_000, 2], pa.duration("us")),
    }), raw / "a.parquet")
    config = {"sources": [{"shape": "preference", "columns": {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"},
                           "filters": ["price > 0"]}]}
    result = prefdata.build(raw, tmp_path / "out", config=config)
    assert result.counts["pairs_written"] == 1 and result.counts["rejected_by_reason"] == {"invalid_utf8": 1}
    [reject] = pl.read_parquet(tmp_path / "out" / "rejects" / "*.parquet").to_dicts()
    assert '"price":"1.50"' in reject["raw"] and "\\xff" in reject["raw"] and "took" not in reject["raw"]


@pytest.mark.parametrize(("kind", "offset_bytes"), [("string", 4), ("large_string", 8)])
def test_a_parquet_string_column_with_bytes_that_are_not_utf8_rejects_that_row(tmp_path: Path, kind: str, offset_bytes: int) -> None:
    """A writer that does not check (or one flipped byte) leaves invalid UTF-8 in a string column:
    polars panicked on it and the whole build stopped. The same in a ``large_string`` column (64-bit
    offsets), which pandas and pyarrow write too."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    raw = tmp_path / "raw"
    raw.mkdir()
    typ = getattr(pa, kind)()
    good = pa.array(["fine", "also fine", "ok"], typ)
    offsets = pa.py_buffer(b"".join(n.to_bytes(offset_bytes, "little") for n in (0, 4, 8, 10)))  # abcd | \xff\xfexy | zw
    bad = pa.Array.from_buffers(typ, 3, [None, offsets, pa.py_buffer(b"abcd\xff\xfexyzw")])
    pq.write_table(pa.table({"prompt": good, "chosen": bad, "rejected": pa.array(["r1", "r2", "r3"], typ)}), raw / "a.parquet")
    assert pq.read_schema(raw / "a.parquet").field("chosen").type == typ
    result = prefdata.build(raw, tmp_path / "out")
    assert result.counts["pairs_written"] == 2 and result.counts["rejected_by_reason"] == {"invalid_utf8": 1}
    [reject] = pl.read_parquet(tmp_path / "out" / "rejects" / "*.parquet").to_dicts()
    assert reject["record"] == 2 and "column 'chosen'" in reject["detail"]


def test_a_parquet_struct_read_whole_keeps_its_fields(tmp_path: Path) -> None:
    """A column the config names itself (``chosen``), not a field inside it, is read whole: a struct
    there is a ``non_text_content`` reject whose raw text shows every field the file holds, as pyarrow
    wrote them, not an empty object."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    raw = tmp_path / "raw"
    raw.mkdir()
    pq.write_table(pa.table({"prompt": ["What is 2+2?", "And 3+3?"], "chosen": [{"text": "Four.", "lang": "en"}, {"text": "Six.", "lang": "en"}],
                             "rejected": ["Five.", "Seven."]}), raw / "pairs.parquet")
    config = {"sources": [{"shape": "preference", "columns": {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"}}]}
    prefdata.build(raw, tmp_path / "out", config=config)
    got = rejects(tmp_path / "out").sort("record")
    assert got.select("reason", "field").rows() == [("non_text_content", "chosen")] * 2
    assert [json.loads(r)["chosen"] for r in got["raw"]] == [{"text": "Four.", "lang": "en"}, {"text": "Six.", "lang": "en"}]


def test_a_nan_in_a_parquet_fixed_size_list_is_a_wrong_type_score(tmp_path: Path) -> None:
    """A NaN score is a ``wrong_type`` reject (README), read from a fixed-size list (pyarrow's
    ``fixed_size_list``, polars' Array) as from a variable-size one: never a null, a missing score
    that builds the pair without a word."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    config = {"sources": [{"shape": "preference", "columns": {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected",
                                                              "score_chosen": "scores[0]", "score_rejected": "scores[1]"}}]}
    for kind, typ in (("list", pa.list_(pa.float64())), ("fixed", pa.list_(pa.float64(), 2))):
        raw = tmp_path / f"raw_{kind}"
        raw.mkdir()
        pq.write_table(pa.table({"prompt": ["q1", "q2"], "chosen": ["c1", "c2"], "rejected": ["r1", "r2"],
                                 "scores": pa.array([[float("nan"), 1.0], [5.0, 1.0]], typ)}), raw / "a.parquet")
        result = prefdata.build(raw, tmp_path / f"out_{kind}", config=config, test_fraction=0)
        assert (result.counts["pairs_written"], result.counts["rejected_by_reason"]) == (1, {"wrong_type": 1}), kind
        assert pairs(tmp_path / f"out_{kind}").select("score_chosen", "score_rejected").rows() == [(5.0, 1.0)]
        assert rejects(tmp_path / f"out_{kind}").select("record", "field").rows() == [(1, "scores[0]")], kind


def test_an_empty_csv_cell_reads_as_json_null_in_optional_fields(tmp_path: Path) -> None:
    """An empty CSV cell is how pandas and Excel write a missing value: in a score column it made the
    row a `wrong_type` reject ("score is not a number") and in a model column the model name "",
    while the same table as JSON lines (null) built the pair with null. A blank response is still
    an `empty_field` reject in both formats."""
    rows = [
        {"prompt": "P1", "chosen": "c1", "rejected": "r1", "score_chosen": 5.0, "score_rejected": 1.0, "chosen_model": "m1", "rejected_model": "m2"},
        {"prompt": "P2", "chosen": "c2", "rejected": "r2", "score_chosen": None, "score_rejected": None, "chosen_model": None, "rejected_model": "m2"},
        {"prompt": "P3", "chosen": "c3", "rejected": "r3", "score_chosen": 4.0, "score_rejected": None, "chosen_model": "m1", "rejected_model": None},
        {"prompt": "P4", "chosen": "", "rejected": "r4", "score_chosen": None, "score_rejected": None, "chosen_model": None, "rejected_model": None},
    ]
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pl.DataFrame(rows).write_csv(raw / "t.csv")  # null -> empty cell, as pandas' to_csv writes it
    built = {}
    for ext in ("jsonl", "csv"):
        out = tmp_path / f"out_{ext}"
        result = prefdata.build(raw / f"t.{ext}", out, test_fraction=0)
        assert result.counts["rejected_by_reason"] == {"empty_field": 1}
        assert rejects(out).select("record", "field").rows() == [(4, "chosen")]
        built[ext] = pairs(out).select(
            pl.col("prompt").list.first().struct.field("content"), "score_chosen", "score_rejected", "chosen_model", "rejected_model"
        ).sort("content").rows()
        assert_reconciled(out)
    assert built["csv"] == built["jsonl"] == [("P1", 5.0, 1.0, "m1", "m2"), ("P2", None, None, None, "m2"), ("P3", 4.0, None, "m1", None)]


def test_a_sources_format_reads_a_file_whose_name_says_no_format(tmp_path: Path) -> None:
    """`path: logs.txt, format: jsonl` skipped logs.txt as "unknown extension '.txt'": the README's
    `format` (override detection) only chose among the extensions read anyway. A file no source with
    a format selects is still skipped, with a hint."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "logs.txt").write_text(json.dumps({"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Lyon."}) + "\n")
    with gzip.open(raw / "rows.log.gz", "wt") as fh:
        fh.write("prompt,chosen,rejected\nCapital of Spain?,Madrid.,Seville.\n")
    (raw / "notes.txt").write_text("not data\n")
    columns = {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"}
    config = {"sources": [{"path": "logs.txt", "format": "jsonl", "shape": "preference", "columns": columns},
                          {"path": "*.log.gz", "format": "csv", "shape": "preference", "columns": columns}]}
    out = tmp_path / "out"
    result = prefdata.build(raw, out, config=config)
    assert {i["path"]: (i["format"], i["compression"]) for i in result.manifest["inputs"]} == {"logs.txt": ("jsonl", None), "rows.log.gz": ("csv", "gzip")}
    assert sorted(pairs(out).select(pl.col("chosen").list.first().struct.field("content")).to_series()) == ["Madrid.", "Paris."]
    [skipped] = result.manifest["skipped_files"]
    assert skipped["path"] == "notes.txt" and skipped["reason"].startswith("unknown extension '.txt'") and "`format`" in skipped["reason"]
    assert_reconciled(out)


@pytest.mark.parametrize("path", [None, "**", "*"])
def test_a_sources_format_does_not_read_every_file_a_folder_holds(tmp_path: Path, path: str | None) -> None:
    """A source with `format: jsonl` and no path (or a bare wildcard) read every file of RAW as JSON
    lines: the LICENSE, notes, loader script and logo beside the data became malformed_json and
    invalid_utf8 rejects. A format reads a file whose name says no format only where the path (or
    RAW) names it; the others are skipped as before, with a reason that says how to read them."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "train.jsonl").write_text(json.dumps({"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Lyon."}) + "\n")
    (raw / "LICENSE").write_text("MIT License\n")
    (raw / "notes.txt").write_text("exported on 2024-05-01\n")
    (raw / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    source = {"shape": "preference", "format": "jsonl", "columns": {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"}}
    result = prefdata.build(raw, tmp_path / "out", config={"sources": [source | ({"path": path} if path else {})]})
    assert [i["path"] for i in result.manifest["inputs"]] == ["train.jsonl"] and result.counts["records_rejected"] == 0
    skipped = {s["path"]: s["reason"] for s in result.manifest["skipped_files"]}
    assert sorted(skipped) == ["LICENSE", "logo.png", "notes.txt"]
    assert "`format` (e.g. `path: '*.txt'`)" in skipped["notes.txt"] and "`path: LICENSE`" in skipped["LICENSE"]
    (raw / "day1").write_text(json.dumps({"prompt": "Capital of Spain?", "chosen": "Madrid.", "rejected": "Seville."}) + "\n")
    named = prefdata.build(raw / "day1", tmp_path / "one", config={"sources": [source]})  # RAW names the file
    assert [i["path"] for i in named.manifest["inputs"]] == ["day1"]
    named = prefdata.build(raw, tmp_path / "days", config={"sources": [source | {"path": "day*"}]})  # so does a glob's name
    assert [i["path"] for i in named.manifest["inputs"]] == ["day1"]


def test_parquet_nan_and_infinite_scores_are_wrong_type_as_in_json_lines(tmp_path: Path) -> None:
    """polars' JSON encoder writes a float NaN or infinity as null: a Parquet NaN score read as a
    missing score (the pair built with score null, an inf-inf tie passed the scores rule), a rated
    completion scored NaN was dropped without a word, and the reject's raw text showed null. They
    are `wrong_type` rejects now, as "nan" in JSON lines, with the value in the raw text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    nan, inf = float("nan"), float("inf")
    raw = tmp_path / "raw"
    raw.mkdir()
    pq.write_table(pa.table({
        "prompt": ["ok", "nan", "inf", "tie"], "chosen": ["a1", "a2", "a3", "a4"], "rejected": ["b1", "b2", "b3", "b4"],
        "score_chosen": [9.0, nan, inf, inf], "score_rejected": [3.0, 3.0, -inf, inf],
    }), raw / "s.parquet")
    pq.write_table(pa.table({"q": ["q1"], "completions": [[
        {"response": "x", "score": nan}, {"response": "y", "score": 1.0}, {"response": "z", "score": 2.0}]]}), raw / "r.parquet")
    config = {"sources": [
        {"path": "s.parquet", "shape": "preference", "columns": {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected",
                                                                "score_chosen": "score_chosen", "score_rejected": "score_rejected"}},
        {"path": "r.parquet", "shape": "rated", "columns": {"prompt": "q", "completions": "completions", "text": "response", "score": "score"}},
    ]}
    out = tmp_path / "out"
    result = prefdata.build(raw, out, config=config, test_fraction=0)
    assert result.counts["pairs_written"] == 1 and result.counts["rejected_by_reason"] == {"wrong_type": 4}
    assert pairs(out).select("score_chosen", "score_rejected").rows() == [(9.0, 3.0)]
    by_file = {(r["file"], r["record"]): r["raw"] for r in rejects(out).to_dicts()}
    assert '"score_chosen":"NaN","score_rejected":3.0' in by_file[("s.parquet", 2)]
    assert '"score_chosen":"Infinity","score_rejected":"-Infinity"' in by_file[("s.parquet", 3)]
    assert '"score":"NaN"' in by_file[("r.parquet", 1)] and "null" not in by_file[("r.parquet", 1)]
    assert_reconciled(out)

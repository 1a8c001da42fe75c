"""Damaged and odd files: truncated or mislabelled compression, bytes that are not text, lone
surrogates, binary Parquet columns, broken links and hidden files. None may crash a build or
shrink it silently: what cannot be read is a reject or a skipped file with its reason, and the
counts reconcile."""

from __future__ import annotations

import decimal
import gzip
import io
import json
import os
import zlib
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from click.testing import CliRunner

import prefdata
from prefdata.cli import cli
from prefdata.errors import InputError
from prefdata.io.compression import CorruptStreamError, open_binary, sniff_compression
from prefdata.io.discover import discover
from tests.support.dataset import assert_reconciled, manifest, pairs, rejects

N = 3000


def _jsonl(n: int = N, start: int = 0) -> bytes:
    return b"".join(
        json.dumps({"prompt": f"Question {i}: how does thing {i} work?", "chosen": f"Thing {i} works well.", "rejected": f"No idea {i}."}).encode()
        + b"\n"
        for i in range(start, start + n)
    )


def _zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


def _parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    (raw / name).write_bytes(data)
    return raw


# -- the decompressing reader ------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_a_cut_stream_gives_every_byte_before_the_cut_then_raises(tmp_path: Path, compression: str) -> None:
    data = _jsonl()
    packed = gzip.compress(data) if compression == "gzip" else _zstd(data)
    path = tmp_path / "cut"
    path.write_bytes(packed[: len(packed) // 2])
    got = b""
    with pytest.raises(CorruptStreamError, match="ends before its end marker") as info, open_binary(path, compression) as fh:
        while chunk := fh.read(1000):
            got += chunk
    assert got and data.startswith(got)
    assert info.value.decompressed == len(got)


def test_the_damage_error_counts_the_bytes_the_failing_step_salvaged(tmp_path: Path) -> None:
    """compression.py: ``CorruptStreamError.decompressed`` is "how many bytes came out before the problem:
    everything before it was read", the bytes salvaged from the step that met the damage included.
    Only the CRC32 in the trailer is damaged, so every data byte decodes (a 2,090-byte file said
    "after 0 bytes" when the salvaged bytes were not counted)."""
    data = b"".join(b'{"i": %d}\n' % i for i in range(200))
    packed = bytearray(gzip.compress(data))
    packed[-8] ^= 0xFF  # the trailer: CRC32 (4 bytes), then ISIZE (4 bytes)
    path = tmp_path / "crc.gz"
    path.write_bytes(bytes(packed))
    got = b""
    with pytest.raises(CorruptStreamError, match="damaged") as info, open_binary(path, "gzip") as fh:
        while chunk := fh.read(100):
            got += chunk
    assert got == data and len(data) == 2090
    assert info.value.decompressed == 2090
    assert "after 2,090 decompressed bytes" in str(info.value)


def test_read1_returns_at_most_size_bytes_and_the_rest_comes_next(tmp_path: Path) -> None:
    """The reader is an ``io.BufferedIOBase``, whose ``read1(size)`` returns at most ``size`` bytes
    (Python docs); what it does not return comes with the next read."""
    data = _jsonl(1000)
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(data))
    with open_binary(path, "gzip") as fh:
        first = fh.read1(10)
        second = fh.read1(1)
        rest = fh.read()
    assert first == data[:10] and second == data[10:11]
    assert first + second + rest == data


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_every_member_or_frame_is_read(tmp_path: Path, compression: str) -> None:
    """``cat a.gz b.gz`` and multi-frame zstd (``zstd -T0``, ``pzstd``) hold several streams in one file."""
    data = _jsonl(500)
    pack = gzip.compress if compression == "gzip" else _zstd
    path = tmp_path / "multi"
    path.write_bytes(pack(data) + pack(data) + pack(data))
    with open_binary(path, compression) as fh:
        assert fh.read() == data * 3


@pytest.mark.parametrize("pad", [1, 512, 3 * 1024 * 1024 + 7])  # the last spans several reads of the file
def test_nul_padding_after_a_gzip_member_is_no_data(tmp_path: Path, pad: int) -> None:
    """``gzip -t`` and CPython's gzip module ("Gzip files can be padded with zeroes") read past it."""
    data = _jsonl(500)
    path = tmp_path / "padded.gz"
    path.write_bytes(gzip.compress(data) + b"\0" * pad)
    assert gzip.decompress(path.read_bytes()) == data  # the oracle
    with open_binary(path, "gzip") as fh:
        assert fh.read() == data
        assert fh.read() == b""  # the end, not damage (the bytes before damage come first, then it raises)


def test_a_gzip_member_after_nul_padding_is_read_as_cpython_reads_it(tmp_path: Path) -> None:
    packed = gzip.compress(_jsonl(500)) + b"\0" * 100 + gzip.compress(_jsonl(500, 500)) + b"\0" * 3
    path = tmp_path / "padded.gz"
    path.write_bytes(packed)
    with open_binary(path, "gzip") as fh:
        assert fh.read() == gzip.decompress(packed) == _jsonl(1000)
        assert fh.read() == b""


def test_nul_padding_is_gzip_only_zstd_refuses_it_as_its_cli_does(tmp_path: Path) -> None:
    path = tmp_path / "padded.zst"
    path.write_bytes(_zstd(_jsonl(5)) + b"\0" * 512)
    with pytest.raises(CorruptStreamError, match="damaged"), open_binary(path, "zstd") as fh:
        assert fh.read() == _jsonl(5)
        fh.read()


def _skippable(nibble: int = 0, content: bytes = b"\0\0\0\0") -> bytes:
    """A zstd skippable frame (RFC 8878 3.1.2, magic 0x184D2A50 + nibble), as ``pzstd`` starts its files."""
    return bytes([0x50 | nibble]) + b"\x2a\x4d\x18" + len(content).to_bytes(4, "little") + content


@pytest.mark.parametrize("nibble", range(16))
def test_a_zstd_file_starting_with_a_skippable_frame_is_zstd(tmp_path: Path, nibble: int) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(_skippable(nibble) + _zstd(b"{}\n"))
    assert sniff_compression(path) == "zstd"


def test_skippable_zstd_frames_anywhere_are_read_across(tmp_path: Path) -> None:
    """First (``pzstd``), between data frames and last (seekable-format indexes): they hold no data."""
    data = _jsonl(500)
    path = tmp_path / "multi.zst"
    path.write_bytes(_skippable(0, b"x" * 100) + _zstd(data) + _skippable(5) + _skippable(15, b"") + _zstd(data) + _skippable(14, b"index"))
    with open_binary(path, sniff_compression(path)) as fh:
        assert fh.read() == data * 2


def test_not_every_byte_like_a_skippable_frame_is_zstd(tmp_path: Path) -> None:
    for head in (b"\x60\x2a\x4d\x18", b"\x50\x2a\x4d\x19", b"P*M", b"\x28\xb5\x2f"):
        (path := tmp_path / "a").write_bytes(head)
        assert sniff_compression(path) is None, head


# -- builds ----------------------------------------------------------------------------------


def test_a_pzstd_file_with_a_skippable_frame_first_is_built(tmp_path: Path) -> None:
    """``pzstd`` writes a skippable frame (the frame sizes) before its data: the file was skipped as
    "neither gzip nor zstd data", its records lost but for a warning."""
    raw = _write(tmp_path, "a.jsonl.zst", _skippable(0, (1234).to_bytes(4, "little")) + _zstd(_jsonl(50)) + _skippable(0) + _zstd(_jsonl(50, 50)))
    result = prefdata.build(raw, tmp_path / "out")
    assert result.counts["pairs_written"] == 100 and result.counts["records_rejected"] == 0
    assert manifest(tmp_path / "out")["skipped_files"] == []


def test_a_skippable_zstd_frame_cut_short_or_followed_by_garbage_is_skipped_with_the_damage(tmp_path: Path) -> None:
    raw = _write(tmp_path, "cut.jsonl.zst", _skippable(0, b"\0" * 1000)[:20])
    (raw / "garbage.jsonl.zst").write_bytes(_skippable(3) + b'{"prompt": "p"}\n')
    (raw / "good.jsonl").write_bytes(_jsonl(2))
    assert prefdata.build(raw, tmp_path / "out").counts["pairs_written"] == 2
    reasons = {s["path"]: s["reason"] for s in manifest(tmp_path / "out")["skipped_files"]}
    assert reasons["cut.jsonl.zst"].startswith("the zstd stream ends before its end marker")
    assert reasons["garbage.jsonl.zst"].startswith("the zstd stream is damaged")
    assert all("no record could be read" in r for r in reasons.values())




@pytest.mark.parametrize("name,pack", [("a.jsonl.zst", _zstd), ("a.jsonl.gz", gzip.compress)])
def test_a_truncated_compressed_file_keeps_what_precedes_the_cut_and_says_so(tmp_path: Path, name: str, pack) -> None:
    packed = pack(_jsonl())
    raw = _write(tmp_path, name, packed[: len(packed) // 2])
    result = prefdata.build(raw, tmp_path / "out")
    counts = result.counts
    damaged = rejects(tmp_path / "out").filter(pl.col("reason") == "damaged_file")
    assert damaged.height == 1
    assert "truncated" in damaged["detail"][0] and "nothing after this point" in damaged["detail"][0]
    # the reject is the record after the last complete one, and its raw text is the line the cut interrupted
    assert damaged["record"][0] == counts["records_read"] == counts["pairs_written"] + 1
    assert '{"prompt": "Question' in damaged["raw"][0]
    assert 0 < counts["pairs_written"] < N
    assert_reconciled(tmp_path / "out")


def test_a_truncated_compressed_json_array_keeps_the_elements_before_the_cut(tmp_path: Path) -> None:
    """README: a damaged compressed file keeps the records before the damage, "the rest is this one
    reject"; ``prefdata.io.records``: a JSON array's elements are numbered from 1, so the reject is the
    number after the last whole element, never one an element already has. Oracle: the elements
    whose whole text a streaming zlib decoder gives before the cut."""
    elements = [json.dumps({"prompt": f"question number {i} " + "x" * 80, "chosen": f"yes {i}", "rejected": f"no {i}"}) for i in range(5)]
    text = ("[" + ", ".join(elements) + "]").encode()
    packed = gzip.compress(text, compresslevel=1, mtime=0)
    cut = packed[: len(packed) - 12]
    decoded = zlib.decompressobj(wbits=31).decompress(cut)
    ends = [text.index(e.encode()) + len(e) for e in elements]
    whole = sum(end <= len(decoded) for end in ends)
    assert 0 < whole < len(elements) and len(decoded) < ends[whole]  # the cut falls inside an element
    out = tmp_path / "out"
    result = prefdata.build(_write(tmp_path, "a.json.gz", cut), out)
    assert result.counts["pairs_written"] == whole
    assert rejects(out).select("record", "reason").rows() == [(whole + 1, "damaged_file")]
    assert result.counts["records_read"] == whole + 1
    assert_reconciled(out)


@pytest.mark.parametrize("after", [b"trailing garbage", b"\0" * 512 + b"trailing garbage", b"\0\x1f"])
def test_garbage_after_a_gzip_stream_is_a_damaged_file_reject(tmp_path: Path, after: bytes) -> None:
    """NUL padding before it changes nothing (CPython's gzip raises BadGzipFile alike)."""
    raw = _write(tmp_path, "a.jsonl.gz", gzip.compress(_jsonl(100)) + after)
    result = prefdata.build(raw, tmp_path / "out")
    assert result.counts["pairs_written"] == 100
    assert result.counts["rejected_by_reason"] == {"damaged_file": 1}
    assert result.counts["records_read"] == 101
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress((raw / "a.jsonl.gz").read_bytes())


def test_a_gzip_file_padded_with_nuls_builds_as_without_them(tmp_path: Path) -> None:
    """It gave a spurious ``damaged_file`` reject ("incorrect header check") and one record read too many."""
    raw = _write(tmp_path, "a.jsonl.gz", gzip.compress(_jsonl(100)) + b"\0" * 512)
    result = prefdata.build(raw, tmp_path / "out")
    assert result.counts["records_read"] == result.counts["pairs_written"] == 100
    assert result.counts["records_rejected"] == 0


def test_a_damaged_gzip_member_after_nul_padding_keeps_what_it_would_keep_unpadded(tmp_path: Path) -> None:
    first, second = gzip.compress(_jsonl(100)), gzip.compress(_jsonl(100, 100))
    cut = second[: len(second) // 2]
    builds = []
    for name, data in (("plain", first + cut), ("padded", first + b"\0" * 64 + cut)):
        (tmp_path / name).mkdir()
        raw = _write(tmp_path / name, "a.jsonl.gz", data)
        result = prefdata.build(raw, tmp_path / name / "out")
        builds.append((result.counts, rejects(tmp_path / name / "out").select("record", "raw", "reason").rows()))
    assert builds[0] == builds[1]
    assert 100 < builds[0][0]["pairs_written"] < 200 and builds[0][0]["rejected_by_reason"] == {"damaged_file": 1}


@pytest.mark.parametrize("name,pack", [("a.jsonl.gz", _zstd), ("a.jsonl.zst", gzip.compress), ("a.jsonl", gzip.compress)])
def test_compression_is_read_from_the_first_bytes_not_the_name(tmp_path: Path, name: str, pack) -> None:
    raw = _write(tmp_path, name, pack(_jsonl(50)))
    result = prefdata.build(raw, tmp_path / "out")
    assert result.counts["pairs_written"] == 50 and result.counts["records_rejected"] == 0


def test_a_file_named_compressed_that_is_not_is_skipped_with_the_reason(tmp_path: Path) -> None:
    raw = _write(tmp_path, "a.jsonl.gz", b"plain text, not gzip\n")
    (raw / "b.jsonl").write_bytes(_jsonl(5))
    result = prefdata.build(raw, tmp_path / "out")
    assert [(s["path"], s["reason"]) for s in manifest(tmp_path / "out")["skipped_files"]] == [
        ("a.jsonl.gz", "named as gzip-compressed, but its first bytes are neither gzip nor zstd data")
    ]
    assert result.counts["pairs_written"] == 5


def test_a_compressed_parquet_file_is_read(tmp_path: Path) -> None:
    table = pa.table({"prompt": ["p1", "p2"], "chosen": ["c1", "c2"], "rejected": ["r1", "r2"]})
    raw = _write(tmp_path, "a.parquet.gz", gzip.compress(_parquet_bytes(table)))
    assert prefdata.build(raw, tmp_path / "out").counts["pairs_written"] == 2


def test_a_damaged_parquet_file_is_skipped_with_the_reason(tmp_path: Path) -> None:
    table = pa.table({"prompt": ["p1"], "chosen": ["c1"], "rejected": ["r1"]})
    raw = _write(tmp_path, "bad.parquet", b"PAR1 this is not a parquet file")
    (raw / "cut.parquet.gz").write_bytes(gzip.compress(_parquet_bytes(table))[:-20])
    (raw / "good.jsonl").write_bytes(_jsonl(3))
    prefdata.build(raw, tmp_path / "out")
    skipped = {s["path"]: s["reason"] for s in manifest(tmp_path / "out")["skipped_files"]}
    assert set(skipped) == {"bad.parquet", "cut.parquet.gz"}
    assert skipped["bad.parquet"].startswith("not a readable Parquet file")
    assert "footer" in skipped["cut.parquet.gz"]


def test_binary_parquet_columns_are_read_as_text_and_bad_bytes_reject_their_row(tmp_path: Path) -> None:
    table = pa.table({
        "prompt": pa.array([b"q1", b"q2", b"q3\xff"], pa.binary()),
        "chosen": ["a", "b", "c"],
        "rejected": ["r1", "r2", "r3"],
        "blob": pa.array([b"\x00\x01", b"x", b"y"], pa.binary()),
    })
    raw = _write(tmp_path, "a.parquet", _parquet_bytes(table))
    prefdata.build(raw, tmp_path / "out")
    got = pairs(tmp_path / "out").sort("lineage")
    assert [p[0]["content"] for p in got["prompt"].to_list()] == ["q1", "q2"]
    bad = rejects(tmp_path / "out")
    assert bad.select("record", "reason").rows() == [(3, "invalid_utf8")]
    assert "'prompt'" in bad["detail"][0] and "q3\\\\xff" in bad["raw"][0]
    assert_reconciled(tmp_path / "out")


@pytest.mark.parametrize("lone", [r"\ud800", r"\udc00\ud800"])
def test_a_lone_surrogate_escape_is_malformed_json_not_a_nul(tmp_path: Path, lone: str) -> None:
    lines = [
        '{"prompt": "lone ' + lone + r' surrogate", "chosen": "c", "rejected": "r"}',
        r'{"prompt": "emoji \ud83d\ude00 pair", "chosen": "c", "rejected": "r"}',  # a valid pair
        '{"prompt": "plain", "chosen": "c", "rejected": "r"}',
    ]
    raw = _write(tmp_path, "a.jsonl", ("\n".join(lines) + "\n").encode())
    prefdata.build(raw, tmp_path / "out")
    assert sorted(p[0]["content"] for p in pairs(tmp_path / "out")["prompt"].to_list()) == ["emoji \U0001f600 pair", "plain"]
    assert rejects(tmp_path / "out").select("record", "reason").rows() == [(1, "malformed_json")]


def test_a_csv_row_with_bytes_that_are_not_utf8_rejects_only_itself(tmp_path: Path) -> None:
    """Its raw text is the row as a JSON object keyed by the header, as every CSV row's is (it was an
    array of the cells, without their names); a row of another cell count stays an array of its cells."""
    raw = _write(tmp_path, "a.csv", b"prompt,chosen,rejected\ncaf\xe9,c,r\nq2,c2,r2\nq3,c3,r3\nq4\xff,c4\n")
    result = prefdata.build(raw, tmp_path / "out")
    assert result.counts["pairs_written"] == 2
    bad = rejects(tmp_path / "out")
    assert bad.select("record", "reason").rows() == [(1, "invalid_utf8"), (4, "invalid_utf8")]
    assert bad["detail"][0].startswith("column 'prompt'")
    assert [json.loads(r) for r in bad["raw"]] == [{"prompt": "caf\\xe9", "chosen": "c", "rejected": "r"}, ["q4\\xff", "c4"]]


def test_inspect_skips_a_csv_naming_a_read_column_twice_as_the_build_does(tmp_path: Path) -> None:
    """inspect.py: a file whose header names a column the shape reads twice is skipped "as the build
    skips it", with the column named, not described with a config the build then refuses."""
    raw = _write(tmp_path, "a.csv", b"prompt,chosen,rejected,chosen\nP1,c1,r1,x1\nP2,c2,r2,x2\n")
    (raw / "good.csv").write_text("prompt,chosen,rejected\nP1,c1,r1\n")
    result = prefdata.inspect(raw)
    assert [Path(f.path).name for f in result.files] == ["good.csv"]
    [skipped] = result.skipped
    assert Path(str(skipped.name)).name == "a.csv"
    assert skipped.reason.startswith("column 'chosen' appears 2 times (columns 2, 4) and is read")
    shown = CliRunner().invoke(cli, ["inspect", str(raw)])
    assert shown.exit_code == 0 and "a.csv: skipped (column 'chosen' appears 2 times (columns 2, 4)" in shown.output


def test_a_csv_header_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    raw = _write(tmp_path, "a.csv", b"prompt,chosen,rej\xe9cted\nq,c,r\n")
    result = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out"), "-q"])
    assert result.exit_code == 2
    assert "a.csv: the CSV header (line 1) is not valid UTF-8" in result.output


def test_a_csv_header_that_names_a_column_twice_is_a_clear_error(tmp_path: Path) -> None:
    """`prompt,chosen,rejected,chosen` built without a word from each row's last `chosen` cell: the
    first column's text was dropped unsaid (and the same record as JSON lines kept the first). Blank
    names, which no config can read (a header's trailing commas), still build."""
    raw = _write(tmp_path, "a.csv", b"prompt,chosen,rejected,chosen\r\nWhat is 2+2?,Four.,Five.,see column B\r\n")
    result = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out"), "-q"])
    assert result.exit_code == 2  # skipped, as a Parquet file naming a column read twice is: nothing else to read
    assert "a.csv: skipped (column 'chosen' appears 2 times (columns 2, 4) and is read" in result.output
    assert not (tmp_path / "out").exists()
    blank = _write(tmp_path, "b.csv", b"prompt,chosen,rejected,,\nq,c,r,,\n")
    assert prefdata.build(blank / "b.csv", tmp_path / "out_b").counts["pairs_written"] == 1


def test_links_are_followed_but_nothing_is_read_twice(tmp_path: Path) -> None:
    raw = _write(tmp_path, "a.jsonl", _jsonl(2))
    os.symlink("missing.jsonl", raw / "dangling.jsonl")
    os.symlink("a.jsonl", raw / "again.jsonl")  # a second name for a file that is read anyway
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "b.jsonl").write_bytes(_jsonl(3, start=100))
    os.symlink(elsewhere, raw / "linked")  # data linked in from outside RAW: read
    os.symlink(raw, raw / "linked" / "cycle")  # a link back up: not read again, and no endless walk
    result = prefdata.build(raw, tmp_path / "out")
    m = manifest(tmp_path / "out")
    assert [i["path"] for i in m["inputs"]] == ["a.jsonl", "linked/b.jsonl"]
    assert m["skipped_files"] == [
        {"path": "again.jsonl", "reason": "a link to a.jsonl, which is read already"},
        {"path": "dangling.jsonl", "reason": "a broken symbolic link"},
        {"path": "linked/cycle/", "reason": "a link to a folder that is read already"},
    ]
    assert result.counts["pairs_written"] == 5 and result.counts["records_rejected"] == 0


def test_a_file_reached_through_a_file_link_and_a_folder_link_is_read_once(tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "logs"
    shared.mkdir(parents=True)
    (shared / "day1.jsonl").write_bytes(_jsonl(3))
    raw = tmp_path / "raw"
    raw.mkdir()
    os.symlink(shared / "day1.jsonl", raw / "a_latest.jsonl")
    os.symlink(shared, raw / "logs")
    result = prefdata.build(raw, tmp_path / "out")
    m = manifest(tmp_path / "out")
    assert [i["path"] for i in m["inputs"]] == ["a_latest.jsonl"]
    assert m["skipped_files"] == [{"path": "logs/day1.jsonl", "reason": "the same file as a_latest.jsonl, which is read already"}]
    assert result.counts["records_read"] == 3


def test_a_hub_cache_snapshot_is_read_through_its_links(tmp_path: Path) -> None:
    """A Hub cache keeps files as ``blobs/<sha>`` (no extension, so not read) and names them by links in
    ``snapshots/<rev>/``: the links are read, not passed over as links to what is read already."""
    raw = tmp_path / "raw"
    (raw / "blobs").mkdir(parents=True)
    (raw / "snapshots" / "abc").mkdir(parents=True)
    (raw / "blobs" / "0f1e2d").write_bytes(_jsonl(4))
    os.symlink("../../blobs/0f1e2d", raw / "snapshots" / "abc" / "train.jsonl")
    result = prefdata.build(raw, tmp_path / "out")
    m = manifest(tmp_path / "out")
    assert [i["path"] for i in m["inputs"]] == ["snapshots/abc/train.jsonl"]
    assert [s["path"] for s in m["skipped_files"]] == ["blobs/0f1e2d"]
    assert result.counts["records_read"] == 4 and result.counts["pairs_written"] == 4


def test_a_hub_cache_is_read_at_the_revision_refs_main_names(tmp_path: Path) -> None:
    raw = tmp_path / "datasets--org--prefs"
    (raw / "blobs").mkdir(parents=True)
    (raw / "refs").mkdir()
    (raw / "refs" / "main").write_text("bbb222")
    (raw / "blobs" / "old").write_bytes(_jsonl(3))
    (raw / "blobs" / "new").write_bytes(_jsonl(3, start=50))
    for revision, blob in (("aaa111", "old"), ("bbb222", "new")):
        (raw / "snapshots" / revision).mkdir(parents=True)
        os.symlink(f"../../blobs/{blob}", raw / "snapshots" / revision / "train.jsonl")
    result = prefdata.build(raw, tmp_path / "out")
    m = manifest(tmp_path / "out")
    assert [i["path"] for i in m["inputs"]] == ["snapshots/bbb222/train.jsonl"]
    reasons = {s["path"]: s["reason"] for s in m["skipped_files"]}
    assert reasons == {"blobs/": "the blobs of a Hugging Face cache, read under their names in snapshots/",
                       "refs/": "the revision names of a Hugging Face cache (refs/main picks the snapshot read)",
                       "snapshots/aaa111/": "another revision in a Hugging Face cache (refs/main is bbb222), not read"}
    assert result.counts["records_read"] == 3


def test_hugging_face_metadata_files_are_not_data(tmp_path: Path) -> None:
    raw = _write(tmp_path, "a.jsonl", _jsonl(2))
    (raw / "dataset_infos.json").write_text(json.dumps({"default": {"features": {}, "splits": {}}}))
    (raw / "saved" / "train").mkdir(parents=True)
    (raw / "saved" / "dataset_dict.json").write_text(json.dumps({"splits": ["train"]}))
    (raw / "saved" / "train" / "data-00000-of-00001.arrow").write_bytes(b"ARROW1")
    (raw / "saved" / "train" / "state.json").write_text(json.dumps({"_data_files": []}))
    result = prefdata.build(raw, tmp_path / "out")
    reasons = {s["path"]: s["reason"] for s in manifest(tmp_path / "out")["skipped_files"]}
    assert result.counts["pairs_written"] == 2
    for name in ("dataset_infos.json", "saved/dataset_dict.json", "saved/train/state.json"):
        assert "Hugging Face dataset metadata" in reasons[name]
    assert "datasets.load_from_disk(folder)" in reasons["saved/train/data-00000-of-00001.arrow"]


def test_a_state_json_with_no_arrow_file_beside_it_is_data(tmp_path: Path) -> None:
    """``state.json`` is Hugging Face metadata only beside the ``.arrow`` files ``save_to_disk`` writes
    it with; a user's own ``logs/state.json`` of JSON lines is read like any other file."""
    raw = _write(tmp_path, "a.jsonl", _jsonl(2))
    (raw / "logs").mkdir()
    (raw / "logs" / "state.json").write_bytes(_jsonl(3, start=10))
    inputs, _ = discover(raw)
    assert [i.name for i in inputs] == ["a.jsonl", "logs/state.json"]
    (raw / "logs" / "data-00000-of-00001.arrow").write_bytes(b"ARROW1")
    inputs, skipped = discover(raw)
    assert [i.name for i in inputs] == ["a.jsonl"]
    assert "Hugging Face dataset metadata" in {s.name: s.reason for s in skipped}["logs/state.json"]


def test_a_hub_cache_whose_refs_main_names_no_snapshot_reads_every_snapshot(tmp_path: Path) -> None:
    """refs/main naming a revision not in snapshots/ (a download not finished, a pruned cache) picks
    no snapshot: each one is read, none is skipped as "another revision" leaving nothing to build."""
    raw = tmp_path / "datasets--org--prefs"
    (raw / "blobs").mkdir(parents=True)
    (raw / "refs").mkdir()
    (raw / "refs" / "main").write_text("bbb222")
    (raw / "blobs" / "0f1e").write_bytes(_jsonl(2))
    (raw / "snapshots" / "aaa111").mkdir(parents=True)
    os.symlink("../../blobs/0f1e", raw / "snapshots" / "aaa111" / "train.jsonl")
    inputs, skipped = discover(raw)
    assert [i.name for i in inputs] == ["snapshots/aaa111/train.jsonl"]
    assert not any(s.name.startswith("snapshots/") for s in skipped)


def test_a_jsonl_file_holding_a_json_array_says_how_to_read_it(tmp_path: Path) -> None:
    records = [json.loads(line) for line in _jsonl(3).splitlines()]
    raw = _write(tmp_path, "a.jsonl", _jsonl(2))
    (raw / "array.jsonl.gz").write_bytes(gzip.compress(json.dumps(records).encode()))
    prefdata.build(raw, tmp_path / "out")
    reasons = {s["path"]: s["reason"] for s in manifest(tmp_path / "out")["skipped_files"]}
    assert reasons["array.jsonl.gz"] == "no record parses as a JSON object: the file holds one JSON array; read it with `format: json` in a build config"


def test_hidden_files_and_folders_are_listed_as_skipped(tmp_path: Path) -> None:
    raw = _write(tmp_path, "a.jsonl", _jsonl(2))
    (raw / "_draft.jsonl").write_bytes(_jsonl(1))
    (raw / ".cache").mkdir()
    (raw / ".cache" / "x.jsonl").write_bytes(_jsonl(1))
    prefdata.build(raw, tmp_path / "out")
    m = manifest(tmp_path / "out")
    assert [i["path"] for i in m["inputs"]] == ["a.jsonl"]
    assert [s["path"] for s in m["skipped_files"]] == [".cache/", "_draft.jsonl"]
    assert all("hidden" in s["reason"] for s in m["skipped_files"])


@pytest.mark.parametrize("args", [["--seed", "-1"], ["--seed", str(2**64)], ["--test-fraction", "nan"]])
def test_bad_split_options_exit_2_with_a_message(tmp_path: Path, args: list[str]) -> None:
    raw = _write(tmp_path, "a.jsonl", _jsonl(5))
    result = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out"), "-q", *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and ("seed" in result.output or "test-fraction" in result.output)


def test_a_compressed_file_damaged_before_its_first_record_is_skipped_with_the_damage(tmp_path: Path) -> None:
    packed = _zstd(_jsonl(1))
    raw = _write(tmp_path, "cut.jsonl.zst", packed[: len(packed) // 2])
    (raw / "good.jsonl").write_bytes(_jsonl(2))
    prefdata.build(raw, tmp_path / "out")
    [skipped] = manifest(tmp_path / "out")["skipped_files"]
    assert skipped["path"] == "cut.jsonl.zst"
    assert skipped["reason"].startswith("the zstd stream ends before its end marker") and "no record could be read" in skipped["reason"]


def test_a_build_that_finds_out_created_meanwhile_swaps_with_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two builds into one new OUT: the second to finish finds OUT created after it checked."""
    from prefdata.build import output

    tmp, out = tmp_path / "tmp", tmp_path / "out"
    tmp.mkdir()
    (tmp / "manifest.json").write_text("this build")
    real_rename = os.rename

    def other_build_finishes_first(src: object, dst: object) -> None:
        if Path(dst) == out and not out.exists():
            out.mkdir()
            (out / "manifest.json").write_text("the other build")
            (out / "README.md").write_text("the other build")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", other_build_finishes_first)
    assert output.swap_into_place(tmp, out).moved == []
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
    assert (out / "manifest.json").read_text() == "this build"
    assert not tmp.exists()


@pytest.mark.parametrize("partitions", [0, -1, 2.5, "2", True])
def test_partitions_from_python_are_validated_like_the_option(tmp_path: Path, partitions: object) -> None:
    from prefdata.errors import ConfigError

    raw = _write(tmp_path, "a.jsonl", _jsonl(5))
    with pytest.raises(ConfigError, match="partitions must be a whole number from 1 to 99,999"):
        prefdata.build(raw, tmp_path / "out", partitions=partitions)  # type: ignore[arg-type]


def test_an_earlier_build_inside_raw_is_not_read_as_raw_data(tmp_path: Path) -> None:
    raw = _write(tmp_path, "a.jsonl", _jsonl(3))
    prefdata.build(raw / "a.jsonl", raw / "old-out")  # an earlier output left inside RAW
    result = prefdata.build(raw, tmp_path / "out")
    m = manifest(tmp_path / "out")
    assert [i["path"] for i in m["inputs"]] == ["a.jsonl"]
    assert [s["path"] for s in m["skipped_files"]] == ["old-out/"]
    assert "output of an earlier `prefdata build`" in m["skipped_files"][0]["reason"]
    assert result.counts["pairs_written"] == 3 and result.counts["records_rejected"] == 0


def test_an_earlier_build_given_as_raw_is_rebuilt_from_its_pairs(tmp_path: Path) -> None:
    """Its data/ shards are the raw data (read as preference pairs); rejects/, the card and the manifest are not."""
    raw = _write(tmp_path, "a.jsonl", _jsonl(6) + b"not json\n")
    prefdata.build(raw / "a.jsonl", tmp_path / "old", test_fraction=0.5)
    result = prefdata.build(tmp_path / "old", tmp_path / "new")
    m = manifest(tmp_path / "new")
    assert sorted(i["path"] for i in m["inputs"]) == ["data/test-00000-of-00001.parquet", "data/train-00000-of-00001.parquet"]
    assert {s["path"] for s in m["skipped_files"]} == {"README.md", "manifest.json", "rejects/"}
    old_ids = set(pl.read_parquet(tmp_path / "old" / "data" / "*.parquet")["id"])
    assert set(pl.read_parquet(tmp_path / "new" / "data" / "*.parquet")["id"]) == old_ids
    assert result.counts["records_read"] == 6 and result.counts["records_rejected"] == 0


def _zlib_lines_before_damage(data: bytes) -> int:
    """Oracle: complete lines zlib decodes from ``data`` (fed 64 bytes at a time) before it reports damage."""
    import zlib

    z, out = zlib.decompressobj(31), b""
    try:
        for i in range(0, len(data), 64):
            out += z.decompress(data[i : i + 64])
    except zlib.error:
        pass
    return out.count(b"\n")


@pytest.mark.parametrize("where", ["mid-stream", "crc"])
def test_a_gzip_file_damaged_in_one_read_keeps_the_records_before_the_damage(tmp_path: Path, where: str) -> None:
    """zlib raises without the output of the call that met the damage: a file under one read (1 MB)
    lost every record and was skipped as unreadable, even with only its CRC trailer damaged."""
    import random

    data = "".join(json.dumps({"prompt": f"q{i}", "chosen": f"yes {i} {random.Random(i).random()}", "rejected": "no"}) + "\n"
                   for i in range(4000)).encode()
    packed = bytearray(gzip.compress(data, mtime=0))
    if where == "crc":
        packed[-6] ^= 0xFF
    else:
        for pos in range(len(packed) // 2, len(packed) - 8, 37):
            trial = bytearray(packed)
            trial[pos] ^= 0x55
            if 0 < _zlib_lines_before_damage(bytes(trial)) < 4000:
                packed = trial
                break
    expected = _zlib_lines_before_damage(bytes(packed))
    raw = _write(tmp_path, "damaged.jsonl.gz", bytes(packed))
    result = prefdata.build(raw, tmp_path / "out")
    assert result.counts["pairs_written"] >= expected - 1 and result.counts["pairs_written"] >= 3000
    assert result.counts["rejected_by_reason"].get("damaged_file") == 1
    assert manifest(tmp_path / "out")["skipped_files"] == []


@pytest.mark.parametrize("at", [0.2, 0.5, 0.8])
def test_a_damaged_zstd_file_keeps_exactly_what_decodes_before_the_damage(tmp_path: Path, at: float) -> None:
    """The zstd step that met the damage lost its output (thousands of records): the frame is now
    decoded again up to the damage. Oracle: a fresh decoder fed one byte at a time, frame after frame."""
    import random

    data = "".join(json.dumps({"prompt": f"q{i}", "chosen": f"yes {i} {random.Random(i).random()}", "rejected": "no"}) + "\n"
                   for i in range(30000)).encode()
    third = len(data) // 3
    packed = bytearray(b"".join(zstandard.ZstdCompressor(write_checksum=True).compress(part)
                                for part in (data[:third], data[third : 2 * third], data[2 * third :])))
    packed[int(len(packed) * at)] ^= 0x55
    decoded, d = bytearray(), None
    try:
        for i in range(len(packed)):
            d = d or zstandard.ZstdDecompressor().decompressobj()
            decoded += d.decompress(bytes(packed[i : i + 1]))
            d = None if d.eof else d
    except zstandard.ZstdError:
        pass
    raw = _write(tmp_path, "damaged.jsonl.zst", bytes(packed))
    result = prefdata.build(raw, tmp_path / "out")
    assert result.counts["records_read"] - 1 == decoded.count(b"\n")  # the damaged_file reject is the one more
    assert result.counts["rejected_by_reason"]["damaged_file"] == 1


def test_a_parquet_file_damaged_in_a_late_row_group_keeps_the_rows_before_it(tmp_path: Path) -> None:
    """A broken page in row group 41 of 50 stopped the whole build (exit 2, nothing written)."""
    n = 50_000
    raw = tmp_path / "raw"
    raw.mkdir()
    table = pa.table({"prompt": [f"question {i}" for i in range(n)], "chosen": [f"good {i}" for i in range(n)],
                      "rejected": [f"bad {i}" for i in range(n)]})
    pq.write_table(table, raw / "a.parquet", row_group_size=1000, compression="zstd")
    offset = pq.ParquetFile(raw / "a.parquet").metadata.row_group(40).column(1).data_page_offset
    data = bytearray((raw / "a.parquet").read_bytes())
    data[offset : offset + 40] = b"\xff" * 40
    (raw / "a.parquet").write_bytes(bytes(data))
    (raw / "ok.jsonl").write_text('{"prompt": "x", "chosen": "a", "rejected": "b"}\n')
    result = prefdata.build(raw, tmp_path / "out")
    assert result.counts["pairs_written"] == 40_001 and result.counts["records_read"] == 40_002
    [damaged] = rejects(tmp_path / "out").filter(pl.col("reason") == "damaged_file").to_dicts()
    assert damaged["record"] == 40_001 and damaged["detail"].startswith("row group 41 of 50 cannot be read")
    assert "rows 40,001 to 50,000 are lost" in damaged["detail"]
    assert_reconciled(tmp_path / "out")


def _decoded_before_damage(blob: bytes) -> bytes:
    """Oracle: what fresh zlib decoders fed one byte at a time give, member after member, before failing."""
    import zlib

    out, d = bytearray(), None
    try:
        for i in range(len(blob)):
            d = d or zlib.decompressobj(16 + zlib.MAX_WBITS)
            out += d.decompress(blob[i : i + 1])
            d = None if d.eof else d
    except zlib.error:
        pass
    return bytes(out)


def _read_all(path: Path) -> bytes:
    from prefdata.io.compression import CorruptStreamError, open_binary

    parts = []
    with open_binary(path, "gzip") as fh:
        try:
            while chunk := fh.read(1000):
                parts.append(chunk)
        except CorruptStreamError:
            pass
    return b"".join(parts)


def test_gzip_damage_anywhere_keeps_exactly_what_decodes_before_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """zlib holds output back when a step reaches its limit: at the end of a cut file, or at damage met
    in the next step, that held output was lost. Small limits make every case likely; the oracle is a
    decoder fed one byte at a time. Two members, every cut position, and byte flips."""
    import random

    from prefdata.io import compression

    monkeypatch.setattr(compression, "OUT_LIMIT", 64)
    monkeypatch.setattr(compression, "READ_CHUNK", 97)
    rng = random.Random(7)
    data = b"".join(b'{"prompt": "p%d", "chosen": "%s"}\n' % (i, b"x" * rng.randint(0, 90)) for i in range(60))
    packed = gzip.compress(data[:1000], mtime=0) + gzip.compress(data[1000:], mtime=0)
    path = tmp_path / "a.jsonl.gz"
    cases = [packed[:cut] for cut in range(1, len(packed))]
    for pos in range(0, len(packed), 3):
        flipped = bytearray(packed)
        flipped[pos] ^= 0x5A
        cases.append(bytes(flipped))
    wrong = []
    for blob in cases:
        path.write_bytes(blob)
        if _read_all(path) != _decoded_before_damage(blob):
            wrong.append(len(blob))
    assert not wrong, f"{len(wrong)} of {len(cases)} damaged files decoded differently from the oracle"


def _pairs_beside(column: pa.Array, name: str) -> pa.Table:
    """Three good pairs and ``column``, which no shape reads."""
    n = len(column)
    return pa.table({"prompt": [f"Question {i}?" for i in range(n)], "chosen": [f"Good {i}." for i in range(n)],
                     "rejected": [f"Bad {i}." for i in range(n)], name: column})


PAIRS_CONFIG = {"sources": [{"shape": "preference", "columns": {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"}}]}


@pytest.mark.parametrize("column", [
    pa.array([bytes([0x9F, i, 0xE2, 0xC1]) * 4 for i in range(3)], pa.uuid()),
    pa.array([{"bytes": b"\x89PNG\r\n\x1a\n" + bytes(8), "path": None}] * 3, pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
], ids=["uuid", "image"])
@pytest.mark.parametrize("config", [None, PAIRS_CONFIG], ids=["detected", "config"])
def test_a_parquet_binary_column_no_shape_reads_costs_no_record(tmp_path: Path, column: pa.Array, config: dict | None) -> None:
    """Every binary leaf of every column was read as UTF-8: an unused UUID or image column made each
    row an ``invalid_utf8`` reject (with a config) or skipped the file (detection sampled no record).
    Only the columns the source reads are decoded now; the others are not read at all."""
    raw = _write(tmp_path, "a.parquet", _parquet_bytes(_pairs_beside(column, "blob")))
    result = prefdata.build(raw, tmp_path / "out", config=config)
    assert result.counts["pairs_written"] == 3 and result.counts["rejected_by_reason"] == {}
    assert manifest(tmp_path / "out")["skipped_files"] == []
    assert_reconciled(tmp_path / "out")


UNREADABLE = [
    pa.array([decimal.Decimal(10**39), decimal.Decimal(2), decimal.Decimal(3)], pa.decimal256(40, 0)),
    pa.array([[1], [2, 3], []], pa.list_view(pa.int64())),
]


@pytest.mark.parametrize("column", UNREADABLE, ids=["decimal256", "list_view"])
def test_a_parquet_column_polars_cannot_import_is_no_matter_unless_read(tmp_path: Path, column: pa.Array) -> None:
    """An unused ``decimal256`` column panicked in polars (a BaseException: exit 1 with a traceback)
    and a ``list_view`` one raised a ComputeError (exit 3): the whole build stopped. Unread, such a
    column costs nothing; read (here as the prompt), it is an error naming the file and the column."""
    raw = _write(tmp_path, "a.parquet", _parquet_bytes(_pairs_beside(column, "extra")))
    (raw / "b.jsonl").write_bytes(_jsonl(2))
    assert prefdata.build(raw, tmp_path / "out").counts["pairs_written"] == 5
    assert_reconciled(tmp_path / "out")
    reads_it = {"sources": [{"shape": "preference", "columns": {"prompt": "extra", "chosen": "chosen", "rejected": "rejected"}}]}
    with pytest.raises(InputError, match=r"a\.parquet: column 'extra' \((decimal256|list_view).*\) cannot be read"):
        prefdata.build(raw / "a.parquet", tmp_path / "out2", config=reads_it)


def test_a_parquet_file_naming_a_column_twice_is_skipped_with_the_column_named(tmp_path: Path) -> None:
    """pyarrow, Spark and DuckDB write a table with two ``chosen`` columns without a word; polars'
    DuplicateError stopped the build as an internal error (exit 3) and the good file beside it was
    not built. The file is skipped, like a damaged one, with the column named; ``inspect`` says so too."""
    table = pa.table([pa.array(["P1", "P2"]), pa.array(["c1", "c2"]), pa.array(["r1", "r2"]), pa.array(["x1", "x2"])],
                     names=["prompt", "chosen", "rejected", "chosen"])
    raw = _write(tmp_path, "dup.parquet", _parquet_bytes(table))
    (raw / "good.jsonl").write_bytes(_jsonl(3))
    assert prefdata.build(raw, tmp_path / "out").counts["pairs_written"] == 3
    [skipped] = manifest(tmp_path / "out")["skipped_files"]
    assert skipped["path"] == "dup.parquet" and "column 'chosen' appears 2 times (columns 2, 4)" in skipped["reason"]
    shown = CliRunner().invoke(cli, ["inspect", str(raw)])
    assert shown.exit_code == 0 and "dup.parquet: skipped (column 'chosen' appears 2 times" in shown.output


def test_a_column_named_twice_that_nothing_reads_costs_nothing(tmp_path: Path) -> None:
    """`prompt,chosen,rejected,notes,notes` (a spreadsheet export) stopped the whole build (CSV, exit 2)
    and a Parquet file with two `notes` columns was skipped, although no source reads `notes`: the
    CSV header check looked at every name, and the Parquet detection sample read every column. Only
    a name given twice that the source reads (or detection picks) refuses the file, in both formats."""
    (tmp_path / "c").mkdir()
    (tmp_path / "p").mkdir()
    csv_raw = _write(tmp_path / "c", "t.csv", b"prompt,chosen,rejected,notes,notes\nCapital of France?,Paris.,Lyon.,checked,ok\n")
    table = pa.table([pa.array(["Capital of France?"]), pa.array(["Paris."]), pa.array(["Lyon."]), pa.array(["checked"]), pa.array(["ok"])],
                     names=["prompt", "chosen", "rejected", "notes", "notes"])
    parquet_raw = _write(tmp_path / "p", "t.parquet", _parquet_bytes(table))
    config = {"sources": [{"shape": "preference", "columns": {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"}}]}
    reads_notes = {"sources": [config["sources"][0] | {"filters": ["notes == ok"]}]}
    for kind, raw in (("csv", csv_raw), ("parquet", parquet_raw)):
        for cfg in (config, None):
            assert prefdata.build(raw, tmp_path / f"out-{kind}", config=cfg).counts["pairs_written"] == 1, (kind, cfg)
        (raw / "good.jsonl").write_bytes(_jsonl(3))
        result = prefdata.build(raw, tmp_path / f"out-{kind}", config={"sources": [reads_notes["sources"][0] | {"path": "t.*"}, config["sources"][0] | {"path": "good.jsonl"}]})
        [skipped] = result.manifest["skipped_files"]
        assert skipped["path"].startswith("t.") and "column 'notes' appears 2 times (columns 4, 5) and is read" in skipped["reason"], kind
        assert result.counts["pairs_written"] == 3
        shown = CliRunner().invoke(cli, ["inspect", str(raw)])
        assert shown.exit_code == 0 and "skipped" not in shown.output, shown.output


def test_a_struct_field_nobody_reads_costs_nothing(tmp_path: Path) -> None:
    """Reading ``meta.lang`` (a filter, or a nested column path) read the whole ``meta`` struct: a
    subfield nobody reads that holds a UUID's bytes (not UTF-8) made every row an ``invalid_utf8``
    reject, and a ``decimal256`` one made the file unreadable. Only the fields read are decoded now,
    in a struct and in a list's structs alike; a subfield read still fails as before."""
    n = 3
    meta = pa.StructArray.from_arrays(
        [pa.array(["en", "en", "de"]), pa.array([b"\x8f\xff\xfe\x01"] * n), pa.array([decimal.Decimal("1.50")] * n, pa.decimal256(40, 2))],
        ["lang", "uid", "price"],
    )
    turns = pa.array([[{"text": f"Question {i}?", "img": b"\xff\xd8"}] for i in range(n)], pa.list_(pa.struct([("text", pa.string()), ("img", pa.binary())])))
    table = pa.table({"turns": turns, "chosen": ["Yes."] * n, "rejected": ["No."] * n, "meta": meta})
    raw = _write(tmp_path, "a.parquet", _parquet_bytes(table))
    columns = {"prompt": "turns[0].text", "chosen": "chosen", "rejected": "rejected"}
    config = {"sources": [{"shape": "preference", "columns": columns, "filters": ["meta.lang == en"]}]}
    result = prefdata.build(raw, tmp_path / "out", config=config)
    assert result.counts["pairs_written"] == 2 and result.counts["rejected_by_reason"] == {"filtered_out": 1}
    [raw_text] = rejects(tmp_path / "out").get_column("raw").to_list()
    assert json.loads(raw_text)["meta"] == {"lang": "de"}  # the fields read, as for the columns read
    assert_reconciled(tmp_path / "out")
    reads_price = {"sources": [{"shape": "preference", "columns": columns, "filters": ["meta.price > 1"]}]}
    with pytest.raises(InputError, match=r"a\.parquet: column 'meta' \(struct<price: decimal256\(40, 2\)>\) cannot be read"):
        prefdata.build(raw, tmp_path / "out2", config=reads_price)


def _damaged_parquet(path: Path, table: pa.Table, rows_per_group: int, group: int, column: int) -> None:
    """``table`` as Parquet with the pages of one column chunk (``group``, ``column``) overwritten."""
    pq.write_table(table, path, row_group_size=rows_per_group, compression="none")
    chunk = pq.ParquetFile(path).metadata.row_group(group).column(column)
    data = bytearray(path.read_bytes())
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    data[start : start + chunk.total_compressed_size] = b"\xab" * chunk.total_compressed_size
    path.write_bytes(bytes(data))


def _pairs_table(n: int, prefix: str = "q", **extra) -> pa.Table:
    return pa.table({"prompt": [f"{prefix}{i}" for i in range(n)], "chosen": [f"good {i}" for i in range(n)],
                     "rejected": [f"bad {i}" for i in range(n)], **extra})


def test_a_parquet_file_damaged_in_an_early_row_group_keeps_the_rows_before_it(tmp_path: Path) -> None:
    """Damage in row group 3 of 50-row groups: the probe that sizes batches read across it, and the
    whole file was skipped as "not a readable Parquet file", though rows 1-100 are whole (pyarrow reads
    them). Now, as for a late row group: 100 pairs and one damaged_file reject; inspect names the same record."""
    raw = tmp_path / "raw"
    raw.mkdir()
    _damaged_parquet(raw / "a.parquet", _pairs_table(300), 50, 2, 1)
    assert pq.ParquetFile(raw / "a.parquet").read_row_groups([0, 1]).num_rows == 100
    result = prefdata.build(raw, tmp_path / "out")
    assert (result.counts["pairs_written"], result.counts["records_read"]) == (100, 101)
    [damaged] = rejects(tmp_path / "out").filter(pl.col("reason") == "damaged_file").to_dicts()
    assert damaged["record"] == 101 and damaged["detail"].startswith("row group 3 of 6 cannot be read")
    assert_reconciled(tmp_path / "out")
    (report,) = prefdata.inspect(raw).files
    assert report.sampled == 100 and report.damage == f"record 101: {damaged['detail']}"


def test_a_parquet_file_damaged_in_its_first_row_group_is_skipped_saying_where(tmp_path: Path) -> None:
    """`chosen` damaged in row group 1: no record of the file can be read whole. The build skips it
    (naming the column and row group) and goes on with the other files; inspect skips it too."""
    raw = tmp_path / "raw"
    raw.mkdir()
    _damaged_parquet(raw / "a.parquet", _pairs_table(300), 100, 0, 1)
    (raw / "ok.jsonl").write_text('{"prompt": "x", "chosen": "a", "rejected": "b"}\n')
    assert prefdata.build(raw, tmp_path / "out").counts["pairs_written"] == 1
    [skipped] = manifest(tmp_path / "out")["skipped_files"]
    assert skipped["path"] == "a.parquet" and skipped["reason"].startswith("column 'chosen' of row group 1 of 3 cannot be read (")
    assert skipped["reason"].endswith("; its shape is not detected without it: a --config whose source does not read it builds the rest")
    assert [(s.name, s.reason) for s in prefdata.inspect(raw).skipped] == [("a.parquet", skipped["reason"])]
    # with a config that reads it: skipped, saying the source reads it
    config = {"sources": [{"shape": "preference", "columns": {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"}}]}
    assert prefdata.build(raw, tmp_path / "out2", config=config).counts["pairs_written"] == 1
    [skipped] = manifest(tmp_path / "out2")["skipped_files"]
    assert skipped["reason"].startswith("column 'chosen' of row group 1 of 3 cannot be read (")
    assert skipped["reason"].endswith("; the source reads it, so no record could be read")


def test_damage_in_the_first_row_group_of_a_column_a_config_never_reads_loses_nothing(tmp_path: Path) -> None:
    """A broken page of a column in row group 1: the detection sample (which reads every column) met it
    before any record and the whole file was skipped, though a source need not decode that column. The
    sample now leaves the column unread (inspect counts its values `unread` and says why) and names it.
    Without a config the build still skips the file: what a column holds can decide the shape (a damaged
    LLaMA-Factory `history` would look like none, its earlier turns dropped unsaid). With a config that
    does not read the column the build keeps all 300 rows; one that does (a filter on it) skips the file."""
    from prefdata.io.discover import discover
    from prefdata.io.records import read_sample

    raw = tmp_path / "raw"
    raw.mkdir()
    _damaged_parquet(raw / "a.parquet", _pairs_table(300, note=[f"n{i}" for i in range(300)]), 100, 0, 3)
    with pytest.raises(OSError):  # pyarrow cannot read the note column's first row group
        pq.ParquetFile(raw / "a.parquet").read_row_group(0, columns=["note"])
    ([f], _) = discover(raw)
    sample = read_sample(f)
    assert len(sample.records) == 200 and {r["note"] for r in sample.records} == {None}
    assert sample.records[7] == {"prompt": "q7", "chosen": "good 7", "rejected": "bad 7", "note": None}
    assert sample.damage.record == 1 and sample.damage.columns == ("note",)
    assert sample.damage.detail.startswith("column 'note' of row group 1 of 3 cannot be read (")
    assert sample.unreadable_for(f, ("prompt", "chosen", "rejected")) is None
    assert "the source reads it" in str(sample.unreadable_for(f, None)) and "the source reads it" in str(sample.unreadable_for(f, ("note",)))
    with pytest.raises(InputError, match=r"a\.parquet: skipped \(column 'note' of row group 1 of 3 cannot be read (.|\n)*its shape is not detected without it"):
        prefdata.build(raw, tmp_path / "auto")
    (report,) = prefdata.inspect(raw).files
    assert (report.shape, report.damage, report.sampled) == ("preference", None, 200)
    assert report.unread == sample.damage.detail
    # inspect counts the column's values as not read, not as null ones
    assert {f.name: f.types for f in report.fields}["note"] == {"unread": 200}
    assert report.examples[0]["note"] == "<not read: the column is damaged before the first record>"
    shown = CliRunner().invoke(cli, ["inspect", str(raw)])
    assert shown.exit_code == 0 and f"damaged before its first record: {report.unread}; a build without --config skips this file" in shown.output
    assert "damaged at" not in shown.output  # no rows before it are kept: not the damaged_file line
    columns = {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"}
    result = prefdata.build(raw, tmp_path / "out", config={"sources": [{"shape": "preference", "columns": columns}]})
    assert (result.counts["pairs_written"], result.counts["records_rejected"]) == (300, 0)
    assert manifest(tmp_path / "out")["skipped_files"] == []
    assert_reconciled(tmp_path / "out")
    reads_note = {"sources": [{"shape": "preference", "path": "a.parquet", "columns": columns, "filters": ["note != zz"]},
                              {"shape": "preference", "path": "ok.jsonl", "columns": columns}]}
    (raw / "ok.jsonl").write_text('{"prompt": "x", "chosen": "a", "rejected": "b"}\n')
    assert prefdata.build(raw, tmp_path / "out2", config=reads_note).counts["pairs_written"] == 1
    [skipped] = manifest(tmp_path / "out2")["skipped_files"]
    assert skipped["path"] == "a.parquet" and skipped["reason"].startswith("column 'note' of row group 1 of 3 cannot be read (")
    assert skipped["reason"].endswith("; the source reads it, so no record could be read")


def test_a_damaged_history_column_is_not_detected_away(tmp_path: Path) -> None:
    """LLaMA-Factory Parquet whose `history` pages are damaged in row group 1: shown unread, `history`
    looked absent, and detection built every pair without its earlier turns (rows of row groups 2-3 too),
    unsaid. The build without a config skips the file; inspect skips it with the same reason (the
    detected shape reads `history`, null in every sampled record, as README 'Raw shapes' maps it)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    table = pa.table({"instruction": [f"q{i}" for i in range(300)], "input": [""] * 300, "chosen": [f"good {i}" for i in range(300)],
                      "rejected": [f"bad {i}" for i in range(300)], "history": [[[f"earlier {i}", f"reply {i}"]] for i in range(300)]})
    _damaged_parquet(raw / "a.parquet", table, 100, 0, 4)
    assert pq.ParquetFile(raw / "a.parquet").read_row_group(1).num_rows == 100  # the other row groups are whole
    (raw / "ok.jsonl").write_text('{"prompt": "x", "chosen": "a", "rejected": "b"}\n')
    assert prefdata.build(raw, tmp_path / "out").counts["pairs_written"] == 1
    [skipped] = manifest(tmp_path / "out")["skipped_files"]
    assert skipped["path"] == "a.parquet" and skipped["reason"].startswith("column 'history' of row group 1 of 3 cannot be read (")
    result = prefdata.inspect(raw)
    assert [(s.name, s.reason) for s in result.skipped] == [("a.parquet", skipped["reason"])]


def test_damage_in_every_column_of_the_first_row_group_still_skips_the_file(tmp_path: Path) -> None:
    """The sample shows the columns that read when only some fail; when each column fails alone there is
    nothing to show, and the file is skipped with the read's own reason (not a sample of null records)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    path = raw / "a.parquet"
    _damaged_parquet(path, _pairs_table(300), 100, 0, 0)
    for column in (1, 2):
        chunk = pq.ParquetFile(path).metadata.row_group(0).column(column)
        data = bytearray(path.read_bytes())
        start = chunk.dictionary_page_offset or chunk.data_page_offset
        data[start : start + chunk.total_compressed_size] = b"\xab" * chunk.total_compressed_size
        path.write_bytes(bytes(data))
    (raw / "ok.jsonl").write_text('{"prompt": "x", "chosen": "a", "rejected": "b"}\n')
    assert prefdata.build(raw, tmp_path / "out").counts["pairs_written"] == 1
    [skipped] = manifest(tmp_path / "out")["skipped_files"]
    assert skipped["path"] == "a.parquet" and skipped["reason"].endswith("rows 1 to 300 are lost; no record could be read")
    assert [s.name for s in prefdata.inspect(raw).skipped] == ["a.parquet"]


def test_damage_in_a_parquet_column_the_build_never_reads_loses_nothing(tmp_path: Path) -> None:
    """The inspect sample reads every column, the build only those its shape reads. A damaged page of a
    decimal256 column (which polars cannot import) made the build skip the file; inspect claimed rows
    were lost where the damaged column is one no source reads. The build keeps every row; inspect says
    nothing of damage."""
    raw = tmp_path / "raw"
    raw.mkdir()
    decimals = pa.array([decimal.Decimal(i) / 100 for i in range(300)], pa.decimal256(40, 2))
    _damaged_parquet(raw / "dec.parquet", _pairs_table(300, d=decimals), 100, 1, 3)
    _damaged_parquet(raw / "note.parquet", _pairs_table(3000, "p", note=[f"n{i}" for i in range(3000)]), 500, 3, 3)
    for name, rows in (("dec.parquet", 300), ("note.parquet", 3000)):  # the columns read are whole
        assert pq.ParquetFile(raw / name).read(columns=["prompt", "chosen", "rejected"]).num_rows == rows
    result = prefdata.build(raw, tmp_path / "out")
    assert (result.counts["pairs_written"], result.counts["records_rejected"]) == (3300, 0)
    assert manifest(tmp_path / "out")["skipped_files"] == []
    reports = {r.path: r for r in prefdata.inspect(raw, sample_size=2000).files}
    assert reports["note.parquet"].damage is None and reports["note.parquet"].shape == "preference"
    assert reports["dec.parquet"].damage is None and reports["dec.parquet"].sampled == 300
    # the decimal256 values of the whole row groups 1 and 3 are counted; those of the damaged one are unknown
    assert {f.name: f.types for f in reports["dec.parquet"].fields}["d"] == {"decimal256(40, 2)": 200, "null": 100}


def test_inspect_names_the_damage_the_build_meets_past_damage_in_a_column_it_never_reads(tmp_path: Path) -> None:
    """An unread column damaged in row group 2 and a read one in row group 3 (50-row groups): the build
    keeps rows 1-100 and rejects record 101 as damaged_file. inspect's re-read as built stopped where the
    sample's own damage was (row 51) and said nothing."""
    raw = tmp_path / "raw"
    raw.mkdir()
    path = raw / "a.parquet"
    _damaged_parquet(path, _pairs_table(300, note=[f"n{i}" for i in range(300)]), 50, 1, 3)
    chunk = pq.ParquetFile(path).metadata.row_group(2).column(1)  # and `chosen` in row group 3
    data = bytearray(path.read_bytes())
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    data[start : start + chunk.total_compressed_size] = b"\xab" * chunk.total_compressed_size
    path.write_bytes(bytes(data))
    result = prefdata.build(raw, tmp_path / "out")
    assert (result.counts["pairs_written"], result.counts["rejected_by_reason"]) == (100, {"damaged_file": 1})
    [damaged] = rejects(tmp_path / "out").to_dicts()
    (report,) = prefdata.inspect(raw).files
    assert report.damage == f"record 101: {damaged['detail']}"


def test_the_parquet_batch_size_probe_measures_the_first_rows_and_steps_around_damage(tmp_path: Path) -> None:
    """Batches are sized from the decoded bytes of the first 1,024 rows across row groups; when damage
    lies among them, from the rows of the row groups before it (not from row group 1 alone, whose one
    huge row would make every later batch a single row)."""
    from prefdata.io.records import _row_bytes

    table = _pairs_table(2000)
    path = tmp_path / "a.parquet"
    pq.write_table(table, path, row_group_size=100, compression="none")
    # oracle: pyarrow's own size of the rows (plain strings: their bytes and offsets)
    assert _row_bytes(pq.ParquetFile(path), None, 1024) == pytest.approx(table.slice(0, 1024).nbytes / 1024, rel=0.05)
    _damaged_parquet(path, table, 100, 2, 1)
    assert _row_bytes(pq.ParquetFile(path), None, 1024) == pytest.approx(table.slice(0, 200).nbytes / 200, rel=0.05)

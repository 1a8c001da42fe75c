"""``prefdata inspect`` at its edges: a sample larger than any count, a Parquet column of bytes that
are not text, and field names holding control characters."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import prefdata
from prefdata.cli import cli

ROWS = [{"prompt": "hi", "chosen": "a", "rejected": "b"}, {"prompt": "hey", "chosen": "c", "rejected": "d"}]


def _file(tmp_path: Path, fmt: str) -> Path:
    path = tmp_path / f"t.{fmt}"
    if fmt == "csv":
        path.write_text("prompt,chosen,rejected\nhi,a,b\nhey,c,d\n")
    elif fmt == "json":
        path.write_text(json.dumps(ROWS))
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    else:
        pq.write_table(pa.Table.from_pylist(ROWS), path)
    return path


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet", "jsonl"])
@pytest.mark.parametrize("sample", [2**63 - 1, 2**63, 2**64, 10**30])
def test_a_sample_past_any_count_reads_the_whole_file(tmp_path: Path, fmt: str, sample: int) -> None:
    """--sample 18446744073709551616 on a CSV, Parquet or JSON array was an OverflowError (exit 3);
    a .jsonl read the whole file."""
    path = _file(tmp_path, fmt)
    assert prefdata.inspect(path, sample_size=sample).files[0].sampled == 2
    res = CliRunner().invoke(cli, ["inspect", str(path), "--sample", str(sample)])
    assert res.exit_code == 0, res.output
    assert "2 records sampled" in res.stdout


def test_undecoded_bytes_are_counted_in_words() -> None:
    """``Undecoded.describe``: ``<9 bytes, not UTF-8>`` (its doc), one byte in the singular, thousands
    with a separator, as inspect shows such a value."""
    from prefdata.io.parquet_records import Undecoded

    assert [Undecoded("binary", n).describe() for n in (1, 9, 1234)] == ["<1 byte, not UTF-8>", "<9 bytes, not UTF-8>", "<1,234 bytes, not UTF-8>"]


def test_parquet_bytes_that_are_not_text_count_as_binary_not_null(tmp_path: Path) -> None:
    """An image column of 4 PNGs showed as `image 4/4 null 4` and `"image": null`: no value is null."""
    path = tmp_path / "pairs.parquet"
    pq.write_table(pa.table({
        "prompt": ["q0", "q1", "q2", "q3"], "chosen": ["a"] * 4, "rejected": ["b"] * 4,
        "image": [b"\x89PNG\r\n\x1a\n\xff", None, b"\x89PNG\xfe", b"plain text"],
        "uuid": pa.array([b"\xff" * 16, b"\xfe" * 16, b"\x00" * 16, b"\xfd" * 16], pa.binary(16)),
        "meta": [{"thumb": b"\xff\xfe", "lang": "en"}, {"thumb": b"ok", "lang": "fr"}, None, None],
    }), path)
    (report,) = prefdata.inspect(path, examples=1).files
    fields = {f.name: f.types for f in report.fields}
    assert fields["image"] == {"binary": 2, "null": 1, "string": 1}  # pyarrow: 1 null; UTF-8 bytes read as text
    assert fields["uuid"] == {"binary": 3, "string": 1} and fields["meta"] == {"object": 2, "null": 2}
    assert report.examples[0]["image"] == "<9 bytes, not UTF-8>" and report.examples[0]["uuid"] == "<16 bytes, not UTF-8>"
    assert report.examples[0]["meta"] == "<an object holding bytes that are not UTF-8>"
    assert report.shape == "preference"  # detection sees the same sample as before
    res = CliRunner().invoke(cli, ["inspect", str(path), "--examples", "1"])
    assert res.exit_code == 0, res.output
    assert "binary 2" in res.stdout and '"image": "<9 bytes, not UTF-8>"' in res.stdout


def test_a_field_name_with_control_characters_is_shown_escaped_on_one_line(tmp_path: Path) -> None:
    """A key "bad\\nkey" split its table row in two, and ESC sequences reached the terminal."""
    path = tmp_path / "ctl.jsonl"
    path.write_text(json.dumps({"prompt": "p", "chosen": "a", "rejected": "b", "bad\nkey": 1, "red\x1b[31m": 2}) + "\n")
    res = CliRunner().invoke(cli, ["inspect", str(path), "--examples", "0"])
    assert res.exit_code == 0, res.output
    rows = res.stdout.splitlines()[1:6]
    assert all("1/1" in row for row in rows), rows
    assert any(row.strip().startswith("bad\\nkey ") for row in rows) and "\x1b" not in res.stdout
    assert {f.name for f in prefdata.inspect(path).files[0].fields} >= {"bad\nkey", "red\x1b[31m"}  # the API keeps the names


def test_a_parquet_column_polars_cannot_import_counts_as_its_type_not_null(tmp_path: Path) -> None:
    """A decimal256 column (polars has no 256-bit decimal) showed as `d 3/3 null 3`: it looked empty.
    Its values are counted and shown as what they are; its nulls (pyarrow's validity) stay null."""
    import decimal

    path = tmp_path / "dec.parquet"
    values = pa.array([decimal.Decimal("1.5"), None, decimal.Decimal(2)], type=pa.decimal256(40, 2))
    pq.write_table(pa.table({"prompt": ["a", "b", "c"], "chosen": ["x", "y", "z"], "rejected": ["r", "s", "t"], "d": values}), path)
    (report,) = prefdata.inspect(path, examples=3).files
    assert {f.name: f.types for f in report.fields}["d"] == {"decimal256(40, 2)": 2, "null": 1}  # pyarrow: 1 null of 3
    assert [e["d"] for e in report.examples] == ["<a decimal256(40, 2) value, which polars cannot read>", None,
                                                 "<a decimal256(40, 2) value, which polars cannot read>"]
    assert report.shape == "preference"  # nothing reads `d`: the build reads the file too
    res = CliRunner().invoke(cli, ["inspect", str(path), "--examples", "0"])
    assert res.exit_code == 0 and "decimal256(40, 2) 2, null 1" in res.stdout, res.output


def _cut_gzip(path: Path, text: str) -> int:
    """Write ``text`` gzip-compressed and cut to half its bytes; return how many whole lines Python's
    zlib decompresses from what is left (the records before the damage)."""
    import gzip
    import zlib

    packed = gzip.compress(text.encode())[: len(gzip.compress(text.encode())) // 2]
    path.write_bytes(packed)
    return zlib.decompressobj(wbits=31).decompress(packed).count(b"\n")


@pytest.mark.parametrize("name", ["t.jsonl.gz", "t.json.gz", "t.csv.gz"])
def test_inspect_says_where_a_truncated_compressed_file_is_damaged(tmp_path: Path, name: str) -> None:
    """A .gz cut in half was described as a whole file of fewer records; the build keeps the records
    before the damage and rejects the rest as one damaged_file record. inspect now names that record
    and says why, in the build's words, and the cut-off line is not a record that 'is not JSON'."""
    rows = [{"prompt": f"p{i}", "chosen": f"c{i}" * 5, "rejected": f"r{i}"} for i in range(300)]
    if name.startswith("t.jsonl"):
        text, header = "".join(json.dumps(r) + "\n" for r in rows), 0
    elif name.startswith("t.csv"):
        text, header = "prompt,chosen,rejected\n" + "".join(f"{r['prompt']},{r['chosen']},{r['rejected']}\n" for r in rows), 1
    else:
        text, header = "[\n" + ",\n".join(json.dumps(r) for r in rows) + "\n]", 1
    path = tmp_path / name
    whole_lines = _cut_gzip(path, text)
    (report,) = prefdata.inspect(path).files
    assert report.sampled == whole_lines - header  # every record before the damage, and only those
    assert report.damage is not None and report.damage.startswith(f"record {whole_lines - header + 1}: the gzip stream ends before its end marker")
    assert report.problem is None and report.shape == "preference"
    res = CliRunner().invoke(cli, ["inspect", str(path), "--examples", "0"])
    assert res.exit_code == 0 and f"damaged at record {whole_lines - header + 1}: the gzip stream" in res.stdout, res.output
    # the build names the same record with the same words
    out = prefdata.build(path, tmp_path / "out", quiet=True)
    assert out.counts["rejected_by_reason"] == {"damaged_file": 1}
    rejects = pq.read_table(next((tmp_path / "out" / "rejects").glob("*.parquet"))).to_pylist()
    assert [f"record {r['record']}: {r['detail']}" for r in rejects] == [report.damage]


def test_no_damage_is_said_of_a_whole_file_nor_of_damage_past_what_was_read(tmp_path: Path) -> None:
    """A file whose last line has no line break is whole; damage past the first 200 records (what
    detection reads) is not seen by the sample, so not claimed."""
    whole = tmp_path / "whole.jsonl"
    whole.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps(ROWS[1]))
    (report,) = prefdata.inspect(whole).files
    assert (report.sampled, report.damage, report.problem) == (2, None, None)
    rows = [{"prompt": f"p{i}", "chosen": f"c{i}" * 20, "rejected": f"r{i}"} for i in range(2000)]
    late = tmp_path / "late.jsonl.gz"
    assert _cut_gzip(late, "".join(json.dumps(r) + "\n" for r in rows)) > 200
    (report,) = prefdata.inspect(late).files
    assert (report.sampled, report.damage) == (200, None)


def test_files_the_build_skips_for_holding_no_record_are_listed_as_skipped(tmp_path: Path) -> None:
    """Blank lines, an empty JSON array and Python's str(dict) lines: the build lists all three under
    the manifest's skipped_files; inspect described them as files of 0 records. Now it lists them as
    skipped, with the build's reasons, beside the file it describes."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "blank.jsonl").write_text("\n\n")
    (raw / "empty.json").write_text("[]")
    (raw / "pyrepr.jsonl").write_text("{'prompt': 'p', 'chosen': 'c', 'rejected': 'r'}\n")
    (raw / "good.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    result = prefdata.inspect(raw)
    assert [f.path for f in result.files] == ["good.jsonl"]
    built = prefdata.build(raw, tmp_path / "out", quiet=True)
    skipped = json.loads((tmp_path / "out" / "manifest.json").read_text())["skipped_files"]
    assert built.counts["pairs_written"] == 2
    assert sorted((s.name, s.reason) for s in result.skipped) == sorted((s["path"], s["reason"]) for s in skipped)
    assert len(skipped) == 3
    res = CliRunner().invoke(cli, ["inspect", str(raw / "blank.jsonl")])
    assert res.exit_code == 2 and "== blank.jsonl: skipped (no record parses as a JSON object)" in res.stdout, res.output

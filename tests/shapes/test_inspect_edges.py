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

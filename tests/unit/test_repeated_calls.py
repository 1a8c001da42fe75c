"""The Python API called many times in one process, as a notebook does: nothing remembered from one
call may stand for a file that changed before the next (a hunt found a shard's hash and a custom
shape's module both kept)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import prefdata

ROWS = [{"q": f"question number {i}?", "a": f"first {i}", "b": f"second {i}"} for i in range(12)]
SHAPE_MODULE = """import polars as pl
def pairs(lf):
    return lf.select("_record", pl.col("q").alias("prompt"), pl.col({chosen!r}).alias("chosen"), pl.col({rejected!r}).alias("rejected"))
"""


def _chosen(out: Path) -> list[str]:
    return sorted(m[0]["content"] for f in sorted((out / "data").glob("*.parquet")) for m in pq.read_table(f).column("chosen").to_pylist())


def test_a_shard_rewritten_in_place_with_its_times_put_back_is_hashed_again(tmp_path):
    """The hash was remembered by (device, inode, size, mtime): `cp -p` over a shard kept all four, so
    a second check() in the process passed shard_integrity where a fresh process fails it."""
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps({"prompt": r["q"], "chosen": r["a"], "rejected": r["b"]}) + "\n" for r in ROWS))
    built = prefdata.build(raw, tmp_path / "out", config={"sources": [{"name": "alpha", "shape": "preference", "columns": {"prompt": "prompt"}}], "output": {"compression": "uncompressed"}})
    assert prefdata.check(built.out, write=False).check("shard_integrity").passed
    shard = next((built.out / "data").glob("train-*.parquet"))
    st = os.stat(shard)
    data = shard.read_bytes()
    with open(shard, "r+b") as fh:  # same inode, same size
        fh.write(data.replace(b"alpha", b"omega"))
    os.utime(shard, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the same mtime
    assert hashlib.sha256(shard.read_bytes()).hexdigest() != hashlib.sha256(data).hexdigest()
    assert not prefdata.check(built.out, write=False).check("shard_integrity").passed


def test_a_custom_shape_module_edited_between_builds_is_imported_again(tmp_path, monkeypatch):
    """The second build used the module already in sys.modules: the old function's pairs, silently."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(tmp_path / "nothing-here")  # sys.path is restored after the test
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    config = {"sources": [{"name": "s", "shape": "custom", "function": "prefdata_test_edited_shape:pairs", "fields": ["q", "a", "b"]}]}
    module = tmp_path / "prefdata_test_edited_shape.py"
    module.write_text(SHAPE_MODULE.format(chosen="b", rejected="a"))
    try:
        assert _chosen(prefdata.build(raw, tmp_path / "out1", config=config).out) == sorted(r["b"] for r in ROWS)
        module.write_text(SHAPE_MODULE.format(chosen="a", rejected="b") + "# fixed\n")  # another size: a new version whatever the clock
        assert _chosen(prefdata.build(raw, tmp_path / "out2", config=config).out) == sorted(r["a"] for r in ROWS)
        other = tmp_path / "other-project"  # another project's module of the same name, found from its directory
        other.mkdir()
        (other / module.name).write_text(SHAPE_MODULE.format(chosen="b", rejected="a"))
        monkeypatch.chdir(other)
        assert _chosen(prefdata.build(raw, tmp_path / "out3", config=config).out) == sorted(r["b"] for r in ROWS)
    finally:
        import sys

        sys.modules.pop("prefdata_test_edited_shape", None)


def test_an_unknown_custom_module_is_still_a_config_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    config = {"sources": [{"name": "s", "shape": "custom", "function": "prefdata_no_such_module:pairs"}]}
    with pytest.raises(prefdata.errors.ConfigError, match="cannot import module 'prefdata_no_such_module'"):
        prefdata.build(raw, tmp_path / "out", config=config)

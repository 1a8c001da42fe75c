"""``rejects/`` is written a batch at a time: same rows, reasons and order as one sort over every drop.

The streamed merge is checked against that one-sort rule (the oracle) on random drops, and end to
end on files whose drops span many batches and several partitions, compressed (raw text read back
through a :class:`RecordCursor`) and plain (read back through the line index).
"""

from __future__ import annotations

import gzip
import itertools
import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import prefdata
from prefdata.build import output
from prefdata.build import rejects as rejects_module
from prefdata.build.finalize import record_keys
from prefdata.build.rejects import KEY, RejectCounts, rejected_records
from prefdata.build.spill import DROP_SCHEMA
from prefdata.io import records
from prefdata.io.discover import discover
from prefdata.io.records import RecordCursor

REASONS = ("malformed_json", "empty_field", "duplicate_pair", "unpaired_feedback")


def _drops(rows: list[tuple[int, int, str, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(f, r, "src", reason, None, f"d{f}-{r}-{reason}", raw) for f, r, reason, raw in rows], schema=DROP_SCHEMA, orient="row"
    )


def _oracle(early: pl.DataFrame, late: pl.DataFrame, output: pl.DataFrame) -> tuple[pl.DataFrame, Counter[str]]:
    """Every drop at once: records without output, one drop row each, sorted by (file, record).

    A record's row is its first pass-1 drop; failing that, its pass-2 drop first by reason and
    detail (not by the partition it was written from)."""
    key = ["_file_idx", "_record"]
    late_rank = [pl.when(pl.col("__late")).then(pl.col(c)).alias(f"__{c}") for c in ("_reason", "_detail")]
    drops = pl.concat([early.with_columns(pl.lit(False).alias("__late")), late.with_columns(pl.lit(True).alias("__late"))])
    pending = drops.join(output, on=key, how="anti", maintain_order="left").with_columns(late_rank)
    ordered = pending.sort([*key, "__late", "___reason", "___detail"], maintain_order=True, nulls_last=False)
    rejects = ordered.unique(subset=key, keep="first", maintain_order=True).drop("__late", "___reason", "___detail")
    pair_drops = drops.join(output, on=key, how="semi")
    return rejects, Counter(dict(pair_drops.group_by("_reason").len().iter_rows()))


keys = st.tuples(st.integers(0, 2), st.integers(1, 40))


@st.composite
def drop_sets(draw: st.DrawFn) -> tuple[list[pl.DataFrame], tuple[pl.DataFrame, list[list[pl.DataFrame]]], pl.DataFrame]:
    early_keys = sorted(draw(st.sets(keys, max_size=40)))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(early_keys) - 1)), max_size=6)))
    bounds = [0, *[c for c in cuts if c < len(early_keys)], len(early_keys)]
    groups = []
    for lo, hi in itertools.pairwise(bounds):
        rows = [(f, r, draw(st.sampled_from(REASONS[:2])), f"raw{f}-{r}") for f, r in early_keys[lo:hi] for _ in range(draw(st.integers(1, 2)))]
        groups.append(_drops(draw(st.permutations(rows))))  # a batch's drops need not be in record order
    late = _drops([(f, r, draw(st.sampled_from(REASONS[2:])), None) for f, r in draw(st.lists(keys, max_size=40))])
    # as the spill keeps them: runs in writing order, each sorted (stably) by record, read in pieces
    cuts = sorted(draw(st.sets(st.integers(1, max(1, late.height - 1)), max_size=3)))
    runs = []
    for lo, hi in itertools.pairwise([0, *[c for c in cuts if c < late.height], late.height]):
        run = late.slice(lo, hi - lo).sort("_file_idx", "_record", maintain_order=True)
        size = draw(st.integers(1, 5))
        runs.append([run.slice(i, size) for i in range(0, run.height, size)])
    output = pl.DataFrame(draw(st.lists(keys, max_size=30)), schema={"_file_idx": pl.UInt32, "_record": pl.Int64}, orient="row")
    return [g for g in groups if g.height], (late, runs), output


@settings(max_examples=300, deadline=None)
@given(drop_sets(), st.sampled_from([1, 2_000, 10**9]))
def test_streamed_rejects_match_one_sort_over_all_drops(case: tuple, step_bytes: int) -> None:
    early, (late, runs), output = case  # steps of one batch, of a few batches, of everything
    counts = RejectCounts()
    chunks = list(rejected_records(iter(early), [iter(run) for run in runs], record_keys(output), counts, step_bytes=step_bytes))
    got = pl.concat(chunks).drop(KEY) if chunks else _drops([])
    want, pair_drops = _oracle(pl.concat(early) if early else _drops([]), late, output)
    assert got.rows() == want.rows()
    assert counts.pairs_dropped_by_reason == pair_drops
    for chunk in chunks:  # every chunk is in order and follows the one before
        assert chunk.get_column(KEY).is_sorted()
    assert [c.get_column(KEY).min() for c in chunks] == sorted(c.get_column(KEY).min() for c in chunks)


def test_cursor_reads_records_in_ascending_requests(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(records.iter_batches.__kwdefaults__, "block_bytes", 4096)  # requests span batches
    path = tmp_path / "log.jsonl.gz"
    lines = [json.dumps({"n": i, "pad": "x" * (i % 50)}) for i in range(1, 3001)]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    (f,), _ = discover(path)
    cursor = RecordCursor(f)
    asked = [[1, 2], [5], [2000, 2999], [3000], [3001, 4000]]  # past the end: nothing
    got = [[row for piece in cursor.take(pl.Series(a)) for row in piece.rows()] for a in asked]
    assert got == [[(r, lines[r - 1]) for r in a if r <= 3000] for a in asked]


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_line_index_fetches_in_pieces_of_bounded_size(tmp_path: Path, fmt: str) -> None:
    lines = [json.dumps({"n": i, "pad": "x" * (200 + i % 300)}) for i in range(1, 2001)]
    path = tmp_path / f"log.{fmt}"
    path.write_text("\n".join(lines) + "\n" if fmt == "jsonl" else "[\n" + ",\n".join(lines) + "\n]\n")
    (f,), _ = discover(path)
    batches = list(records.iter_batches(f, block_bytes=8192))
    index = records.LineIndex(path, path.stat().st_size, [b.line_offsets for b in batches], [b.line_ends for b in batches] if fmt == "json" else None)
    wanted = pl.Series(sorted({1, 2, 999, 1000, 2000, *range(1500, 1600)}))
    pieces = list(index.fetch_pieces(wanted, piece_bytes=4096))
    assert [r for p in pieces for r in p.rows()] == [(r, lines[r - 1]) for r in wanted]
    assert len(pieces) > 5
    assert all(p.get_column("_line").str.len_bytes().sum() <= 4096 + 600 for p in pieces)  # at most one record over


def _pairs_log(n: int, *, bad_every: int, dup_every: int) -> list[str]:
    out = []
    for i in range(n):
        text = f"answer {i} " + "words " * 40
        rec = {"prompt": f"question {i}", "chosen": text, "rejected": text if i % bad_every == 0 else text + "!"}
        out.append(json.dumps(rec))
        if (i + 1) % dup_every == 0:
            out.append(json.dumps(rec))  # a duplicate: dropped in pass 2, raw text read back
    return out


def test_rejects_of_a_many_batch_build_match_the_raw_lines(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(records.iter_batches.__kwdefaults__, "block_bytes", 64 * 1024)  # ~30 batches a file
    lines = _pairs_log(6000, bad_every=7, dup_every=5)
    plain = tmp_path / "raw" / "log.jsonl"
    plain.parent.mkdir()
    plain.write_text("\n".join(lines) + "\n")
    packed = tmp_path / "raw" / "packed.jsonl.gz"
    packed.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    bad = [line for line in lines if json.loads(line)["chosen"] == json.loads(line)["rejected"]]
    good = {line for line in lines} - set(bad)
    out = tmp_path / "out"
    result = prefdata.build(tmp_path / "raw", out, partitions=3)
    rejects = pl.read_parquet(out / "rejects")
    assert rejects.height == result.counts["records_rejected"]
    for name in ("log.jsonl", "packed.jsonl.gz"):
        mine = rejects.filter(pl.col("file") == name)
        assert mine.get_column("record").is_sorted()
        assert mine.get_column("raw").to_list() == [lines[r - 1] for r in mine.get_column("record")]
        assert Counter(mine.get_column("reason")) == {"identical_responses": len(bad), "duplicate_pair": len(lines) - len(bad) - len(good) * (name == "log.jsonl")}
    assert result.counts["pairs_written"] == len(good)
    assert rejects.get_column("file").to_list() == sorted(rejects.get_column("file").to_list())


def test_rejects_file_is_cut_the_same_way_whatever_the_partitions(tmp_path: Path, monkeypatch) -> None:
    """Steps and row groups are cut by the rows' content, not by how they sit in memory (pass-2 drops
    stay in memory with one partition and are read back from spill files with several)."""
    small = 3000  # every size scaled down, so 600 records behave like gigabytes
    monkeypatch.setitem(records.iter_batches.__kwdefaults__, "block_bytes", small)
    monkeypatch.setitem(rejects_module.rejected_records.__kwdefaults__, "step_bytes", small)
    monkeypatch.setattr(records.LineIndex.fetch_pieces, "__defaults__", (small,))
    monkeypatch.setitem(output.ParquetStream.__init__.__kwdefaults__, "row_group_bytes", small)
    rng = random.Random(0)
    pool = [{"prompt": f"Question {i}?", "chosen": f"Good {i}.", "rejected": f"Bad {i}."} for i in range(40)]
    raw = tmp_path / "log.jsonl"
    with raw.open("w") as fh:
        for i in range(600):  # repeats of 40 pairs (pass-2 rejects) among identical responses (pass 1)
            roll = rng.random()
            rec = rng.choice(pool) if roll < 0.3 else {"prompt": f"p{i}", "chosen": "same", "rejected": "same" if roll < 0.5 else f"x{i}"}
            fh.write(json.dumps(rec) + "\n")
    files = []
    for name, partitions in (("a", 1), ("b", 1), ("c", 2), ("d", 3)):
        prefdata.build(raw, tmp_path / name, partitions=partitions)
        files.append((tmp_path / name / "rejects" / "rejects-00000-of-00001.parquet").read_bytes())
    assert pq.ParquetFile(tmp_path / "a" / "rejects" / "rejects-00000-of-00001.parquet").metadata.num_row_groups > 1
    assert files[0] == files[1] == files[2] == files[3]


def test_raw_text_of_many_compressed_files_is_read_back_one_file_open_at_a_time(tmp_path: Path) -> None:
    """Each compressed file's raw text is read back through a cursor; a file's cursor is closed once
    a later file is asked for, so 300 files need not hold 300 descriptors (the build runs under a
    limit of 256)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(300):
        line = json.dumps({"prompt": f"Question {i}?", "chosen": f"Good {i}.", "rejected": f"Bad {i}."})
        (raw / f"log-{i:03d}.jsonl.gz").write_bytes(gzip.compress(f"{line}\n{line}\n".encode()))  # a duplicate each
    script = (
        "import resource, sys, prefdata\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))\n"
        "result = prefdata.build(sys.argv[1], sys.argv[2])\n"
        "print(result.counts['rejected_by_reason'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(raw), str(tmp_path / "out")], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "{'duplicate_pair': 300}"
    rejects = pl.read_parquet(tmp_path / "out" / "rejects")
    assert rejects.get_column("raw").null_count() == 0 and rejects.get_column("record").unique().to_list() == [2]


def test_a_cursor_only_moves_forward(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"n": 1}\n{"n": 2}\n{"n": 3}\n'))
    (f,), _ = discover(path)
    cursor = RecordCursor(f)
    assert [p.rows() for p in cursor.take(pl.Series([2]))] == [[(2, '{"n": 2}')]]
    with pytest.raises(ValueError, match="only moves forward"):
        list(cursor.take(pl.Series([1, 3])))
    cursor.close()

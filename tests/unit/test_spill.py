"""The pass-1 spill reads back in the order sequence numbers were reserved, not in writing order."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from prefdata.build.spill import Spill


def _rows(first: int, bucket: int) -> pl.DataFrame:
    return pl.DataFrame({"_record": [first, first + 1], "_bucket": [bucket, bucket]}, schema={"_record": pl.Int64, "_bucket": pl.UInt32})


def _drop(record: int) -> pl.DataFrame:
    return pl.DataFrame({"_file_idx": [0], "_record": [record], "source": ["s"], "_reason": ["malformed_json"], "_field": [None], "_detail": ["x"], "_raw": ["{"]})


@pytest.mark.parametrize("in_memory", [True, False])
def test_frames_read_back_in_reserved_order(tmp_path: Path, in_memory: bool) -> None:
    spill = Spill(tmp_path / "spill", partitions=2, in_memory=in_memory)
    seqs = [spill.reserve() for _ in range(12)]  # 12 batches: more than 10, so names must sort as numbers
    for seq in reversed(seqs):  # the last batch is written first
        spill.write_rows("pairs", pl.concat([_rows(10 * seq, 0), _rows(10 * seq + 5, 1)]), seq)
        spill.write_drops([_drop(10 * seq), _drop(10 * seq + 1)], seq)
    late = spill.reserve()
    spill.write_drops(_drop(999), late=True)  # pass 2's drops: without a number, kept apart
    spill.write_drops(_drop(998), late=True)
    assert late > seqs[-1]
    assert spill.read_rows("pairs", 0).get_column("_record").to_list() == [r for s in seqs for r in (10 * s, 10 * s + 1)]
    assert spill.read_rows("pairs", 1).get_column("_record").to_list() == [r for s in seqs for r in (10 * s + 5, 10 * s + 6)]
    groups = [g.get_column("_record").to_list() for g in spill.drop_groups()]
    assert groups == [[10 * s, 10 * s + 1] for s in seqs]  # one group per batch, in reserved order
    runs = [[r for piece in run for r in piece.get_column("_record")] for run in spill.late_runs()]
    assert runs == [[999], [998]]  # one run per frame, in the order written
    assert spill.read_rows("pairs", 2) is None


def test_no_drops_reads_back_empty(tmp_path: Path) -> None:
    spill = Spill(tmp_path / "spill", partitions=3)
    assert list(spill.drop_groups()) == []
    assert spill.late_runs() == []


@pytest.mark.parametrize("in_memory", [True, False])
def test_late_runs_are_sorted_and_read_a_piece_at_a_time(tmp_path: Path, in_memory: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefdata.build import spill as spill_module

    monkeypatch.setattr(spill_module, "LATE_BATCH_ROWS", 3)
    monkeypatch.setattr(spill_module, "LATE_BUFFER_ROWS", 12)  # two runs: two batches each a piece
    spill = Spill(tmp_path / "spill", partitions=2, in_memory=in_memory)
    first = pl.concat([_drop(r) for r in (7, 3, 9, 3, 1, 8, 2, 6, 5, 4)]).with_columns(pl.Series("_detail", [str(i) for i in range(10)]))
    spill.write_drops(first, late=True)
    spill.write_drops(pl.concat([_drop(r) for r in (5, 1)]), late=True)
    runs = spill.late_runs()
    pieces = [list(run) for run in runs]
    assert [[p.height for p in run] for run in pieces] == ([[3, 3, 3, 1], [2]] if in_memory else [[6, 4], [2]])
    records = [r for p in pieces[0] for r in p.get_column("_record")]
    assert records == [1, 2, 3, 3, 4, 5, 6, 7, 8, 9]
    # stable: the two rows of record 3 keep the order they were written in
    assert [d for p in pieces[0] for d in p.filter(pl.col("_record") == 3).get_column("_detail")] == ["1", "3"]


def test_more_runs_than_the_buffer_holds_batches_for_are_read_one_batch_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """spill.py: late runs are read back "a few batches a run at a time", one batch a run when there are more
    runs than LATE_BUFFER_ROWS / LATE_BATCH_ROWS (128 as shipped): never none, which lost every pass-2 drop
    (duplicates, unpaired feedback) without a word. Scaled down: batches of 2 rows, a buffer of 8, 5 runs."""
    from prefdata.build import spill as spill_module

    monkeypatch.setattr(spill_module, "LATE_BATCH_ROWS", 2)
    monkeypatch.setattr(spill_module, "LATE_BUFFER_ROWS", 8)  # 8 // (2 * 5) == 0 batches a run, were it not at least 1
    spill = Spill(tmp_path / "spill", partitions=2)
    for run in range(5):
        spill.write_drops(pl.concat([_drop(10 * run + r) for r in (2, 0, 1)]), late=True)
    pieces = [[p.get_column("_record").to_list() for p in run] for run in spill.late_runs()]
    assert pieces == [[[10 * run, 10 * run + 1], [10 * run + 2]] for run in range(5)]

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
    assert spill.late_drops().get_column("_record").to_list() == [999, 998]
    assert spill.read_rows("pairs", 2) is None


def test_no_drops_reads_back_empty(tmp_path: Path) -> None:
    spill = Spill(tmp_path / "spill", partitions=3)
    assert list(spill.drop_groups()) == []
    assert spill.late_drops().height == 0

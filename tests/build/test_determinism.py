"""Same input and options -> byte-identical data files; a killed build leaves the previous OUT intact."""

from __future__ import annotations

import functools
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl

import prefdata
from tests.conftest import FIXTURES, REPO
from tests.support.dataset import assert_reconciled, pairs

CONFIG = FIXTURES / "configs" / "fixtures.yaml"


def _files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    prefdata.build(FIXTURES / "raw", a, config=CONFIG)
    prefdata.build(FIXTURES / "raw", b, config=CONFIG)
    fa, fb = _files(a), _files(b)
    assert fa.keys() == fb.keys()
    assert {k for k in fa if k.endswith(".parquet")} >= {"data/train-00000-of-00001.parquet", "data/test-00000-of-00001.parquet"}
    for name in fa:
        assert fa[name] == fb[name], name


def test_multi_partition_build_is_deterministic_and_keeps_prompt_groups_whole(tmp_path: Path) -> None:
    raw = tmp_path / "raw.jsonl"
    with raw.open("w") as fh:
        for i in range(400):
            for j in range(3):  # three pairs per prompt
                fh.write(json.dumps({"prompt": f"Question {i % 150}?", "chosen": f"good {i}-{j}", "rejected": f"bad {i}-{j}"}) + "\n")
    one = prefdata.build(raw, tmp_path / "one", partitions=1, test_fraction=0.2)
    four = prefdata.build(raw, tmp_path / "four", partitions=4, test_fraction=0.2)
    prefdata.build(raw, tmp_path / "again", partitions=4, test_fraction=0.2)
    assert _files(tmp_path / "four") == _files(tmp_path / "again")
    assert len([o for o in four.manifest["outputs"] if o["split"] == "train"]) == 4
    # same rows and same split, whatever the partitioning
    for split in ("train", "test"):
        assert sorted(pairs(tmp_path / "one", split)["id"]) == sorted(pairs(tmp_path / "four", split)["id"])
    assert one.counts["pairs_by_split"]["test"] > 0
    train = set(pairs(tmp_path / "four", "train").select(pl.col("prompt").list.first().struct.field("content")).to_series())
    test = set(pairs(tmp_path / "four", "test").select(pl.col("prompt").list.first().struct.field("content")).to_series())
    assert train and test and not train & test
    assert_reconciled(tmp_path / "four")


def test_prompts_sharing_an_opening_spread_over_partitions_but_share_a_split(tmp_path: Path) -> None:
    """The split keeps prompts with the same opening user turn together; the partitions need not,
    so a log whose conversations all open alike is not one partition held whole in memory."""
    raw = tmp_path / "raw.jsonl"
    with raw.open("w") as fh:
        for i in range(400):
            opening = "Hello!" if i < 200 else f"Opening {i % 20}"
            prompt = [{"role": "user", "content": opening}, {"role": "assistant", "content": "Hi."}, {"role": "user", "content": f"Fact {i}?"}]
            fh.write(json.dumps({"prompt": prompt, "chosen": f"Fact {i}.", "rejected": "No."}) + "\n")
            if i % 40 == 0:  # an exact duplicate: dedup still sees both copies in one partition
                fh.write(json.dumps({"prompt": prompt, "chosen": f"Fact {i}.", "rejected": "No."}) + "\n")
    result = prefdata.build(raw, tmp_path / "out", partitions=4, test_fraction=0.3)
    assert result.counts["rejected_by_reason"] == {"duplicate_pair": 10}
    rows = []
    for shard in sorted((tmp_path / "out" / "data").glob("*.parquet")):
        frame = pl.read_parquet(shard).select(pl.col("prompt").list.first().struct.field("content").alias("opening"))
        rows.append(frame.with_columns(pl.lit(shard.name.split("-")[0]).alias("split"), pl.lit(shard.name).alias("shard")))
    placed = pl.concat(rows)
    assert placed.height == 400
    assert placed.group_by("opening").agg(pl.col("split").n_unique()).get_column("split").max() == 1  # one split per opening
    hello = placed.filter(pl.col("opening") == "Hello!").group_by("shard").len().get_column("len")
    assert hello.len() == 4 and hello.max() < 100  # 200 pairs over all 4 partitions of their split
    assert_reconciled(tmp_path / "out")


def test_feedback_pairs_meet_the_ready_made_pairs_they_duplicate_in_any_partition(tmp_path: Path) -> None:
    """Ready-made pairs are partitioned by ``id`` alone, unless the build also pairs feedback: then by
    prompt, as feedback halves are, so a pair given both ways is still seen twice."""
    raw = tmp_path / "raw"
    raw.mkdir()
    feedback, ready = [], []
    for i in range(40):
        prompt = f"Question {i}?"
        feedback.append({"prompt": prompt, "response": f"Good {i}.", "rating": "up"})
        feedback.append({"prompt": prompt, "response": f"Bad {i}.", "rating": "down"})
        ready.append({"prompt": prompt, "chosen": f"Good {i}.", "rejected": f"Bad {i}."})
    (raw / "a_feedback.jsonl").write_text("".join(json.dumps(r) + "\n" for r in feedback))
    (raw / "b_ready.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ready))
    config = {
        "sources": [
            {"name": "fb", "path": "a_feedback.jsonl", "shape": "feedback", "columns": {"prompt": "prompt", "response": "response", "label": "rating"},
             "labels": {"up": ["up"], "down": ["down"]}},
            {"name": "ready", "path": "b_ready.jsonl", "shape": "preference", "columns": {"prompt": "prompt"}},
        ]
    }
    result = prefdata.build(raw, tmp_path / "out", config=config, partitions=4)
    assert result.counts["pairs_written"] == 40
    assert result.counts["by_source"]["ready"]["rejected_by_reason"] == {"duplicate_pair": 40}
    assert_reconciled(tmp_path / "out")


def test_kill_9_during_a_build_leaves_the_previous_out_intact(tmp_path: Path) -> None:
    raw = tmp_path / "big.jsonl"
    line = {"prompt": "x" * 200, "chosen": "y" * 400, "rejected": "z" * 400}
    with raw.open("w") as fh:
        for i in range(120_000):
            line["prompt"] = f"prompt {i} " + "x" * 200
            fh.write(json.dumps(line) + "\n")
    out = tmp_path / "out"
    prefdata.build(FIXTURES / "raw" / "transcript" / "hh.jsonl", out)
    before = _files(out)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    # two partitions: pass 1 then spills to disk, which shows the build is well under way
    proc = subprocess.Popen([sys.executable, "-m", "prefdata", "build", str(raw), str(out), "-q", "--partitions", "2"], env=env)
    deadline = time.time() + 60
    spill = None
    while time.time() < deadline and spill is None:
        spill = next((p for p in tmp_path.glob(".out.prefdata-tmp-*/_spill/pairs") if any(p.rglob("*.arrow"))), None)
        time.sleep(0.01)
    assert spill is not None, "the build never started writing"
    assert proc.poll() is None, "the build finished before it could be killed; make the input bigger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _files(out) == before
    # the next build removes the dead build's temp folder and succeeds
    prefdata.build(FIXTURES / "raw" / "transcript" / "hh.jsonl", out)
    assert not list(tmp_path.glob(".out.prefdata-tmp-*"))
    assert _files(out) == before


class FinishOutOfOrder:
    """Wraps ``_process_batch`` so that every other batch (in the order they start) finishes only after
    the batch that starts after it: a shuffle of finishing order that does not depend on timing luck."""

    def __init__(self, process) -> None:
        self.process = process
        self.started = itertools.count()
        self.done: set[int] = set()
        self.finished: list[int] = []  # first record number of each batch, in finishing order
        self.cond = threading.Condition()

    def __call__(self, work, *args, **kwargs):
        with self.cond:
            k = next(self.started)
        result = self.process(work, *args, **kwargs)
        if k % 2 == 0:
            with self.cond:  # the last batch has no successor: it gives up after a short wait
                self.cond.wait_for(lambda: k + 1 in self.done, timeout=0.5)
        with self.cond:
            self.done.add(k)
            self.finished.append(int(work.batch.lines.get_column("_record")[0]))
            self.cond.notify_all()
        return result


def test_output_does_not_depend_on_which_batch_finishes_first(tmp_path: Path, monkeypatch) -> None:
    """Pass-1 workers spill concurrently; what they spill must read back in reading order anyway.

    Tiny blocks give many batches, and every other batch finishes after the next one. Duplicates
    across batches and bad lines make the order visible in the output and in rejects.
    """
    from prefdata.build import pipeline
    from prefdata.io import records

    raw = tmp_path / "raw.jsonl"
    with raw.open("w") as fh:
        for i in range(600):
            if i % 97 == 5:
                fh.write('{"prompt": "truncated\n')
                continue
            n = i % 230  # records 230 and 460 on repeat earlier ones: duplicates in later batches
            fh.write(json.dumps({"prompt": f"Question {n % 80}?", "chosen": f"good {n}", "rejected": f"bad {n}" if n % 50 else f"good {n}"}) + "\n")
    monkeypatch.setattr(pipeline, "iter_batches", functools.partial(records.iter_batches, block_bytes=2048))
    monkeypatch.setattr(pipeline, "workers", lambda: 4)  # and in_flight() 5
    process = pipeline._process_batch

    for partitions in (1, 3):  # in-memory spill and spill files
        in_order = prefdata.build(raw, tmp_path / f"in-order-{partitions}", partitions=partitions, test_fraction=0.2)
        shuffler = FinishOutOfOrder(process)
        monkeypatch.setattr(pipeline, "_process_batch", shuffler)
        shuffled = prefdata.build(raw, tmp_path / f"shuffled-{partitions}", partitions=partitions, test_fraction=0.2)
        monkeypatch.setattr(pipeline, "_process_batch", process)
        assert len(shuffler.finished) > 20 and shuffler.finished != sorted(shuffler.finished), "the batches did not finish out of order"
        assert _files(tmp_path / f"shuffled-{partitions}") == _files(tmp_path / f"in-order-{partitions}")
        assert shuffled.counts == in_order.counts
        assert shuffled.counts["rejected_by_reason"].keys() >= {"malformed_json", "duplicate_pair", "identical_responses"}
        assert_reconciled(tmp_path / f"shuffled-{partitions}")


def test_a_record_duplicated_in_several_partitions_is_rejected_the_same_whatever_the_partitions(tmp_path: Path) -> None:
    """Record 3 gives two pairs, one a copy of record 1's and one of record 2's; which copy its reject
    names must not depend on which partition each pair fell in."""
    raw = tmp_path / "raw.jsonl"
    recs = [
        {"q": "P", "c": [{"t": "A", "s": 9}, {"t": "B", "s": 5}]},
        {"q": "P", "c": [{"t": "A", "s": 9}, {"t": "C", "s": 5}]},
        {"q": "P", "c": [{"t": "A", "s": 9}, {"t": "B", "s": 5}, {"t": "C", "s": 5}]},
    ]
    raw.write_text("".join(json.dumps(r) + "\n" for r in recs))
    cfg = {"sources": [{"shape": "rated", "columns": {"prompt": "q", "completions": "c", "text": "t", "score": "s"}, "binarize": {"policy": "all_pairs"}}]}
    files = set()
    for n in range(1, 8):
        prefdata.build(raw, tmp_path / f"out{n}", config=cfg, partitions=n)
        files.add((tmp_path / f"out{n}" / "rejects" / "rejects-00000-of-00001.parquet").read_bytes())
    assert len(files) == 1
    rej = pl.read_parquet(tmp_path / "out1" / "rejects")
    assert rej.select("record", "reason").rows() == [(3, "duplicate_pair")]


def test_shard_bytes_do_not_depend_on_how_the_frame_is_chunked(tmp_path: Path) -> None:
    """polars wrote a row group per run of chunks, and the chunks depend on the thread count: a 30 MB
    build gave 1 row group with POLARS_MAX_THREADS=1 and 2 with 8 (other bytes, another sha256)."""
    from prefdata.build.output import row_group_rows, write_parquet

    texts = [f"text {i} " + "x" * 80 for i in range(60_000)]
    written = set()
    for sizes in ([60_000], [30_000, 30_000], [7] * 10 + [59_930], [9_000] * 6 + [6_000]):
        starts = list(itertools.accumulate(sizes, initial=0))
        frame = pl.concat([pl.DataFrame({"text": texts[a:b], "n": range(a, b)}) for a, b in itertools.pairwise(starts)], rechunk=False)
        assert frame.n_chunks() == len(sizes)
        path = tmp_path / f"{len(sizes)}.parquet"
        write_parquet(frame, path, "zstd")
        written.add(path.read_bytes())
    assert len(written) == 1
    frame = pl.DataFrame({"text": texts[:1000]})
    content = sum(len(s.encode()) + 8 for s in texts[:1000])  # a text's UTF-8 bytes, and 8 for the value
    assert row_group_rows(frame, target=content // 10) == 100  # a tenth of the bytes: a tenth of the rows
    assert row_group_rows(frame, target=1) == 1 and row_group_rows(frame.clear()) == 1
    assert row_group_rows(frame, target=10**12) == 1000


def test_a_test_group_forced_on_a_small_build_is_said_and_recorded(tmp_path: Path) -> None:
    """"A prompt stays in its split when the dataset grows" holds for groups placed by their hash; the
    one a small build puts in test to have one can move to train in a larger build, silently before."""
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps({"prompt": f"prompt {i}", "chosen": f"good {i}", "rejected": f"bad {i}"}) + "\n" for i in range(2)))
    said: list[str] = []
    small = prefdata.build(raw, tmp_path / "small", test_fraction=0.05, log=said.append)
    assert small.manifest["split"]["test_group_forced"] is True and small.counts["pairs_by_split"]["test"] == 1
    assert [line for line in said if line.startswith("note: ") and "(1 pair) was put in test" in line and "may move to train when the dataset grows" in line]
    with raw.open("a") as fh:
        fh.writelines(json.dumps({"prompt": f"prompt {i}", "chosen": f"good {i}", "rejected": f"bad {i}"}) + "\n" for i in range(2, 200))
    said.clear()
    grown = prefdata.build(raw, tmp_path / "grown", test_fraction=0.05, log=said.append)
    assert grown.manifest["split"]["test_group_forced"] is False and grown.counts["pairs_by_split"]["test"] > 0
    assert not [line for line in said if "may move to train" in line]


def test_keep_duplicates_writes_the_rows_of_a_build_that_pairs_feedback_in_raw_order(tmp_path: Path) -> None:
    """README: `--keep-duplicates` keeps all repeats (nothing else changes), and data files are
    deterministic with rows in raw (file, record) order. A build that pairs feedback makes its feedback
    pairs apart from its ready-made ones; on input with no repeat the kept-duplicates build must write
    the same rows in the same order as the default build: a_feedback.jsonl's pairs, then b_ready.jsonl's."""
    raw = tmp_path / "raw"
    raw.mkdir()
    feedback, ready = [], []
    for i in range(6):
        feedback.append({"prompt": f"Question {i}?", "response": f"Good {i}.", "rating": "up"})
        feedback.append({"prompt": f"Question {i}?", "response": f"Bad {i}.", "rating": "down"})
        ready.append({"prompt": f"Other {i}?", "chosen": f"Yes {i}.", "rejected": f"No {i}."})
    (raw / "a_feedback.jsonl").write_text("".join(json.dumps(r) + "\n" for r in feedback))
    (raw / "b_ready.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ready))
    config = {"sources": [
        {"name": "fb", "path": "a_feedback.jsonl", "shape": "feedback", "columns": {"prompt": "prompt", "response": "response", "label": "rating"},
         "labels": {"up": ["up"], "down": ["down"]}},
        {"name": "ready", "path": "b_ready.jsonl", "shape": "preference", "columns": {"prompt": "prompt"}},
    ], "split": {"test_fraction": 0.0}}
    expected = [[("a_feedback.jsonl", 2 * i + 1), ("a_feedback.jsonl", 2 * i + 2)] for i in range(6)] + [[("b_ready.jsonl", i + 1)] for i in range(6)]
    shards = {}
    for dedup in (True, False):
        out = tmp_path / f"out-{dedup}"
        prefdata.build(raw, out, config=config, dedup=dedup, partitions=1)
        shard = out / "data" / "train-00000-of-00001.parquet"
        lineage = pl.read_parquet(shard).get_column("lineage").to_list()
        assert [[(e["file"], e["record"]) for e in rows] for rows in lineage] == expected, dedup
        shards[dedup] = shard.read_bytes()
    assert shards[True] == shards[False]

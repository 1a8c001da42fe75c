"""Small files read alike are joined into one pass-1 batch, and the build is the same as file by file."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import polars as pl
import pytest
import yaml
from click.testing import CliRunner

import prefdata
from prefdata.build import batching, pipeline
from prefdata.build.batching import Joiner, join_key
from prefdata.build.plan import plan_build
from prefdata.cli import cli
from prefdata.config import parse_config
from prefdata.io.records import iter_batches
from tests.conftest import FIXTURES
from tests.support.dataset import assert_reconciled, assert_reconciled_by_source, manifest, pairs, rejects


def _files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _build_both(monkeypatch: pytest.MonkeyPatch, raw: Path, tmp: Path, **kwargs) -> tuple[Path, Path, list[int]]:
    """Build ``raw`` with joining and with every file in its own batches; returns both OUTs and the
    number of files in each batch of the joined build."""
    files_per_batch: list[int] = []
    process = pipeline._process_batch

    def counting(work, *args, **kw):
        files_per_batch.append(len(work.plans))
        return process(work, *args, **kw)

    with monkeypatch.context() as m:
        m.setattr(pipeline, "_process_batch", counting)
        prefdata.build(raw, tmp / "joined", **kwargs)
    with monkeypatch.context() as m:
        m.setattr(batching, "SMALL_FILE_BYTES", -1)  # no file is small: each reads in its own batches
        prefdata.build(raw, tmp / "apart", **kwargs)
    return tmp / "joined", tmp / "apart", files_per_batch


def _pref(i: int, j: int) -> dict:
    return {"prompt": f"Question {i}-{j}?", "chosen": f"A good answer to {i}-{j}.", "rejected": f"A bad answer to {i}-{j}."}


def _mixed_folder(root: Path) -> None:
    """Small files of three layouts, interleaved, with bad records, duplicates, a gzip file and one
    file too big to join."""
    root.mkdir()
    for i in range(30):
        if i % 7 == 3:  # message-list prompts: another layout, never joined with the string ones
            rows = [{"prompt": [{"role": "user", "content": f"Q{i}-{j}"}], "chosen": f"yes {i}-{j}", "rejected": f"no {i}-{j}"} for j in range(2)]
            lines = [json.dumps(r) for r in rows]
        elif i % 7 == 5:  # HH transcripts
            lines = [
                json.dumps({"chosen": f"\n\nHuman: hi {i}\n\nAssistant: hello {j}", "rejected": f"\n\nHuman: hi {i}\n\nAssistant: go away {j}"})
                for j in range(2)
            ]
        else:
            lines = [json.dumps(_pref(i, j)) for j in range(3)]
            if i % 4 == 0:
                lines.insert(1, '{"prompt": "cut off')  # malformed JSON: a reject in a joined file
                lines.append("")  # a blank line, counted but no record
                lines.append(json.dumps({"prompt": f"Q{i}", "chosen": "same", "rejected": "same"}))
            if i % 6 == 1:
                lines.append(json.dumps(_pref(0, 0)))  # a duplicate of file 0's first pair
        text = "\n".join(lines) + "\n"
        if i == 8:
            (root / f"log-{i:03d}.jsonl.gz").write_bytes(gzip.compress(text.encode()))
        else:
            (root / f"log-{i:03d}.jsonl").write_text(text)
    # one file over SMALL_FILE_BYTES between small ones: read in its own batches, it ends a joined run
    big = "\n".join(json.dumps({**_pref(1000 + k, 0), "chosen": f"{'long ' * 200}{k}"}) for k in range(1200)) + "\n"
    assert len(big) > batching.SMALL_FILE_BYTES
    (root / "log-015-big.jsonl").write_text(big)


@pytest.mark.parametrize("partitions", [1, 3])
def test_joined_small_files_build_the_same_bytes_as_file_by_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, partitions: int) -> None:
    _mixed_folder(tmp_path / "raw")
    joined, apart, files_per_batch = _build_both(monkeypatch, tmp_path / "raw", tmp_path, partitions=partitions)
    assert max(files_per_batch) > 1, "nothing was joined"
    assert sum(files_per_batch) == 31  # every file read once
    assert _files(joined) == _files(apart)  # data, rejects, manifest (counts, inputs) and card
    assert_reconciled(joined)
    rej = rejects(joined)
    cut = rej.filter(pl.col("reason") == "malformed_json")
    assert sorted(cut["file"]) == [f"log-{i:03d}.jsonl" + (".gz" if i == 8 else "") for i in range(0, 30, 4) if i % 7 not in (3, 5)]
    assert set(cut["record"]) == {2} and set(cut["raw"]) == {'{"prompt": "cut off'}
    assert rej.filter(pl.col("reason") == "duplicate_pair").height == 4  # files 1, 7, 13, 25 (19 holds transcripts)
    lineage = pairs(joined).select("source", pl.col("lineage").list.first().struct.unnest())
    # every pair names its own file and source, and the record it came from
    assert (lineage["source"] == lineage["file"].str.replace(r"\.jsonl(\.gz)?$", "")).all()
    assert lineage.filter(pl.col("file") == "log-002.jsonl")["record"].sort().to_list() == [1, 2, 3]


def test_files_of_different_layouts_or_sizes_are_never_joined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _mixed_folder(tmp_path / "raw")
    seen: list[list[str]] = []
    process = pipeline._process_batch

    def record(work, *args, **kw):
        seen.append([p.file.name for p in work.plans])
        return process(work, *args, **kw)

    monkeypatch.setattr(pipeline, "_process_batch", record)
    prefdata.build(tmp_path / "raw", tmp_path / "out")
    plan = {p.file.name: p for p in plan_build(tmp_path / "raw", None).files}
    for names in (n for n in seen if len(n) > 1):
        assert len({join_key(plan[n]) for n in names}) == 1, names
        assert "log-015-big.jsonl" not in names
    joined = {n for names in seen if len(names) > 1 for n in names}
    assert "log-008.jsonl.gz" in joined  # compressed small files join too
    assert not joined & {"log-003.jsonl", "log-005.jsonl"}  # their neighbours read another layout
    # batches stay in reading order: file names ascend across the whole build
    order = [n for names in seen for n in names]
    assert order == sorted(order)


def test_fixtures_with_a_config_build_the_same_joined_or_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    joined, apart, _ = _build_both(monkeypatch, FIXTURES / "raw", tmp_path, config=FIXTURES / "configs" / "fixtures.yaml")
    assert _files(joined) == _files(apart)
    assert_reconciled(joined)


def test_one_configured_source_over_a_folder_of_small_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tmp_path / "raw" / "daily"
    raw.mkdir(parents=True)
    for day in range(12):
        (raw / f"{day:02d}.jsonl").write_text("".join(json.dumps(_pref(day, j)) + "\n" for j in range(2)))
    config = {"sources": [{"name": "daily", "path": "daily", "shape": "preference", "columns": {"prompt": "prompt"}}]}
    joined, apart, files_per_batch = _build_both(monkeypatch, tmp_path / "raw", tmp_path, config=config)
    assert files_per_batch == [12]
    assert _files(joined) == _files(apart)
    got = pairs(joined).select("source", pl.col("lineage").list.first().struct.unnest()).sort("file", "record")
    assert set(got["source"]) == {"daily"} and got.height == 24
    assert got["file"].to_list() == [f"daily/{d:02d}.jsonl" for d in range(12) for _ in range(2)]
    # README (manifest.json): by_source counts per source; a source over many files sums all of them
    assert manifest(joined)["counts"]["by_source"] == {"daily": {"records_read": 24, "pairs_written": 24, "records_rejected": 0, "rejected_by_reason": {}}}
    assert_reconciled_by_source(joined)


def test_random_small_folders_build_the_same_joined_or_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    for trial in range(4):
        raw = tmp_path / f"raw{trial}"
        raw.mkdir()
        for i in range(rng.randint(5, 25)):
            lines = []
            for j in range(rng.randint(0, 4)):
                roll = rng.random()
                if roll < 0.1:
                    lines.append("not json")
                elif roll < 0.2:
                    lines.append(json.dumps({"prompt": "p", "chosen": True, "rejected": "x"}))  # non-text content
                elif roll < 0.3:
                    lines.append(json.dumps(_pref(rng.randint(0, 3), 0)))  # duplicates across files
                else:
                    lines.append(json.dumps(_pref(i, j)))
            (raw / f"f{i:02d}.jsonl").write_text("\n".join(lines) + ("\n" if lines else ""))
        if not any(json.dumps(_pref(0, 0)) in p.read_text() or '"Question' in p.read_text() for p in raw.iterdir()):
            continue
        joined, apart, _ = _build_both(monkeypatch, raw, tmp_path / f"out{trial}", partitions=rng.choice([1, 2]))
        assert _files(joined) == _files(apart), trial
        assert_reconciled(joined)


@pytest.mark.parametrize("policy", ["best_vs_worst", "best_vs_random", "all_pairs"])
def test_rated_small_files_build_the_same_joined_or_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy: str) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    rng = random.Random(5)
    for i in range(12):
        rows = []
        for j in range(3):
            completions = [{"response": f"answer {i}-{j}-{k}", "score": rng.choice([1, 2, 3, 4, 5])} for k in range(4)]
            if j == 1:
                completions[2]["score"] = "n/a"  # a wrong_type reject inside a joined batch
            rows.append({"prompt": f"Question {i}-{j}?", "completions": completions})
        (raw / f"r{i:02d}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = {"sources": [{"shape": "rated", "columns": {"prompt": "prompt"}, "binarize": {"policy": policy, "seed": 3}}]}
    joined, apart, files_per_batch = _build_both(monkeypatch, raw, tmp_path, config=config)
    assert (max(files_per_batch) > 1) == (policy != "all_pairs")
    assert _files(joined) == _files(apart)
    assert_reconciled(joined)
    assert rejects(joined).filter(pl.col("reason") == "wrong_type").height == 12


def test_joiner_keeps_order_and_limits() -> None:
    f = FIXTURES / "raw" / "preference" / "strings.jsonl"
    plan = plan_build(f, None).files[0]
    (batch,) = list(iter_batches(plan.file))
    joiner = Joiner(max_bytes=3 * batch.text_bytes(), max_rows=10**6)
    out = [w for _ in range(7) for w in joiner.add("k", plan, batch)] + list(joiner.flush())
    assert [len(w.plans) for w in out] == [3, 3, 1]
    assert list(joiner.flush()) == []
    three = out[0].batch
    assert three.lines.height == 3 * batch.lines.height
    cols = out[0].file_columns()
    got = three.lines.select(cols.record.alias("r"), (pl.col("_record") // (1 << 40)).alias("pos"))
    assert got["r"].to_list() == batch.lines["_record"].to_list() * 3
    assert got["pos"].to_list() == [k for k in range(3) for _ in range(batch.lines.height)]
    # a new key or a row limit flushes what is held first
    joiner = Joiner(max_bytes=10**9, max_rows=2 * batch.records)
    out = [w for key in ("a", "a", "b", "b", "b") for w in joiner.add(key, plan, batch)] + list(joiner.flush())
    assert [len(w.plans) for w in out] == [2, 2, 1]


def test_batch_key_tells_layouts_apart(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    a.write_text(json.dumps(_pref(1, 1)) + "\n")
    b.write_text(json.dumps(_pref(2, 2)) + "\n")
    c.write_text(json.dumps({**_pref(3, 3), "prompt": [{"role": "user", "content": "hi"}]}) + "\n")
    plans = {p.file.name: p for p in plan_build(tmp_path, None).files}
    keys = {name: join_key(p) for name, p in plans.items()}
    assert keys["a.jsonl"] is not None and keys["a.jsonl"] == keys["b.jsonl"]  # names differ, layout alike
    assert keys["c.jsonl"] != keys["a.jsonl"]  # message-list prompt: another decode and adapter
    assert plans["c.jsonl"].shape.batch_key() != plans["a.jsonl"].shape.batch_key()  # the adapter alone tells them apart
    rated = tmp_path / "rated"
    rated.mkdir()
    completions = [{"response": "a", "score": 1}, {"response": "b", "score": 2}]
    (rated / "r.jsonl").write_text(json.dumps({"prompt": "q", "completions": completions}) + "\n")
    (r,) = plan_build(rated, parse_config({"sources": [{"shape": "rated", "columns": {"prompt": "prompt"}}]})).files
    assert r.shape.batch_key() is not None and join_key(r) is not None
    (r,) = plan_build(rated, parse_config({"sources": [{"shape": "rated", "columns": {"prompt": "prompt"}, "binarize": {"policy": "all_pairs"}}]})).files
    assert r.shape.batch_key() is None and join_key(r) is None  # blocks sized by its own expansion


def test_a_build_of_exactly_20_sources_prints_the_whole_config(tmp_path: Path) -> None:
    """README: "a config of more than 20 sources (one per file) is printed as each distinct setting
    once": 20 sources are not more than 20, so the whole config is printed; 21 are summarised."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(20):
        (raw / f"f{i:02d}.jsonl").write_text(json.dumps(_pref(i, 0)) + "\n")
    res = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "config used: 20 sources" not in res.stderr
    printed = yaml.safe_load(res.stderr.split("config used (save it as a file and pass --config to edit it):\n", 1)[1])
    assert [source["path"] for source in printed["sources"]] == [f"f{i:02d}.jsonl" for i in range(20)]
    (raw / "f20.jsonl").write_text(json.dumps(_pref(20, 0)) + "\n")
    res = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out21")])
    assert res.exit_code == 0, res.output
    assert "config used: 21 sources, one per file, in 1 setting(s)" in res.stderr


def test_a_folder_of_files_read_alike_is_described_in_one_line(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(30):
        (raw / f"c{i:02d}.jsonl").write_text(json.dumps(_pref(i, 0)) + "\n")
    (raw / "c10.jsonl").write_text(json.dumps({"chosen": "\n\nHuman: hi\n\nAssistant: yes", "rejected": "\n\nHuman: hi\n\nAssistant: no"}) + "\n")
    for i in (11, 12):  # a run of two files (under RUN_LINES) is described file by file
        (raw / f"c{i:02d}.jsonl").write_text(json.dumps({**_pref(i, 0), "prompt": [{"role": "user", "content": "hi"}]}) + "\n")
    res = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    described = [line for line in res.stderr.splitlines() if ": detected " in line]
    assert [line.split(": detected ")[0] for line in described] == [
        "c00.jsonl to c09.jsonl (10 files)",
        "c10.jsonl",
        "c11.jsonl",
        "c12.jsonl",
        "c13.jsonl to c29.jsonl (17 files)",
    ]
    # 30 sources are too many to print one by one: each setting is printed once, with its files
    assert "config used: 30 sources, one per file, in 2 setting(s)" in res.stderr and "sources:" not in res.stderr
    assert "# 29 files, the first c00.jsonl, the last c29.jsonl\n- shape: preference" in res.stderr
    assert "# 1 file: c10.jsonl\n- shape: transcript" in res.stderr
    assert "is `config` in OUT/manifest.json" in res.stderr  # and that config gives the same build again
    (tmp_path / "config.json").write_text(json.dumps(json.loads((tmp_path / "out" / "manifest.json").read_text())["config"]))
    again = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "again"), "--config", str(tmp_path / "config.json")])
    assert again.exit_code == 0, again.output
    for part in ("data", "rejects"):
        assert {f.name: f.read_bytes() for f in (tmp_path / "out" / part).iterdir()} == {f.name: f.read_bytes() for f in (tmp_path / "again" / part).iterdir()}
    res = CliRunner().invoke(cli, ["build", str(raw / "c0*.jsonl"), str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "sources:" in res.stderr and res.stderr.count("- name: c0") == 10  # 10 sources: printed


def test_progress_names_a_joined_batch_by_its_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefdata.build.progress import Progress

    _mixed_folder(tmp_path / "raw")
    shown: list[tuple[str, int | None]] = []
    monkeypatch.setattr(Progress, "file", lambda self, name, total: shown.append((name, total)))
    prefdata.build(tmp_path / "raw", tmp_path / "out")
    sizes = {p.name: p.stat().st_size for p in (tmp_path / "raw").iterdir()}
    assert ("3 files to log-002.jsonl", sum(sizes[f"log-{i:03d}.jsonl"] for i in range(3))) in shown
    # a batch holding a compressed file has no byte total: its progress counts decompressed bytes
    assert ("4 files to log-009.jsonl", None) in shown
    assert ("log-015-big.jsonl", sizes["log-015-big.jsonl"]) in shown


def test_files_with_different_guessed_settings_are_described_apart(tmp_path: Path) -> None:
    """Four pairwise files whose verdicts were guessed with different value maps: one line each, and
    each guessed map is printed, though they are too many sources to print one by one."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for i, (a, b) in enumerate([("model_a", "model_b"), (1, 2), ("a", "b"), ("model_a", "model_b")]):
        rows = [{"prompt": f"q{i}", "response_a": "x", "response_b": "y", "winner": a}, {"prompt": "z", "response_a": "x", "response_b": "y", "winner": b}]
        (raw / f"p{i}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for i in range(20):
        (raw / f"q{i:02d}.jsonl").write_text(json.dumps(_pref(i, 0)) + "\n")
    res = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    described = [line.split(": detected ")[0] for line in res.stderr.splitlines() if ": detected " in line]
    assert described == ["p0.jsonl", "p1.jsonl", "p2.jsonl", "p3.jsonl", "q00.jsonl to q19.jsonl (20 files)"]
    assert "in 4 setting(s)" in res.stderr and "# 2 files, the first p0.jsonl, the last p3.jsonl" in res.stderr
    assert "a: [1]" in res.stderr and "a: [model_a]" in res.stderr and "a: [a]" in res.stderr


def test_csv_batches_count_their_bytes_so_joined_batches_stay_bounded(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(6):
        rows = "".join(f"q{i}-{j},{'good ' * 50}{j},bad {j}\n" for j in range(40))
        (raw / f"t{i}.csv").write_text("prompt,chosen,rejected\n" + rows)
    config = parse_config({"sources": [{"shape": "preference", "columns": {"prompt": "prompt"}}]})
    plans = plan_build(raw, config).files
    batches = [b for p in plans for b in iter_batches(p.file)]
    assert [b.bytes_read for b in batches] == [(raw / f"t{i}.csv").stat().st_size for i in range(6)]  # progress moves
    size = batches[0].text_bytes()
    assert size > batches[0].bytes_read  # JSON text of the rows: what a joined batch holds
    joiner = Joiner(max_bytes=2 * size + 1, max_rows=10**6)
    key = join_key(plans[0])
    assert key is not None and {join_key(p) for p in plans} == {key}
    out = [w for p, b in zip(plans, batches) for w in joiner.add(key, p, b)] + list(joiner.flush())
    assert [len(w.plans) for w in out] == [2, 2, 2]


def test_a_small_compressed_file_of_many_batches_is_not_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small on disk is not small once decompressed: the file streams through the window as usual."""
    from prefdata.io import records

    monkeypatch.setitem(records.iter_batches.__kwdefaults__, "block_bytes", 4096)
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.jsonl").write_text(json.dumps(_pref(0, 0)) + "\n")
    text = "".join(json.dumps(_pref(1, j)) + "\n" for j in range(3000))
    (raw / "b.jsonl.gz").write_bytes(gzip.compress(text.encode()))
    assert (raw / "b.jsonl.gz").stat().st_size < batching.SMALL_FILE_BYTES  # small enough to join
    read = {"b": 0}
    at_first: list[int] = []
    iter_batches_ = pipeline.iter_batches

    def counting(f, **kw):
        for batch in iter_batches_(f, **kw):
            read["b"] += f.name == "b.jsonl.gz"
            yield batch

    process = pipeline._process_batch

    def first_seen(work, *args, **kw):
        if work.plans[0].file.name == "b.jsonl.gz" and not at_first:
            at_first.append(read["b"])
        return process(work, *args, **kw)

    monkeypatch.setattr(pipeline, "iter_batches", counting)
    monkeypatch.setattr(pipeline, "_process_batch", first_seen)
    prefdata.build(raw, tmp_path / "out")
    assert read["b"] > 40
    assert at_first[0] <= pipeline.in_flight() + 2  # read ahead by the window, not to the end of the file

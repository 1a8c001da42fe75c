"""Inputs at the edges of size: data that expands a thousandfold, zstd frames with a long window,
and CSV cells longer than the csv module's default cap. Each is read whole, with memory bounded by
the step size, not by how well the data compresses."""

from __future__ import annotations

import gzip
import io
import json
import random
from pathlib import Path

import pytest
import zstandard

import prefdata
from prefdata.io import compression
from tests.support.dataset import assert_reconciled

LINE = json.dumps({"prompt": "Is this a long file?", "chosen": "Yes, and it compresses well.", "rejected": "No."}) + "\n"


def _largest_step(path: Path, kind: str) -> tuple[int, int]:
    """(bytes read in all, largest decompressed step held at once)."""
    stream = compression.open_binary(path, kind)
    total = largest = 0
    while block := stream.read1(1 << 30):
        total += len(block)
        largest = max(largest, len(block))
    return total, largest


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_highly_compressible_data_is_read_in_bounded_steps(tmp_path, monkeypatch, kind):
    monkeypatch.setattr(compression, "OUT_LIMIT", 1 << 20)
    data = LINE.encode() * 400_000  # ~33 MB that compresses ~1000x
    path = tmp_path / f"big.jsonl.{'gz' if kind == 'gzip' else 'zst'}"
    path.write_bytes(gzip.compress(data) if kind == "gzip" else zstandard.ZstdCompressor(level=19).compress(data))
    assert path.stat().st_size * 100 < len(data)
    total, largest = _largest_step(path, kind)
    assert total == len(data)
    assert largest <= 4 << 20  # a few times OUT_LIMIT, never the whole expansion


def test_zstd_with_a_long_window_is_built(tmp_path):
    params = zstandard.ZstdCompressionParameters(window_log=28, enable_ldm=True)  # `zstd --long=28`
    buf = io.BytesIO()
    with zstandard.ZstdCompressor(compression_params=params).stream_writer(buf, closefd=False) as w:
        w.write("".join(json.dumps({"prompt": f"q{i}", "chosen": f"good {i}", "rejected": "bad"}) + "\n" for i in range(50)).encode())
    raw = tmp_path / "long.jsonl.zst"
    raw.write_bytes(buf.getvalue())
    assert zstandard.get_frame_parameters(raw.read_bytes()).window_size > 2**27  # over zstd's default limit
    result = prefdata.build(raw, tmp_path / "out", quiet=True)
    assert result.counts["records_read"] == 50 and result.counts["records_rejected"] == 0
    assert_reconciled(tmp_path / "out")


def test_a_csv_cell_longer_than_the_csv_default_cap_is_read(tmp_path):
    raw = tmp_path / "long.csv"
    long_answer = "word " * 60_000  # 300 KB, over csv's 128 KB default
    raw.write_text(f'prompt,chosen,rejected\n"Explain.","{long_answer}","Short."\n"Again?","Yes.","No."\n', encoding="utf-8")
    result = prefdata.build(raw, tmp_path / "out", quiet=True)
    assert result.counts["pairs_written"] == 2
    assert_reconciled(tmp_path / "out")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_wide_rows_are_batched_by_bytes_not_only_by_rows(tmp_path, fmt):
    import polars as pl

    from prefdata.io.discover import discover
    from prefdata.io.records import iter_batches

    # repeated long text: Parquet stores it dictionary-encoded, so the footer's sizes look tiny
    rows = pl.DataFrame({"prompt": [f"q{i}" for i in range(3_000)], "chosen": ["x" * 2_000] * 3_000, "rejected": ["y"] * 3_000})
    path = tmp_path / f"wide.{fmt}"
    rows.write_csv(path) if fmt == "csv" else rows.write_parquet(path)
    (f,), _ = discover(path)
    batches = list(iter_batches(f, block_bytes=100_000))
    assert sum(b.records for b in batches) == 3_000
    assert len(batches) >= 3  # 6 MB of rows in batches of about 100 KB (Parquet: of 1,024-row reads), not one


def test_all_pairs_reads_in_blocks_sized_by_its_output_with_the_same_result(tmp_path, monkeypatch):
    from prefdata.build import pipeline
    from prefdata.shapes import rated

    raw = tmp_path / "rated.jsonl"
    raw.write_text("".join(
        json.dumps({"prompt": f"Question {i}?", "completions": [{"text": f"answer {i}.{j} " * 20, "score": float(j)} for j in range(30)]}) + "\n"
        for i in range(40)
    ), encoding="utf-8")
    config = tmp_path / "rated.yaml"
    config.write_text("sources:\n- shape: rated\n  columns: {prompt: prompt, completions: completions, text: text, score: score}\n"
                      "  binarize: {policy: all_pairs}\n", encoding="utf-8")
    seen: list[dict] = []
    sizes = pipeline._batch_sizes
    monkeypatch.setattr(pipeline, "_batch_sizes", lambda e: seen.append(sizes(e)) or sizes(e))
    sized = prefdata.build(raw, tmp_path / "sized", config=config, quiet=True)
    assert seen and seen[0]["batch_rows"] < 64 * 30 and seen[0]["block_bytes"] < pipeline.BLOCK_BYTES  # expansion ~29
    monkeypatch.setattr(rated.RatedShape, "_expansion", lambda self, sample: 1.0)
    plain = prefdata.build(raw, tmp_path / "plain", config=config, quiet=True)
    assert sized.counts == plain.counts and sized.counts["pairs_written"] == 40 * 435
    for name in ("data", "rejects"):
        assert sorted((p.name, p.read_bytes()) for p in (tmp_path / "sized" / name).iterdir()) == \
            sorted((p.name, p.read_bytes()) for p in (tmp_path / "plain" / name).iterdir())


def test_compressed_size_is_estimated_from_the_measured_ratio(tmp_path):
    data = (LINE * 50_000).encode()  # ~4 MB that compresses far better than 4x
    path = tmp_path / "x.jsonl.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(data))
    assert compression.estimated_size(path, "zstd") == len(data)  # small enough to decompress whole
    big = tmp_path / "y.jsonl.gz"
    big.write_bytes(gzip.compress(data * 4))
    estimate = compression.estimated_size(big, "gzip", probe=1 << 20)
    expected = min(len(data) * 4, big.stat().st_size * compression.MAX_ESTIMATED_RATIO)  # the ratio is capped
    assert 0.5 * expected < estimate < 2 * expected


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_a_compressed_file_that_cannot_be_read_is_estimated_at_its_own_size(tmp_path, kind):
    """estimated_size: "the file's own size when it ... cannot be read": magic bytes followed by no
    compressed data are no error here (the build skips such a file before it sizes partitions)."""
    data = b"\x1f\x8b" + b"not gzip data at all" * 50 if kind == "gzip" else b"\x28\xb5\x2f\xfd" + b"\xff" * 1000
    path = tmp_path / f"x.jsonl.{'gz' if kind == 'gzip' else 'zst'}"
    path.write_bytes(data)
    assert compression.estimated_size(path, kind) == len(data)


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_the_compressed_size_ratio_counts_the_bytes_decoded_not_those_read_ahead(tmp_path, kind):
    """The ratio estimated_size extrapolates is the probe's decompressed bytes over the compressed
    bytes they came from, not over the READ_CHUNK read ahead of the decoder: random bytes (ratio ~1)
    sized by a 256 KB probe of a 3 MB file are estimated at about their size, not a quarter of it."""
    data = random.Random(3).randbytes(3_000_000)
    path = tmp_path / "r.bin"
    path.write_bytes(gzip.compress(data, compresslevel=1) if kind == "gzip" else zstandard.ZstdCompressor().compress(data))
    assert path.stat().st_size > 2 * compression.READ_CHUNK
    assert 0.95 * len(data) < compression.estimated_size(path, kind, probe=256 * 1024) < 1.05 * len(data)


def test_a_lopsided_split_is_a_warning(tmp_path):
    raw = tmp_path / "hello.jsonl"
    raw.write_text("".join(
        json.dumps({"prompt": [{"role": "user", "content": "Hello!"}, {"role": "assistant", "content": "Hi, how can I help?"},
                               {"role": "user", "content": f"Tell me fact {i}."}],
                    "chosen": f"Fact {i}.", "rejected": "No."}) + "\n"
        for i in range(60)
    ), encoding="utf-8")
    result = prefdata.build(raw, tmp_path / "out", test_fraction=0.2, quiet=True)
    assert result.counts["pairs_by_split"]["test"] in (0, 60)  # one opening turn: one split group
    assert any("opening user turn" in w for w in result.warnings)
    balanced = tmp_path / "balanced.jsonl"
    balanced.write_text("".join(json.dumps({"prompt": f"Question {i}?", "chosen": f"A{i}.", "rejected": "No."}) + "\n" for i in range(400)), encoding="utf-8")
    assert not prefdata.build(balanced, tmp_path / "out2", test_fraction=0.2, quiet=True).warnings


@pytest.mark.parametrize("limit", [1, 100, 4096])
@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_tiny_steps_read_every_byte_of_every_member(tmp_path, monkeypatch, limit, kind):
    import random

    monkeypatch.setattr(compression, "OUT_LIMIT", limit)
    compress = gzip.compress if kind == "gzip" else zstandard.ZstdCompressor().compress
    for seed in range(10):
        rng = random.Random(seed)
        parts = [b"".join(rng.choice([b"ab" * rng.randint(1, 300), rng.randbytes(rng.randint(1, 50)), b"\n"]) for _ in range(rng.randint(1, 80)))
                 for _ in range(1 + seed % 3)]  # one to three members/frames
        path = tmp_path / f"{seed}.{kind}"
        path.write_bytes(b"".join(compress(p) for p in parts))
        assert compression.open_binary(path, kind).read() == b"".join(parts)


def test_dictionary_encoded_parquet_and_rejected_csv_rows_count_toward_the_batch_bytes(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from prefdata.io.discover import discover
    from prefdata.io.records import iter_batches

    n = 3_000
    table = pa.table({
        "prompt": pa.array([f"q{i}" for i in range(n)]),
        "chosen": pa.array(["x" * 2_000] * n).dictionary_encode(),  # one value: nbytes counts it once
        "rejected": pa.array(["y"] * n),
    })
    pq.write_table(table, tmp_path / "dict.parquet")
    csv_rows = "".join(f'"q{i}","{"z" * 2_000}","no",extra\n' for i in range(n))  # every row has a cell too many
    (tmp_path / "bad.csv").write_text("prompt,chosen,rejected\n" + csv_rows, encoding="utf-8")
    for name in ("dict.parquet", "bad.csv"):
        (f,), _ = discover(tmp_path / name)
        batches = list(iter_batches(f, block_bytes=100_000))
        assert sum(b.records for b in batches) == n
        assert len(batches) >= 3, name

"""Benchmark prompt files in every accepted format, and the errors for the rest."""

from __future__ import annotations

import json

import polars as pl
import pytest

from prefdata.check import InputFileError, check
from prefdata.check.checks.contamination import load_benchmark_prompts
from tests.check import seeded

QUESTION = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May."


@pytest.mark.parametrize("suffix", [".txt", ".jsonl", ".json", ".csv", ".parquet"])
def test_every_format_finds_the_same_contamination(tmp_path, suffix):
    path = tmp_path / f"bench{suffix}"
    prompts = [QUESTION, "What is the capital of France?", "  "]
    if suffix == ".txt":
        path.write_text("\n".join(prompts))
    elif suffix == ".jsonl":
        path.write_text("\n".join(json.dumps({"question": p, "answer": "x"}) for p in prompts))
    elif suffix == ".json":
        path.write_text(json.dumps(prompts))
    else:
        frame = pl.DataFrame({"prompt": prompts, "id": [1, 2, 3]})
        frame.write_csv(path) if suffix == ".csv" else frame.write_parquet(path)
    assert load_benchmark_prompts(path).to_list() == prompts[:2]
    out = seeded.materialize(tmp_path / "d", keys=seeded.clean_keys() | {"contaminated", "contaminated-short"})
    result = check(out, benchmark_prompts=path, write=False)
    assert result.check("contamination").offending_count == 2
    assert result.check("contamination").statistic["benchmark_prompts_matched"] == 2


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("b.jsonl", '{"answer": "x"}\n', "no prompt field"),
        ("b.json", '"just one string"', "expected a JSON array"),
        ("b.json", "[1, 2]", "item 0 is not a string prompt"),
        ("b.yaml", "- x\n", "unsupported benchmark file type"),
        ("b.jsonl", "{not json\n", "cannot read benchmark prompts"),
    ],
)
def test_bad_benchmark_files_name_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputFileError, match=message) as err:
        load_benchmark_prompts(path)
    assert str(path) in str(err.value)


def test_tokenizer_without_chat_template_is_refused(tmp_path, clean_dataset):
    from tests.support.tiny_model import train_tokenizer

    tok = train_tokenizer(["hello world"] * 10)
    tok.chat_template = None
    tok.save_pretrained(tmp_path / "tok")
    with pytest.raises(InputFileError, match="no chat template"):
        check(clean_dataset, tokenizer=tmp_path / "tok", max_length=64, write=False)

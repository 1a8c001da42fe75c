"""The output is what TRL 1.x wants: ``load_dataset(OUT)`` gives train/test, and ``DPOTrainer`` trains a
step on the train split unchanged (tiny local model, CPU)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import prefdata
from tests.conftest import FIXTURES
from tests.support.dataset import pairs

datasets = pytest.importorskip("datasets")
trl = pytest.importorskip("trl")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("trl") / "out"
    prefdata.build(FIXTURES / "raw", out, config=FIXTURES / "configs" / "fixtures.yaml")
    return out


def test_load_dataset_gives_train_and_test(built: Path) -> None:
    ds = datasets.load_dataset(str(built))
    assert set(ds) == {"train", "test"}
    assert ds["train"].num_rows == pairs(built, "train").height > 0
    assert ds["test"].num_rows == pairs(built, "test").height > 0
    row = ds["train"][0]
    assert row["prompt"][-1]["role"] in ("user", "tool")
    assert set(row["prompt"][0]) == {"role", "content"}  # no None-filled extra struct fields
    assert "image" not in ds["train"].column_names and "images" not in ds["train"].column_names


def test_no_prompt_in_both_splits(built: Path) -> None:
    key = pl.col("prompt").list.eval(pl.element().struct.field("content")).list.join("\n").str.to_lowercase()
    train = set(pairs(built, "train").select(key).to_series())
    test = set(pairs(built, "test").select(key).to_series())
    assert not train & test


def test_dpo_trainer_trains_a_step_on_the_train_split_unchanged(built: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tests.support.tiny_model import make_tiny_llama

    train = datasets.load_dataset(str(built), split="train")
    texts = [m["content"] for row in train for m in row["prompt"] + row["chosen"] + row["rejected"]]
    model_dir = make_tiny_llama(tmp_path / "tiny", texts * 4)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    args = trl.DPOConfig(
        output_dir=str(tmp_path / "dpo"),
        max_steps=1,
        per_device_train_batch_size=2,
        use_cpu=True,
        bf16=False,
        report_to="none",
        beta=0.1,
        max_length=128,
        save_strategy="no",
    )
    trainer = trl.DPOTrainer(model=model, args=args, train_dataset=train, processing_class=tokenizer)
    result = trainer.train()
    assert result.global_step == 1
    assert result.training_loss == pytest.approx(0.6931, abs=0.05)  # log(2): policy == reference at step 0


def test_kto_export_loads_as_its_own_config(built: Path) -> None:
    kto = datasets.load_dataset(str(built), "kto")
    assert sum(split.num_rows for split in kto.values()) == 2  # the unpaired records of feedback/thumbs.jsonl
    row = next(split for split in kto.values() if split.num_rows)[0]
    assert isinstance(row["label"], bool) and row["completion"][0]["role"] == "assistant"


def test_a_split_without_rows_is_left_out_of_the_card_so_load_dataset_works(tmp_path: Path) -> None:
    out = tmp_path / "out"
    prefdata.build(FIXTURES / "raw" / "transcript" / "hh.jsonl", out, partitions=3, test_fraction=0.01)
    assert pairs(out, "test").height == 0
    assert set(datasets.load_dataset(str(out))) == {"train"}

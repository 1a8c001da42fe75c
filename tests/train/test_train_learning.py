"""Acceptance 1: SFT then DPO on a tiny local Llama learns a synthetic preference on CPU (its time against
the 2-minute goal is measured by ``benchmarks/train_cpu_learning.py``: a timed assertion here would
fail on a busy machine).

Held-out reward accuracy starts at 0.5 (before DPO the policy is the reference: every pair ties) and
must reach >= 0.9 with a growing margin. The same run with chosen and rejected swapped in the *train*
split, evaluated against the true test labels, must drive accuracy far below chance. A model that
learned nothing, or learned the labels' position rather than their content, fails one of the two.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from prefdata.train import train_dpo, train_sft
from tests.support.fast_training import DPO_FAST, SFT_FAST


def sft_then_dpo(data, tiny_model, tmp_path, tag):
    sft = train_sft(data, str(tiny_model), tmp_path / f"sft-{tag}", overrides=SFT_FAST, no_check=True)
    dpo = train_dpo(data, str(sft.output), tmp_path / f"dpo-{tag}", overrides=DPO_FAST, no_check=True)
    return sft, dpo


@pytest.fixture(scope="module")
def runs(tmp_path_factory, task_data, swapped_data, tiny_model):
    tmp = tmp_path_factory.mktemp("learning")
    true = sft_then_dpo(task_data, tiny_model, tmp, "true")
    swapped = sft_then_dpo(swapped_data, tiny_model, tmp, "swapped")
    return {"true": true, "swapped": swapped}


def test_dpo_learns_the_preference_on_held_out_pairs(runs):
    _, dpo = runs["true"]
    before, after = dpo.eval_before, dpo.eval_after
    print(f"\ntrue labels: {before} -> {after}")
    assert before.pairs == after.pairs == 60
    assert before.reward_accuracy == pytest.approx(0.5)  # policy == reference before DPO: every pair ties
    assert before.reward_margin == pytest.approx(0.0, abs=1e-6)
    assert after.reward_accuracy >= 0.9
    assert after.reward_margin > before.reward_margin + 0.05
    assert after.logps_chosen - after.logps_rejected > before.logps_chosen - before.logps_rejected


def test_swapped_labels_drive_accuracy_down(runs):
    _, dpo = runs["swapped"]
    after = dpo.eval_after
    print(f"\nswapped train labels: {dpo.eval_before} -> {after}")
    assert after.reward_accuracy <= 0.1
    assert after.reward_margin < 0


def test_outputs_carry_provenance_and_eval(runs, task_data):
    sft, dpo = runs["true"]
    for result in (sft, dpo):
        out = result.output
        assert (out / "config.json").is_file() and (out / "model.safetensors").is_file()
        assert (out / "recipe.yaml").is_file()
        record = json.loads((out / "prefdata_train.json").read_text())
        assert record["stage"] == result.stage
        assert record["instruction_tuned"] is True
        assert record["dataset"]["manifest_sha256"] == hashlib.sha256((task_data / "manifest.json").read_bytes()).hexdigest()
        assert record["recipe"]["trl"]["learning_rate"] == pytest.approx(5e-3)
        assert record["trl_config"]["max_length"] == 64
        for package in ("prefdata", "trl", "transformers", "peft", "torch"):
            assert record["versions"][package], package
        assert record["precision"]["name"] == "fp32"  # CPU
        assert record["activation_checkpointing"] is False  # never on CPU (hardware.py)
    evaluation = json.loads((dpo.output / "eval.json").read_text())
    assert evaluation["before"]["reward_accuracy"] == pytest.approx(0.5)
    assert evaluation["after"]["reward_accuracy"] == pytest.approx(dpo.eval_after.reward_accuracy)
    assert json.loads((dpo.output / "prefdata_train.json").read_text())["reference"] == "adapters off"


def test_saved_models_are_plain_transformers_models(runs):
    """LoRA is merged on save: the output loads without PEFT and differs from its starting point."""
    import torch
    from transformers import AutoModelForCausalLM

    sft, dpo = runs["true"]
    a = AutoModelForCausalLM.from_pretrained(sft.output)
    b = AutoModelForCausalLM.from_pretrained(dpo.output)
    assert not any("lora" in name for name, _ in b.named_parameters())
    diffs = [
        not torch.equal(pa, pb) for (_, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True)
    ]
    assert any(diffs)


def test_seeded_runs_repeat(task_data, sft_model, tmp_path):
    """Same seed, same data -> the same eval numbers (CPU is deterministic here)."""
    overrides = {**DPO_FAST, "trl.max_steps": 3}
    r1 = train_dpo(task_data, str(sft_model), tmp_path / "a", overrides=overrides, no_check=True)
    r2 = train_dpo(task_data, str(sft_model), tmp_path / "b", overrides=overrides, no_check=True)
    assert r1.eval_after == r2.eval_after

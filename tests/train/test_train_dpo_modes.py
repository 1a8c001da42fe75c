"""DPO without LoRA (explicit reference model), with precomputed reference log-probs, and with another loss."""

from __future__ import annotations

import json

import pytest

from prefdata.train import RecipeError, train_dpo
from tests.support.fast_training import DPO_FAST


def test_full_finetuning_uses_an_explicit_reference_model(task_data, sft_model, tmp_path, monkeypatch):
    import trl

    seen = {}
    original = trl.DPOTrainer.__init__

    def spy(self, *args, **kwargs):
        seen.update(kwargs)
        original(self, *args, **kwargs)

    monkeypatch.setattr(trl.DPOTrainer, "__init__", spy)
    overrides = {**DPO_FAST, "lora": None, "trl.learning_rate": 1e-3, "trl.max_steps": 4}
    result = train_dpo(task_data, str(sft_model), tmp_path / "full", overrides=overrides, no_check=True)
    assert seen["ref_model"] is not None and seen["ref_model"] is not seen["model"]
    assert seen["peft_config"] is None
    assert result.record["reference"] == str(sft_model)
    assert not (tmp_path / "full" / "adapter").exists()
    assert result.eval_before.reward_accuracy == pytest.approx(0.5)
    assert result.eval_after.reward_margin > 0


def test_ref_model_flag_is_refused_with_lora(task_data, sft_model, tmp_path):
    with pytest.raises(RecipeError, match="only applies to full fine-tuning"):
        train_dpo(
            task_data, str(sft_model), tmp_path / "o", overrides=DPO_FAST, ref_model=str(sft_model), no_check=True
        )


def test_precomputed_reference_log_probs_give_the_same_eval(task_data, sft_model, tmp_path):
    """Precomputing the reference (once, before training) changes cost, not the numbers."""
    base = {**DPO_FAST, "trl.max_steps": 4, "eval.max_pairs": 16}
    plain = train_dpo(task_data, str(sft_model), tmp_path / "plain", overrides=base, no_check=True)
    pre = train_dpo(
        task_data,
        str(sft_model),
        tmp_path / "pre",
        overrides={**base, "trl.precompute_ref_log_probs": True},
        no_check=True,
    )
    assert pre.record["trl_config"]["precompute_ref_log_probs"] is True
    assert pre.eval_after.reward_accuracy == pytest.approx(plain.eval_after.reward_accuracy)
    assert pre.eval_after.reward_margin == pytest.approx(plain.eval_after.reward_margin, rel=1e-3, abs=1e-5)


def test_ipo_loss_runs(task_data, sft_model, tmp_path):
    result = train_dpo(
        task_data,
        str(sft_model),
        tmp_path / "ipo",
        overrides={**DPO_FAST, "trl.loss_type": ["ipo"], "trl.max_steps": 2, "eval.enabled": False},
        no_check=True,
    )
    assert result.eval_after is None and not (tmp_path / "ipo" / "eval.json").exists()
    assert json.loads((tmp_path / "ipo" / "prefdata_train.json").read_text())["trl_config"]["loss_type"] == ["ipo"]

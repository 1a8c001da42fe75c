"""DPO without LoRA (explicit reference model), with precomputed reference log-probs, and with another loss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prefdata.train import RecipeError, train_dpo
from tests.support.canonical_data import synthetic_task, write_canonical
from tests.support.fast_training import DPO_FAST, full


def test_full_finetuning_uses_an_explicit_reference_model(task_data, sft_model, tmp_path, monkeypatch):
    import trl

    seen = {}
    original = trl.DPOTrainer.__init__

    def spy(self, *args, **kwargs):
        seen.update(kwargs)
        original(self, *args, **kwargs)

    monkeypatch.setattr(trl.DPOTrainer, "__init__", spy)
    overrides = {**full(DPO_FAST), "trl.learning_rate": 1e-3, "trl.max_steps": 4}
    result = train_dpo(task_data, str(sft_model), tmp_path / "full", overrides=overrides, no_check=True)
    assert seen["ref_model"] is not None and seen["ref_model"] is not seen["model"]
    assert seen["peft_config"] is None
    assert result.record["reference"] == {"spec": str(sft_model), "path": str(Path(sft_model).resolve()), "kind": "local"}
    assert not (tmp_path / "full" / "adapter").exists()
    assert result.eval_before.reward_accuracy == pytest.approx(0.5)
    assert result.eval_after.reward_margin > 0


def test_a_different_ref_model_is_trained_against_evaluated_against_and_recorded(task_data, tiny_model, sft_model, tmp_path):
    """Full fine-tuning against an explicit, *different* --ref-model (the SFT model, while the policy starts from the
    untrained tiny model), with `from_instruct: true` given in the recipe file, not as an argument. One step.

    - evaluate.py: the reward is beta * (log pi - log pi_ref) with pi_ref that model, so before training it is not 0
      (it is 0 only when the reference is the policy's start, as in the test above);
    - the record's `reference` names --ref-model by absolute path, so the run can be repeated against those weights;
    - README: "`--from-instruct` is the recipe's `from_instruct: true`": the record says from_instruct true (it is
      what let a model without an SFT record be trained).
    """
    from prefdata.train.recipe import dump_recipe, load_recipe

    overrides = {**full(DPO_FAST), "trl.max_steps": 1, "eval.max_pairs": 8, "from_instruct": True}
    (tmp_path / "recipe.yaml").write_text(dump_recipe(load_recipe("dpo", None, overrides)))
    result = train_dpo(task_data, str(tiny_model), tmp_path / "dpo", recipe=tmp_path / "recipe.yaml",
                       ref_model=str(sft_model), no_check=True)  # fmt: skip
    record = json.loads((tmp_path / "dpo" / "prefdata_train.json").read_text())
    assert record["reference"] == {"spec": str(sft_model.resolve()), "path": str(sft_model.resolve()), "kind": "local"}
    assert record["base_model"]["path"] == str(tiny_model.resolve())
    assert record["from_instruct"] is True and result.record["from_instruct"] is True
    assert result.eval_before is not None and result.eval_before.pairs == 8
    assert result.eval_before.reward_margin != 0.0


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


def test_precomputed_reference_with_ld_alpha_still_gives_plain_log_prob_rewards(task_data, sft_model, tmp_path):
    """With `ld_alpha`, TRL precomputes length-desensitized reference log-probs; the evaluation took them as the
    reference of its plain sums, so before training (policy = reference) the margin was not 0, and after
    training the accuracy and margin in eval.json were wrong."""
    splits = synthetic_task(n_train=16, n_test=8)
    for row in splits["train"] + splits["test"]:  # LD weighting changes only what is past the shorter completion
        row["rejected"] = [{"role": "assistant", "content": row["rejected"][0]["content"] * 3}]
    data = write_canonical(tmp_path / "data", splits)
    overrides = {**DPO_FAST, "trl.max_steps": 1, "trl.precompute_ref_log_probs": True, "trl.ld_alpha": 0.5}
    result = train_dpo(data, str(sft_model), tmp_path / "ld", overrides=overrides, no_check=True)
    assert result.eval_before.reward_margin == pytest.approx(0, abs=1e-6)
    assert result.eval_before.reward_accuracy == pytest.approx(0.5)


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


def test_the_evaluation_before_training_uses_the_prepared_model(task_data, sft_model, tmp_path, monkeypatch):
    """Regression (seen on an H200 under `accelerate launch --config_file train/accelerate/fsdp.yaml`):
    the Trainer moves, wraps and shards the model only when ``train()`` starts, so an evaluation run
    before ``train()`` met a CPU model with CUDA batches. Every evaluation forward pass must now see a
    model the accelerator has prepared, and the one before training must come before the first step."""
    from prefdata.train import evaluate

    calls = []
    original = evaluate._sequence_logps

    def spy(model, batch):
        trainer = spy.trainer
        calls.append((len(trainer.accelerator._models), trainer.state.global_step))
        return original(model, batch)

    import trl

    original_init = trl.DPOTrainer.__init__

    def capture(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        spy.trainer = self

    monkeypatch.setattr("trl.DPOTrainer.__init__", capture)
    monkeypatch.setattr(evaluate, "_sequence_logps", spy)
    result = train_dpo(task_data, str(sft_model), tmp_path / "o", overrides={**DPO_FAST, "trl.max_steps": 3}, no_check=True)
    assert calls and all(prepared > 0 for prepared, _ in calls)
    steps = [step for _, step in calls]
    assert steps[0] == 0 and steps[-1] == 3  # before the first step, and after the last
    assert result.eval_before.reward_accuracy == pytest.approx(0.5)


def test_the_fsdp_warm_up_runs_before_any_reference_forward(task_data, sft_model, tmp_path, monkeypatch):
    """Under FSDP with LoRA, the first forward must have the adapters on (prefdata/train/startup.py).
    CPU runs are never FSDP, so the predicate is forced; the warm-up itself then runs on the plain model."""
    from prefdata.train import dpo, evaluate

    order = []
    warm_up, sequence_logps = dpo.warm_up_fsdp, evaluate._sequence_logps

    def spy_warm_up(trainer, tokenizer):
        order.append(("warm-up", trainer.state.global_step))
        warm_up(trainer, tokenizer)

    def spy_logps(model, batch):
        order.append(("eval", None))
        return sequence_logps(model, batch)

    monkeypatch.setattr(dpo, "needs_fsdp_warm_up", lambda trainer, lora: lora)
    monkeypatch.setattr(dpo, "warm_up_fsdp", spy_warm_up)
    monkeypatch.setattr(evaluate, "_sequence_logps", spy_logps)
    result = train_dpo(task_data, str(sft_model), tmp_path / "o", overrides={**DPO_FAST, "trl.max_steps": 2}, no_check=True)
    assert order[0] == ("warm-up", 0)
    assert [o for o in order if o[0] == "warm-up"] == [("warm-up", 0)]
    assert result.eval_before.reward_accuracy == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.0, "+0.0000"), (-0.0123, "-0.0123"), (0.001, "+0.0010"), (5e-5, "+5.00e-05"), (-2.5e-4, "-2.50e-04")],
)
def test_margins_print_with_four_decimals_or_in_scientific_notation_when_tiny(value, shown):
    """evaluate.signed: four decimals, scientific notation for a tiny nonzero margin of a few-step run, and
    never a bare +0: an exact 0 (the margin before training) prints as +0.0000, not +0.00e+00."""
    from prefdata.train.evaluate import signed

    assert signed(value) == shown

"""The held-out evaluation's parts (prefdata/train/evaluate.py), on stand-in models: the summed completion
log-probabilities and the inference context. The whole evaluation, before and after DPO, is exercised by
test_train_dpo_modes.py and test_train_learning.py."""

from __future__ import annotations

import contextlib
import math
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")


def test_sequence_logps_sum_exactly_the_completion_tokens():
    """evaluate.py _sequence_logps: "Summed log-probability of the completion tokens of each sequence". Token t is
    predicted by the logits at t - 1, so its log-prob is logits[t-1][ids[t]] - log(sum(exp(logits[t-1]))), counted
    where completion_mask[t] is 1: not the first prompt token's, not the padding after the completion. The batch
    holds the chosen half, then the rejected half. The oracle is math.log/math.exp over plain lists."""
    vocab = 4
    ids = [[0, 1, 2, 3, 0, 0], [3, 2, 1, 1, 2, 0]]
    completion = [[0, 0, 1, 1, 0, 0], [0, 1, 1, 1, 1, 0]]  # prompt, completion, padding
    logits = [[[(3 * s + 5 * t + 7 * v) % 11 / 4 - 1 for v in range(vocab)] for t in range(6)] for s in range(2)]

    def by_hand(s: int) -> float:
        total = 0.0
        for t in range(1, 6):
            if completion[s][t]:
                row = logits[s][t - 1]
                total += row[ids[s][t]] - math.log(sum(math.exp(x) for x in row))
        return total

    from prefdata.train.evaluate import _sequence_logps

    def model(**kwargs):
        return SimpleNamespace(logits=torch.tensor(logits))

    batch = {"input_ids": torch.tensor(ids), "attention_mask": torch.ones(2, 6, dtype=torch.long),
             "completion_mask": torch.tensor(completion)}  # fmt: skip
    chosen, rejected = _sequence_logps(model, batch)
    assert [float(chosen[0]), float(rejected[0])] == pytest.approx([by_hand(0), by_hand(1)], abs=1e-5)


def test_inference_is_eval_mode_without_gradients_and_restores_the_training_mode():
    """evaluate.py _inference: "Eval mode, no gradients, the run's autocast; the model's training mode is restored
    after". The evaluation before DPO runs in on_train_begin: a model left in eval mode would train with dropout
    off (LoRA's dropout is 0.05 by default). A model in eval mode stays in it."""
    from prefdata.train.evaluate import _inference

    accelerator = SimpleNamespace(autocast=contextlib.nullcontext)
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5))
    model.train()
    with _inference(model, accelerator):
        inside = (model.training, model[1].training, torch.is_grad_enabled())
    assert inside == (False, False, False)
    assert model.training and model[1].training and torch.is_grad_enabled()
    with pytest.raises(RuntimeError), _inference(model, accelerator):
        raise RuntimeError("an evaluation that fails still gives the model back in training mode")
    assert model.training and model[1].training
    model.eval()
    with _inference(model, accelerator):
        pass
    assert not model.training

"""Held-out preference evaluation: does the policy prefer the chosen response on pairs it never saw?

For each held-out pair (tokenized and truncated by TRL exactly as in training) this computes the summed
log-probability of the chosen and the rejected completion under the policy and under the reference,
and from them DPO's implicit reward ``r = beta * (log pi(y|x) - log pi_ref(y|x))``:

- ``reward_accuracy``: share of pairs with r(chosen) > r(rejected); an exact tie counts one half. Before
  DPO the policy *is* the reference, every reward is 0, and the accuracy is 0.5 by construction: the
  number to watch is the one after training.
- ``reward_margin``: mean of r(chosen) - r(rejected).
- ``logps_chosen`` / ``logps_rejected``: mean summed log-probabilities under the policy.
- ``logp_accuracy``: share of pairs where the policy itself gives the chosen completion the higher
  log-probability (ties half), meaningful before training too.

TRL's own ``evaluate`` averages batch means and counts ties as failures (0.0 accuracy at step 0), hence
this small, exact version. The logits are computed per eval batch (``eval.batch_size`` pairs); the
reference log-probs are computed once and reused after training (the reference does not change).
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class PreferenceEval:
    pairs: int
    reward_accuracy: float
    reward_margin: float
    logps_chosen: float
    logps_rejected: float
    logp_accuracy: float

    def to_json(self) -> dict[str, float | int]:
        return asdict(self)


def _sequence_logps(model, batch) -> tuple:
    """Summed log-probability of the completion tokens of each sequence (chosen half, rejected half)."""
    import torch

    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False).logits
    labels = batch["input_ids"][:, 1:]
    mask = batch["completion_mask"][:, 1:]
    sums = []
    for i in range(logits.size(0)):  # one sequence at a time: the fp32 copy of (length x vocab) stays small
        row = logits[i, :-1].float()
        token_logps = row.gather(-1, labels[i].unsqueeze(-1)).squeeze(-1) - torch.logsumexp(row, dim=-1)
        sums.append((token_logps * mask[i]).sum())
    return torch.stack(sums).chunk(2, dim=0)


def _reference_context(trainer):
    """Context in which ``trainer.model`` computes reference log-probs: adapters off with PEFT."""
    from accelerate.utils import is_peft_model

    unwrapped = trainer.accelerator.unwrap_model(trainer.model)
    if trainer.ref_model is None and is_peft_model(unwrapped):
        return unwrapped.disable_adapter()
    return contextlib.nullcontext()


@contextlib.contextmanager
def _inference(model, accelerator):
    """Eval mode, no gradients, the run's autocast; the model's training mode is restored after."""
    import torch

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), accelerator.autocast():
            yield
    finally:
        if was_training:
            model.train()


def _eval_batches(trainer):
    """Batches of the prepared eval set, in a fixed order (the Trainer's eval loader does not shuffle),
    all of them: ``dataloader_drop_last`` (a training setting) would leave the last partial batch out
    of the held-out numbers while ``eval.json`` counts every pair."""
    args = trainer.args
    drop_last = args.dataloader_drop_last
    args.dataloader_drop_last = False
    try:
        return trainer.get_eval_dataloader(trainer.eval_dataset)
    finally:
        args.dataloader_drop_last = drop_last


def reference_logps(trainer):
    """Summed completion log-probs of every eval pair under the reference: ``(chosen, rejected)`` tensors.

    The reference does not change during training, so this runs once (before the first step) and serves the
    evaluation before and after. Uses TRL's precomputed values when ``precompute_ref_log_probs`` put them in
    the batches, unless ``ld_alpha`` is set: TRL then stores length-desensitized values (the part both
    completions share plus ``ld_alpha`` times the rest), which against the policy's plain sums gave
    rewards that were not 0 before training.
    """
    import torch

    accelerator = trainer.accelerator
    model = trainer.model
    plain_sums = getattr(trainer.args, "ld_alpha", None) is None
    chosen, rejected = [], []
    with _inference(model, accelerator):
        for batch in _eval_batches(trainer):
            if plain_sums and "ref_chosen_logps" in batch:
                rc, rr = batch["ref_chosen_logps"].float(), batch["ref_rejected_logps"].float()
            elif trainer.ref_model is not None:
                rc, rr = _sequence_logps(trainer.ref_model, batch)
            else:
                with _reference_context(trainer):
                    rc, rr = _sequence_logps(model, batch)
            rc, rr = accelerator.gather_for_metrics((rc, rr))
            chosen.append(rc.cpu())
            rejected.append(rr.cpu())
    return torch.cat(chosen).double(), torch.cat(rejected).double()


def evaluate_preferences(trainer, *, beta: float, reference) -> PreferenceEval:
    """Evaluate ``trainer.model`` on ``trainer.eval_dataset`` (as prepared by TRL) against ``reference``."""
    import torch

    accelerator = trainer.accelerator
    model = trainer.model
    chosen, rejected = [], []
    with _inference(model, accelerator):
        for batch in _eval_batches(trainer):
            pc, pr = accelerator.gather_for_metrics(_sequence_logps(model, batch))
            chosen.append(pc.cpu())
            rejected.append(pr.cpu())
    pc, pr = torch.cat(chosen).double(), torch.cat(rejected).double()
    rc, rr = reference
    margin = beta * ((pc - rc) - (pr - rr))

    def share(diff):
        return float(((diff > 0).double() + 0.5 * (diff == 0).double()).mean())

    return PreferenceEval(
        pairs=int(pc.numel()),
        reward_accuracy=share(margin),
        reward_margin=float(margin.mean()),
        logps_chosen=float(pc.mean()),
        logps_rejected=float(pr.mean()),
        logp_accuracy=share(pc - pr),
    )


def signed(value: float) -> str:
    """Four decimals, or scientific notation for the tiny margins of a few-step run (never a bare ``+0``)."""
    return f"{value:+.4f}" if value == 0 or abs(value) >= 1e-3 else f"{value:+.2e}"


def format_eval_table(
    before: PreferenceEval | None, after: PreferenceEval | None, *, beta: float, split: str = "test"
) -> str:
    """A small before/after table for the terminal, naming the held-out split it was computed on."""
    rows = [
        ("reward accuracy", "reward_accuracy", "{:.3f}".format),
        ("reward margin", "reward_margin", signed),
        ("log p(chosen)", "logps_chosen", "{:.2f}".format),
        ("log p(rejected)", "logps_rejected", "{:.2f}".format),
        ("log-prob accuracy", "logp_accuracy", "{:.3f}".format),
    ]
    shown = after or before
    pairs = shown.pairs if shown else 0
    lines = [f"held-out eval: {split} split, {pairs} pairs, beta {beta:g}", f"  {'':<20}{'before':>11} {'after':>11}"]
    for label, key, fmt in rows:
        b = fmt(getattr(before, key)) if before else "-"
        a = fmt(getattr(after, key)) if after else "-"
        lines.append(f"  {label:<20}{b:>11} {a:>11}")
    return "\n".join(lines)

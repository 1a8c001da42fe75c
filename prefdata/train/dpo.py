"""Stage 2: DPO from the SFT model, evaluated on the held-out split before and after.

The held-out split is ``test``, else ``validation`` (:func:`prefdata.splits.held_out_split`), the one
``check`` measures leakage into; eval.json and the printed table name it.

Guardrails, in the order they fire (all before any weight is read): beta explicit and > 0 (warned
outside [0.01, 1]), ``loss_type`` among those TRL implements, the model has an SFT record (or
``--from-instruct``), the data is TRL-safe and passes ``check``. The reference model is the same
weights with the LoRA adapters off (TRL does this when the policy is a PEFT model: no second copy);
with full fine-tuning an explicit reference model is loaded (``ref_model``, default: the same model).
``precompute_ref_log_probs`` (recipe or flag) computes the reference once, before training.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from prefdata.train.data import drop_report, load_split, row_place
from prefdata.train.errors import setup_errors
from prefdata.train.evaluate import PreferenceEval, evaluate_preferences, reference_logps, signed
from prefdata.train.gate import check_command
from prefdata.train.models import load_model
from prefdata.train.output_dir import discarded_on_refusal, shown
from prefdata.train.prepare import Progress, load_for_training, prepare_inputs
from prefdata.train.provenance import build_record, model_ref, run_fields, sft_lineage
from prefdata.train.result import TrainResult
from prefdata.train.save import publish, save_model, write_provenance
from prefdata.train.startup import at_train_begin, needs_fsdp_warm_up, warm_up_fsdp
from prefdata.train.trl_config import build_lora_config

logger = logging.getLogger("prefdata.train")


def train_dpo(
    data: str | Path,
    model: str | os.PathLike[str] | None = None,
    output: str | Path = "dpo-out",
    *,
    recipe: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    from_instruct: bool = False,
    ref_model: str | os.PathLike[str] | None = None,
    no_check: bool = False,
    overwrite: bool = False,
    callbacks: list | None = None,
    progress: Progress = logger.info,
) -> TrainResult:
    """DPO-train ``model`` (an SFT output, or an instruct model with ``from_instruct=True``) on ``data``.

    Writes the model, ``recipe.yaml``, ``prefdata_train.json`` and ``eval.json`` to ``output``.
    ``callbacks`` are extra ``transformers.TrainerCallback`` objects (trackers, timing, early stopping).
    """
    from trl import DPOTrainer

    inputs = prepare_inputs(
        "dpo",
        data=data,
        model=model,
        output=output,
        recipe=recipe,
        overrides=overrides,
        no_check=no_check,
        overwrite=overwrite,
        from_instruct=from_instruct,
        ref_model=ref_model,
        progress=progress,
    )
    lora = inputs.recipe.lora is not None
    beta = inputs.args.beta
    train = load_split(inputs.data, "train")
    held_out_pairs, held_out = None, inputs.data.held_out
    if inputs.recipe.eval.enabled and held_out is not None:
        held_out_pairs = load_split(inputs.data, held_out, limit=inputs.recipe.eval.max_pairs)
        notes = ["the dataset has no test pairs"] if held_out != "test" else []
        if others := inputs.data.not_evaluated():
            notes.append(f"not evaluated: {', '.join(others)}")
        if notes:
            progress(f"eval: on the {held_out} split, {len(held_out_pairs)} pairs ({'; '.join(notes)})")
    elif inputs.recipe.eval.enabled:
        progress(f"eval: skipped, {inputs.data.no_held_out()}")

    with discarded_on_refusal(inputs.staging):
        policy, tokenizer = load_for_training(inputs, sequences_per_pair=2, progress=progress)
        reference = None
        if not lora:
            ref = inputs.ref or inputs.model
            reference = load_model(
                ref, dtype=inputs.precision.weight_dtype(lora=False), model_kwargs=inputs.recipe.model_kwargs,
                flag="--ref-model" if inputs.ref else "--model",
            )
            progress(f"reference model: {ref.describe()} (explicit copy, full fine-tuning)")
        else:
            progress("reference model: the policy with its LoRA adapters off (no second copy)")

        with setup_errors(check_command=check_command(
            inputs.data.root, inputs.recipe.check, inputs.model.location, inputs.args.max_length
        )):
            trainer = DPOTrainer(
                model=policy,
                ref_model=reference,
                args=inputs.args,
                train_dataset=train,
                eval_dataset=held_out_pairs,
                processing_class=tokenizer,
                peft_config=build_lora_config(inputs.recipe.lora),
                callbacks=callbacks,
            )
        drops = {"train": drop_report("train", train, trainer.train_dataset, inputs.args.max_length,
                                      place=row_place(inputs.data, "train"))}
        if held_out_pairs is not None:
            drops[held_out] = drop_report(held_out, held_out_pairs, trainer.eval_dataset, inputs.args.max_length,
                                          place=row_place(inputs.data, held_out))
        for report in drops.values():
            progress("TRL preparation: " + report.describe())
        drops["train"].require_pairs_left()

    baseline: dict[str, Any] = {}
    evaluate = trainer.eval_dataset is not None and len(trainer.eval_dataset) > 0
    if held_out_pairs is not None and not evaluate:
        progress(f"eval: skipped, TRL dropped all {len(held_out_pairs)} {held_out} pairs (each prompt alone reaches max_length)")

    def on_train_begin() -> None:  # the model as training uses it (prefdata/train/startup.py)
        if needs_fsdp_warm_up(trainer, lora=lora):
            warm_up_fsdp(trainer, tokenizer)
        if evaluate:
            baseline["reference"] = reference_logps(trainer)  # once: the reference does not change during training
            baseline["before"] = evaluate_preferences(trainer, beta=beta, reference=baseline["reference"])

    trainer.add_callback(at_train_begin(on_train_begin))
    progress(
        f"training: {drops['train'].pairs_kept} pairs, {inputs.describe_mode()}, "
        f"{trainer.accelerator.num_processes} process(es), beta {beta:g}, "
        f"loss {inputs.args.loss_type}, precompute_ref_log_probs={inputs.args.precompute_ref_log_probs}"
    )
    output_train = trainer.train()
    ref_logps, before = baseline.get("reference"), baseline.get("before")
    after = evaluate_preferences(trainer, beta=beta, reference=ref_logps) if ref_logps is not None else None
    if before is not None and after is not None:
        progress(
            f"eval: reward accuracy {before.reward_accuracy:.3f} -> {after.reward_accuracy:.3f}, "
            f"margin {signed(before.reward_margin)} -> {signed(after.reward_margin)} ({after.pairs} {held_out} pairs)"
        )

    save_model(trainer, model=inputs.model, output=inputs.staging, lora=lora)
    eval_doc = _eval_doc(before, after, split=held_out, beta=beta, drops=drops) if held_out_pairs is not None else None
    record = build_record(
        stage="dpo",
        instruction_tuned=True,
        from_instruct=inputs.from_instruct,
        base_model={**model_ref(inputs.model), "sft_record": (inputs.model.record or {}).get("created")},
        sft=sft_lineage(inputs.model),
        reference="adapters off" if lora else model_ref(inputs.ref or inputs.model),
        **run_fields(inputs, trainer, drops, output_train.metrics),
        eval=eval_doc,
    )
    write_provenance(trainer, output=inputs.staging, recipe=inputs.recipe, record=record, eval_doc=eval_doc)
    publish(trainer, staging=inputs.staging, output=inputs.output)
    progress(f"saved: {shown(inputs.output)}")
    return TrainResult(
        stage="dpo",
        output=inputs.output,
        record=record,
        drops=drops,
        train_metrics=output_train.metrics,
        eval_before=before,
        eval_after=after,
    )


def _eval_doc(
    before: PreferenceEval | None, after: PreferenceEval | None, *, split: str, beta: float, drops
) -> dict[str, Any]:
    return {
        "split": split,
        "beta": beta,
        "pairs": (after or before).pairs if (after or before) else 0,
        "dropped_by_trl": drops[split].dropped if split in drops else None,
        **({} if (after or before) else {"skipped": f"TRL dropped every {split} pair: each prompt alone reaches max_length"}),
        "definition": (
            "reward = beta * (log pi(y|x) - log pi_ref(y|x)) summed over completion tokens; reward_accuracy = share "
            "of pairs with reward(chosen) > reward(rejected), ties count 1/2 (before DPO the policy is the "
            "reference, so every pair ties); logp_accuracy = share with log pi(chosen) > log pi(rejected)"
        ),
        "before": before.to_json() if before else None,
        "after": after.to_json() if after else None,
    }

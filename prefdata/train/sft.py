"""Stage 1: supervised fine-tuning on the chosen side, as prompt-completion data.

Each pair becomes ``{prompt: [...messages], completion: [chosen assistant turn(s)]}``; TRL's
``SFTTrainer`` applies the chat template and puts the loss on the completion only
(``completion_only_loss=True``, set by prefdata). LoRA by default. The output directory holds a
plain model plus a training record that marks it instruction-tuned, which is what stage 2 asks for.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from prefdata.train.data import drop_report, load_split, row_place, to_prompt_completion
from prefdata.train.errors import setup_errors
from prefdata.train.gate import check_command
from prefdata.train.output_dir import discarded_on_refusal, shown
from prefdata.train.prepare import Progress, load_for_training, prepare_inputs
from prefdata.train.provenance import build_record, model_ref, run_fields
from prefdata.train.result import TrainResult
from prefdata.train.save import publish, save_model, write_provenance
from prefdata.train.trl_config import build_lora_config

logger = logging.getLogger("prefdata.train")


def train_sft(
    data: str | Path,
    model: str | os.PathLike[str] | None = None,
    output: str | Path = "sft-out",
    *,
    recipe: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    no_check: bool = False,
    overwrite: bool = False,
    callbacks: list | None = None,
    progress: Progress = logger.info,
) -> TrainResult:
    """Train ``model`` on prompt -> chosen of the dataset at ``data``; save to ``output``.

    ``overrides`` are dotted recipe keys (``{"trl.learning_rate": 1e-4, "lora": None}``); ``callbacks`` are
    extra ``transformers.TrainerCallback`` objects (trackers, timing, early stopping).
    Raises :class:`~prefdata.train.errors.TrainError` subclasses before loading anything when an input is invalid.
    """
    from trl import SFTTrainer

    inputs = prepare_inputs(
        "sft",
        data=data,
        model=model,
        output=output,
        recipe=recipe,
        overrides=overrides,
        no_check=no_check,
        overwrite=overwrite,
        progress=progress,
    )
    train = to_prompt_completion(load_split(inputs.data, "train"))
    with discarded_on_refusal(inputs.staging):
        policy, tokenizer = load_for_training(inputs, sequences_per_pair=1, progress=progress)
        with setup_errors(check_command=check_command(
            inputs.data.root, inputs.recipe.check, inputs.model.location, inputs.args.max_length
        )):
            trainer = SFTTrainer(
                model=policy,
                args=inputs.args,
                train_dataset=train,
                processing_class=tokenizer,
                peft_config=build_lora_config(inputs.recipe.lora),
                callbacks=callbacks,
            )
        drops = {
            "train": drop_report(
                "train", train, trainer.train_dataset, inputs.args.max_length,
                tokenizer=trainer.processing_class, chat_template=trainer.chat_template, place=row_place(inputs.data, "train"),
            )
        }
        progress("TRL preparation: " + drops["train"].describe())
        drops["train"].require_pairs_left()
    progress(
        f"training: {drops['train'].pairs_kept} pairs, {inputs.describe_mode()}, "
        f"{trainer.accelerator.num_processes} process(es)"
    )
    output_train = trainer.train()
    save_model(trainer, model=inputs.model, output=inputs.staging, lora=inputs.recipe.lora is not None)
    record = build_record(
        stage="sft",
        instruction_tuned=True,
        base_model=model_ref(inputs.model),
        **run_fields(inputs, trainer, drops, output_train.metrics),
    )
    write_provenance(trainer, output=inputs.staging, recipe=inputs.recipe, record=record)
    publish(trainer, staging=inputs.staging, output=inputs.output)
    progress(f"saved: {shown(inputs.output)}")
    return TrainResult(
        stage="sft", output=inputs.output, record=record, drops=drops, train_metrics=output_train.metrics
    )

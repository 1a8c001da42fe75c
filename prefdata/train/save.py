"""Write the trained model to ``--output`` as a plain transformers model directory, with its provenance.

Everything is written into the run's staging directory and published as ``--output`` at the end
(:func:`publish`), so a run that dies leaves the previous output whole.

With LoRA the adapter is saved by the trainer (``DIR/adapter``; the trainer gathers it under FSDP or
DeepSpeed ZeRO-3), then merged into a fresh copy of the base weights on the main process and saved
as a full model in ``DIR``. The next stage, ``generate``, vLLM or the Hub then need nothing from PEFT,
and DPO's reference (the same weights with its own new adapters off) is exactly this SFT model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefdata.train import output_dir
from prefdata.train.models import ResolvedModel, load_model
from prefdata.train.provenance import write_record
from prefdata.train.recipe import Recipe, dump_recipe

ADAPTER_DIR = "adapter"
EVAL_FILE = "eval.json"


def save_model(trainer, *, model: ResolvedModel, output: Path, lora: bool) -> None:
    """Save the trained model (merged if LoRA) and tokenizer into ``output``. Call on every process."""
    accelerator = trainer.accelerator
    if not lora:
        trainer.save_model(str(output))
        return
    adapter_dir = output / ADAPTER_DIR
    trainer.save_model(str(adapter_dir))
    if accelerator.is_main_process:
        from peft import PeftModel

        _name_base_model(adapter_dir, model.location)

        base = load_model(model, dtype="auto")
        merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
        merged.save_pretrained(str(output))
        trainer.processing_class.save_pretrained(str(output))
    accelerator.wait_for_everyone()


def _name_base_model(adapter_dir: Path, location: str) -> None:
    """Name the adapter's base model as the record does (a local directory by absolute path): PEFT
    writes ``--model`` as typed ("sft"), which ``AutoPeftModelForCausalLM`` resolves from the current
    directory, then on the Hub, so the adapter loaded from nowhere else, or loaded another model."""
    config = adapter_dir / "adapter_config.json"
    if config.is_file():
        fields = json.loads(config.read_text(encoding="utf-8"))
        fields["base_model_name_or_path"] = location
        config.write_text(json.dumps(fields, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_provenance(
    trainer,
    *,
    output: Path,
    recipe: Recipe,
    record: dict[str, Any],
    eval_doc: dict[str, Any] | None = None,
) -> None:
    """``recipe.yaml``, ``prefdata_train.json`` and (DPO) ``eval.json``; main process only."""
    if not trainer.accelerator.is_main_process:
        return
    output.mkdir(parents=True, exist_ok=True)
    (output / "recipe.yaml").write_text(dump_recipe(recipe), encoding="utf-8")
    write_record(output, record)
    if eval_doc is not None:
        (output / EVAL_FILE).write_text(json.dumps(eval_doc, indent=2) + "\n", encoding="utf-8")


def publish(trainer, *, staging: Path, output: Path) -> None:
    """Swap the complete staging directory in as ``output`` (:mod:`prefdata.train.output_dir`).

    Call on every process, after :func:`save_model` and :func:`write_provenance`: until then the
    previous ``output`` (if any) is untouched.
    """
    if trainer.accelerator.is_main_process:
        card = staging / "README.md"  # TRL's model card names the model after the directory it saved into
        if card.is_file():
            card.write_text(card.read_text(encoding="utf-8").replace(staging.name, output.name), encoding="utf-8")
        output_dir.commit(staging, output)
    trainer.accelerator.wait_for_everyone()

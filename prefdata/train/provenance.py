"""What is written next to a trained model so that it can be traced and reproduced.

``DIR/prefdata_train.json`` (the *training record*) holds the stage, the base model, the dataset
(path, sha256 of its ``manifest.json`` or, without one, of each shard), the effective recipe and the
full TRL config, the precision and device, what TRL dropped, the evaluation, and the versions of
prefdata, TRL, transformers, PEFT, torch, accelerate and datasets. ``DIR/recipe.yaml`` is the effective
recipe, runnable again with ``--recipe``. A record with ``instruction_tuned: true`` is what lets
``prefdata train dpo`` accept the directory as its starting model.
"""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from prefdata.build.output import sha256_file
from prefdata.train.data import TrainingData
from prefdata.train.models import RECORD_FILE

RECORD_FORMAT = 1
VERSIONED_PACKAGES = ("prefdata", "trl", "transformers", "peft", "torch", "accelerate", "datasets")


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def dataset_fingerprint(data: TrainingData) -> dict[str, Any]:
    """Identify the exact dataset: the manifest's sha256 (it lists every shard's sha256), else each shard's,
    and the shards each split read: a dataset card can map the same shards to other splits, so the hash
    alone does not say which pairs trained and which were held out."""
    out: dict[str, Any] = {
        "path": str(data.root.resolve()),
        "rows": dict(data.rows),
        "splits": {split: [f.relative_to(data.root).as_posix() for f in fs] for split, fs in data.shards.items()},
    }
    if data.manifest is not None:
        out["manifest_sha256"] = sha256_file(data.manifest)
    else:
        out["manifest_sha256"] = None
        out["shards"] = [
            {"path": str(f.relative_to(data.root)), "sha256": sha256_file(f)} for fs in data.shards.values() for f in fs
        ]
    return out


def to_jsonable(value: Any) -> Any:
    """JSON-safe copy (enums, paths, dtypes become strings)."""
    return json.loads(json.dumps(value, default=str))


def _published(config: dict[str, Any], staging: Path, output: Path) -> dict[str, Any]:
    """``config`` with paths under the staging directory shown where they end up, under ``output``."""
    where, final = str(staging), str(output)
    return {k: final + v[len(where):] if isinstance(v, str) and v.startswith(where) else v for k, v in config.items()}


def model_ref(model: Any) -> dict[str, Any]:
    """How a record names a model: as given, and (local ones) by absolute path, valid from any directory."""
    return {"spec": model.spec, "path": model.location, "kind": model.kind}


def sft_lineage(model: Any) -> dict[str, Any] | None:
    """What a DPO record keeps of the SFT record of its starting model: when it was made, from which
    base model and dataset, and the sha256 of the record itself, so the chain holds without the SFT
    directory."""
    record = model.record
    if not record:
        return None
    path = Path(model.path) / RECORD_FILE
    return {
        "created": record.get("created"),
        "record_sha256": sha256_file(path) if path.is_file() else None,
        "base_model": record.get("base_model"),
        "dataset": record.get("dataset"),
    }


def run_fields(inputs: Any, trainer: Any, drops: dict[str, Any], train_metrics: dict[str, Any]) -> dict[str, Any]:
    """What every stage's record says about its run: dataset, check, recipe, TRL config, hardware."""
    return {
        "dataset": dataset_fingerprint(inputs.data),
        "check": inputs.gate,
        "recipe": inputs.recipe.model_dump(mode="json"),
        "recipe_source": inputs.recipe_source,
        "trl_config": _published(inputs.args.to_dict(), inputs.staging, inputs.output),
        "precision": {"name": inputs.precision.name, "device": inputs.precision.device_name},
        "distributed": {
            "type": str(trainer.accelerator.distributed_type.value),
            "processes": trainer.accelerator.num_processes,
        },
        "activation_checkpointing": getattr(inputs.args, "activation_checkpointing", inputs.args.gradient_checkpointing),
        "drops": {k: v.to_json() for k, v in drops.items()},
        "train_metrics": train_metrics,
    }


def build_record(**fields: Any) -> dict[str, Any]:
    record = {
        "format": RECORD_FORMAT,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **fields,
        "versions": package_versions(),
        "python": platform.python_version(),
    }
    return to_jsonable(record)


def write_record(directory: Path, record: dict[str, Any]) -> Path:
    path = directory / RECORD_FILE
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path

"""What a training stage returns to its caller (the CLI prints it; Python users inspect it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefdata.train.data import DropReport
from prefdata.train.evaluate import PreferenceEval


@dataclass
class TrainResult:
    stage: str
    output: Path
    record: dict[str, Any]
    drops: dict[str, DropReport] = field(default_factory=dict)
    train_metrics: dict[str, Any] = field(default_factory=dict)
    eval_before: PreferenceEval | None = None
    eval_after: PreferenceEval | None = None

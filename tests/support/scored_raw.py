"""Raw preference or transcript records whose scores agree, tie, run against the label and are
missing: the cases ``scores_must_agree`` decides, shared by the build's and the re-split's tests."""

from __future__ import annotations

import json
from pathlib import Path


def _row(shape: str, c: float | None, r: float | None, i: int) -> dict:
    if shape == "preference":
        return {"prompt": f"Q{i}", "chosen": f"good {i}", "rejected": f"bad {i}", "score_chosen": c, "score_rejected": r}
    return {"chosen": f"\n\nHuman: Q{i}\n\nAssistant: good {i}", "rejected": f"\n\nHuman: Q{i}\n\nAssistant: bad {i}", "score_chosen": c, "score_rejected": r}


def write_scored(folder: Path, shape: str) -> tuple[Path, dict[str, str]]:
    """``scored.jsonl`` in ``folder`` (records 1-4: scores 8>3, 5=5, 2<7, none vs 4) and the columns
    a ``shape`` source maps for it."""
    raw = Path(folder) / "scored.jsonl"
    raw.write_text("".join(json.dumps(_row(shape, c, r, i)) + "\n" for c, r, i in ((8, 3, 1), (5, 5, 2), (2, 7, 3), (None, 4, 4))))
    columns = {"score_chosen": "score_chosen", "score_rejected": "score_rejected"} | ({"prompt": "prompt"} if shape == "preference" else {})
    return raw, columns

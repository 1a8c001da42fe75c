"""Detection of the shapes beyond preference/transcript (pairwise, rated, ranked, feedback, tree)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any


def detect_other(sample: Sequence[Mapping[str, Any]], keys: Counter[str]) -> dict[str, Any] | None:
    return None

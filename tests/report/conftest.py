"""Fixtures of the report tests (the datasets themselves are made in ``tests/report/report_datasets.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.report.report_datasets import REJECTS, checks_doc, rich_splits, write_dataset


@pytest.fixture
def rich_dataset(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """(OUT, the hostile row): scores, positions, multi-turn, token lengths, rejects, failed checks."""
    splits, hostile = rich_splits()
    offending = [hostile["id"], splits["train"][0]["id"], splits["test"][0]["id"]]
    out = write_dataset(tmp_path / "out", splits, rejects=REJECTS, checks=checks_doc(offending))
    return out, hostile

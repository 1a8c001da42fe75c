"""Datasets and a tokenizer shared by the check tests (built once per session, in seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.check import seeded
from tests.check.tokenizer import save_tokenizer

CONFIG = seeded.SEEDED / "config.yaml"
BENCHMARK = seeded.SEEDED / "benchmark_prompts.txt"
#: Chosen so that only the planted long prompt is dropped and only the planted late difference is cut.
MAX_LENGTH = 400


@pytest.fixture(scope="session")
def seeded_dataset(tmp_path_factory) -> Path:
    return seeded.materialize(tmp_path_factory.mktemp("seeded"))


@pytest.fixture(scope="session")
def clean_dataset(tmp_path_factory) -> Path:
    return seeded.materialize(tmp_path_factory.mktemp("clean"), keys=seeded.clean_keys())


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory) -> Path:
    texts = [m["content"] for r in seeded.rows() for col in ("prompt", "chosen", "rejected")
             for m in (r[col] if isinstance(r[col], list) else [{"content": r[col]}])]
    return save_tokenizer(texts, tmp_path_factory.mktemp("tokenizer"))


@pytest.fixture
def fresh_seeded(tmp_path) -> Path:
    """A private copy (for tests that write into the dataset directory)."""
    return seeded.materialize(tmp_path / "seeded")

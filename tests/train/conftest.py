"""Fixtures of the training tests: a learnable synthetic preference task and a tiny local Llama.

Everything is built locally in seconds (no hub access; HF_HUB_OFFLINE is set by tests/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.canonical_data import all_texts, synthetic_task, write_canonical
from tests.support.fast_training import SFT_FAST
from tests.support.model_loads import forbid_model_loads


@pytest.fixture(scope="session")
def task_splits() -> dict[str, list[dict]]:
    return synthetic_task()


@pytest.fixture(scope="session")
def task_data(tmp_path_factory, task_splits) -> Path:
    """The synthetic task as a canonical dataset (train 240 pairs, test 60 pairs, disjoint prompts)."""
    return write_canonical(tmp_path_factory.mktemp("task") / "out", task_splits)


@pytest.fixture(scope="session")
def swapped_data(tmp_path_factory) -> Path:
    """The same task with chosen and rejected swapped in the train split; the test split keeps the true labels."""
    return write_canonical(tmp_path_factory.mktemp("swapped") / "out", synthetic_task(swap_train=True))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, task_splits) -> Path:
    """A randomly initialised tiny Llama with a BPE tokenizer trained on the task's texts."""
    from tests.support.tiny_model import make_tiny_llama

    return make_tiny_llama(tmp_path_factory.mktemp("tiny") / "model", all_texts(task_splits))


@pytest.fixture(scope="session")
def sft_model(tmp_path_factory, task_data, tiny_model) -> Path:
    """The tiny model after `train sft` on the task (has an SFT record)."""
    from prefdata.train import train_sft

    out = tmp_path_factory.mktemp("sft") / "model"
    train_sft(task_data, str(tiny_model), out, overrides=SFT_FAST, no_check=True)
    return out


@pytest.fixture
def no_model_loads(monkeypatch):
    """Any attempt to load or convert a model raises ModelLoaded (tests/support/model_loads.py)."""
    forbid_model_loads(monkeypatch)

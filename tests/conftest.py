"""Shared test setup: offline Hugging Face, paths to fixtures and to the shared real data."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# datasets' cache of their own: load_dataset(OUT) keys a folder whose card maps its files by the folder's
# name and the card, so a cache another run left (~/.cache/huggingface/datasets/out/...) would be read
os.environ["HF_DATASETS_CACHE"] = tempfile.mkdtemp(prefix="prefdata-tests-hf-datasets-")
atexit.register(shutil.rmtree, os.environ["HF_DATASETS_CACHE"], ignore_errors=True)

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
SHARED_DATA = REPO.parent / "shared" / "data"


SHARED_DATA_MISSING = "../shared/data is not present"


@pytest.fixture(autouse=True)
def _sigint_handler_restored():
    """A test that calls ``prefdata.cli.console_main()`` in-process leaves SIGINT ignored, as the command
    does on its way out: put back the handler pytest had, so Ctrl-C still stops the test run."""
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """With PREFDATA_NO_SKIPS=1 (set by .ci/run) a skipped test fails: CI must not go green on tests
    that did not run (a missing browser, model package or extra). Only the shared real data may be
    absent, as it lives outside the repository."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("PREFDATA_NO_SKIPS") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if SHARED_DATA_MISSING not in reason:
            report.outcome = "failed"
            report.longrepr = f"skipped under PREFDATA_NO_SKIPS=1: {reason}"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real public preference data); tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(SHARED_DATA_MISSING)
    return SHARED_DATA


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES

"""An unexpected exception exits 3, never 1: for ``prefdata check`` exit 1 means "the data failed an
error-severity check", and a CI job must not read a crash as that."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from prefdata.cli import INTERNAL_ERROR, main


def test_an_internal_error_exits_3_with_the_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom inside prefdata")

    monkeypatch.setattr(importlib.import_module("prefdata.check"), "check", broken)  # the module, not the function it exports
    monkeypatch.setattr(sys, "argv", ["prefdata", "check", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == INTERNAL_ERROR == 3
    err = capsys.readouterr().err
    assert "RuntimeError: boom inside prefdata" in err and "Traceback" in err
    assert "internal error in prefdata" in err


def test_usage_errors_keep_their_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["prefdata", "check", str(tmp_path / "missing")])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2

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


def test_a_panic_in_polars_exits_3_not_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A panic in polars' Rust code (pyo3's PanicException, which an unused decimal256 Parquet column
    raised) is a BaseException, not an Exception: it passed the last line of defence and exited 1."""
    import polars as pl

    def broken(*args: object, **kwargs: object) -> None:
        raise pl.exceptions.PanicException("operator does not support primitive `Int256`")

    monkeypatch.setattr(importlib.import_module("prefdata.check"), "check", broken)
    monkeypatch.setattr(sys, "argv", ["prefdata", "check", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == INTERNAL_ERROR
    assert "internal error in prefdata" in capsys.readouterr().err

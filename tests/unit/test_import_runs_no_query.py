"""``import prefdata`` runs before the CLI's error handler exists, so it must do no polars work (no
query, no thread pool started): a query at import (leakage's empty-prompt key) panicked under
``POLARS_MAX_THREADS=0`` and the process exited 1, which for ``prefdata check`` means "an
error-severity check failed"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], check=False, cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", **env})


def test_import_starts_no_polars_query_and_a_panic_later_is_not_exit_1(tmp_path: Path) -> None:
    probe = ("import polars as pl\n"
             "from polars.lazyframe.frame import LazyFrame\n"
             "ran = []\n"
             "for owner, name in ((pl, 'select'), (pl, 'thread_pool_size'), (pl.DataFrame, 'select'), (LazyFrame, 'collect')):\n"
             "    def spy(*a, _f=getattr(owner, name), _n=name, **k):\n"
             "        ran.append(_n)\n"
             "        return _f(*a, **k)\n"
             "    setattr(owner, name, spy)\n"
             "import prefdata, prefdata.cli\n"
             # the API and command modules: imported when a command runs, still before any query may
             "import prefdata.build.pipeline, prefdata.check.api, prefdata.inspect, prefdata.report\n"
             "import prefdata.cli.build, prefdata.cli.check, prefdata.cli.inspect, prefdata.cli.report\n"
             "print(ran)\n")
    result = _run(["-c", probe], tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr
    (tmp_path / "s.jsonl").write_text("".join(json.dumps({"prompt": f"p{i}", "chosen": "a", "rejected": "b"}) + "\n" for i in range(3)))
    assert _run(["-m", "prefdata", "build", "s.jsonl", "out", "-q"], tmp_path).returncode == 0
    assert _run(["-c", "import prefdata"], tmp_path, POLARS_MAX_THREADS="0").returncode == 0
    check = _run(["-m", "prefdata", "check", "out", "--no-write", "-q"], tmp_path, POLARS_MAX_THREADS="0")
    assert check.returncode != 1, check.stderr  # polars' panic is an internal error (3), not "checks failed"

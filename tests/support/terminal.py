"""Run the ``prefdata`` CLI with stderr on a pseudo-terminal, to see what a user's terminal shows."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from tests.conftest import REPO


def run_on_a_terminal(args: list[str], *, exit_code: int = 0) -> str:
    """Run ``prefdata`` with stderr on a pseudo-terminal; return what the terminal showed."""
    leader, follower = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="120")
    proc = subprocess.Popen([sys.executable, "-m", "prefdata", *args], stdout=subprocess.DEVNULL, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait()
    os.close(leader)
    assert proc.returncode == exit_code
    return b"".join(chunks).decode("utf-8", "replace")

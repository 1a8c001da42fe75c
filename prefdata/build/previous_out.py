"""What a rebuild does with the previous OUT once the new one is swapped in.

A build owns what it writes into OUT (``data/``, ``rejects/``, ``kto/``, ``manifest.json``,
``README.md``) and what ``check`` and ``report`` derived from the pairs there (``checks.json``,
``report.html``, ``report.md``). Anything else is the user's: the ``.git`` of a Hub dataset
repository, a model trained into ``OUT/sft``, notes. It is moved into the new OUT; what cannot be
moved (a mount point, another disk, a name the new OUT already holds) is never deleted: the previous
OUT is then kept beside OUT under a visible name, and the build says where.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

#: Where a build spills its partitions while it runs, inside its temp folder.
SPILL_DIR = "_spill"
#: What builds write into OUT (and, while they run, into their temp folder).
BUILD_WRITES = frozenset({"data", "rejects", "kto", "manifest.json", "README.md", SPILL_DIR})
#: What check and report derived from the pairs: it describes pairs that are gone.
DERIVED_FROM_PAIRS = frozenset({"checks.json", "report.html", "report.md"})


@dataclass
class Settled:
    moved: list[str] = field(default_factory=list)  # names moved into the new OUT
    left: list[tuple[str, str]] = field(default_factory=list)  # names that could not be, with why
    kept_at: Path | None = None  # where the previous OUT is kept when something was left

    def note(self) -> str | None:
        """What was moved, said in the build's log."""
        return f"kept from the previous OUT (not written by builds): {', '.join(self.moved)}" if self.moved else None

    def warning(self) -> str | None:
        """What could not be moved, and where the previous OUT is kept: a warning of the build."""
        if not self.left:
            return None
        why = "; ".join(f"{name} ({reason})" for name, reason in self.left)
        return f"warning: could not move into the new OUT: {why}; the previous OUT is kept at {self.kept_at}"


def settle_previous(previous: Path, out: Path) -> Settled:
    """Move the user's entries of ``previous`` into ``out``, then remove ``previous``, or keep it
    (less what builds own) under a visible name beside ``out`` when an entry could not be moved."""
    settled = Settled()
    try:
        names = sorted(os.listdir(previous))
    except OSError:
        return settled
    for name in names:
        if name in BUILD_WRITES or name in DERIVED_FROM_PAIRS:
            continue
        if os.path.lexists(out / name):
            settled.left.append((name, "the new OUT holds that name already"))
            continue
        try:
            os.rename(previous / name, out / name)
            settled.moved.append(name)
        except OSError as exc:
            settled.left.append((name, exc.strerror or str(exc)))
    if not settled.left:
        shutil.rmtree(previous, ignore_errors=True)
        return settled
    for name in names:
        if name in BUILD_WRITES or name in DERIVED_FROM_PAIRS:
            _remove(previous / name)
    kept = out.parent / f"{out.name}.previous-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    try:
        os.rename(previous, kept)
        settled.kept_at = kept
    except OSError:
        settled.kept_at = previous
    return settled


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)

"""Where a stage writes: a staging directory beside ``--output``, swapped in once everything is written.

TRL writes checkpoints and its model card as training goes, prefdata then writes the weights, the
record, the recipe and the evaluation. Written straight into ``--output``, a run that dies half way
leaves new weights next to the previous run's record (which ``train dpo`` would accept as an SFT
model), and ``--overwrite`` leaves files of the previous model that the new run did not write (an
``eval.json``, an ``adapter/``). So a stage writes into ``.<name>.prefdata-partial`` beside the
output and, only when the model and its record are complete, replaces the output with it in two
renames, as ``prefdata build`` does: the previous output stays whole until then.

``--overwrite`` replaces a directory only when it holds a model (a training record or a
``config.json``) or nothing: never the dataset, never a folder of other files.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefdata.train.errors import OutputDirError, TrainError
from prefdata.train.models import RECORD_FILE

STAGING_SUFFIX = ".prefdata-partial"
REPLACED_SUFFIX = ".prefdata-replaced"


def _real(output: Path) -> Path:
    """The directory a run replaces: ``output`` itself, or the target of ``output`` when it is a link
    (the link is kept and points at the new model)."""
    return output.resolve() if output.is_symlink() else output


def staging_dir(output: Path) -> Path:
    real = _real(output)
    return real.parent / f".{real.name}{STAGING_SUFFIX}"


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output(output: Path, *, data: Path, models: list[str], overwrite: bool) -> None:
    """Refuse an ``--output`` that the run must not write or replace; raises :class:`OutputDirError`."""
    if output.exists() and not output.is_dir():
        raise OutputDirError(f"--output {shown(output)}: exists and is not a directory")
    target, dataset = output.resolve(), data.resolve()
    if _inside(target, dataset) or _inside(dataset, target):
        raise OutputDirError(f"--output {shown(output)} and --data {data} overlap; write the model outside the dataset")
    if _inside(Path.cwd().resolve(), target):
        raise OutputDirError(f"--output {shown(output)} is (or holds) the current directory, which the run would replace; choose another")
    for spec in models:
        local = Path(spec).expanduser()
        if local.exists() and _inside(local.resolve(), target):
            raise OutputDirError(f"--output {shown(output)} holds the input model {spec}; write the new model elsewhere")
    if not output.is_dir() or not any(output.iterdir()):
        return
    if not overwrite:
        raise OutputDirError(f"--output {shown(output)}: directory is not empty; choose a new one or pass --overwrite")
    if not ((output / RECORD_FILE).is_file() or (output / "config.json").is_file()):
        raise OutputDirError(
            f"--output {shown(output)}: --overwrite replaces a model directory, and this one holds no model "
            f"({RECORD_FILE} or config.json) but other files; choose a new or empty directory"
        )


def begin(output: Path) -> Path:
    """A fresh, empty staging directory for ``output`` (a crashed run's leftovers removed). Main process only."""
    staging = staging_dir(output)
    try:
        _remove(staging)
        staging.mkdir(parents=True)
    except OSError as exc:
        raise OutputDirError(
            f"--output {shown(output)}: cannot create {staging.name} beside it ({exc.strerror or exc}); the run writes there "
            "and swaps it in at the end, so the folder that holds --output must be writable"
        ) from None
    return staging


def commit(staging: Path, output: Path) -> None:
    """Replace ``output`` with ``staging``: the previous output is whole until the first rename. Main process only."""
    real = _real(output)
    replaced = real.parent / f".{real.name}{REPLACED_SUFFIX}"
    _remove(replaced)
    if real.exists():
        real.rename(replaced)
    staging.rename(real)
    _remove(replaced)


@contextmanager
def discarded_on_refusal(staging: Path) -> Iterator[None]:
    """Remove the staging directory when a refusal (a :class:`TrainError`, e.g. a recipe value only the
    loaded model can judge) ends the run before training: it holds nothing worth keeping."""
    try:
        yield
    except TrainError:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def shown(output: Path) -> str:
    """``output`` as messages show it: relative to the current directory when it lies under it."""
    try:
        return str(output.relative_to(Path.cwd()))
    except ValueError:
        return str(output)

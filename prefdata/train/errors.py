"""Typed errors of ``prefdata train``: each says what is wrong, where, and how to fix it.

The CLI maps every :class:`TrainError` to exit code 2 (the run was refused before or while validating
its inputs); anything else that escapes is a bug or a failure inside torch/TRL and keeps its traceback.
"""

from __future__ import annotations

from prefdata.errors import PrefdataError


class TrainError(PrefdataError):
    """Base class: training was refused because an input (recipe, data, model, flags) is invalid."""


class RecipeError(TrainError):
    """The recipe or a flag that overrides it is invalid (unknown field, bad value, deprecated TRL name)."""


class DataError(TrainError):
    """The dataset is not in the form TRL must receive (see ``prefdata/schema.py``), or nothing is left to train on."""


class CheckFailedError(DataError):
    """``prefdata check`` found error-severity problems in the dataset; ``--no-check`` overrides."""


class ModelError(TrainError):
    """The model could not be resolved or loaded (no such path, hub unreachable, package missing)."""


class StageError(TrainError):
    """The stages are out of order: DPO was asked of a model that has no SFT record."""


class OutputDirError(TrainError):
    """``--output`` cannot be used (not empty without ``--overwrite``, or the same as the input model)."""

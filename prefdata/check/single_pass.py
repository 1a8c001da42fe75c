"""The single lazy pass: one streaming scan computes every row-level quantity at once.

The normalized dataset (:mod:`prefdata.check.dataset`) gets the flat view columns (:mod:`.view`),
then one ``select`` evaluates the suite's per-row expectation columns and every check family's
feature columns. polars' streaming engine runs it in morsels of about 2 MB over all cores
(:mod:`prefdata.io.morsels`), so the 1 GB of text is read once and never held in memory; what comes
back is a compact frame (hashes, lengths, flags, ids) a few bytes per column per row, from which the
verdicts are computed.
"""

from __future__ import annotations

import polars as pl

from prefdata.check.checks import FAMILIES
from prefdata.check.config import CheckConfig
from prefdata.check.dataset import Dataset
from prefdata.check.engine_polars import Plan
from prefdata.check.view import with_view

#: Columns every check may use, besides its own features.
BASE_COLUMNS = ("_row", "id", "source", "split", "chosen_position")


def feature_exprs(config: CheckConfig) -> dict[str, pl.Expr]:
    out: dict[str, pl.Expr] = {}
    for family in FAMILIES:
        out.update(family.features(config))
    return out


def single_pass(dataset: Dataset, config: CheckConfig, plans: list[Plan]) -> pl.DataFrame:
    exprs = {name: pl.col(name) for name in BASE_COLUMNS}
    exprs.update(feature_exprs(config))
    for plan in plans:
        exprs.update(plan.columns)
    lf = with_view(dataset.scan()).select(*[e.alias(name) for name, e in exprs.items()])
    # The streaming engine returns each column in hundreds of morsel-sized chunks; every later
    # select, filter or join over the frame pays per chunk (the PII matches' extraction took 1.5 s
    # over 650 chunks, 0.02 s over one), so the compact frame is made contiguous once.
    return dataset.collect(lf).rechunk()

"""What every preference check receives and returns.

A check family module exposes ``features(config) -> dict[name, Expr]`` (per-row columns it needs,
computed in the single lazy pass over the view together with the suite's expectations) and
``run(ctx) -> list[CheckOutcome]`` (the verdicts, computed from the compact per-row ``ctx.frame``).
Checks that need another look at the text (MinHash similarity, benchmark n-grams, tokenization)
do it through the dataset in ``ctx``, once, and share it via :meth:`Context.cached`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from prefdata.check.config import CheckConfig, CheckSettings
from prefdata.check.dataset import Dataset
from prefdata.check.results import CheckOutcome
from prefdata.progress import SILENT, Progress


@dataclass
class Options:
    """Inputs beyond the dataset that some checks need."""

    tokenizer: str | Path | None = None
    max_length: int | None = None
    benchmark_prompts: str | Path | None = None


@dataclass
class Context:
    dataset: Dataset
    frame: pl.DataFrame  # compact per-row features from the single pass, in ``_row`` order
    config: CheckConfig
    options: Options
    seconds: dict[str, float] = field(default_factory=dict)
    progress: Progress = SILENT  # checks with a long pass of their own (tokenizer, MinHash) report here
    _cache: dict[str, Any] = field(default_factory=dict)

    def settings(self, check_id: str) -> CheckSettings:
        return self.config.checks.get(check_id)

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def ids(self, mask: pl.Expr | pl.Series) -> list[str]:
        """The ``id`` of every row where ``mask`` holds, in row order.

        One entry per offending *pair* (row), so ``offending_count`` counts the pairs a message talks
        about even when ids repeat (copies of a pair share its content hash) or are missing; a row with
        a null id is named by its place instead (:meth:`Dataset.locate`), so checks.json keeps a list of
        strings that ``report`` can read.
        """
        rows = self.frame.filter(mask).select("_row", "id")
        ids = rows.get_column("id").to_list()
        if rows.get_column("id").null_count():
            positions = rows.get_column("_row").to_list()
            ids = [self.dataset.locate(r) if i is None else i for r, i in zip(positions, ids)]
        return ids

    def ids_of_rows(self, rows: pl.Series | list[int]) -> list[str]:
        """:meth:`ids` of the given ``_row`` numbers (each row once, in row order)."""
        rows = pl.Series("r", rows, dtype=pl.Int64)
        return self.ids(pl.col("_row").cast(pl.Int64).is_in(rows.implode()))


def share(count: int, total: int) -> float | None:
    return count / total if total else None


def count_outcome(
    ctx: Context,
    check_id: str,
    offending_ids: list[str],
    statistic: dict[str, Any],
    message: str,
) -> CheckOutcome:
    """The usual verdict: fail when more pairs offend than ``max_count`` allows."""
    s = ctx.settings(check_id)
    limit = getattr(s, "max_count", 0)
    return CheckOutcome(
        id=check_id,
        severity=s.severity,
        passed=len(offending_ids) <= limit,
        statistic=statistic,
        threshold=s.threshold(),
        offending_ids=offending_ids,
        message=message,
    )


def skipped(ctx: Context, check_id: str, reason: str, statistic: dict[str, Any] | None = None) -> CheckOutcome:
    s = ctx.settings(check_id)
    return CheckOutcome(
        id=check_id, severity=s.severity, passed=True, statistic=statistic or {}, threshold=s.threshold(),
        offending_ids=[], message=f"skipped: {reason}", skipped=reason,
    )


def disabled(ctx: Context, check_id: str, origin: str) -> CheckOutcome:
    """A check the config turns off (``enabled: false``), listed as skipped with the config named.

    Left out, it vanished from the table, checks.json and the report, which then read "Checks
    passed": "no near duplicates" and "near duplicates not looked for" must not look alike.
    """
    return skipped(ctx, check_id, f"disabled in {origin}")


def run_enabled(ctx: Context, checks: dict[str, Callable[[Context], CheckOutcome]]) -> list[CheckOutcome]:
    """The outcomes of the checks (id -> function) that the config enables, in the given order."""
    return [check(ctx) for check_id, check in checks.items() if ctx.config.checks.get(check_id).enabled]


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def percent(value: float, *bounds: float) -> str:
    """``value`` as a percentage with as many decimals as it takes to stay on its side of each bound:
    a failing 0.654 against a 0.65 limit reads 65.4%, not a passing-looking 65%.

    >>> percent(0.654, 0.35, 0.65), percent(0.5, 0.35, 0.65), percent(0.6500001, 0.65)
    ('65.4%', '50%', '65.0000%')
    """
    for digits in range(4):
        text = f"{value:.{digits}%}"
        shown = float(text[:-1]) / 100
        if all((shown > b) == (value > b) and (shown < b) == (value < b) for b in bounds):
            return text
    return f"{value:.4%}"

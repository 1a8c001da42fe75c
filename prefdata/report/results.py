"""Check results (``checks.json``, docs/contracts.md) shaped for display.

Failed checks come first, worst severity first, because that is what decides whether a dataset is fit
to train on. Statistics are flattened to short strings; nested ones (``by_source``) are kept whole
for a collapsible view. The truncation checks' token-length histogram feeds the token plot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from prefdata.report.examples import MAX_ROWS_PER_NAME, NamedPairs, PairView
from prefdata.report.numbers import decimal

SEVERITY_RANK = {"error": 0, "warn": 1, "info": 2}
#: Display strings longer than this are cut (a statistic or kwargs value can hold data text).
MAX_VALUE_CHARS = 240


class SharedId(NamedTuple):
    """An offending id that several rows have: ``rows`` have it, ``pairs`` differ among the first ``read``.

    Either different pairs share it (``pairs > 1``), or more rows have it than were read, all copies
    of one pair (``differ`` is False): the rows not read may hold the pair that offended.
    """

    id: str
    rows: int
    read: int
    pairs: int

    @property
    def differ(self) -> bool:
        return self.pairs > 1


@dataclass(frozen=True)
class CheckView:
    id: str
    severity: str
    passed: bool
    message: str
    statistic: list[tuple[str, str]]
    threshold: list[tuple[str, str]]
    nested: list[tuple[str, str]]
    offending_count: int
    #: The first ``per_check`` distinct offending ids (:func:`first_distinct`).
    offending_ids: list[str]
    examples: list[PairView] = field(default_factory=list)
    missing_examples: int = 0
    #: Offending names whose pairs are shown: the first ``per_check`` distinct names, less those not in
    #: the data (checks.json names copies of one pair by the same id, and they show once).
    shown_offending: int = 0
    #: The shown ids that different pairs share (the pairs of all of their first rows are shown), or
    #: that more rows have than were read.
    shared_ids: list[SharedId] = field(default_factory=list)
    skipped: str | None = None  # why the check did not run (e.g. no --tokenizer); it then counts as passed

    @property
    def status(self) -> str:
        return "skipped" if self.skipped else ("pass" if self.passed else "fail")


@dataclass(frozen=True)
class ExpectationView:
    type: str
    kwargs: str
    severity: str
    success: bool
    unexpected: str
    partial: list[str]


def fmt_value(value: Any) -> str:
    """A short display string: thousands separators, up to 4 decimals, JSON for the rest."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return decimal(value, 4)
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def _split_stats(stats: Any) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    if not isinstance(stats, dict):
        return ([("value", fmt_value(stats))] if stats is not None else []), []
    flat, nested = [], []
    for key, value in stats.items():
        (nested if isinstance(value, (dict, list)) else flat).append((str(key), fmt_value(value)))
    return flat, nested


def first_distinct(ids: list[str], n: int) -> list[str]:
    """The first ``n`` distinct ids of ``ids``: checks.json names the copies of one pair by one id
    (``exact_duplicates``), and taking ``n`` ids before dropping the repeats showed fewer pairs than
    asked for, and a number that hung on the order of the rows."""
    return list(dict.fromkeys(ids))[:n]


def offending_ids_to_show(checks: dict[str, Any] | None, per_check: int) -> list[str]:
    """The ids the report needs to fetch: the first ``per_check`` distinct offending ids of each failed check."""
    ids: list[str] = []
    for check in (checks or {}).get("checks", []):
        if not check["passed"]:
            ids.extend(first_distinct(check.get("offending_ids", []), per_check))
    return ids


def _examples(shown: list[str], named: dict[str, NamedPairs]) -> tuple[list[PairView], list[SharedId]]:
    """The pairs of the shown offending names (each once), and the names several pairs may share.

    checks.json names an offending pair by its id, so when different pairs share that id the
    report cannot tell which of them offended: it shows them all and says so, rather than pick one.
    When more rows have the id than were read (:data:`MAX_ROWS_PER_NAME`), the rows not read may
    hold another pair, the offending one, even where those read are copies of one pair: said too.
    """
    found = [n for n in shown if n in named]
    examples = [p for n in found for p in named[n].pairs]
    shared = [SharedId(n, named[n].rows, min(named[n].rows, MAX_ROWS_PER_NAME), len(named[n].pairs)) for n in found]
    return examples, [s for s in shared if s.differ or s.rows > s.read]


def check_views(checks: dict[str, Any] | None, named: dict[str, NamedPairs], per_check: int) -> list[CheckView]:
    """One view per check: failed first (error, warn, info), then passed, then skipped; else file order.

    ``named``: the pairs of each offending name found in the data (:func:`prefdata.report.examples.fetch`).
    """
    if not checks:
        return []
    views = []
    for check in checks.get("checks", []):
        stat, nested = _split_stats(check.get("statistic"))
        thr, thr_nested = _split_stats(check.get("threshold"))
        ids = check.get("offending_ids", [])
        first = first_distinct(ids, per_check)
        distinct = [] if check["passed"] else first
        examples, shared = _examples(distinct, named)
        missing = sum(i not in named for i in distinct)
        views.append(
            CheckView(
                id=check["id"],
                severity=check["severity"],
                passed=check["passed"],
                message=str(check.get("message") or ""),
                statistic=stat,
                threshold=thr + thr_nested,
                nested=nested,
                offending_count=int(check.get("offending_count", len(ids)) or 0),
                offending_ids=first,
                examples=examples,
                missing_examples=missing,
                shown_offending=len(distinct) - missing,
                shared_ids=shared,
                skipped=str(check["skipped"]) if check.get("skipped") else None,
            )
        )
    order = {id(v): i for i, v in enumerate(views)}
    status_rank = {"fail": 0, "pass": 1, "skipped": 2}
    return sorted(views, key=lambda v: (status_rank[v.status], SEVERITY_RANK[v.severity], order[id(v)]))


def expectation_views(checks: dict[str, Any] | None) -> list[ExpectationView]:
    """Failed expectations first; each with its unexpected count and a few unexpected values."""
    if not checks:
        return []
    views = []
    for exp in checks.get("expectations", []):
        result = exp.get("result") or {}
        count, pct = result.get("unexpected_count"), result.get("unexpected_percent")
        unexpected = "" if count is None else f"{count:,}" + (f" ({pct:.3g}%)" if isinstance(pct, (int, float)) else "")
        views.append(
            ExpectationView(
                type=exp["expectation_type"],
                kwargs=fmt_value(exp.get("kwargs") or {}),
                severity=str(exp.get("severity") or "error"),
                success=exp["success"],
                unexpected=unexpected,
                partial=[fmt_value(v) for v in (result.get("partial_unexpected_list") or [])[:5]],
            )
        )
    return sorted(views, key=lambda v: (v.success, SEVERITY_RANK.get(v.severity, 3)))


def check_summary(checks: dict[str, Any] | None) -> dict[str, Any] | None:
    """Counts of failed checks and expectations by severity, recomputed from the entries themselves."""
    if checks is None:
        return None
    failed = {"error": 0, "warn": 0, "info": 0}
    total = skipped = 0
    for entry in checks.get("checks", []):
        total += 1
        skipped += bool(entry.get("skipped"))
        if not entry["passed"]:
            failed[entry["severity"]] += 1
    for entry in checks.get("expectations", []):
        total += 1
        if not entry["success"]:
            failed[entry.get("severity", "error") if entry.get("severity") in failed else "error"] += 1
    passed = checks.get("passed")
    if not isinstance(passed, bool):
        passed = failed["error"] == 0
    return {"passed": passed, "failed": failed, "total": total, "skipped": skipped, "strict": bool(checks.get("strict"))}


def token_lengths(checks: dict[str, Any] | None) -> dict[str, Any] | None:
    """Token-length statistics of the truncation checks, if ``prefdata check --tokenizer`` recorded them.

    Read from the statistic of any check whose id contains ``truncation`` and that ran (not
    skipped): ``max_length`` (int), ``tokenizer`` (str, optional), ``pairs_truncated`` (optional),
    and for the plot ``length_histogram: {"bin_edges": [...], "chosen": [...], "rejected": [...]}``
    (counts per bin of prompt+response token lengths, docs/contracts.md). Without it, the result has
    no ``bin_edges`` and the plot says what the check did record.
    """
    found = None
    for check in (checks or {}).get("checks", []):
        if "truncation" not in check["id"] or check.get("skipped"):
            continue
        stat = check.get("statistic")
        if not isinstance(stat, dict) or not isinstance(stat.get("max_length"), (int, float)):
            continue
        hist = stat.get("length_histogram")
        out = {"max_length": stat["max_length"], "tokenizer": stat.get("tokenizer"), "check": check["id"],
               "pairs_truncated": stat.get("pairs_truncated")}
        sides_ok = isinstance(hist, dict) and all(hist.get(k) in (None, []) or _numbers(hist.get(k)) for k in ("chosen", "rejected"))
        if sides_ok and _numbers(hist.get("bin_edges")) and any(_numbers(hist.get(k)) for k in ("chosen", "rejected")):
            edges = hist["bin_edges"]
            if all(len(hist.get(k) or []) in (0, len(edges) - 1) for k in ("chosen", "rejected")):
                return out | {"bin_edges": edges, "chosen": hist.get("chosen") or [], "rejected": hist.get("rejected") or []}
        found = found or out
    return found


def _numbers(value: Any) -> bool:
    return isinstance(value, list) and len(value) > 0 and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)

"""What the report says, independent of how it is shown: verdict, headline numbers, count tables.

``report.html``, ``report.md`` and the card's quality summary all render this one object, so they
can never disagree about a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefdata import __version__
from prefdata.io.discover import shown_name
from prefdata.report.aggregates import Aggregates, summary_stats
from prefdata.report.dataset import Dataset
from prefdata.report.examples import MAX_MESSAGE_CHARS, PairView
from prefdata.report.numbers import decimal
from prefdata.report.plots import Plot
from prefdata.report.results import CheckView, ExpectationView, check_summary


def num(value: Any) -> str:
    """Thousands separators, and decimals only where a value has them (a median of 1,412.5); ``—`` for unknown."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return decimal(value)
    return f"{value:,}"


#: The per-source table lists this many sources (those with the most pairs, as ``by_source`` is sorted);
#: the rest are summed in one row: a folder of 20,000 files is 20,000 sources.
MAX_SOURCE_ROWS = 30


def _source_rows(by_source: dict[str, dict[str, Any]], splits: list[str]) -> list[dict[str, Any]]:
    """One row per source, the sources after ``MAX_SOURCE_ROWS`` summed in a last row."""

    def row(name: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
        def total(key: str) -> int | None:
            values = [v.get(key) for v in entries]
            return None if any(x is None for x in values) else sum(values)

        return {
            "name": name,
            "read": num(total("records_read")),
            "rejected": num(total("records_rejected")),
            "pairs": num(total("pairs_written")),
            "splits": [num(sum(v["pairs_by_split"].get(s, 0) for v in entries)) for s in splits],
        }

    items = list(by_source.items())
    rows = [row(name, [v]) for name, v in items[:MAX_SOURCE_ROWS]]
    if rest := items[MAX_SOURCE_ROWS:]:
        rows.append(row(f"{len(rest):,} more sources", [v for _, v in rest]))
    return rows


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


NO_CHECKS = "there is no `checks.json`"
STALE_CHECKS = "`checks.json` describes another version of the data (see the notes)"


@dataclass(frozen=True)
class ReportContent:
    name: str
    root: Path
    version: str
    seed: int
    pairs: int
    verdict: dict[str, str]
    tiles: list[dict[str, str]]
    notes: list[str]
    counts: dict[str, Any]
    rejects: dict[str, Any]
    stats: dict[str, Any]
    checks_summary: dict[str, Any] | None
    checks: list[CheckView]
    expectations: list[ExpectationView]
    plots: list[Plot]
    sample: list[PairView]
    #: The dataset path as the user gave it (shown on the page; the absolute path may be private).
    location: str = ""
    max_chars: int = MAX_MESSAGE_CHARS
    #: Why no check results are shown (when ``checks_summary`` is None), as a sentence part.
    checks_absent: str = NO_CHECKS


def _verdict(summary: dict[str, Any] | None, absent: str = NO_CHECKS) -> dict[str, str]:
    if summary is None:
        return {"status": "none", "headline": "Checks not run",
                "detail": f"{absent}: run `prefdata check OUT` to gate this dataset"}
    failed = summary["failed"]
    detail = f"{failed['error']} error(s), {failed['warn']} warning(s), {failed['info']} info failed of {summary['total']}"
    if summary["skipped"]:
        detail += f" ({summary['skipped']} skipped)"
    if summary["passed"]:
        return {"status": "pass", "headline": "Checks passed", "detail": detail + (" (strict)" if summary["strict"] else "")}
    return {"status": "fail", "headline": "Checks failed", "detail": detail}


def build_content(
    ds: Dataset,
    agg: Aggregates,
    *,
    checks: list[CheckView],
    expectations: list[ExpectationView],
    plots: list[Plot],
    sample: list[PairView],
    seed: int,
    notes: list[str],
    location: str | None = None,
) -> ReportContent:
    counts = agg.counts
    stats = summary_stats(agg)
    summary = check_summary(ds.checks)
    absent = STALE_CHECKS if ds.checks_stale else NO_CHECKS
    rejected = counts["records_rejected"]
    if rejected is None and agg.rejects["total"]:
        rejected = agg.rejects["total"]
    by_reason = counts["rejected_by_reason"] or agg.rejects["by_reason"]
    splits = list(counts["pairs_by_split"])

    tiles = [
        {"label": "pairs", "value": num(agg.pairs),
         "sub": " · ".join(f"{s} {num(n)}" for s, n in counts["pairs_by_split"].items())},
        {"label": "records read", "value": num(counts["records_read"]),
         "sub": f"{num(rejected)} rejected" if rejected is not None else "no manifest"},
        {"label": "sources", "value": num(len(counts["by_source"])), "sub": ", ".join(list(counts["by_source"])[:3])
         + ("…" if len(counts["by_source"]) > 3 else "")},
    ]
    if agg.pairs:
        tiles.append({"label": "chosen longer", "value": pct(stats["share_chosen_longer"]),
                      "sub": f"of all pairs, {pct(stats['share_same_length'])} same length · median "
                             f"{num(stats['median_chosen_chars'])} vs {num(stats['median_rejected_chars'])} chars"})
        tiles.append({"label": "multi-turn prompts", "value": pct(stats["share_multi_turn"]),
                      "sub": f"median prompt {num(stats['median_prompt_chars'])} chars"})
    if summary is not None:
        f = summary["failed"]
        tiles.append({"label": "checks failed", "value": num(f["error"] + f["warn"] + f["info"]),
                      "sub": f"{f['error']} error · {f['warn']} warn · {f['info']} info"})

    stages = [
        ("records read", num(counts["records_read"])),
        ("pairs written", num(agg.pairs)),
        ("records rejected", num(rejected)),
    ] + [(f"{s} pairs", num(n)) for s, n in counts["pairs_by_split"].items()]
    has_reads = any("records_read" in v for v in counts["by_source"].values())
    sources = _source_rows(counts["by_source"], splits)
    reject_examples = [row for rows in agg.rejects["examples"].values() for row in rows]
    problems = [agg.rejects["problem"]] if agg.rejects.get("problem") else []
    all_notes = list(ds.notes) + problems + list(counts["mismatches"]) + list(notes)
    return ReportContent(
        name=shown_name(ds.root.name),  # the report is UTF-8: a folder name that is not shows its odd bytes as \xNN
        root=ds.root,
        version=__version__,
        seed=seed,
        pairs=agg.pairs,
        verdict=_verdict(summary, absent),
        tiles=tiles,
        notes=all_notes,
        counts={"stages": stages, "splits": splits, "sources": sources, "has_reads": has_reads,
                "pairs_by_split": dict(counts["pairs_by_split"]), "records_rejected": rejected},
        rejects={"rows": sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0])), "examples": reject_examples},
        stats=stats,
        checks_summary=summary,
        checks=checks,
        expectations=expectations,
        plots=plots,
        sample=sample,
        location=shown_name(str(location if location is not None else ds.root)),
        checks_absent=absent,
    )

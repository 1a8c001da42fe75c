"""``prefdata.report(OUT)``: write ``OUT/report.html``, ``OUT/report.md`` and the card's quality summary.

The report reads only what is on disk (shards, manifest, rejects, ``checks.json``). When
``checks.json`` is missing it says so on the page instead of running the checks behind the user's
back: checks can be slow (near-duplicate search, a tokenizer), take options the report does not
know (``--tokenizer``, ``--max-length``, ``--strict``) and are the CI gate in their own right, so
running them is an explicit choice (``run_checks=True`` / ``--run-checks``).
"""

from __future__ import annotations

import importlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefdata.arguments import require_bool, require_path, require_whole
from prefdata.errors import writing
from prefdata.report.errors import DatasetError, ReportError

if TYPE_CHECKING:
    from prefdata.report.content import ReportContent
    from prefdata.report.dataset import Dataset


#: Largest seed numpy's generator accepts here (any non-negative integer would do; this is what the CLI takes).
MAX_SEED = 2**64 - 1
#: Most pairs the page shows as conversations, and offending pairs per failed check: a page of more
#: is too long to read (the CLI's ranges; the API refuses the same).
MAX_SAMPLE = 1000
MAX_EXAMPLES = 100


@dataclass(frozen=True)
class ReportResult:
    """Where the report went and what it found."""

    html_path: Path
    md_path: Path
    card_path: Path | None
    checks_source: str  # "checks.json", "prefdata.check" or "none"
    pairs: int
    checks_passed: bool | None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: Problems the user has to fix (a card header that does not parse, kept as written).
    warnings: list[str] = field(default_factory=list)
    content: ReportContent | None = field(default=None, repr=False)


def _write_atomic(path: Path, text: str) -> None:
    """Write next to the target and rename, so a killed report never leaves half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with writing(path):  # the user looks for report.html, not the temporary file
            tmp.write_text(text, encoding="utf-8", newline="\n")
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _run_checks(path: Path) -> dict[str, Any]:
    # Imported here: the check stage may pull in optional dependencies the report does not need.
    check = importlib.import_module("prefdata.check").check
    return check(path).to_dict()


def report(
    path: str | Path,
    *,
    run_checks: bool = False,
    sample: int = 8,
    examples_per_check: int = 3,
    seed: int = 0,
    card: bool = True,
) -> ReportResult:
    """Write the quality report of the dataset at ``path`` and return where it went.

    ``run_checks``: when ``path/checks.json`` is missing or stale, run :func:`prefdata.check` first and report
    its results (without it, the report says that checks were not run). ``sample``: how many pairs to
    show as conversations, drawn with ``seed``. ``examples_per_check``: offending pairs shown per
    failed check. ``card``: re-render ``README.md`` with the quality summary and a link to the
    report; a README that prefdata did not write (no ``manifest.json``) is never overwritten.

    Raises :class:`~prefdata.report.errors.DatasetError` if ``path`` holds no canonical data,
    :class:`~prefdata.report.errors.ChecksFileError` if its ``checks.json`` is malformed, and
    :class:`~prefdata.report.errors.ReportError` for a ``sample`` outside 0 to 1,000, an
    ``examples_per_check`` outside 0 to 100 or a negative ``seed``. A malformed ``manifest.json`` or rejects shard is not an error: the report says what
    it left out (``notes``) and goes on.
    """
    # Imported here, not at module level: ``import prefdata`` exposes this function and must stay cheap
    # for every other command (numpy, jinja2 and the plotting code load only when a report is made).
    from prefdata.build.card import REPORT_LINK
    from prefdata.report import aggregates, examples, plots, results
    from prefdata.report.content import build_content
    from prefdata.report.dataset import open_dataset
    from prefdata.report.html_page import render_html
    from prefdata.report.markdown import render_markdown

    require_path("the dataset", path, DatasetError)
    for name, value in (("run_checks", run_checks), ("card", card)):
        require_bool(name, value, ReportError)
    sample = require_whole("sample", sample, ReportError, least=0, most=MAX_SAMPLE)
    examples_per_check = require_whole("examples_per_check", examples_per_check, ReportError, least=0, most=MAX_EXAMPLES)
    seed = require_whole("seed", seed, ReportError, least=0, most=MAX_SEED, why=" (numpy's seed range)")
    start = time.perf_counter()
    root = Path(path)
    checks_doc = None
    checks_source = "checks.json"
    ds = open_dataset(root)  # fails on a bad dataset before any check runs on it
    if run_checks and ds.checks is None:  # no checks.json, or one that describes other data
        checks_doc = _run_checks(root)
        checks_source = "prefdata.check"
        ds = open_dataset(root, checks=checks_doc)
    if ds.checks is None:
        checks_source = "none"

    agg = aggregates.compute(ds)
    wanted = results.offending_ids_to_show(ds.checks, examples_per_check)
    sampled, named = examples.fetch(ds, total=agg.pairs, sample=sample, seed=seed, ids=wanted)
    content = build_content(
        ds,
        agg,
        checks=results.check_views(ds.checks, named, examples_per_check),
        expectations=results.expectation_views(ds.checks),
        plots=plots.all_plots(agg, results.token_lengths(ds.checks)),
        sample=sampled,
        seed=seed,
        notes=[],
        location=str(path),
    )
    html_path, md_path = ds.root / REPORT_LINK, ds.root / "report.md"
    _write_atomic(html_path, render_html(content))
    _write_atomic(md_path, render_markdown(content))

    notes = list(content.notes)
    warnings: list[str] = []
    card_path = None
    if card:
        card_path = _write_card(ds, content, notes, warnings)
    return ReportResult(
        html_path=html_path,
        md_path=md_path,
        card_path=card_path,
        checks_source=checks_source,
        pairs=agg.pairs,
        checks_passed=None if content.checks_summary is None else content.checks_summary["passed"],
        notes=notes,
        seconds=time.perf_counter() - start,
        warnings=warnings,
        content=content,
    )


def _write_card(ds: Dataset, content: ReportContent, notes: list[str], warnings: list[str]) -> Path | None:
    from prefdata.build.card import REPORT_CARD_MARK, REPORT_LINK, UserEdits, render_card
    from prefdata.report.markdown import card_summary

    readme = ds.root / "README.md"
    manifest = ds.manifest
    if ds.manifest_problem is not None:  # the dataset's notes already say the card is left as it is
        return None
    if manifest is None:
        if readme.exists() and REPORT_CARD_MARK not in _read_text(readme):
            notes.append("README.md left as is: without manifest.json it was not written by prefdata.")
            return None
        # Not built by prefdata: a card with no configs, so the loader goes on naming splits by file name
        # as it did before the card was written (a configs: map made from the shard names broke it).
        # Only the counts the report knows: the pairs, and the rejected records when rejects/ holds
        # some (as the report counts them); records read is left out, so the card says it is unknown.
        counts: dict[str, Any] = {"pairs_written": content.pairs, "pairs_by_split": content.counts["pairs_by_split"]}
        if content.counts["records_rejected"] is not None:
            counts["records_rejected"] = content.counts["records_rejected"]
            counts["rejected_by_reason"] = dict(content.rejects["rows"])
        manifest = {"counts": counts}
    edits = UserEdits.read(readme)  # the licence and sections a user added are kept
    if (warning := edits.warning()) is not None:
        warnings.append(warning)
    _write_atomic(readme, render_card(manifest, summary_markdown=card_summary(content), report_link=REPORT_LINK, edits=edits,
                                         shards=_shards_on_disk(ds.root)))
    return readme


def _shards_on_disk(root: Path) -> dict[str, str]:
    """``{path in the dataset: sha256}`` of the Parquet shards under ``data/`` and ``kto/`` as they are now,
    for the card's shard digest (:func:`prefdata.build.card.computed_header`): ``datasets`` caches the
    folder by the card's header, so a digest of the manifest's word for its shards (one edited or added
    by hand since, or a manifest without sha256s) would hand out the rows it cached for other files."""
    from prefdata.shard_fingerprint import fingerprint

    shards = {}
    for folder in ("data", "kto"):
        for shard in sorted((root / folder).glob("*.parquet")) if (root / folder).is_dir() else ():
            try:
                shards[f"{folder}/{shard.name}"] = fingerprint(shard)
            except OSError as exc:  # unreadable: the digest still differs from the readable file's
                shards[f"{folder}/{shard.name}"] = f"unreadable: {exc.strerror or type(exc).__name__}"
    return shards


def _read_text(path: Path) -> str:
    """A card's text; one that is not UTF-8 is not prefdata's."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""

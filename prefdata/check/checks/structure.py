"""Structure of the canonical contract: column types, stable ids, and the roles of every turn.

- ``schema``: every shard has the canonical columns with canonical types (messages as
  ``list[struct{role, content}]`` and nothing else in a message). Nullable metadata a foreign dataset
  lacks (source, scores, models, chosen_position, lineage) is listed, not failed.
- ``shard_integrity``: the ``data/`` shards are the ones ``manifest.json`` lists, byte for byte
  (:mod:`prefdata.manifest_shards`): a shard changed, added or removed after the build is another
  dataset under the manifest's name and counts, and ``train`` refuses it. Skipped without a manifest.
- ``id_integrity``: ``id`` is the sha256 of the pair's canonical JSON (``prefdata.schema.pair_id``);
  a stale or foreign id breaks deduplication, lineage and the offending-id lists of every other check.
- ``role_structure``: the prompt is non-empty and ends with a user or tool turn, chosen and rejected
  are non-empty lists of assistant turns, roles are known, and no message content is empty or blank.
"""

from __future__ import annotations

import polars as pl

from prefdata.check.checks.base import Context, count_outcome, plural, run_enabled, skipped
from prefdata.check.config import CheckConfig
from prefdata.check.dataset import OPTIONAL_COLUMNS
from prefdata.check.results import CheckOutcome
from prefdata.manifest_shards import ManifestUnreadable, shard_drift
from prefdata.schema import PROMPT_LAST_ROLES, ROLES, has_blank_turn, id_expr

ROLE_PROBLEMS = {
    "_r_prompt_empty": "prompt_empty",
    "_r_prompt_last_role": "prompt_not_ending_with_user_or_tool",
    "_r_response_empty": "response_empty",
    "_r_response_role": "response_not_assistant",
    "_r_unknown_role": "unknown_role",
    "_r_empty_content": "empty_content",
}


def _any_message(column: str, predicate: pl.Expr) -> pl.Expr:
    return pl.col(column).list.eval(predicate).list.any().fill_null(False)


def features(config: CheckConfig) -> dict[str, pl.Expr]:
    out: dict[str, pl.Expr] = {}
    checks = config.checks
    if checks.id_integrity.enabled:
        out["_id_ok"] = (pl.col("id") == id_expr()).fill_null(False)
    if checks.role_structure.enabled:
        role = pl.element().struct.field("role")
        out["_r_prompt_empty"] = pl.col("prompt").list.len().fill_null(0) == 0
        out["_r_prompt_last_role"] = (
            ~pl.col("prompt").list.last().struct.field("role").is_in(list(PROMPT_LAST_ROLES))
        ).fill_null(False) & (pl.col("prompt").list.len() > 0)
        out["_r_response_empty"] = (pl.col("chosen").list.len().fill_null(0) == 0) | (
            pl.col("rejected").list.len().fill_null(0) == 0
        )
        out["_r_response_role"] = _any_message("chosen", (role != "assistant").fill_null(True)) | _any_message(
            "rejected", (role != "assistant").fill_null(True)
        )
        out["_r_unknown_role"] = pl.any_horizontal(
            *[_any_message(c, ~role.is_in(list(ROLES)).fill_null(False)) for c in ("prompt", "chosen", "rejected")]
        )
        out["_r_empty_content"] = pl.any_horizontal(*[has_blank_turn(pl.col(c)).fill_null(False) for c in ("prompt", "chosen", "rejected")])
    return out


def _pairs_in(ctx: Context, shard_names: list[str]) -> list[str]:
    """The ids of every pair in the named shards (rows are numbered through the shards in order, so
    a shard is a contiguous range of ``_row``)."""
    in_shards = pl.lit(False)
    for name in shard_names:
        start, end = ctx.dataset.shard_rows(name)
        in_shards = in_shards | pl.col("_row").is_between(start, end, closed="left")
    return ctx.ids(in_shards)


def _schema(ctx: Context) -> CheckOutcome:
    ds = ctx.dataset
    problems = ds.problems
    bad_shards = sorted({p.shard for p in problems} & {s.name for s in ds.shards})  # not the card (README.md)
    offending = _pairs_in(ctx, bad_shards)
    missing_optional = {
        column: [s.name for s in ds.shards if column not in s.schema]
        for column in OPTIONAL_COLUMNS
        if any(column not in s.schema for s in ds.shards)
    }
    statistic = {
        "shards": len(ds.shards),
        "problems": [p.describe() for p in problems],
        "missing_optional_columns": missing_optional,
        "not_loaded": list(ds.unread),
    }
    s = ctx.settings("schema")
    if problems:
        where = f" in {plural(len(bad_shards), 'shard')} ({plural(len(offending), 'pair')})" if bad_shards else ""
        message = f"{plural(len(problems), 'schema problem')}{where}: {problems[0].describe()}"
    else:
        message = "every shard has the canonical columns and types"
        if missing_optional:
            message += f" (optional columns absent: {', '.join(missing_optional)})"
        if ds.unread:
            message += (f"; {plural(len(ds.unread), 'shard')} checked that datasets.load_dataset(OUT) leaves out, "
                        f"so no trainer sees its pairs: {', '.join(ds.unread[:3])}")
    return CheckOutcome(
        id="schema", severity=s.severity, passed=not problems, statistic=statistic, threshold=s.threshold(),
        offending_ids=offending, message=message,
    )


def _shard_integrity(ctx: Context) -> CheckOutcome:
    ds = ctx.dataset
    s = ctx.settings("shard_integrity")
    try:
        drift = shard_drift(ds.root, (shard.path for shard in ds.shards))
    except ManifestUnreadable as exc:
        return CheckOutcome(
            id="shard_integrity", severity=s.severity, passed=False, statistic={"manifest": "unreadable"},
            threshold=s.threshold(), offending_ids=[], message=f"{exc}: the shards cannot be compared with it",
        )
    if drift is None:
        return skipped(ctx, "shard_integrity", "no manifest.json (not built by `prefdata build`)")
    problems = drift.problems()
    offending = _pairs_in(ctx, [*drift.added, *drift.changed])
    statistic = {"shards": len(ds.shards), "added": list(drift.added), "missing": list(drift.missing), "changed": list(drift.changed)}
    if problems:
        message = f"{plural(len(problems), 'shard')} not as manifest.json lists ({plural(len(offending), 'pair')}): {problems[0]}"
    else:
        message = "every shard is the one manifest.json lists"
    return CheckOutcome(
        id="shard_integrity", severity=s.severity, passed=not problems, statistic=statistic, threshold=s.threshold(),
        offending_ids=offending, message=message,
    )


def _id_integrity(ctx: Context) -> CheckOutcome:
    bad = ~ctx.frame.get_column("_id_ok")
    ids = ctx.ids(bad)
    n_bad = int(bad.sum())
    statistic = {"mismatched_rows": n_bad, "share": n_bad / ctx.frame.height if ctx.frame.height else None}
    message = (
        f"{plural(n_bad, 'pair')} whose id is not the sha256 of its prompt/chosen/rejected JSON"
        if n_bad
        else "every id is the content hash of its pair"
    )
    return count_outcome(ctx, "id_integrity", ids, statistic, message)


def _role_structure(ctx: Context) -> CheckOutcome:
    f = ctx.frame
    counts = {name: int(f.get_column(col).sum()) for col, name in ROLE_PROBLEMS.items()}
    any_bad = pl.any_horizontal(*ROLE_PROBLEMS)
    ids = ctx.ids(any_bad)
    worst = [f"{n} {k.replace('_', ' ')}" for k, n in counts.items() if n]
    message = f"{plural(len(ids), 'pair')} with broken turn structure: {', '.join(worst)}" if ids else "every pair has a well-formed prompt and assistant responses"
    return count_outcome(ctx, "role_structure", ids, {"pairs": len(ids), **counts}, message)


def run(ctx: Context) -> list[CheckOutcome]:
    return run_enabled(ctx, {"schema": _schema, "shard_integrity": _shard_integrity, "id_integrity": _id_integrity, "role_structure": _role_structure})

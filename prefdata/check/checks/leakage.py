"""Prompt leakage between the training splits and the evaluation splits.

- ``prompt_leakage_exact``: a test (or validation) pair whose prompt is also a training prompt: the
  same turns with the same roles, each lowercased, with whitespace removed and in Unicode NFC
  (:func:`prefdata.text_keys.prompt_key`). Held-out reward accuracy is then measured on prompts the
  model was trained on and overstates generalisation. ``build`` splits by the first user turn's
  normalized text, which two such prompts share, so this never fires on its output; it catches
  hand-made splits and datasets merged from several builds.
- ``prompt_leakage_near``: the same with the prompts' word-shingle Jaccard at or above
  ``min_jaccard`` (reworded or re-punctuated copies), from the MinHash similarity pass.

Training splits are ``train`` and any split named for it (``train_prefs``, ``train_sft``: see
:func:`prefdata.splits.is_train_split`); every other split is evaluated against them.

Offending ids are the pairs on the evaluation side (the ones to drop from the test split).
"""

from __future__ import annotations

import polars as pl

from prefdata.check.checks.base import Context, count_outcome, plural, run_enabled, share, skipped
from prefdata.check.checks.near import similarity
from prefdata.check.checks.pairs import prompt_key
from prefdata.check.config import CheckConfig
from prefdata.check.results import CheckOutcome
from prefdata.splits import is_train_split, train_splits
from prefdata.text_keys import NO_TEXT_KEY


def features(config: CheckConfig) -> dict[str, pl.Expr]:
    c = config.checks
    if not (c.prompt_leakage_exact.enabled or c.prompt_leakage_near.enabled):
        return {}
    return {"_prompt_key": prompt_key()}  # the same expression as the pair checks': computed once


def _splits(ctx: Context) -> dict[str, int]:
    counts = ctx.frame.group_by("split").len().sort("split")
    return dict(zip(counts.get_column("split").to_list(), counts.get_column("len").to_list()))


def in_training(splits: dict[str, int]) -> pl.Expr:
    """True for rows of a training split (of ``splits``, the dataset's split names)."""
    return pl.col("split").is_in(train_splits(splits))


def _not_applicable(ctx: Context, check_id: str, splits: dict[str, int]) -> CheckOutcome | None:
    training = train_splits(splits)
    if not training or len(training) == len(splits):
        found = ", ".join(splits) or "none"
        return skipped(ctx, check_id, f"needs a training split (train, train_*) and another split (found: {found})", {"splits": splits})
    return None


def _evaluated(splits: dict[str, int]) -> int:
    return sum(n for s, n in splits.items() if not is_train_split(s))


def _exact(ctx: Context) -> CheckOutcome:
    splits = _splits(ctx)
    if (na := _not_applicable(ctx, "prompt_leakage_exact", splits)) is not None:
        return na
    f, training = ctx.frame, in_training(splits)
    # an empty prompt (no prompt column: TRL's implicit prompt) is no prompt a test pair can reuse
    f = f.filter(pl.col("_prompt_key") != NO_TEXT_KEY)
    train_keys = f.filter(training).select("_prompt_key").unique()
    leaked = f.filter(~training).join(train_keys, on="_prompt_key", how="semi")
    train_sharing = f.filter(training).join(leaked.select("_prompt_key").unique(), on="_prompt_key", how="semi").height
    ids = ctx.ids_of_rows(leaked.get_column("_row"))
    evaluated = _evaluated(splits)
    statistic = {
        "splits": splits,
        "leaked_pairs": len(ids),
        "share_of_eval_pairs": share(len(ids), evaluated),
        "leaked_prompts": leaked.get_column("_prompt_key").n_unique(),
        "train_pairs_sharing_a_prompt": train_sharing,
    }
    message = (
        f"{plural(len(ids), 'evaluation pair')} ({share(len(ids), evaluated):.1%}) {'reuses' if len(ids) == 1 else 'reuse'} a training prompt"
        if ids
        else "no evaluation prompt occurs in the training split"
    )
    return count_outcome(ctx, "prompt_leakage_exact", ids, statistic, message)


def _near(ctx: Context) -> CheckOutcome:
    splits = _splits(ctx)
    if (na := _not_applicable(ctx, "prompt_leakage_near", splits)) is not None:
        return na
    found = similarity(ctx).leakage
    ids = ctx.ids_of_rows(found.get_column("row"))
    evaluated = _evaluated(splits)
    statistic = {
        "splits": splits,
        "leaked_pairs": len(ids),
        "share_of_eval_pairs": share(len(ids), evaluated),
        "train_pairs_matched": found.get_column("train_row").n_unique(),
        "min_jaccard_found": found.get_column("jaccard").min() if found.height else None,
    }
    message = (
        f"{plural(len(ids), 'evaluation pair')} with a near copy of a training prompt"
        if ids
        else "no evaluation prompt has a near copy in the training split"
    )
    return count_outcome(ctx, "prompt_leakage_near", ids, statistic, message)


def run(ctx: Context) -> list[CheckOutcome]:
    return run_enabled(ctx, {"prompt_leakage_exact": _exact, "prompt_leakage_near": _near})

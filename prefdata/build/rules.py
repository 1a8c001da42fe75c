"""Rules every pair must pass, whatever its shape, and the keys that place it in the output.

Each rule is a polars expression; they run in one pass and the first failing rule names the reject
reason. The keys are content hashes, so where a pair lands (partition, split) depends on its prompt
alone: the same prompt always goes to the same split, also in the next build of a grown dataset.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import polars as pl
import polars_hash  # noqa: F401  (registers the nchash/chash namespaces)

from prefdata.schema import PROMPT_LAST_ROLES, ROLES, has_blank_turn, id_expr, trimmed_contents
from prefdata.shapes.base import Origin, RawNames
from prefdata.shapes.messages import messages_text
from prefdata.text_keys import match_text, normalized_turn, prompt_key

_RESPONSES = ("chosen", "rejected")
#: A whole turn that is a list of messages written out as text, in JSON or Python's repr: what
#: ``Dataset.to_csv`` and ``str(list)`` make of message columns. Built from such text, a pair trains
#: the model to answer with the serialized conversation. All must hold: the text is one list of
#: dicts; one holds a text content (or ShareGPT ``value``); and one the role (or ``from``) such a
#: column would hold, a reply's for a response (the export of a response column always carries it)
#: and a user's for the prompt. A JSON answer of other dicts (``[{"content": "Buy milk", "done":
#: false}]``), or the one user message a prompt asked to be written as JSON, is kept.
SERIALIZED_MESSAGES = (
    r"""^\s*\[\s*\{[\s\S]*\}\s*\]\s*$""",
    r"""["'](?:content|value)["']\s*:\s*["']""",
)
_SERIALIZED_ROLE = r"""["'](?:role|from)["']\s*:\s*["'](?:{})["']"""
SERIALIZED_ROLES = {"prompt": "user|human", "response": "assistant|gpt|bot|model"}
#: No raw field known: rejects name the canonical columns (feedback's pairs, a custom function's columns).
_CANONICAL = RawNames()


def _role(e: pl.Expr) -> pl.Expr:
    return e.struct.field("role")


def _rules(responses: tuple[str, ...] = _RESPONSES, names: Mapping[str, Origin] | None = None) -> list[tuple[str, str, pl.Expr, pl.Expr]]:
    """``(reason, field, detail, broken)`` for every generic rule, in the order they are checked.

    ``responses`` names the response columns: ``chosen``/``rejected`` for a pair, one column for an
    unpaired row (a feedback half-pair's ``response``); ``identical_responses`` needs two. ``names``:
    the raw field each column came from (:class:`~prefdata.shapes.base.RawNames`), which the field
    and detail name; a column of no single raw field keeps its name.
    """
    names = names or {}

    def field(col: str) -> str:
        origin = names.get(col)
        return origin if isinstance(origin, str) else col

    def label(col: str) -> str:
        origin = names.get(col)
        return f"{col} (from {', '.join(origin)})" if isinstance(origin, tuple) else field(col)

    el = pl.element()
    rules = []
    for col in ("prompt", *responses):
        rules.append(("missing_field", field(col), pl.lit(f"{label(col)} is missing"), pl.col(col).is_null()))
    for col in ("prompt", *responses):
        rules.append(("empty_field", field(col), pl.lit(f"{label(col)} has no turns"), pl.col(col).list.len() == 0))
    for col in ("prompt", *responses):
        rules.append(("empty_field", field(col), pl.lit(f"{label(col)} has an empty turn"), has_blank_turn(pl.col(col))))
    for col in ("prompt", *responses):
        content = el.struct.field("content")
        role = _SERIALIZED_ROLE.format(SERIALIZED_ROLES["prompt" if col == "prompt" else "response"])
        looks = [content.str.contains(p) for p in (*SERIALIZED_MESSAGES, role)]
        serialized = pl.col(col).list.eval(pl.all_horizontal(*looks)).list.any()
        detail = pl.lit(f"{label(col)} holds a message list written out as text ([{{'role': ..., 'content': ...}}]); decode it before building")
        rules.append(("serialized_messages", field(col), detail, serialized))
    for col in ("prompt", *responses):
        c = pl.col(col)
        unknown = c.list.eval(_role(el).filter(~_role(el).is_in(list(ROLES)) | _role(el).is_null())).list.first()
        detail = pl.format("{} has a turn with role '{}'", pl.lit(label(col)), unknown.fill_null("<none>"))
        rules.append(("unknown_role", field(col), detail, c.list.eval(~_role(el).is_in(list(ROLES)) | _role(el).is_null()).list.any()))
    last = _role(pl.col("prompt").list.last())
    where = "" if label("prompt") == "prompt" else f"{label('prompt')}: "  # a field's "{}" is text, no placeholder of pl.format
    detail = pl.format("{}the prompt's last turn is '{}'; it must end with a user or tool turn", pl.lit(where), last)
    rules.append(("bad_turn_order", field("prompt"), detail, ~last.is_in(list(PROMPT_LAST_ROLES))))
    for col in responses:
        c = pl.col(col)
        other = c.list.eval(_role(el).filter(_role(el) != "assistant")).list.first()
        detail = pl.format("{} holds a '{}' turn; responses must be assistant turns", pl.lit(label(col)), other)
        rules.append(("bad_turn_order", field(col), detail, c.list.eval(_role(el) != "assistant").list.any()))
    if len(responses) == 2:
        first, second = responses
        identical = trimmed_contents(pl.col(first)) == trimmed_contents(pl.col(second))
        detail = pl.lit(f"{label(first)} and {label(second)} are the same text")
        rules.append(("identical_responses", f"{field(first)},{field(second)}", detail, identical))
    return rules


def apply_rules(lf: pl.LazyFrame, responses: tuple[str, ...] = _RESPONSES, names: RawNames = _CANONICAL) -> pl.LazyFrame:
    """Mark rows that break a generic rule (rows already marked keep their first reason).

    Pairs are checked with the default ``responses`` (``chosen``, ``rejected``); rows holding a single
    response (feedback half-pairs, so also every row the KTO export writes) pass ``("response",)``
    and are held to the same prompt and response rules. ``names``: the raw fields the shape read the
    columns from (:meth:`~prefdata.shapes.base.Shape.raw_names`), named in the field and detail.

    Every rule's condition is computed once, side by side, and the first broken rule sets
    ``_reason/_field/_detail`` in one step: a ``when/then`` per rule and column costs twice as much.
    """
    conditions, first, outcome, broken = _rule_exprs(responses, names)
    return lf.with_columns(conditions).with_columns(first).with_columns(outcome).drop(*broken, "__first")


@functools.cache
def _rule_exprs(responses: tuple[str, ...], names: RawNames) -> tuple[list[pl.Expr], pl.Expr, list[pl.Expr], list[str]]:
    """:func:`apply_rules`' expressions, built once per ``responses`` and ``names``: a batch of a
    small file would otherwise spend a third of its time building them."""
    rules = _rules(responses)
    broken = [f"__rule{i}" for i in range(len(rules))]
    conditions = [cond.fill_null(False).alias(b) for (_, _, _, cond), b in zip(rules, broken)]
    first = pl.coalesce([pl.when(pl.col(b)).then(pl.lit(i, pl.UInt8)) for i, b in enumerate(broken)])
    n = pl.col("__first")

    def named(origins: tuple[tuple[str, Origin], ...]) -> tuple[pl.Expr, pl.Expr]:
        """(field, detail) of the first broken rule, its columns named by ``origins``."""
        rules = _rules(responses, dict(origins))
        field = n.replace_strict({i: r[1] for i, r in enumerate(rules)}, default=None, return_dtype=pl.String)
        return field, pl.coalesce([pl.when(n == i).then(detail) for i, (_, _, detail, _) in enumerate(rules)])

    field, detail = named(names.names)
    for value, origins in reversed(names.cases):  # the first case listed is tested first
        case_field, case_detail = named(origins)
        picked = pl.col(str(names.by)) == value
        field, detail = pl.when(picked).then(case_field).otherwise(field), pl.when(picked).then(case_detail).otherwise(detail)
    outcome = [
        pl.coalesce("_reason", n.replace_strict({i: r[0] for i, r in enumerate(rules)}, default=None, return_dtype=pl.String)),
        pl.coalesce("_field", field).alias("_field"),
        pl.when(n.is_null()).then(pl.col("_detail")).otherwise(detail).alias("_detail"),
    ]
    return conditions, pl.when(pl.col("_reason").is_null()).then(first).alias("__first"), outcome, broken


def _first_user(prompt: pl.Expr) -> pl.Expr:
    el = pl.element()
    return prompt.list.eval(el.filter(el.struct.field("role") == "user").struct.field("content")).list.first()


def split_key(prompt: pl.Expr, seed: int, *, normalized: bool = False) -> pl.Expr:
    """What decides the split: a seeded hash of the prompt's first user turn (lower-cased, whitespace
    removed), or of the whole prompt when it has none. ``normalized``: ``prompt`` is already.

    Multi-turn prompts that open the same way (HH dialogues, branches of one OpenAssistant tree)
    share their opening turn; keying the split on it keeps such prompts in one split, so no test
    prompt has its opening seen in training.
    """
    if normalized:
        text = pl.coalesce(_first_user(prompt), messages_text(prompt, separator=""))
    else:
        text = match_text(pl.coalesce(_first_user(prompt), messages_text(prompt)))
    return text.nchash.xxh3_64(seed=seed)


def with_group_keys(lf: pl.LazyFrame, *, seed: int, partitions: int, prompt_group: bool = True) -> pl.LazyFrame:
    """Keys of rows that must meet others of their prompt: ``_split_key`` (see :func:`split_key`),
    ``_group`` (:func:`prompt_key` of the whole prompt: the same roles and turns, each lower-cased,
    whitespace removed, in NFC: what feedback pairing groups by; with ``prompt_group``) and
    ``_bucket`` (partition, from the same hash).

    Every row of a prompt group lands in one partition, so pairing and dedup stay local to it. The
    split needs no partition of its own: its key is a hash, the same wherever it is computed. A
    group's prompts share their first user turn, so a group is never split.
    """
    # Each turn is normalized once: both keys come from it
    turns = pl.col("__turns")
    whole = pl.col("__whole")
    keys = [(whole % partitions).cast(pl.UInt32).alias("_bucket")]
    if prompt_group:
        keys.append(whole.alias("_group"))
    return (
        lf.with_columns(pl.col("prompt").list.eval(normalized_turn()).alias("__turns"))
        .with_columns(
            split_key(turns, seed, normalized=True).alias("_split_key"),
            prompt_key(turns, normalized=True).alias("__whole"),
        )
        .with_columns(keys)
        .drop("__turns", "__whole")
    )


def with_keys(lf: pl.LazyFrame, *, seed: int, partitions: int, by_prompt: bool = False) -> pl.LazyFrame:
    """The pair ``id``, ``_split_key`` and ``_bucket``.

    Dedup only needs copies of a pair (one ``id``) in one partition, so pairs are partitioned by a
    hash of their ``id``: even, and it costs nothing, where a partition by prompt would normalize
    every turn of every prompt, and one by opening turn would hold a log whose conversations all
    open alike ("Hello!") in one partition. ``by_prompt``: the build also pairs feedback, whose
    pairs must meet the ready-made pairs they may duplicate: partition as :func:`with_group_keys` does.
    """
    lf = lf.with_columns(id_expr())
    if by_prompt:
        return with_group_keys(lf, seed=seed, partitions=partitions, prompt_group=False)
    return lf.with_columns(
        split_key(pl.col("prompt"), seed).alias("_split_key"),
        (pl.col("id").nchash.xxh3_64() % partitions).cast(pl.UInt32).alias("_bucket"),
    )


def test_threshold(test_fraction: float) -> int:
    """``_split_key < threshold`` puts a prompt group in the test split. Any fraction above 0 gives a
    threshold of at least 1 (a fraction under 2**-64 rounded down to 0): 0 means "no test split",
    which also decides whether a small build forces one group into test (:func:`~prefdata.build.finalize.assign_split`).

    >>> test_threshold(0.0), test_threshold(1e-20), test_threshold(0.5) == 2**63
    (0, 1, True)
    """
    if test_fraction <= 0:
        return 0
    return min(max(int(test_fraction * 2**64), 1), 2**64 - 1)

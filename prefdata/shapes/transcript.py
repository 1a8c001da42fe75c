"""``transcript``: chosen and rejected are whole dialogues; the prompt is the turns they share.

HH-RLHF writes a dialogue as one string::

    "\\n\\nHuman: What is 2+2?\\n\\nAssistant: 4"   (chosen)
    "\\n\\nHuman: What is 2+2?\\n\\nAssistant: 5"   (rejected)

-> prompt ``[user "What is 2+2?"]``, chosen ``[assistant "4"]``, rejected ``[assistant "5"]``.
Other tools write message lists (LLaMA-Factory ``chosen_messages``/``rejected_messages``, whose
``content`` is a list of ``{type, value}`` parts); those are read the same way.

Rule: text is split only at turn markers (a marker is a whole ``\\n\\nHuman:`` / ``\\n\\nAssistant:``
at a line start, so never mid-word); blank text before the first marker is skipped, other text there
is a ``malformed_transcript`` reject; each turn's text is stripped of surrounding whitespace. Both
dialogues must end with an assistant turn, and everything before those final turns must be identical:
that is the prompt. Pairs whose dialogues differ earlier (the annotator compared two different
conversations, not two replies to one prompt) are rejected as ``transcripts_diverge``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from prefdata.config import TranscriptSource
from prefdata.schema import MESSAGES
from prefdata.shapes.base import (
    RawNames,
    Shape,
    finish_pairs,
    keep_reason,
    null_pairs_where_rejected,
    read_scores,
    sample_values,
    sniffed_splits,
)
from prefdata.shapes.fields import Leaf, expr_for, optional_field
from prefdata.shapes.messages import ROLE_ALIASES, TEXT, Kind, non_text_parts, sniff_kind, to_messages
from prefdata.text_keys import BLANK

_TURN = "\ue000"  # private-use code points, refused if they occur in the text itself
_ROLE_END = "\ue001"


def parse_marked_text(text: pl.Expr, user_marker: str, assistant_marker: str) -> tuple[pl.Expr, pl.Expr]:
    """(turns, problem): a marker-delimited dialogue string -> canonical messages.

    ``problem`` is a reason detail, or null when the text parsed cleanly. A marker written with
    ``\\n`` also matches with ``\\r\\n`` line ends; the text inside the turns is kept as it is.
    """
    lead_u, lead_a = user_marker.lstrip("\n"), assistant_marker.lstrip("\n")
    newlines_u = user_marker[: len(user_marker) - len(lead_u)]
    newlines_a = assistant_marker[: len(assistant_marker) - len(lead_a)]
    # A dialogue may start with "Human:" rather than "\n\nHuman:", or with a marker after blank text
    # that is not the marker's own line breaks ("\nHuman:", " Human:"): nothing but blank text comes
    # before its first turn, so give that turn its own marker's leading newlines (the two markers may
    # have different ones). The text as written is tried first: a marker whose text after its line
    # breaks starts blank ("\n\n Human:") matches " Human:" only unstripped.
    lead = text.str.strip_chars_start(BLANK)
    normalized = (
        pl.when(text.str.starts_with(lead_u)).then(pl.lit(newlines_u) + text)
        .when(text.str.starts_with(lead_a)).then(pl.lit(newlines_a) + text)
        .when(lead.str.starts_with(lead_u)).then(pl.lit(newlines_u) + lead)
        .when(lead.str.starts_with(lead_a)).then(pl.lit(newlines_a) + lead)
        .otherwise(text)
    )
    marked = normalized
    for marker, role in ((user_marker, "user"), (assistant_marker, "assistant")):
        # the same marker with Windows line ends (HH-RLHF saved on Windows), then as written; one that
        # does not start with a line break ("User:") counts only at a line start, never in "SuperUser:"
        for variant in dict.fromkeys((marker.replace("\n", "\r\n"), marker)):
            if variant.startswith(("\n", "\r\n")):
                marked = marked.str.replace_all(variant, f"{_TURN}{role}{_ROLE_END}", literal=True)
            else:
                marked = marked.str.replace_all(f"(?m)^{re.escape(variant)}", f"{_TURN}{role}{_ROLE_END}")
    pieces = marked.str.split(_TURN)
    head = pieces.list.first()
    turns_raw = pieces.list.slice(1)
    el = pl.element()
    turns = turns_raw.list.eval(
        pl.struct(
            el.str.split_exact(_ROLE_END, 1).struct.field("field_0").alias("role"),
            el.str.split_exact(_ROLE_END, 1).struct.field("field_1").str.strip_chars().alias("content"),
        )
    ).cast(MESSAGES)
    reserved = text.str.contains(_TURN, literal=True) | text.str.contains(_ROLE_END, literal=True)
    problem = (
        pl.when(reserved)
        .then(pl.lit("text contains reserved characters U+E000/U+E001"))
        .when(head.str.strip_chars(BLANK) != "")
        .then(pl.lit(f"text before the first turn marker ({user_marker!r} or {assistant_marker!r})"))
        .when(turns_raw.list.len() == 0)
        .then(pl.lit("no turn markers found"))
    )
    return pl.when(text.is_not_null()).then(turns), problem


class TranscriptShape(Shape):
    name = "transcript"
    record_local = True

    def __init__(self, source: TranscriptSource, sample: Sequence[Mapping[str, Any]]):
        self.source = source
        c = source.columns
        self.chosen_kind = sniff_kind(sample_values(sample, c.chosen)) or TEXT
        self.rejected_kind = sniff_kind(sample_values(sample, c.rejected)) or TEXT
        self.aliases = {**ROLE_ALIASES, **source.roles}
        self.kind_splits = sniffed_splits(sample, [(c.chosen, self.chosen_kind), (c.rejected, self.rejected_kind)])

    def leaves(self) -> list[Leaf]:
        c = self.source.columns
        leaves = [
            Leaf(c.chosen, self.chosen_kind.dtype, self.chosen_kind.strict),
            Leaf(c.rejected, self.rejected_kind.dtype, self.rejected_kind.strict),
        ]
        return leaves + [Leaf(p, pl.String) for p in (c.chosen_model, c.rejected_model, c.score_chosen, c.score_rejected) if p]

    def _turns(self, path: str, kind: Kind) -> tuple[pl.Expr, pl.Expr]:
        if kind.name == "text":
            m = self.source.markers
            return parse_marked_text(expr_for(path), m.user, m.assistant)
        turns = to_messages(expr_for(path), kind, "user", self.aliases)
        # stripped as the turns of marked text are, so that a trailing space does not make two dialogues diverge
        stripped = turns.list.eval(pl.element().struct.with_fields(pl.field("content").str.strip_chars()))
        return stripped, pl.lit(None, pl.String)

    def adapt(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        c = self.source.columns
        chosen, chosen_problem = self._turns(c.chosen, self.chosen_kind)
        rejected, rejected_problem = self._turns(c.rejected, self.rejected_kind)
        lf = lf.with_columns(chosen.alias("__c"), rejected.alias("__r"))
        C, R = pl.col("__c"), pl.col("__r")
        last_role = lambda t: t.list.last().struct.field("role")
        head = lambda t: t.list.slice(0, t.list.len() - 1)
        for field in (c.chosen, c.rejected):  # before the prompt, which is cut from them, is found missing
            lf = lf.with_columns(keep_reason(pl.lit("missing_field"), pl.lit(field), pl.lit(f"{field} is missing"), expr_for(field).is_null()))
        for cond, field, detail in (
            (non_text_parts(expr_for(c.chosen), self.chosen_kind), c.chosen, pl.lit("chosen holds a non-text content part")),
            (non_text_parts(expr_for(c.rejected), self.rejected_kind), c.rejected, pl.lit("rejected holds a non-text content part")),
        ):
            lf = lf.with_columns(keep_reason(pl.lit("non_text_content"), pl.lit(field), detail, cond))
        for problem, field in ((chosen_problem, c.chosen), (rejected_problem, c.rejected)):
            lf = lf.with_columns(keep_reason(pl.lit("malformed_transcript"), pl.lit(field), pl.lit(f"{field}: ") + problem, problem.is_not_null()))
        for turns, field in ((C, c.chosen), (R, c.rejected)):
            ends_wrong = turns.is_not_null() & (turns.list.len() > 0) & (last_role(turns) != "assistant")
            lf = lf.with_columns(
                keep_reason(
                    pl.lit("malformed_transcript"),
                    pl.lit(field),
                    pl.format(f"{field}: the dialogue's last turn is '{{}}'; it must end with the assistant reply", last_role(turns)),
                    ends_wrong,
                )
            )
        lf, score_c, score_r = read_scores(lf, c.score_chosen, c.score_rejected, must_agree=self.source.scores_must_agree)
        diverge = C.is_not_null() & R.is_not_null() & (head(C) != head(R))
        lf = lf.with_columns(
            keep_reason(
                pl.lit("transcripts_diverge"),
                pl.lit(f"{c.chosen},{c.rejected}"),
                pl.format(
                    "chosen ({} turns) and rejected ({} turns) differ before their final assistant turn",
                    C.list.len(),
                    R.list.len(),
                ),
                diverge,
            )
        )
        lf = finish_pairs(
            lf,
            prompt=pl.when(C.list.len() > 1).then(head(C)),
            chosen=pl.when(C.list.len() > 0).then(C.list.slice(-1)),
            rejected=pl.when(R.list.len() > 0).then(R.list.slice(-1)),
            score_chosen=score_c,
            score_rejected=score_r,
            chosen_model=optional_field(c.chosen_model),
            rejected_model=optional_field(c.rejected_model),
        )
        return null_pairs_where_rejected(lf)

    def raw_names(self) -> RawNames:
        """The responses are the final turns of their dialogues; the prompt is the turns both share."""
        c = self.source.columns
        return RawNames.of({"prompt": (c.chosen, c.rejected), "chosen": c.chosen, "rejected": c.rejected})

    def describe(self) -> str:
        c = self.source.columns
        how = "HH-style text split at turn markers" if self.chosen_kind.name == "text" else f"message lists ({self.chosen_kind})"
        if self.chosen_kind.name == "text":
            how += self.source.markers.shown()
        return f"transcript: '{c.chosen}' vs '{c.rejected}', {how}; prompt = the shared turns before the final reply"

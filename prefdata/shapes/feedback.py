"""``feedback``: production logs of (prompt, response, thumbs up/down), paired across records.

Records that share a normalized prompt (the same turns with the same roles, case, whitespace and
Unicode normalization ignored in each: :func:`prefdata.text_keys.prompt_key`) are paired up-voted
against down-voted::

    {"prompt": "Reset my password", "response": "Click 'Forgot password'.", "label": "up"}    (1)
    {"prompt": "reset my  password", "response": "I can't help.", "label": "down"}           (2)

-> one pair, chosen = (1), rejected = (2), lineage = both records. A prompt with only up-votes or
only down-votes gives no pair: its records are rejects with reason ``unpaired``, and with
``output.kto_export`` they are also written as TRL's unpaired ``prompt``/``completion``/``label``
rows under ``OUT/kto/``. At most ``max_pairs_per_prompt`` pairs per prompt, chosen so that every
record is used before any is reused (pair i-th up with i-th down first).

Pairing needs all records of a prompt together, so it runs in ``combine`` on a hash partition of
the prompt, after the row-local ``adapt`` has turned each record into a half-pair.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from prefdata.config import FeedbackSource, value_map
from prefdata.schema import MESSAGES, has_blank_turn, trimmed_contents
from prefdata.shapes.base import RawNames, Shape, keep_reason, sample_values
from prefdata.shapes.feedback_hot import hot_groups, pair_hot
from prefdata.shapes.fields import Leaf, expr_for, optional_field, value_text
from prefdata.shapes.messages import MESSAGES as MESSAGES_KIND
from prefdata.shapes.messages import ROLE_ALIASES, TEXT, sniff_kind, to_messages
from prefdata.shapes.prompt import PromptPlan

#: What :meth:`FeedbackShape.adapt` hands the pairing step (checked when the plan resolves).
HALF_SCHEMA = pl.Schema(
    {
        "_record": pl.Int64,
        "_line": pl.String,
        "prompt": MESSAGES,
        "response": MESSAGES,
        "label": pl.String,  # "up" | "down"
        "model": pl.String,
        "_reason": pl.String,
        "_field": pl.String,
        "_detail": pl.String,
    }
)


@dataclass
class Combined:
    pairs: pl.DataFrame  # pair rows (prompt/chosen/rejected, metadata, lineage, keys)
    #: One row per record that found no partner: lineage, prompt, completion, label, reason (``unpaired``
    #: rows are the KTO export's; ``identical_responses`` and ``duplicate_pair`` rows are rejects only).
    unpaired: pl.DataFrame


def _rounds(k_up: pl.Expr, ups: pl.Expr, k_down: pl.Expr, downs: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Sort keys ``(round, position)`` that order all up x down pairs of a prompt so that every record
    is used before any is used again.

    With at least as many ups as downs, round ``r`` pairs the ``i``-th up with the ``(i + r) mod downs``-th
    down: round 0 is (0, 0), (1, 1), ... and wraps around the downs, so it holds every up and every
    down; each later round shifts the downs by one. Fewer ups than downs: the same with the roles swapped.
    """
    more_ups = ups >= downs
    round_ = pl.when(more_ups).then((k_down - k_up) % downs).otherwise((k_up - k_down) % ups)
    return round_, pl.when(more_ups).then(k_up).otherwise(k_down)


def _pair_by_join(h: pl.DataFrame, keep: list[str], cap: int, *, dedup: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the written matches: ``keep`` columns of the up-vote and the same with ``_d`` of the down-vote;
    the fate of every record of a match left over: ``_order``, ``__reason``), from all up x down matches.

    A match of the same text up and down, or (with ``dedup``) one that repeats a pair already made, is
    no pair and does not count toward ``cap``; a record left over is ``unpaired`` when the cap left
    out one of its matches, else ``duplicate_pair`` (a match repeats a pair written), else
    ``identical_responses`` (every match is the same text).
    """
    ups = h.filter(pl.col("label") == "up").select(keep)
    downs = h.filter(pl.col("label") == "down").select(keep)
    same = trimmed_contents(pl.col("response")) == trimmed_contents(pl.col("response_d"))
    first_of_its_pair = pl.struct("prompt", "response", "response_d").is_first_distinct().over("_group") if dedup else pl.lit(True)
    matches = (
        ups.join(downs.select("_group", *[pl.col(c).alias(f"{c}_d") for c in keep if c != "_group"]), on="_group", how="inner")
        .sort("_group", *_rounds(pl.col("__k"), pl.col("__of"), pl.col("__k_d"), pl.col("__of_d")))
        .with_columns(same.alias("__same"))
        .with_columns((~pl.col("__same") & first_of_its_pair).alias("__new"))
        .with_columns(pl.when("__new").then(pl.col("__new").cum_sum().over("_group") - 1).alias("__n"))
        # whether this match's pair is written: by this match, or (a repeat) by its first copy
        .with_columns((pl.col("__n").first().over("_group", "prompt", "response", "response_d") < cap).fill_null(False).alias("__written"))
        .with_columns(
            pl.when("__same").then(pl.lit("identical_responses"))
            .when(pl.col("__new") & (pl.col("__n") < cap)).then(pl.lit("written"))
            .when("__new").then(pl.lit("unpaired"))  # over the cap
            .when("__written").then(pl.lit("duplicate_pair"))  # a repeat of a pair written
            .otherwise(pl.lit("unpaired"))  # a repeat of a pair the cap left out
            .alias("__fate")
        )
    )
    joined = matches.filter(pl.col("__fate") == "written")
    # per record (the caller reads it only for records no written pair uses)
    sides = pl.concat([matches.select("_order", "__fate"), matches.select(pl.col("_order_d").alias("_order"), "__fate")])
    fate = sides.group_by("_order").agg(
        pl.when((pl.col("__fate") == "unpaired").any()).then(pl.lit("unpaired"))
        .when((pl.col("__fate") == "duplicate_pair").any()).then(pl.lit("duplicate_pair"))
        .otherwise(pl.lit("identical_responses"))
        .alias("__reason"),
    )
    return joined.select(*keep, *[f"{c}_d" for c in keep if c != "_group"]), fate


class FeedbackShape(Shape):
    name = "feedback"
    combines = True

    def __init__(self, source: FeedbackSource, sample: Sequence[Mapping[str, Any]]):
        self.source = source
        c = source.columns
        self.aliases = {**ROLE_ALIASES, **source.roles}
        if c.conversation:
            self.conversation_kind = sniff_kind(sample_values(sample, c.conversation)) or MESSAGES_KIND
        else:
            self.prompt = PromptPlan.sniff(c, sample)
            assert c.response
            self.response_kind = sniff_kind(sample_values(sample, c.response)) or TEXT

    def leaves(self) -> list[Leaf]:
        c = self.source.columns
        if c.conversation:
            leaves = [Leaf(c.conversation, self.conversation_kind.dtype, self.conversation_kind.strict)]
        else:
            assert c.response
            leaves = self.prompt.leaves() + [Leaf(c.response, self.response_kind.dtype, self.response_kind.strict)]
        leaves.append(Leaf(c.label, pl.String))
        if c.model:
            leaves.append(Leaf(c.model, pl.String))
        return leaves

    def _label(self) -> pl.Expr:
        labels = self.source.labels
        mapping = value_map([(v, "up") for v in labels.up] + [(v, "down") for v in labels.down])
        return value_text(expr_for(self.source.columns.label)).replace_strict(mapping, default=None, return_dtype=pl.String)

    def adapt(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        """Each record -> a half-pair (prompt, response, up/down), or a reject.

        The half-pair is built in ``__``-named columns and renamed only in the final select: the raw
        fields keep their names until then, and the prompt check, the label checks and the model
        read them by their configured paths (``prompt.text``, ``label``), so a raw field named
        ``prompt`` or ``label`` must not be overwritten by the value made from it.
        """
        c = self.source.columns
        if c.conversation:
            turns = to_messages(expr_for(c.conversation), self.conversation_kind, "user", self.aliases)
            prompt, response = turns.list.slice(0, turns.list.len() - 1), turns.list.slice(-1)
            field = c.conversation
        else:
            assert c.response
            prompt = self.prompt.expr(self.aliases)
            response = to_messages(expr_for(c.response), self.response_kind, "assistant", self.aliases)
            field = c.response
        lf = lf.with_columns(prompt.alias("__prompt"), response.alias("__response"), self._label().alias("__label"))
        if not c.conversation:
            lf = self.prompt.check(lf)
        raw_label = expr_for(c.label)
        P, R = pl.col("__prompt"), pl.col("__response")
        checks = [
            ("missing_field", c.label, pl.lit(f"{c.label} is missing"), value_text(raw_label).is_null()),
            ("unknown_verdict", c.label, pl.format(f"{c.label} = {{}} is none of the configured up/down labels", raw_label), pl.col("__label").is_null()),
            ("missing_field", field, pl.lit(f"{field}: no response"), R.is_null() | (R.list.len() == 0)),
            # a blank response would be paired and sink its partner with it (the pair fails empty_field)
            ("empty_field", field, pl.lit(f"{field}: the response is empty"), has_blank_turn(R).fill_null(False)),
            ("missing_field", field, pl.lit("no prompt"), P.is_null() | (P.list.len() == 0)),
        ]
        for reason, where, detail, cond in checks:
            lf = lf.with_columns(keep_reason(pl.lit(reason), pl.lit(where), detail, cond))
        model = optional_field(c.model)
        return lf.select(
            "_record",
            "_line",
            P.cast(MESSAGES).alias("prompt"),
            R.cast(MESSAGES).alias("response"),
            pl.col("__label").alias("label"),
            model.cast(pl.String).alias("model"),
            "_reason",
            "_field",
            "_detail",
        ).match_to_schema(HALF_SCHEMA)  # the pairing step reads these columns by name and type

    def raw_names(self) -> RawNames:
        """The raw fields of a half-pair's ``prompt`` and ``response``, which the generic rules check
        before pairing. In conversation mode the response is the conversation's last turn, named by
        that field as its other checks name it; the prompt, the turns before it, keeps its name and
        its detail says where it came from (``prompt (from messages) has an empty turn``), as a
        transcript's shared turns do."""
        c = self.source.columns
        if c.conversation:
            return RawNames.of({"prompt": (c.conversation,), "response": c.conversation})
        assert c.response
        return RawNames.of({"prompt": self.prompt.origin(), "response": c.response})

    def combine(self, halves: pl.DataFrame, *, dedup: bool = True) -> Combined:  # type: ignore[override]
        """Pair up-votes with down-votes per prompt group (one hash partition at a time).

        A match of the same text up and down, or (with ``dedup``) one that repeats a pair already made
        (a canned reply down-voted eight times), is no pair and does not count toward
        ``max_pairs_per_prompt``: the cap would otherwise be spent on what the rules then reject, and
        the prompt's other pairs lost. A record left over is ``unpaired`` (exported as a KTO row) when
        the cap left it out or it has no partner, and otherwise ``duplicate_pair`` (its matches repeat
        pairs written) or ``identical_responses`` (its matches are the same text): not exported.
        """
        h = halves.sort("_order").with_columns(
            pl.int_range(pl.len()).over("_group", "label").alias("__k"), pl.len().over("_group", "label").alias("__of")
        )
        keep = ["_group", "_split_key", "_bucket", "__k", "__of", "_order", "prompt", "response", "model", "lineage", "source"]
        cap = self.source.max_pairs_per_prompt
        hot = hot_groups(h)
        is_hot = pl.col("_group").is_in(hot.implode())
        joined, fate = _pair_by_join(h.filter(~is_hot) if hot.len() else h, keep, cap, dedup=dedup)
        if hot.len():  # a prompt with very many votes: its matches are walked, not all made (feedback_hot)
            hot_joined, hot_fate = pair_hot(h.filter(is_hot), keep, cap, dedup=dedup)
            joined, fate = pl.concat([joined, hot_joined], how="diagonal_relaxed"), pl.concat([fate, hot_fate])
        pairs = joined.select(
            pl.col("prompt"),
            pl.col("response").alias("chosen"),
            pl.col("response_d").alias("rejected"),
            pl.lit(None, pl.Float64).alias("score_chosen"),
            pl.lit(None, pl.Float64).alias("score_rejected"),
            pl.col("model").alias("chosen_model"),
            pl.col("model_d").alias("rejected_model"),
            pl.lit(None, pl.String).alias("chosen_position"),
            "source",
            pl.min_horizontal("_order", "_order_d").alias("_order"),
            pl.concat_list("lineage", "lineage_d").alias("lineage"),
            "_group",
            "_split_key",
            "_bucket",
            pl.lit(None, pl.String).alias("_reason"),
            pl.lit(None, pl.String).alias("_field"),
            pl.lit(None, pl.String).alias("_detail"),
        )
        used = pl.concat([joined.select("_order"), joined.select(pl.col("_order_d").alias("_order"))]).unique()
        response = self.source.columns.conversation or self.source.columns.response
        left_over = (
            h.join(used, on="_order", how="anti")
            .join(fate, on="_order", how="left")
            .sort("_order")
            .with_columns(pl.col("__reason").is_not_null().alias("__matched"), pl.col("__reason").fill_null("unpaired").alias("_reason"))
        )
        unpaired = (
            left_over.select(
                "lineage",
                "source",
                "prompt",
                pl.col("response").alias("completion"),
                (pl.col("label") == "up").alias("label"),
                "model",
                "_group",
                "_split_key",
                "_bucket",
                "_reason",
                pl.when(pl.col("_reason") == "unpaired").then(pl.lit(self.source.columns.label)).otherwise(pl.lit(response)).alias("_field"),
                pl.when(pl.col("_reason") == "duplicate_pair")
                .then(pl.lit("every pair it makes repeats one already made from this prompt (the same prompt, chosen and rejected)"))
                .when(pl.col("_reason") == "identical_responses")
                .then(pl.lit("every response voted the other way on this prompt is the same text"))
                .when(pl.col("__matched"))
                .then(pl.lit(f"over max_pairs_per_prompt ({cap}) for this prompt"))
                .when(pl.col("label") == "up")
                .then(pl.lit("no down-voted response to the same prompt"))
                .otherwise(pl.lit("no up-voted response to the same prompt"))
                .alias("_detail"),
            )
        )
        return Combined(pairs=pairs, unpaired=unpaired)

    def describe(self) -> str:
        c = self.source.columns
        what = f"conversation '{c.conversation}'" if c.conversation else f"prompt {self.prompt.description}, response '{c.response}'"
        return f"feedback: {what}, label '{c.label}'; up-votes paired with down-votes per prompt (max {self.source.max_pairs_per_prompt})"


def mark_repeated_unpaired(unpaired: pl.DataFrame) -> pl.DataFrame:
    """Unpaired records that repeat an earlier unpaired one exactly (prompt, response and label: the
    same canned reply down-voted eight times, in one file or in several sources) become
    ``duplicate_record`` rejects: the KTO export would otherwise weight that reply eight times, where
    pairs hold a repeated pair once. ``unpaired`` holds one partition's left-over records of every
    feedback source (a prompt group never spans partitions), with ``_order`` (raw order)."""
    content = pl.struct("prompt", "completion", "label")
    is_unpaired = pl.col("_reason") == "unpaired"
    first = pl.col("lineage").first().over("_group", "_reason", "__content").list.first()
    return (
        unpaired.sort("_order")
        .with_columns(content.hash(0).alias("__content"))
        .with_columns(first.alias("__first"), (is_unpaired & ~content.is_first_distinct().over("_group", "_reason")).alias("__repeat"))
        .with_columns(
            pl.when("__repeat").then(pl.lit("duplicate_record")).otherwise("_reason").alias("_reason"),
            pl.when("__repeat")
            .then(pl.format("same prompt, response and label as {} record {}, which is kept", pl.col("__first").struct.field("file"),
                            pl.col("__first").struct.field("record")))
            .otherwise("_detail")
            .alias("_detail"),
        )
        .drop("__content", "__first", "__repeat")
    )

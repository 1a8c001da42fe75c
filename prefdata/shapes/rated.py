"""``rated`` and ``ranked``: a prompt with N completions, each scored or ranked; binarized into pairs.

UltraFeedback-style record::

    {"instruction": "Name a fruit.", "completions": [
        {"model": "m1", "response": "Apple.", "overall_score": 8.5},
        {"model": "m2", "response": "A car.", "overall_score": 2.0},
        {"model": "m3", "response": "Banana!", "overall_score": 7.0}]}

with ``columns: {prompt: instruction, score: overall_score, model: model}`` and the default policy
``best_vs_worst`` gives one pair: chosen "Apple." (8.5, m1) over rejected "A car." (2.0, m2).
``best_vs_random`` pairs the best with one strictly worse completion drawn with a seed (same seed,
same pairs); ``all_pairs`` gives every pair whose score gap is at least ``min_margin``. Equal scores
are never paired. The same text twice in one record (after trimming) is one completion, scored by
the mean of its scores: otherwise ``all_pairs`` would pair it both above and below a third. For ``ranked``, rank 1 is best unless ``lower_rank_is_better: false``; ranks are not scores, so
``score_chosen``/``score_rejected`` stay null.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import polars as pl
import polars_hash  # noqa: F401  (registers nchash)

from prefdata.config import RankedSource, RatedSource
from prefdata.errors import ConfigError
from prefdata.schema import MESSAGES, trimmed_contents
from prefdata.shapes.base import PAIR_SCHEMA, RawNames, Shape, keep_reason, sample_values
from prefdata.shapes.fields import Leaf, as_number, blank_as_null, expr_for, parse_path
from prefdata.shapes.messages import ROLE_ALIASES, TEXT, sniff_kind, to_messages
from prefdata.shapes.prompt import PromptPlan
from prefdata.text_keys import BLANK

SELF = "$"


def _sub(expr: pl.Expr, path: str) -> pl.Expr:
    """Read ``path`` (relative) from a struct expression; ``$`` is the expression itself."""
    if path == SELF:
        return expr
    for token in parse_path(path):
        expr = expr.list.get(token, null_on_oob=True) if isinstance(token, int) else expr.struct.field(token)
    return expr


def _item_dtype(leaves: list[tuple[str, pl.DataType]]) -> pl.DataType:
    """The struct type of one completion from relative (path, type) leaves."""
    from prefdata.shapes.fields import _merge, _wrap

    dtype: pl.DataType | None = None
    for path, leaf in leaves:
        tokens = parse_path(path)
        wrapped = _wrap(tokens, leaf)
        dtype = wrapped if dtype is None else _merge(dtype, wrapped, path)
    assert dtype is not None
    return dtype


class RatedShape(Shape):
    name = "rated"
    #: each record is binarized alone, and the random draw hashes content, not the record number
    record_local = True

    def __init__(self, source: RatedSource | RankedSource, sample: Sequence[Mapping[str, Any]]):
        self.source = source
        c = source.columns
        self.prompt = PromptPlan.sniff(c, sample)
        items = [item for lst in sample_values(sample, c.completions) if isinstance(lst, list) for item in lst]
        texts = items if c.text == SELF else [v for item in items for v in sample_values([item], c.text) if isinstance(item, dict)]
        self.text_kind = sniff_kind(texts) or TEXT
        self.aliases = {**ROLE_ALIASES, **source.roles}
        self.expansion = self._expansion(sample)
        self.pairs_per_record = self._pairs_per_record(sample)
        if self.item_value_path is not None and c.text == SELF:
            raise ConfigError(f"source {source.name or self.name}: with text: '$' (completions are plain values) give the {self.value_word}s as a parallel list ('{self.value_word}s:')")

    def _pairs_per_record(self, sample: Sequence[Mapping[str, Any]]) -> float:
        """Mean pairs a sampled record makes at most: n(n-1)/2 under ``all_pairs``, else one."""
        if self.source.binarize.policy != "all_pairs":
            return 1.0
        counts = [self._most_pairs(len(v)) for r in sample for v in sample_values([r], self.source.columns.completions)[:1] if isinstance(v, list)]
        return max(1.0, sum(counts) / len(counts)) if counts else 1.0

    def _most_pairs(self, n: int) -> float:
        """Pairs ``all_pairs`` makes at most from n completions: n(n-1)/2, or ``max_pairs``."""
        return min(self.source.binarize.max_pairs or float("inf"), n * (n - 1) / 2)

    def _expansion(self, sample: Sequence[Mapping[str, Any]]) -> float:
        """Bytes written per byte read under ``all_pairs``, from the sample: a record of n completions
        makes up to n(n-1)/2 pairs, each holding the prompt (everything but the completions) and two
        completions, so prompt-heavy records expand up to n/2 times more than their completions alone."""
        if self.source.binarize.policy != "all_pairs":
            return 1.0
        read = written = 0.0
        for record in sample:
            lists = [v for v in sample_values([record], self.source.columns.completions) if isinstance(v, list)]
            if not lists:
                continue
            try:
                n, record_bytes = len(lists[0]), len(json.dumps(record, default=str))
                completion_bytes = len(json.dumps(lists[0], default=str))
            except RecursionError:  # valid JSON nested deeper than Python recurses: left out of the estimate
                continue
            read += record_bytes
            written += self._most_pairs(n) * (record_bytes - completion_bytes + 2 * completion_bytes / max(1, n))
        return max(1.0, written / read) if read else 1.0

    def batch_key(self) -> Hashable | None:
        """As :meth:`Shape.batch_key`, but ``all_pairs`` files stay apart: each reads in blocks sized
        by the pairs its own sample expands to, which a batch joined from other files would exceed."""
        return None if self.source.binarize.policy == "all_pairs" else super().batch_key()

    # -- what differs between rated and ranked --------------------------------------------------

    value_word = "score"

    @property
    def item_value_path(self) -> str | None:
        c = self.source.columns
        return None if getattr(c, f"{self.value_word}s") else getattr(c, self.value_word)

    @property
    def parallel_value_path(self) -> str | None:
        return getattr(self.source.columns, f"{self.value_word}s")

    def goodness(self, value: pl.Expr) -> pl.Expr:
        """Higher is better after this transform."""
        assert isinstance(self.source, RatedSource)
        return value if self.source.higher_is_better else -value

    # -- decoding ---------------------------------------------------------------------------------

    def leaves(self) -> list[Leaf]:
        c = self.source.columns
        leaves = self.prompt.leaves()
        if c.text == SELF:
            item = self.text_kind.dtype
            strict = tuple(("*", *s) for s in self.text_kind.strict)
        else:
            parts = [(c.text, self.text_kind.dtype)]
            if self.item_value_path:
                parts.append((self.item_value_path, pl.String))
            if c.model:
                parts.append((c.model, pl.String))
            item = _item_dtype(parts)
            prefix = tuple("*" if isinstance(t, int) else t for t in parse_path(c.text))
            strict = tuple(("*", *prefix, *s) for s in self.text_kind.strict)
        leaves.append(Leaf(c.completions, pl.List(item), strict))
        if self.parallel_value_path:
            leaves.append(Leaf(self.parallel_value_path, pl.List(pl.String)))
        if c.models:
            leaves.append(Leaf(c.models, pl.List(pl.String)))
        return leaves

    # -- pairing ----------------------------------------------------------------------------------

    def adapt(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        c = self.source.columns
        policy = self.source.binarize
        items = expr_for(c.completions)
        base = lf.with_columns(self.prompt.expr(self.aliases).alias("__prompt"), items.alias("__items"))
        if self.parallel_value_path:
            base = base.with_columns(expr_for(self.parallel_value_path).alias("__values"))
        if c.models:
            base = base.with_columns(expr_for(c.models).alias("__models"))
        base = base.with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias("__row"))
        base = base.with_columns(keep_reason(pl.lit("missing_field"), pl.lit(c.completions), pl.lit(f"{c.completions} is missing"), pl.col("__items").is_null()))
        base = self._check_parallel(base)
        base = self.prompt.check(base)

        explode_cols = ["__items"] + (["__values"] if self.parallel_value_path else []) + (["__models"] if c.models else [])
        # the draw of best_vs_random is keyed on the prompt's text, not on where the record sits
        prompt_key = [pl.col("__prompt").list.eval(pl.element().struct.field("content")).list.join("\x1f").fill_null("").alias("__pkey")] if policy.policy == "best_vs_random" else []
        ex = (
            base.filter(pl.col("_reason").is_null())
            .select("__row", "_record", *prompt_key, *explode_cols, pl.int_ranges(pl.col("__items").list.len()).alias("__i"))
            .explode([*explode_cols, "__i"])
            .filter(pl.col("__i").is_not_null())
        )
        item = pl.col("__items")
        raw_value = pl.col("__values") if self.parallel_value_path else _sub(item, self.item_value_path or SELF)
        value = as_number(raw_value)
        model = blank_as_null(pl.col("__models") if c.models else (_sub(item, c.model) if c.model else pl.lit(None, pl.String)))
        text = to_messages(_sub(item, c.text), self.text_kind, "assistant", self.aliases)
        ex = ex.select(
            "__row",
            "_record",
            *(["__pkey"] if prompt_key else []),
            "__i",
            text.alias("__text"),
            value.alias("__value"),
            self.goodness(value).alias("__good"),
            model.cast(pl.String).alias("__model"),
            pl.when(raw_value.is_not_null() & value.is_null()).then(raw_value.cast(pl.String)).alias("__bad_text"),
        )
        # a blank score or rank (an empty CSV cell) is a missing one, as JSON null is: its completion is left
        # out (its value is null), not the record rejected as "not a number" (as read_scores does). Tested
        # on the few values that are no number, not on every completion's.
        ex = ex.with_columns(blank_as_null(pl.col("__bad_text")).alias("__bad_text"))
        bad_values = ex.filter(pl.col("__bad_text").is_not_null()).group_by("__row").agg(pl.col("__bad_text").first())
        usable = _merge_repeated_texts(
            ex.filter(
                pl.col("__value").is_not_null()
                & pl.col("__text").is_not_null()
                & (pl.col("__text").list.eval(pl.element().struct.field("content").str.strip_chars(BLANK).str.len_chars()).list.sum() > 0)
            )
        )
        n_usable = usable.group_by("__row").agg(pl.len().alias("__n"))
        pairs = self._pairs(usable, policy.policy, policy.min_margin, policy.seed, policy.max_pairs)
        n_pairs = pairs.group_by("__row").agg(pl.len().alias("__pairs"))

        word = self.value_word
        status = (
            base.join(bad_values, on="__row", how="left")
            .join(n_usable, on="__row", how="left")
            .join(n_pairs, on="__row", how="left")
            .with_columns(pl.col("__n").fill_null(0), pl.col("__pairs").fill_null(0))
        )
        status = status.with_columns(
            keep_reason(pl.lit("wrong_type"), pl.lit(self.parallel_value_path or f"{c.completions}[].{self.item_value_path}"), pl.format(f"a {word} is not a number: {{}}", pl.col("__bad_text")), pl.col("__bad_text").is_not_null())
        ).with_columns(
            keep_reason(pl.lit("too_few_completions"), pl.lit(c.completions), pl.format(f"{{}} usable completion(s) (distinct texts with a {word}); at least 2 are needed", pl.col("__n")), pl.col("__n") < 2)
        ).with_columns(
            keep_reason(
                pl.lit("below_margin"),
                pl.lit(c.completions),
                pl.lit(f"no two completions differ in {word}" + (f" by at least {policy.min_margin}" if policy.min_margin else "")),
                pl.col("__pairs") == 0,
            )
        )
        rejected_rows = status.filter(pl.col("_reason").is_not_null()).select(
            "_record", "_line", *[pl.lit(None, dtype).alias(n) for n, dtype in PAIR_SCHEMA.items() if n not in ("_record", "_line", "_reason", "_field", "_detail")], "_reason", "_field", "_detail"
        )
        good = status.filter(pl.col("_reason").is_null()).select("__row", "_record", "__prompt")
        pair_rows = pairs.join(good, on="__row", how="inner").sort("__row", "__ci", "__ri").select(
            "_record",
            pl.lit(None, pl.String).alias("_line"),
            pl.col("__prompt").alias("prompt"),
            pl.col("__ctext").alias("chosen"),
            pl.col("__rtext").alias("rejected"),
            (pl.col("__cvalue") if self.value_word == "score" else pl.lit(None, pl.Float64)).alias("score_chosen"),
            (pl.col("__rvalue") if self.value_word == "score" else pl.lit(None, pl.Float64)).alias("score_rejected"),
            pl.col("__cmodel").alias("chosen_model"),
            pl.col("__rmodel").alias("rejected_model"),
            pl.lit(None, pl.String).alias("chosen_position"),
            pl.lit(None, pl.String).alias("_reason"),
            pl.lit(None, pl.String).alias("_field"),
            pl.lit(None, pl.String).alias("_detail"),
        )
        out = pl.concat([pair_rows.cast(dict(PAIR_SCHEMA)), rejected_rows.cast(dict(PAIR_SCHEMA))], how="vertical")
        return out.sort("_record", maintain_order=True)

    def _parallel_lists(self) -> list[tuple[str, str, str]]:
        """``(raw path, column, what one item is)`` of every list read parallel to the completions."""
        c = self.source.columns
        lists = []
        if self.parallel_value_path:
            lists.append((self.parallel_value_path, "__values", self.value_word))
        if c.models:
            lists.append((c.models, "__models", "model"))
        return lists

    def _check_parallel(self, base: pl.LazyFrame) -> pl.LazyFrame:
        """Reject records whose parallel lists are null or not as long as their completions (a null
        ``models`` list is read as unknown model names instead).

        The lists are exploded together; one record with a short, long, empty or null list would make
        that explode fail for the whole batch. Vectorized: one length comparison per list.
        """
        c = self.source.columns
        n_items = pl.col("__items").list.len()
        if c.models:  # model names are optional metadata: a record without them pairs, with null names
            models = pl.col("__models")
            base = base.with_columns(pl.when(models.is_null()).then(pl.lit(None, pl.String).repeat_by(n_items)).otherwise(models).alias("__models"))
        for path, col, word in self._parallel_lists():
            values = pl.col(col)
            base = base.with_columns(
                keep_reason(pl.lit("missing_field"), pl.lit(path), pl.lit(f"{path} is missing or null (a list parallel to {c.completions} is needed)"), values.is_null())
            ).with_columns(
                keep_reason(
                    pl.lit("wrong_type"),
                    pl.lit(path),
                    pl.format(f"{path} has {{}} {word}(s) but {c.completions} has {{}} completion(s); parallel lists must have the same length", values.list.len(), n_items),
                    values.list.len() != n_items,
                )
            )
        return base

    @staticmethod
    def _pairs(usable: pl.LazyFrame, policy: str, min_margin: float, seed: int, max_pairs: int | None = None) -> pl.LazyFrame:
        """(__row, chosen item, rejected item) rows; a pair needs a strictly better score, by min_margin.

        Gaps are compared with a tolerance of a billionth of the larger score's size (relative only, so
        scores of 3e-10 and 1e-10 still differ), so 0.3 - 0.1 meets a margin of 0.2 (it is
        0.19999999999999998 in floating point) and rounding noise is no gap.
        """
        cols = ["__i", "__text", "__value", "__model", "__good"]

        def ok(better: pl.Expr, worse: pl.Expr) -> pl.Expr:
            tolerance = pl.max_horizontal(better.abs(), worse.abs()) * 1e-9
            gap = better - worse
            return (gap > tolerance) & (gap >= min_margin - tolerance)
        if policy == "all_pairs":
            left = usable.select("__row", *[pl.col(c).alias(f"__c{c[2:]}") for c in cols])
            right = usable.select("__row", *[pl.col(c).alias(f"__r{c[2:]}") for c in cols])
            joined = left.join(right, on="__row", how="inner").filter(ok(pl.col("__cgood"), pl.col("__rgood")))
            if max_pairs is None:
                return joined
            # the widest gaps first, then the completions' places: the same pairs whatever the batch.
            # Gaps within the margin's tolerance of the next wider one are a tie (0.5 - 0.3 and
            # 0.3 - 0.1 are 0.2 and 0.19999999999999998), so scaling the scores keeps the same pairs
            gap, tolerance = pl.col("__gap"), pl.col("__tol")
            by_gap = joined.with_columns(
                (pl.col("__cgood") - pl.col("__rgood")).alias("__gap"),
                (pl.max_horizontal(pl.col("__cgood").abs(), pl.col("__rgood").abs()) * 1e-9).alias("__tol"),
            ).sort("__row", "__gap", descending=[False, True])
            narrower = (gap.shift(1) - gap) > pl.max_horizontal(tolerance.shift(1), tolerance)
            new_tie = (pl.col("__row") != pl.col("__row").shift(1)).fill_null(True) | narrower
            ranked = by_gap.with_columns(new_tie.cum_sum().alias("__tie")).drop("__gap", "__tol").sort("__tie", "__ci", "__ri")
            return ranked.filter(pl.int_range(pl.len()).over("__row") < max_pairs).drop("__tie")
        ranked = usable.sort("__row", "__good", "__i", descending=[False, True, False])
        best = ranked.group_by("__row", maintain_order=True).first().select("__row", *[pl.col(c).alias(f"__c{c[2:]}") for c in cols])
        if policy == "best_vs_worst":
            worst = usable.sort("__row", "__good", "__i").group_by("__row", maintain_order=True).first()
            worst = worst.select("__row", *[pl.col(c).alias(f"__r{c[2:]}") for c in cols])
            return best.join(worst, on="__row").filter(ok(pl.col("__cgood"), pl.col("__rgood")))
        # best_vs_random: of the strictly worse completions, the one whose seeded hash of prompt and
        # text is least. The draw depends on the content alone: not on the record's place in its file,
        # the file's name or the order of the completions, so splitting a log into files keeps it.
        candidates = usable.join(best.select("__row", "__cgood"), on="__row").filter(ok(pl.col("__cgood"), pl.col("__good")))
        draw_key = pl.concat_str([pl.col("__pkey"), pl.col("__key").list.join("\x1f")], separator="\x1e")
        candidates = candidates.with_columns(draw_key.nchash.xxh3_64(seed=seed).alias("__h"))
        drawn = candidates.sort("__row", "__h", "__i").group_by("__row", maintain_order=True).first()
        drawn = drawn.select("__row", *[pl.col(c).alias(f"__r{c[2:]}") for c in cols])
        return best.join(drawn, on="__row")

    def raw_names(self) -> RawNames:
        """Both responses are completions' texts (``completions[].response``; ``completions[]`` for plain values)."""
        c = self.source.columns
        text = f"{c.completions}[]" if c.text == SELF else f"{c.completions}[].{c.text}"
        return RawNames.of({"prompt": self.prompt.origin(), "chosen": text, "rejected": text})

    def describe(self) -> str:
        c, b = self.source.columns, self.source.binarize
        extra = f", seed {b.seed}" if b.policy == "best_vs_random" else ""
        margin = f", min_margin {b.min_margin}" if b.min_margin else ""
        cap = f", max_pairs {b.max_pairs}" if b.max_pairs else ""
        ranks = f" ({'lower' if self.source.lower_rank_is_better else 'higher'} rank is better)" if self.name == "ranked" else ""
        return f"{self.name}: prompt {self.prompt.description}, completions '{c.completions}' ({self.text_kind}){ranks}, {b.policy}{extra}{margin}{cap}"



def _merge_repeated_texts(usable: pl.LazyFrame) -> pl.LazyFrame:
    """One completion per distinct text of a record (:func:`prefdata.schema.trimmed_contents`, as
    ``identical_responses`` compares), scored by the mean of its scores, with its first model and place.

    A text scored 5 and 1 beside another scored 3 would otherwise be paired both above and below it
    (a contradiction DPO cannot learn from) by ``all_pairs``, and be chosen against itself by
    ``best_vs_worst``, which lost the record.
    """
    key = trimmed_contents(pl.col("__text"))
    first = [c for c in usable.collect_schema().names() if c not in ("__row", "__i", "__value", "__good", "__key")]
    return (
        usable.with_columns(key.alias("__key"))
        .group_by("__row", "__key")
        .agg(pl.col("__i").min(), *[pl.col(c).sort_by("__i").first() for c in first], pl.col("__value", "__good").mean())
    )


class RankedShape(RatedShape):
    name = "ranked"
    value_word = "rank"

    def goodness(self, value: pl.Expr) -> pl.Expr:
        assert isinstance(self.source, RankedSource)
        return -value if self.source.lower_rank_is_better else value


__all__ = ["MESSAGES", "RankedShape", "RatedShape"]

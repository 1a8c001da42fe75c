"""What every shape adapter is: decoded raw records in, preference pairs (or rejects) out.

An adapter is pure and row-local: ``adapt`` maps a LazyFrame of decoded records (one column per raw
field it asked for, plus ``_record``/``_line`` and any decode error in ``_reason``) to a LazyFrame
with the columns of :data:`PAIR_SCHEMA`. A record may give several pairs (rated, tree) or none (a
reject: ``_reason`` set, the pair columns null). Because it is row-local, the same function runs on
an Arrow batch locally or on a distributed engine.

Shapes whose pairs span several records (feedback: an up-voted and a down-voted reply to one prompt)
emit half-pairs from ``adapt`` and pair them in ``combine``, which sees every row of one hash
partition of the normalized prompt.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import polars as pl

from prefdata.schema import MESSAGES
from prefdata.shapes.fields import Leaf, as_number, blank_as_null, expr_for

#: Columns ``adapt`` returns (``combine``-free shapes) and rules/finish consume.
PAIR_SCHEMA = pl.Schema(
    {
        "_record": pl.Int64,
        "_line": pl.String,
        "prompt": MESSAGES,
        "chosen": MESSAGES,
        "rejected": MESSAGES,
        "score_chosen": pl.Float64,
        "score_rejected": pl.Float64,
        "chosen_model": pl.String,
        "rejected_model": pl.String,
        "chosen_position": pl.String,
        "_reason": pl.String,
        "_field": pl.String,
        "_detail": pl.String,
    }
)

_NULL_DEFAULTS = ("score_chosen", "score_rejected", "chosen_model", "rejected_model", "chosen_position")

#: Where a canonical column came from: one raw field path (``good``, ``turns[-1]``, ``completions[].text``),
#: or the raw fields it was built from when there are several (a prompt template, a system field).
Origin = str | tuple[str, ...]


@dataclass(frozen=True)
class RawNames:
    """The raw field each canonical column (``prompt``, ``chosen``, ...) came from, so that a reject
    of the generic rules (:mod:`prefdata.build.rules`) names the field of the data (``bad is
    missing``), not the canonical column the data never had (``rejected is missing``).

    A column of one raw field is named by it; one built from several keeps its canonical name, and
    its detail lists them (``prompt (from system, question) has an empty turn``). ``by``: a column
    of the shape's rows whose value picks other ``cases`` (pairwise: ``chosen_position`` says
    whether ``chosen`` was ``response_a`` or ``response_b``); rows with another value get ``names``.
    Hashable, so the rules are built once per source layout.
    """

    names: tuple[tuple[str, Origin], ...] = ()
    by: str | None = None
    cases: tuple[tuple[str, tuple[tuple[str, Origin], ...]], ...] = ()

    @classmethod
    def of(cls, names: Mapping[str, Origin], by: str | None = None, cases: Mapping[str, Mapping[str, Origin]] | None = None) -> RawNames:
        """From mappings (canonical column -> origin; ``by`` value -> such a mapping)."""
        return cls(tuple(names.items()), by, tuple((value, tuple(m.items())) for value, m in (cases or {}).items()))


class Shape(ABC):
    """One raw layout. Subclasses are built from a source config and a sample of raw records."""

    name: ClassVar[str]
    #: True when pairs are formed across records in :meth:`combine`.
    combines: ClassVar[bool] = False
    #: Bytes of pair rows per byte of raw record, as far as the sample tells: ``build`` sizes its
    #: batches and partitions by what it will write, and a shape that makes many pairs of one record
    #: (``all_pairs`` over 100 completions: 4,950) writes ~100x what it reads.
    expansion: float = 1.0
    #: Pairs per record, as far as the sample tells (``all_pairs`` over n completions: n(n-1)/2):
    #: ``build`` also caps its partitions by pairs.
    pairs_per_record: float = 1.0
    #: True when ``adapt`` reads each record alone and uses ``_record`` only to tell records apart
    #: (never its value): records of several files may then be adapted in one batch, renumbered.
    record_local: ClassVar[bool] = False
    #: True when ``adapt`` reads ``_line``, the whole raw record, not just the fields of :meth:`leaves`:
    #: a Parquet file is then read with every column (others read only the columns they name).
    reads_whole_record: ClassVar[bool] = False
    #: Warnings for fields whose sampled values are of more than one kind (:func:`sniffed_splits`);
    #: not part of :meth:`batch_key`, which compares the kinds themselves.
    kind_splits: tuple[str, ...] = ()

    def batch_key(self) -> Hashable | None:
        """Equal for two adapters that would adapt any record alike, so ``build`` may join small files
        read by either into one batch (a folder of one file per conversation costs one batch, not
        thousands); ``None`` when this adapter's records must stay in batches of their own file.

        Two files' adapters are alike when they are of one class, read the same config (their
        ``name`` and ``path`` aside, which ``adapt`` never reads) and sniffed the same field kinds
        from their samples.
        """
        if not self.record_local:
            return None
        source = getattr(self, "source", None)
        config = source.settings_key() if source is not None else None
        state = repr(sorted((k, v) for k, v in vars(self).items() if k not in ("source", "kind_splits")))
        return (type(self).__qualname__, config, state)

    @abstractmethod
    def leaves(self) -> list[Leaf]:
        """The raw fields to decode, with their types."""

    @abstractmethod
    def adapt(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        """Decoded records -> rows of :data:`PAIR_SCHEMA`."""

    def combine(self, df: pl.DataFrame) -> pl.DataFrame:  # pragma: no cover - only combining shapes
        raise NotImplementedError

    @abstractmethod
    def describe(self) -> str:
        """One line saying how records are read, printed by ``build`` and ``inspect``."""

    def raw_names(self) -> RawNames:
        """The raw fields the canonical columns ``adapt`` returns came from (see :class:`RawNames`).
        By default none is known, and rejects of the generic rules name the canonical columns."""
        return RawNames()


def keep_reason(reason: pl.Expr, field: pl.Expr, detail: pl.Expr, condition: pl.Expr) -> list[pl.Expr]:
    """Set ``_reason/_field/_detail`` where ``condition`` holds, unless an earlier step already set them."""
    fresh = pl.col("_reason").is_null() & condition.fill_null(False)
    return [
        pl.when(fresh).then(reason).otherwise(pl.col("_reason")).alias("_reason"),
        pl.when(fresh).then(field).otherwise(pl.col("_field")).alias("_field"),
        pl.when(fresh).then(detail).otherwise(pl.col("_detail")).alias("_detail"),
    ]


def read_scores(lf: pl.LazyFrame, chosen: str | None, rejected: str | None, *, must_agree: bool = False) -> tuple[pl.LazyFrame, pl.Expr, pl.Expr]:
    """The score fields at paths ``chosen``/``rejected`` as floats (null where the config names none).

    A value that is present but not a number rejects its record as ``wrong_type`` naming the field,
    rather than being read as a missing score; a blank one (an empty CSV cell) is a missing score. With ``must_agree``, a record with both scores must
    score its chosen response strictly higher: equal scores are a ``tie`` and a lower one
    ``scores_disagree`` (a swapped label, or scores that are not the label's evidence).
    """
    out = []
    for path in (chosen, rejected):
        if not path:
            out.append(pl.lit(None, pl.Float64))
            continue
        raw = blank_as_null(expr_for(path))
        value = as_number(raw)
        lf = lf.with_columns(keep_reason(pl.lit("wrong_type"), pl.lit(path), pl.lit(f"{path}: score is not a number"), raw.is_not_null() & value.is_null()))
        out.append(value)
    if must_agree and chosen and rejected:
        sc, sr = out
        fields = pl.lit(f"{chosen},{rejected}")
        lf = lf.with_columns(keep_reason(pl.lit("tie"), fields, pl.format(f"{chosen} = {rejected} = {{}}", sc), sc == sr))
        lf = lf.with_columns(keep_reason(pl.lit("scores_disagree"), fields, pl.format(f"{chosen} {{}} < {rejected} {{}}", sc, sr), sc < sr))
    return lf, out[0], out[1]


def finish_pairs(lf: pl.LazyFrame, **columns: pl.Expr) -> pl.LazyFrame:
    """Select the :data:`PAIR_SCHEMA` columns from ``columns`` (missing metadata becomes null)."""
    exprs = []
    for name, dtype in PAIR_SCHEMA.items():
        if name in columns:
            exprs.append(columns[name].cast(dtype).alias(name))
        elif name in _NULL_DEFAULTS:
            exprs.append(pl.lit(None, dtype).alias(name))
        else:
            exprs.append(pl.col(name).cast(dtype))
    return lf.select(exprs)


def null_pairs_where_rejected(lf: pl.LazyFrame) -> pl.LazyFrame:
    """A reject carries no pair: clearing the pair columns keeps rejects small and unambiguous."""
    is_reject = pl.col("_reason").is_not_null()
    return lf.with_columns(
        [pl.when(~is_reject).then(pl.col(c)).alias(c) for c in ("prompt", "chosen", "rejected")]
    )


def sniffed_splits(records: Sequence[Mapping[str, Any]], fields: Sequence[tuple[str | None, Any]]) -> tuple[str, ...]:
    """Warnings for the ``(path, kind)`` fields (a None path, an unmapped field, is passed over) whose
    sampled values are of more than one kind: the field is read as its ``kind`` and the records
    holding another are rejects. Fields split alike share one line."""
    from prefdata.shapes.messages import kind_split

    alike: dict[tuple[str, str], list[str]] = {}
    for path, kind in fields:
        if path and (seen := kind_split(sample_values(records, path), kind)) is not None:
            alike.setdefault((seen, str(kind)), []).append(path)
    notes = []
    for (seen, kind), paths in alike.items():
        reason = "non_text_content" if kind == "text" else "wrong_type"
        names = ", ".join(f"'{p}'" for p in dict.fromkeys(paths))
        notes.append(
            f"{'fields' if len(paths) > 1 else 'field'} {names} of {len(records):,} sampled records {'hold' if len(paths) > 1 else 'holds'} more than one kind "
            f"({seen}); read as {kind}, the kind most hold, so records holding another kind are {reason} rejects: "
            "give each kind its own file and source"
        )
    return tuple(notes)


def sample_values(records: Sequence[Mapping[str, Any]], path: str | tuple[str | int, ...]) -> list[Any]:
    """Values at ``path`` (or at its parsed tokens) in sampled raw records (missing -> skipped)."""
    from prefdata.shapes.fields import parse_path

    tokens = parse_path(path) if isinstance(path, str) else path
    out = []
    for rec in records:
        value: Any = rec
        for token in tokens:
            if isinstance(token, int):
                value = value[token] if isinstance(value, list) and -len(value) <= token < len(value) else None
            else:
                value = value.get(token) if isinstance(value, dict) else None
            if value is None:
                break
        if value is not None:
            out.append(value)
    return out

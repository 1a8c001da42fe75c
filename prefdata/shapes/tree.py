"""``tree``: nested reply trees with sibling ranks (OpenAssistant); siblings pair by rank.

A record holds one tree (the record itself, or the message at ``columns.root``). For every message
with two or more ranked replies in the assistant role, the prompt is the role-tagged path from the
root to that message, and the best-ranked reply is chosen against each strictly worse one::

    prompter "Best pizza topping?"
      ├─ assistant "Mushrooms." (rank 0)      -> chosen
      ├─ assistant "Pineapple." (rank 1)      -> rejected, pair 1
      └─ assistant "Glue." (rank 2)           -> rejected, pair 2

Equal ranks are never paired; deleted messages (``skip_deleted``) and messages failing
``message_filters`` are left out with their subtrees. Trees are recursive, which has no columnar
form, so each tree is walked in Python (the rest of the build stays vectorized); a tree yielding no
pair is a reject with reason ``no_ranked_replies``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import polars as pl

from prefdata.config import TreeSource
from prefdata.io.decode import json_kind
from prefdata.schema import MESSAGES
from prefdata.shapes.base import PAIR_SCHEMA, Shape
from prefdata.shapes.fields import Leaf
from prefdata.shapes.filters import _get, _number, parse_filters
from prefdata.shapes.messages import ROLE_ALIASES

_PAIR = pl.Struct({"prompt": MESSAGES, "chosen": MESSAGES, "rejected": MESSAGES, "chosen_model": pl.String, "rejected_model": pl.String})
_WALKED = pl.Struct({"pairs": pl.List(_PAIR), "reason": pl.String, "field": pl.String, "detail": pl.String})


class _Bad(Exception):
    def __init__(self, reason: str, field: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.field, self.detail = reason, field, detail


class TreeShape(Shape):
    name = "tree"
    reads_whole_record = True

    def __init__(self, source: TreeSource, sample: Sequence[Mapping[str, Any]]):
        self.source = source
        self.aliases = {**ROLE_ALIASES, **source.roles}
        self.message_filters = parse_filters(source.message_filters)

    def leaves(self) -> list[Leaf]:
        return []  # the tree is walked from the raw JSON text

    # -- the walk -----------------------------------------------------------------------------------

    def _keep(self, msg: Any) -> bool:
        if not isinstance(msg, dict):
            return False
        if self.source.skip_deleted and msg.get("deleted") is True:
            return False
        return all(f.matches(msg) for f in self.message_filters)

    def _turn(self, msg: dict, where: str) -> dict[str, str]:
        c = self.source.columns
        text, role = _get(msg, c.text), _get(msg, c.role)
        if not isinstance(text, str):
            kind = "missing" if text is None else type(text).__name__
            raise _Bad("non_text_content" if text is not None else "missing_field", f"{where}.{c.text}", f"{where}.{c.text}: expected text, got {kind}")
        if isinstance(role, (list, dict)):  # never a role name (and str() of one recursed as deep as it nests)
            raise _Bad("wrong_type", f"{where}.{c.role}", f"{where}.{c.role}: expected a single value, got {json_kind(role)}")
        role_name = self.aliases.get(str(role).strip().lower(), str(role)) if role is not None else None
        if role_name is None:
            raise _Bad("missing_field", f"{where}.{c.role}", f"{where}: no role")
        return {"role": role_name, "content": text}

    def walk(self, line: str) -> dict[str, Any]:
        """One raw tree -> its pairs, or the reason it has none."""
        c = self.source.columns
        try:
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:  # valid JSON that orjson refuses: nested over 1024 levels
                raise _Bad("malformed_record", c.root, f"cannot walk this tree: {exc}") from None
            root = record if c.root == "$" else _get(record, c.root)
            if not isinstance(root, dict):
                raise _Bad("missing_field", c.root, f"{c.root}: no root message object")
            if not self._keep(root):
                raise _Bad("filtered_out", c.root, "the root message is deleted or fails message_filters")
            pairs: list[dict[str, Any]] = []
            self._visit(root, [], c.root if c.root != "$" else "root", pairs)
        except _Bad as bad:
            return {"pairs": [], "reason": bad.reason, "field": bad.field, "detail": bad.detail}
        if not pairs:
            return {"pairs": [], "reason": "no_ranked_replies", "field": c.replies, "detail": "no message has two or more ranked assistant replies with different ranks"}
        return {"pairs": pairs, "reason": None, "field": None, "detail": None}

    def _visit(self, msg: dict, path: list[dict[str, str]], where: str, pairs: list[dict[str, Any]]) -> None:
        c = self.source.columns
        here = path + [self._turn(msg, where)]
        found = _get(msg, c.replies)
        if found is not None and not isinstance(found, list):
            raise _Bad("wrong_type", f"{where}.{c.replies}", f"{where}.{c.replies}: expected a list of reply messages, got {json_kind(found)}")
        replies = [r for r in (found or []) if self._keep(r)]
        ranked = []
        for i, r in enumerate(replies):
            rank = _number(_get(r, c.rank))  # 2, 2.0 or "2", as ranked reads a rank; not " 2", "2_0", true or NaN
            if rank is not None:
                turn = self._turn(r, f"{where}.{c.replies}[{i}]")
                if turn["role"] == "assistant":
                    score = -rank if self.source.lower_rank_is_better else rank
                    ranked.append((score, i, turn, _get(r, c.model) if c.model else None))
        if len(ranked) >= 2 and here[-1]["role"] in ("user", "tool"):
            ranked.sort(key=lambda t: (-t[0], t[1]))
            best = ranked[0]
            for other in ranked[1:]:
                if other[0] < best[0]:
                    pairs.append(
                        {
                            "prompt": here,
                            "chosen": [best[2]],
                            "rejected": [other[2]],
                            "chosen_model": None if best[3] is None else str(best[3]),
                            "rejected_model": None if other[3] is None else str(other[3]),
                        }
                    )
        for i, r in enumerate(replies):
            self._visit(r, here, f"{where}.{c.replies}[{i}]", pairs)

    # -- as a LazyFrame transform ---------------------------------------------------------------

    def adapt(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        walked = pl.col("_line").map_batches(
            lambda s: pl.Series([self.walk(line) if line is not None else None for line in s], dtype=_WALKED), return_dtype=_WALKED
        )
        lf = lf.with_columns(pl.when(pl.col("_reason").is_null()).then(walked).alias("__w"))
        lf = lf.with_columns(
            pl.coalesce("_reason", pl.col("__w").struct.field("reason")).alias("_reason"),
            pl.coalesce("_field", pl.col("__w").struct.field("field")).alias("_field"),
            pl.coalesce("_detail", pl.col("__w").struct.field("detail")).alias("_detail"),
            pl.col("__w").struct.field("pairs").alias("__pairs"),
        )
        rejected = lf.filter(pl.col("_reason").is_not_null())
        good = lf.filter(pl.col("_reason").is_null()).select("_record", "_line", "_reason", "_field", "_detail", "__pairs").explode("__pairs")
        good = good.with_columns(pl.col("__pairs").struct.unnest())
        cols = [n for n in PAIR_SCHEMA.names()]
        def shaped(frame: pl.LazyFrame, with_pairs: bool) -> pl.LazyFrame:
            exprs = []
            for n, dtype in PAIR_SCHEMA.items():
                if n in ("_record", "_line", "_reason", "_field", "_detail") or (with_pairs and n in _PAIR.to_schema()):
                    exprs.append(pl.col(n).cast(dtype))
                else:
                    exprs.append(pl.lit(None, dtype).alias(n))
            return frame.select(exprs)
        out = pl.concat([shaped(good, True), shaped(rejected, False)])
        return out.select(cols).sort("_record", maintain_order=True)

    def describe(self) -> str:
        c = self.source.columns
        root = "the record" if c.root == "$" else f"'{c.root}'"
        return f"tree: root {root}, replies '{c.replies}', rank '{c.rank}' ({'lower' if self.source.lower_rank_is_better else 'higher'} is better); best sibling vs each worse"

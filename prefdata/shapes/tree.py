"""``tree``: nested reply trees with sibling ranks (OpenAssistant); siblings pair by rank.

A record holds one tree (the record itself, or the message at ``columns.root``). For every message
with two or more ranked replies in the assistant role, the prompt is the role-tagged path from the
root to that message, and the best-ranked reply is chosen against each strictly worse one::

    prompter "Best pizza topping?"
      ├─ assistant "Mushrooms." (rank 0)      -> chosen
      ├─ assistant "Pineapple." (rank 1)      -> rejected, pair 1
      └─ assistant "Glue." (rank 2)           -> rejected, pair 2

Equal ranks are never paired; deleted messages (``skip_deleted``) and messages failing
``message_filters`` are left out with their subtrees. A message that cannot be a turn (text that is
null, blank or not text, a role that is absent or maps to nothing) costs only the pairs it would be in: a
pair with it on either side or on its prompt's path is dropped under its reason (the manifest's
``pairs_dropped_by_reason``), and the tree's other pairs are kept; an unusable root, on every path,
rejects the tree. Trees are recursive, which has no columnar form, so each tree is walked in Python
(the rest of the build stays vectorized); a tree yielding no pair is a reject: with the reason of
its first dropped pair, or ``no_ranked_replies``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import orjson
import polars as pl

from prefdata.config import TreeSource
from prefdata.io.decode import json_kind
from prefdata.schema import MESSAGES
from prefdata.shapes.base import PAIR_SCHEMA, Shape
from prefdata.shapes.fields import Leaf
from prefdata.shapes.filters import _get, _number, parse_filters
from prefdata.shapes.messages import ROLE_ALIASES
from prefdata.text_keys import BLANK

#: One pair of a tree, or one it could not form (``reason``/``field``/``detail`` set, the rest null).
_PAIR = pl.Struct(
    {
        "prompt": MESSAGES,
        "chosen": MESSAGES,
        "rejected": MESSAGES,
        "chosen_model": pl.String,
        "rejected_model": pl.String,
        "reason": pl.String,
        "field": pl.String,
        "detail": pl.String,
    }
)
_WALKED = pl.Struct({"pairs": pl.List(_PAIR), "reason": pl.String, "field": pl.String, "detail": pl.String})


class _Bad(Exception):
    def __init__(self, reason: str, field: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.field, self.detail = reason, field, detail


class _Message(NamedTuple):
    """A message of the tree as read: its turn, its canonical role, and why it is unusable (if it is)."""

    turn: dict[str, str] | None
    role: str | None
    bad: _Bad | None


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

    def _role(self, msg: dict, where: str) -> str:
        """The message's canonical role, or :class:`_Bad` saying why it has none."""
        c = self.source.columns
        role = _get(msg, c.role)
        if isinstance(role, (list, dict)):  # never a role name (and str() of one recursed as deep as it nests)
            raise _Bad("wrong_type", f"{where}.{c.role}", f"{where}.{c.role}: expected a single value, got {json_kind(role)}")
        if role is None:
            raise _Bad("missing_field", f"{where}.{c.role}", f"{where}: no role")
        name = self.aliases.get(str(role).strip().lower())
        if name is None:  # as every shape reads roles: an unmapped name is no role, never "not an assistant"
            raise _Bad("unknown_role", f"{where}.{c.role}", f"{where}.{c.role}: role '{role}' maps to none of system/user/assistant/tool (add it under `roles:`)")
        return name

    def _message(self, msg: dict, where: str) -> _Message:
        """The message as a turn, or why it cannot be one; its role is kept when only its text is unusable."""
        c = self.source.columns
        try:
            role: str | None = self._role(msg, where)
            role_bad = None
        except _Bad as bad:
            role, role_bad = None, bad
        text = _get(msg, c.text)
        if role == "system" and (text is None or (isinstance(text, str) and not text.strip(BLANK))):
            # says nothing: no turn on the path, as every shape drops an empty system turn
            return _Message(None, role, None)
        if not isinstance(text, str):
            kind = "missing" if text is None else type(text).__name__
            bad = _Bad("non_text_content" if text is not None else "missing_field", f"{where}.{c.text}", f"{where}.{c.text}: expected text, got {kind}")
            return _Message(None, role, bad)
        if not text.strip(BLANK):  # as the generic rules' empty_field reads blank, but naming the message, not `chosen`
            return _Message(None, role, _Bad("empty_field", f"{where}.{c.text}", f"{where}.{c.text} is empty or blank"))
        if role_bad is not None:
            return _Message(None, None, role_bad)
        return _Message({"role": role, "content": text}, role, None)

    def walk(self, line: str) -> dict[str, Any]:
        """One raw tree -> its pairs (and the pairs it could not form), or the reason it has none."""
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
            where = c.root if c.root != "$" else "root"
            top = self._message(root, where)
            if top.bad is not None:  # the root is on every pair's path: no pair can be formed
                raise top.bad
            pairs: list[dict[str, Any]] = []
            self._visit(root, top, [], None, where, pairs)
        except _Bad as bad:
            return {"pairs": [], "reason": bad.reason, "field": bad.field, "detail": bad.detail}
        if not pairs:
            return {"pairs": [], "reason": "no_ranked_replies", "field": c.replies, "detail": "no message has two or more ranked assistant replies with different ranks"}
        return {"pairs": pairs, "reason": None, "field": None, "detail": None}

    def _visit(self, msg: dict, me: _Message, path: list[dict[str, str]], broken: _Bad | None, where: str, pairs: list[dict[str, Any]]) -> None:
        """Pairs of ``msg``'s ranked replies, then of its replies' subtrees.

        ``broken`` is the first unusable message on the path to ``msg`` (``msg`` included from here
        on): a pair under it, or with an unusable reply on either side, cannot be formed and is
        written as a dropped pair with that message's reason, counted in the manifest's
        ``pairs_dropped_by_reason``, or the record's reject reason when no pair of the tree is left.
        An unusable message in no pair's path and unranked (a reply nobody ranked) costs nothing.
        """
        c = self.source.columns
        here = path + [me.turn] if me.turn is not None and broken is None else path
        broken = broken or me.bad
        found = _get(msg, c.replies)
        if found is not None and not isinstance(found, list):
            raise _Bad("wrong_type", f"{where}.{c.replies}", f"{where}.{c.replies}: expected a list of reply messages, got {json_kind(found)}")
        # raw positions: a reject's field names the reply as the raw list holds it, deleted ones counted
        replies = [(r, self._message(r, f"{where}.{c.replies}[{i}]"), f"{where}.{c.replies}[{i}]") for i, r in enumerate(found or []) if self._keep(r)]
        ranked = []
        for i, (r, reply, _) in enumerate(replies):
            rank = _number(_get(r, c.rank))  # 2, 2.0 or "2", as ranked reads a rank; not " 2", "2_0", true or NaN
            if rank is not None and reply.role in ("assistant", None):  # a role that cannot be read may be an assistant's
                score = -rank if self.source.lower_rank_is_better else rank
                ranked.append((score, i, reply, _get(r, c.model) if c.model else None))
        if len(ranked) >= 2 and me.role in ("user", "tool", None):
            ranked.sort(key=lambda t: (-t[0], t[1]))
            best = ranked[0]
            for other in ranked[1:]:
                if other[0] < best[0]:
                    bad = broken or best[2].bad or other[2].bad
                    if bad is not None:
                        pairs.append({"reason": bad.reason, "field": bad.field, "detail": bad.detail})
                        continue
                    pairs.append(
                        {
                            "prompt": here,
                            "chosen": [best[2].turn],
                            "rejected": [other[2].turn],
                            "chosen_model": None if best[3] is None else str(best[3]),
                            "rejected_model": None if other[3] is None else str(other[3]),
                        }
                    )
        for r, reply, at in replies:
            self._visit(r, reply, here, broken, at, pairs)

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
        good = good.with_columns(pl.col("__pairs").struct.unnest()).with_columns(
            pl.col("reason").alias("_reason"), pl.col("field").alias("_field"), pl.col("detail").alias("_detail")
        )
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

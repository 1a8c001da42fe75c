"""Normalize the many ways raw data writes a conversation into canonical ``{role, content}`` lists.

Raw data writes a turn as a plain string, an OpenAI-style ``{"role", "content"}`` object, a ShareGPT
``{"from", "value"}`` object, or with ``content`` as a list of typed parts
(``[{"type": "text", "text"|"value": ...}]``); a field holds one turn or a list of them. The *kind*
of a field is sniffed from a sample of records, and one polars expression turns the whole column
into canonical messages.

>>> import polars as pl
>>> turns = [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]
>>> df = pl.DataFrame({"c": [turns]}, schema={"c": MESSAGES.dtype})
>>> df.select(to_messages(pl.col("c"), MESSAGES, "user", ROLE_ALIASES)).item().to_list()
[{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'hello'}]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from prefdata.io.decode import ANY
from prefdata.schema import MESSAGE
from prefdata.schema import MESSAGES as CANONICAL_MESSAGES
from prefdata.text_keys import BLANK

#: Raw role names (lowercased) -> canonical role. A config's ``roles:`` adds to or overrides these.
ROLE_ALIASES: dict[str, str] = {
    "user": "user",
    "human": "user",
    "prompter": "user",
    "usr": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "bot": "assistant",
    "model": "assistant",
    "ai": "assistant",
    "chatbot": "assistant",
    "function_call": "assistant",
    "system": "system",
    "tool": "tool",
    "observation": "tool",
    "function": "tool",
    "ipython": "tool",
}

PART = pl.Struct({"type": pl.String, "text": pl.String, "value": pl.String})
MSG_TEXT = pl.Struct({"role": pl.String, "from": pl.String, "content": pl.String, "value": pl.String})
MSG_PARTS = pl.Struct({"role": pl.String, "from": pl.String, "content": pl.List(PART)})


@dataclass(frozen=True)
class Kind:
    """How a raw field writes turns: ``text``, one ``message`` or a list of ``messages``."""

    name: str  # "text" | "message" | "messages"
    parts: bool = False  # message content is a list of typed parts

    @property
    def dtype(self) -> pl.DataType:
        if self.name == "text":
            return pl.String
        msg = MSG_PARTS if self.parts else MSG_TEXT
        return msg if self.name == "message" else pl.List(msg)

    @property
    def strict(self) -> tuple[tuple[str, ...], ...]:
        """Leaves that must be JSON strings (see :mod:`prefdata.io.decode`)."""
        if self.name == "text":
            return ((),)
        inner = (("content", ANY, "text"), ("content", ANY, "value")) if self.parts else (("content",), ("value",))
        return inner if self.name == "message" else tuple((ANY, *leaf) for leaf in inner)

    def __str__(self) -> str:
        return self.name + (" (content parts)" if self.parts else "")


TEXT = Kind("text")
MESSAGES = Kind("messages")


def sniff_kind(values: Sequence[object]) -> Kind | None:
    """The kind most sampled values have (``None`` when no value is a string, object or list of objects)."""
    votes = _kind_votes(values)
    return max(votes, key=lambda k: votes[k]) if votes else None


def _kind_votes(values: Sequence[object]) -> dict[Kind, int]:
    """How many of ``values`` have each kind, in the order the kinds first appear (values of no kind left out)."""
    votes: dict[Kind, int] = {}
    for value in values:
        if (kind := _kind_of(value)) is not None:
            votes[kind] = votes.get(kind, 0) + 1
    return votes


def kind_split(values: Sequence[object], kind: Kind) -> str | None:
    """How the sampled ``values`` of a field read as ``kind`` are split between kinds (plain text beside
    message lists), as ``"150 text, 50 messages"``, or None when they are all ``kind``. A field is
    decoded as one kind, that of most sampled values, so the records holding another are rejects;
    with both kinds common in one file that is a large share of it, and which share depended on the
    order of the records, so :func:`~prefdata.shapes.base.sniffed_splits` says so, with counts."""
    votes = _kind_votes(values)
    if not any(k != kind for k in votes):
        return None
    return ", ".join(f"{n:,} {k}" for k, n in sorted(votes.items(), key=lambda kv: (-kv[1], str(kv[0]))))


def _kind_of(value: object) -> Kind | None:
    if isinstance(value, str):
        return TEXT
    if isinstance(value, dict) and _is_message(value):
        return Kind("message", isinstance(value.get("content"), list))
    if isinstance(value, list) and value and all(isinstance(v, dict) and _is_message(v) for v in value):
        return Kind("messages", any(isinstance(v.get("content"), list) for v in value))
    return None


def _is_message(obj: dict) -> bool:
    return ("content" in obj or "value" in obj) and ("role" in obj or "from" in obj)


def looks_like_messages(value: object) -> bool:
    kind = _kind_of(value)
    return kind is not None and kind.name != "text"


def canonical_role(raw: pl.Expr, aliases: Mapping[str, str] = ROLE_ALIASES) -> pl.Expr:
    """Raw role names -> canonical roles, stripped and compared lower-cased; a name ``aliases`` does
    not map stays (lower-cased) for the rules to reject as ``unknown_role``. Every shape that reads
    roles maps them here, so a source's ``roles:`` means the same whatever its shape."""
    return raw.str.strip_chars().str.to_lowercase().replace(dict(aliases))


def _role(m: pl.Expr, aliases: Mapping[str, str]) -> pl.Expr:
    return canonical_role(pl.coalesce(m.struct.field("role"), m.struct.field("from")), aliases).alias("role")


def _content(m: pl.Expr, kind: Kind) -> pl.Expr:
    if kind.parts:
        texts = m.struct.field("content").list.eval(
            pl.element().filter(pl.element().struct.field("type").is_null() | (pl.element().struct.field("type") == "text"))
            .struct.field("text")
            .fill_null(pl.element().struct.field("value"))
        )
        # null content stays null (a missing field), an empty part list becomes ""
        return pl.when(m.struct.field("content").is_not_null()).then(texts.list.join("\n")).alias("content")
    return pl.coalesce(m.struct.field("content"), m.struct.field("value")).alias("content")


def to_messages(expr: pl.Expr, kind: Kind, default_role: str, aliases: Mapping[str, str] = ROLE_ALIASES) -> pl.Expr:
    """A raw field -> ``List[{role, content}]`` (null stays null; empty system turns are dropped)."""
    if kind.name == "text":
        one = pl.struct(pl.lit(default_role).alias("role"), expr.alias("content"))
        return pl.when(expr.is_not_null()).then(pl.concat_list(one)).cast(CANONICAL_MESSAGES)
    if kind.name == "message":
        one = pl.struct(_role(expr, aliases), _content(expr, kind))
        return pl.when(expr.is_not_null()).then(pl.concat_list(one)).cast(CANONICAL_MESSAGES)
    el = pl.element()
    msgs = expr.list.eval(pl.struct(_role(el, aliases), _content(el, kind)))
    return drop_empty_system(msgs).cast(CANONICAL_MESSAGES)


def drop_empty_system(msgs: pl.Expr) -> pl.Expr:
    """An empty system turn says nothing; dropping it keeps such records instead of rejecting them."""
    el = pl.element()
    empty_system = (el.struct.field("role") == "system") & (el.struct.field("content").fill_null("").str.strip_chars(BLANK) == "")
    return msgs.list.eval(el.filter(~empty_system.fill_null(False)))  # a null turn stays, for the rules to reject


def non_text_parts(expr: pl.Expr, kind: Kind) -> pl.Expr:
    """True where a message carries a non-text part (an image, audio...), which text DPO cannot use."""
    if not kind.parts:
        return pl.lit(False)

    def in_message(m: pl.Expr) -> pl.Expr:
        t = pl.element().struct.field("type")
        return m.struct.field("content").list.eval(t.is_not_null() & (t != "text")).list.any()

    if kind.name == "message":
        return in_message(expr).fill_null(False)
    return expr.list.eval(in_message(pl.element())).list.any().fill_null(False)


def message(role: str, content: pl.Expr) -> pl.Expr:
    """One canonical message struct from a role and a text expression."""
    return pl.struct(pl.lit(role).alias("role"), content.alias("content")).cast(MESSAGE)


def messages_text(msgs: pl.Expr, separator: str = "\n") -> pl.Expr:
    """All contents of a message list joined: the text used for grouping and hashing prompts."""
    return msgs.list.eval(pl.element().struct.field("content")).list.join(separator)

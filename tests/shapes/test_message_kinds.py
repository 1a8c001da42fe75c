"""How a field's kind is sniffed from its sampled values, and how a message's role is read
(``prefdata.shapes.messages``). README preference: "Within one file a field is read as one kind, text or
message lists (or one message), the kind most of its 200 sampled records hold"."""

from __future__ import annotations

import polars as pl

from prefdata.shapes.messages import MESSAGES, ROLE_ALIASES, TEXT, looks_like_messages, sniff_kind, to_messages

MSGS = [{"role": "user", "content": "hi"}]


def test_an_empty_list_casts_no_kind_vote() -> None:
    """An empty list holds no message (``sniff_kind``: a kind is "a string, object or list of
    objects"), so it is no vote for message lists: two texts beside three ``[]`` are read as text,
    not as message lists that would make the texts ``wrong_type`` rejects."""
    assert not looks_like_messages([])
    assert sniff_kind(["q1", "q2", [], [], []]) == TEXT
    assert sniff_kind([[], []]) is None


def test_a_tie_of_kinds_goes_to_the_kind_seen_first() -> None:
    """``_kind_votes`` keeps the kinds "in the order the kinds first appear" and ``sniff_kind`` takes
    the first of the most common: with one text and one message list, the first record decides."""
    assert sniff_kind(["x", MSGS]) == TEXT
    assert sniff_kind([MSGS, "x"]) == MESSAGES
    assert sniff_kind([MSGS, "x", "y", MSGS]) == MESSAGES


def test_a_message_with_both_role_and_from_is_read_by_its_role() -> None:
    """A turn is an OpenAI ``{role, content}`` or a ShareGPT ``{from, value}`` one (README preference);
    one carrying both is read by ``role`` (``from`` only where ``role`` is null), so the user turn here
    is not made an assistant's by its ``from: gpt``."""
    turns = [{"role": "user", "from": "gpt", "content": "hi", "value": None}, {"role": None, "from": "gpt", "content": None, "value": "hello"}]
    df = pl.DataFrame({"c": [turns]}, schema={"c": MESSAGES.dtype})
    got = df.select(to_messages(pl.col("c"), MESSAGES, "user", ROLE_ALIASES)).item().to_list()
    assert got == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]

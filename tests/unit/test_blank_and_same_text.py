"""One definition of a blank turn (``text_keys.BLANK``) and of "the same text" (``trimmed_contents``:
NFC, blank characters trimmed), held against Python's own ``str.isspace`` and ``unicodedata``."""

from __future__ import annotations

import sys
import unicodedata

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from prefdata.nfc import MAY_CHANGE, nfc
from prefdata.schema import MESSAGES, has_blank_turn, trimmed_contents
from prefdata.text_keys import ASCII_WHITESPACE, BLANK, NO_TEXT_KEY, UNICODE_WHITESPACE, match_text, prompt_key

INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
#: Texts rich in what the definitions are about: blank characters, combining marks, composable letters.
_CHARS = st.sampled_from([*BLANK, *"aeAEx<=>\u00e9\u212b\u1100\u1161\u11a8\uac00", *"\u0301\u0308\u0327\u0323\u0338"])
texts = st.one_of(st.text(), st.text(_CHARS, max_size=12))


def _turns(texts: list[str | None]) -> pl.Series:
    return pl.Series([[{"role": "assistant", "content": t}] for t in texts], dtype=MESSAGES)


def test_blank_holds_python_whitespace_and_the_invisible_characters() -> None:
    """Python's ``\\s`` (the suite's) counts U+001C-U+001F; the build's ``^\\s*$`` in polars did not,
    so a turn of ``\\x1c`` passed the build and failed the default check."""
    python_space = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert python_space | set(INVISIBLE) == set(BLANK)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), texts), min_size=1, max_size=20))
def test_a_turn_is_blank_when_it_holds_only_blank_characters(contents: list[str | None]) -> None:
    got = _turns(contents).to_frame("m").select(has_blank_turn(pl.col("m"))).to_series().to_list()
    assert got == [t is None or all(c in BLANK for c in t) for t in contents]


@settings(max_examples=300, deadline=None)
@given(st.lists(texts, min_size=1, max_size=20))
def test_trimmed_contents_are_nfc_with_blank_ends_trimmed(contents: list[str]) -> None:
    got = _turns(contents).to_frame("m").select(trimmed_contents(pl.col("m"))).to_series().to_list()
    assert got == [[unicodedata.normalize("NFC", t).strip(BLANK)] for t in contents]


def test_nfc_skips_only_texts_that_cannot_change() -> None:
    """``nfc`` leaves a text alone unless it holds a character of ``MAY_CHANGE``: every character NFC
    may change, reorder or combine with the one before must be in it."""
    may_change = []
    for cp in range(0x80, sys.maxunicode + 1):
        c = chr(cp)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        if unicodedata.combining(c) or not unicodedata.is_normalized("NFC", c):
            may_change.append(c)
        decomposition = unicodedata.decomposition(c).split()
        if len(decomposition) == 2 and not decomposition[0].startswith("<"):
            may_change.append(chr(int(decomposition[1], 16)))  # the second half of a composition
    may_change += [chr(c) for c in (*range(0x1161, 0x1176), *range(0x11A8, 0x11C3))]  # Hangul vowel and final jamo
    missed = pl.Series(may_change).filter(~pl.Series(may_change).str.contains(MAY_CHANGE))
    assert missed.to_list() == []
    samples = ["Cafe\u0301", "\u212b", "a\u0301\u0323", "\u1100\u1161\u11a8", "<\u0338", "plain", "caf\u00e9", "\u0915\u093c"]
    got = pl.Series(samples).to_frame("t").select(nfc(pl.col("t"))).to_series().to_list()
    assert got == [unicodedata.normalize("NFC", s) for s in samples]


#: Capital sigma, final and plain sigma, and a capital omicron: lower-casing writes the capital sigma
#: as "ς" or "σ" by what follows it.
SIGMAS = "\u03a3\u03c2\u03c3\u039f"
_MATCH_CHARS = st.sampled_from([*BLANK, *"aAeEzZ?1\u00e9\u00c9\u212a\u0130\u1100\u1161\u11a8\uac00", *"\u0301\u0308\u0327", *SIGMAS])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(_MATCH_CHARS, max_size=12), min_size=1, max_size=20))
def test_match_text_is_lowercase_nfc_without_whitespace_on_a_column_and_in_a_list(contents: list[str]) -> None:
    """``match_text`` picks an ASCII or a non-ASCII branch by the text it is given (one computation
    of the text, which polars does not share when it holds a ``list.eval``): lower-casing can make a
    text ASCII (the Kelvin sign), and the key is the same either way, in a column or inside a list."""
    removed = set(ASCII_WHITESPACE) | set(UNICODE_WHITESPACE)
    expected = [unicodedata.normalize("NFC", "".join(c for c in t.lower().replace("\u03c2", "\u03c3") if c not in removed)) for t in contents]
    assert pl.Series(contents).to_frame("t").select(match_text(pl.col("t"))).to_series().to_list() == expected
    in_list = _turns(contents).to_frame("m").select(pl.col("m").list.eval(match_text(pl.element().struct.field("content"))))
    assert in_list.to_series().explode().to_list() == expected


#: Letters around whitespace, where a capital sigma's lower case changes with what follows it.
_WORD_CHARS = st.sampled_from([*SIGMAS, *"aA\u00e9\u0301", " ", "\n", "\u00a0", "\u3000", "\u200b", "\ufeff"])


@settings(max_examples=300, deadline=None)
@given(st.text(_WORD_CHARS, max_size=16), st.data())
def test_match_text_does_not_depend_on_the_kind_of_whitespace(text: str, data: st.DataObject) -> None:
    """Whitespace goes from the key whatever its kind, so writing each whitespace character of a text
    as another (or as none) keeps its key. Lower-casing a capital sigma depends on what follows it
    ("ς" before a space, "σ" before a zero-width space or a letter): the key removed whitespace after
    lower-casing, so "ΟΔΟΣ ΚΑΙ" and "ΟΔΟΣ\\u200bΚΑΙ" had two keys."""
    spaces = [*ASCII_WHITESPACE, *UNICODE_WHITESPACE]
    other = "".join(data.draw(st.sampled_from(["", *spaces])) if c in spaces else c for c in text)
    keys = pl.Series([text, other]).to_frame("t").select(match_text(pl.col("t"))).to_series().to_list()
    assert keys[0] == keys[1], (text, other)


def test_a_capital_sigma_keys_alike_before_a_space_a_zero_width_space_and_nothing() -> None:
    texts = ["\u039f\u0394\u039f\u03a3 \u039a\u0391\u0399", "\u039f\u0394\u039f\u03a3\u200b\u039a\u0391\u0399", "\u039f\u0394\u039f\u03a3\u039a\u0391\u0399", "\u03bf\u03b4\u03bf\u03c2 \u03ba\u03b1\u03b9"]
    keys = pl.Series(texts).to_frame("t").select(match_text(pl.col("t"))).to_series().to_list()
    assert keys == ["\u03bf\u03b4\u03bf\u03c3\u03ba\u03b1\u03b9"] * 4


def test_match_text_is_nfc_not_nfkc() -> None:
    """``match_text`` is canonical (NFC), not compatibility, normalization (text_keys docstring): a
    ligature, a superscript or a fullwidth letter is another text than its plain letters, so a prompt
    written with them is not the plain prompt for the split and leakage."""
    texts = ["\ufb01le", "x\u00b2", "\uff21\uff22", "\u2460 caf\u00e9"]
    expected = [unicodedata.normalize("NFC", t.lower()).replace(" ", "") for t in texts]
    assert expected == ["\ufb01le", "x\u00b2", "\uff41\uff42", "\u2460caf\u00e9"]
    assert pl.Series(texts).to_frame("t").select(match_text(pl.col("t"))).to_series().to_list() == expected


def _prompt_keys(*prompts: list[tuple[str, str]]) -> list[int]:
    rows = [[{"role": r, "content": c} for r, c in p] for p in prompts]
    return pl.Series(rows, dtype=MESSAGES).to_frame("p").select(prompt_key(pl.col("p"))).to_series().to_list()


def test_prompt_key_tells_turn_boundaries_and_roles_apart() -> None:
    """``prompt_key`` (text_keys docstring): roles and turn boundaries count, so two prompts with the
    same roles whose contents join to the same text, or with the same contents under other roles,
    are two prompts; case and whitespace alone do not make another prompt."""
    one, moved, same, other_role = _prompt_keys(
        [("system", "Be a pirate."), ("user", "Say hello")],
        [("system", "Be a pirate. Say"), ("user", "hello")],
        [("system", "be a  PIRATE."), ("user", "say\u00a0hello")],
        [("user", "Be a pirate."), ("user", "Say hello")],
    )
    assert one != moved
    assert one == same
    assert one != other_role


def test_prompt_key_tells_apart_roles_that_join_to_the_same_text() -> None:
    """``prompt_key`` (text_keys docstring: "the roles written with their lengths, so the two texts
    hashed tell the turns apart"; README contradictory_pairs: "the same turns and roles"). ``check``
    reads foreign datasets whose role names are anything: ``[us, eruser]`` and ``[user, user]`` both
    join to ``"useruser"`` and hold the same contents, yet they are two prompts. (The canonical
    roles are prefix-free, so only other role names can show this.)"""
    split_roles, canonical_roles = ["us", "eruser"], ["user", "user"]
    assert "".join(split_roles) == "".join(canonical_roles)
    split, canonical = _prompt_keys(list(zip(split_roles, ["hello", "again"])), list(zip(canonical_roles, ["hello", "again"])))
    assert split != canonical


def test_a_prompt_of_only_zero_width_spaces_and_bom_has_no_text() -> None:
    """``prompt_key``: a prompt whose turns normalize to nothing is ``NO_TEXT_KEY``; ``match_text``
    removes the zero-width space and BOM though they are not whitespace to a regex ``\\s``."""
    assert "\u200b\ufeff".strip() == "\u200b\ufeff"  # not whitespace to Python either
    assert _prompt_keys([("user", "\u200b\ufeff")], [("user", " \u00a0\u200b")]) == [NO_TEXT_KEY, NO_TEXT_KEY]

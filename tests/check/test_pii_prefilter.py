"""The PII prefilter only skips texts that cannot match: each kind's matches are those of a full scan
of its pattern."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefdata.check.checks.pii import ORDER, PATTERNS, candidate, find_matches

# Text that looks like chat: words, digits, separators and the characters the patterns key on.
PIECES = [*"ab AZ09123456789 .-+()@_\n", "sk-", "AKIA", "ghp_", "hf_", ".com", "4111 1111 1111 1111"]
TEXT = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)


def _full_scan(texts: list[str], kind: str) -> list[list[str]]:
    return [m or [] for m in pl.Series(texts, dtype=pl.String).str.extract_all(PATTERNS[kind]).to_list()]


def _filtered(texts: list[str], kind: str) -> list[list[str]]:
    """No match is an empty list or null (a text the prefilter skips): both read as []."""
    return [m or [] for m in pl.select(find_matches(pl.Series(texts, dtype=pl.String), kind)).to_series().to_list()]


@pytest.mark.parametrize("kind", ORDER)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_every_match_of_a_kind_passes_its_prefilter(kind, data):
    # Python's re has no ASCII-only \b inside a Unicode pattern; on the ASCII text drawn here they agree.
    text = data.draw(st.from_regex(PATTERNS[kind].replace("(?-u:\\b)", "\\b"), fullmatch=False))
    matches = _full_scan([text], kind)[0]
    if matches:  # Python's and polars' regex dialects agree on these ASCII patterns, but be exact
        assert pl.select(candidate(pl.lit(text), (kind,))).item(), text
        assert _filtered([text], kind)[0] == matches


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(TEXT, min_size=1, max_size=20), kind=st.sampled_from(ORDER))
def test_prefiltered_matches_equal_a_full_scan(texts, kind):
    assert _filtered(texts, kind) == _full_scan(texts, kind)


def test_texts_without_candidates_are_skipped_and_null_is_empty():
    texts = ["plain words only", "call 555-123-4567 now", None, "mail me at a.b@example.org"]
    assert pl.select(candidate(pl.Series(texts, dtype=pl.String), ORDER)).to_series().to_list() == [False, True, False, True]
    assert _filtered(texts, "phone") == [[], [" 555-123-4567 "], [], []]
    assert _filtered(texts, "email") == [[], [], [], ["a.b@example.org"]]


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("card", "pay with 4111 1111 1111 1111 today"),
        ("card", "card 3782-822463-10005"),
        ("card", "card 4111111111111111 05/27"),
        ("phone", "ring +44 20 7946 0958"),
        ("phone", "(555) 123-4567"),
        ("secret", "-----BEGIN RSA PRIVATE KEY-----"),
        ("secret", "token xoxb-1234567890-abc"),
        ("email", "x_y+z@mail.example.co.uk"),
    ],
)
def test_edge_forms_are_candidates(kind, text):
    matches = _full_scan([text], kind)[0]
    assert matches
    assert _filtered([text], kind)[0] == matches

"""The normalized text that decides when two prompts are "the same": split groups, feedback
pairing, and the leakage checks all compare prompts through :func:`match_text`.

Two prompts that differ only in case or whitespace are one prompt for splitting and leakage: a test
prompt that is a training prompt with an extra space or a no-break space is still leaked. So the key
is the text lower-cased with every whitespace character removed: Unicode's White_Space characters
(no-break, thin and ideographic spaces, line and paragraph separators, ...) and the invisible
zero-width space and BOM. The same definition holds for every text, ASCII or not.

Cost matters, since ``build`` keys every prompt: ASCII whitespace goes by literal replacements (a
regex costs about 3x), and only texts holding a non-ASCII character (byte length != character
length, a cheap test) pay for the Unicode replacements.
"""

from __future__ import annotations

import polars as pl

ASCII_WHITESPACE = (" ", "\n", "\t", "\r", "\x0b", "\x0c")
#: Unicode's White_Space characters outside ASCII: with ASCII_WHITESPACE, what regex ``\s`` matches in polars.
WHITE_SPACE_NON_ASCII = ("\x85", "\xa0", "\u1680", *(chr(c) for c in range(0x2000, 0x200B)), "\u2028", "\u2029", "\u202f", "\u205f", "\u3000")
#: Unicode White_Space outside ASCII, plus the invisible zero-width space (U+200B) and BOM.
UNICODE_WHITESPACE = (*WHITE_SPACE_NON_ASCII, "\u200b", "\ufeff")
#: The file/group/record/unit separators: whitespace to Python's ``str.isspace`` and ``re``'s ``\s``
#: (so to the suite's ``\S``), though not Unicode White_Space.
SEPARATORS = ("\x1c", "\x1d", "\x1e", "\x1f")
#: Characters that show nothing: zero-width space, non-joiner and joiner, word joiner and BOM.
INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
#: What a blank text holds and nothing else: a turn of only these is an ``empty_field`` reject and a
#: ``role_structure`` failure, and two responses that differ only by these at their ends are
#: ``identical_responses`` (:func:`prefdata.schema.has_blank_turn`, :func:`~prefdata.schema.trimmed_contents`).
BLANK = "".join((*ASCII_WHITESPACE, *WHITE_SPACE_NON_ASCII, *SEPARATORS, *INVISIBLE))


def match_text(text: pl.Expr) -> pl.Expr:
    """``text`` lower-cased, without whitespace of any kind, in Unicode NFC.

    NFC makes canonically equivalent texts one: "café" written with U+00E9 or with "e" + U+0301
    (as macOS file names and some tokenizers write it) renders the same, so it is one prompt for
    the split and for leakage, as NFC makes them one for ``identical_responses``. Only texts holding
    a non-ASCII character pay for it (ASCII is NFC). Not :func:`prefdata.nfc.nfc`: its test of which
    texts can change, on this computed text, made polars compute the text again, and ASCII keys 2.9x slower.

    >>> pl.select(match_text(pl.lit("What\\u00a0is  2+2?\\n"))).item()
    'whatis2+2?'
    >>> pl.select(match_text(pl.lit("Caf\\u00e9"))).item() == pl.select(match_text(pl.lit("CAFE\\u0301"))).item()
    True
    """
    text = text.str.to_lowercase()
    for ws in ASCII_WHITESPACE:
        text = text.str.replace_all(ws, "", literal=True)
    non_ascii = text.str.len_bytes() != text.str.len_chars()
    unicode_free = pl.when(non_ascii).then(text).str.replace_many(list(UNICODE_WHITESPACE), [""] * len(UNICODE_WHITESPACE))
    # NFC last: a combining mark that whitespace kept apart from its letter composes with it too
    return pl.coalesce(unicode_free.str.normalize("NFC"), text)

"""Unicode NFC for the comparisons that must see canonically equivalent texts as one text.

A precomposed ``é`` (U+00E9) and ``e`` + combining acute (U+0301) are the same text on screen, and
editors, OSes and scrapers write either. Normalizing costs: polars' ``str.normalize`` runs at about
40 MB/s, a tenth of the build's parse. So only a text that can change is normalized: one holding a
non-ASCII character (byte length != character length, a cheap test) of :data:`MAY_CHANGE`. Every
other text is NFC already, and most non-ASCII text (precomposed Latin, Cyrillic, CJK, Hangul
syllables) holds none.
"""

from __future__ import annotations

import polars as pl

#: Code points (hex; ``A-B`` a range) outside the combining marks that NFC may change or combine
#: with the character before: singletons mapped elsewhere (U+2126 OHM SIGN, CJK compatibility
#: ideographs), composition exclusions, and the second half of a composition that is no mark
#: (Hangul vowel and final jamo). With every mark (``\p{M}``, which holds each character of a
#: nonzero combining class), a superset of what can make a text not NFC; made from Python's
#: ``unicodedata``, and a test holds it against it.
_NOT_MARKS = (
    "374 37E 387 958-95F 9DC-9DD 9DF A33 A36 A59-A5B A5E B5C-B5D F43 F4D F52 F57 F5C F69 1161-1175 11A8-11C2 "
    "1F71 1F73 1F75 1F77 1F79 1F7B 1F7D 1FBB 1FBE 1FC9 1FCB 1FD3 1FDB 1FE3 1FEB 1FEE-1FEF 1FF9 1FFB 1FFD "
    "2000-2001 2126 212A-212B 2329-232A 2ADC F900-FA0D FA10 FA12 FA15-FA1E FA20 FA22 FA25-FA26 FA2A-FA6D "
    "FA70-FAD9 FB1D FB1F FB2A-FB36 FB38-FB3C FB3E FB40-FB41 FB43-FB44 FB46-FB4E 1D15E-1D164 1D1BB-1D1C0 2F800-2FA1D"
)
#: A character that may make a text not NFC, as a regex class.
MAY_CHANGE = "[\\p{M}" + "".join("-".join(f"\\x{{{cp}}}" for cp in item.split("-")) for item in _NOT_MARKS.split()) + "]"


def nfc(text: pl.Expr) -> pl.Expr:
    """``text`` in Unicode NFC, normalizing only the texts that can change (see the module).

    >>> pl.select(nfc(pl.lit("Cafe\\u0301")) == pl.lit("Caf\\u00e9")).item()
    True
    """
    non_ascii = text.str.len_bytes() != text.str.len_chars()
    may_change = pl.when(non_ascii).then(text).str.contains(MAY_CHANGE)
    return pl.coalesce(pl.when(may_change).then(text).str.normalize("NFC"), text)

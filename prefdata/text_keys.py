"""The normalized text that decides when two prompts are "the same": the split compares first user
turns through :func:`match_text`; feedback pairing and the ``contradictory_pairs`` and
``prompt_leakage_exact`` checks compare whole prompts turn by turn, roles included (:func:`prompt_key`).

Two prompts that differ only in case or whitespace are one prompt for splitting and leakage: a test
prompt that is a training prompt with an extra space or a no-break space is still leaked. So the key
is the text lower-cased with every whitespace character removed: Unicode's White_Space characters
(no-break, thin and ideographic spaces, line and paragraph separators, ...) and the invisible
zero-width space and BOM. The same definition holds for every text, ASCII or not.

The key reads the final sigma "ς" as "σ", so its case does not depend on context. Lower-casing alone
does: a capital sigma becomes "ς" before a space but "σ" before a zero-width space or a letter, so
"ΟΔΟΣ ΚΑΙ" and "ΟΔΟΣ\u200bΚΑΙ" (or "ΟΔΟΣΚΑΙ") would give two keys for what is one prompt up to
whitespace (the one context rule in Unicode's lower-casing; ``str.casefold`` also maps "ς" to "σ",
polars has no case fold). The near-duplicate word hashes (:mod:`prefdata.check.minhash`) read it alike.

Cost matters, since ``build`` keys every prompt: ASCII whitespace goes by literal replacements (a
regex costs about 3x), and only texts holding a non-ASCII character (byte length != character
length, a cheap test) pay for the Unicode replacements.
"""

from __future__ import annotations

import polars as pl
import polars_hash  # noqa: F401  (registers the nchash namespace)

ASCII_WHITESPACE = (" ", "\n", "\t", "\r", "\x0b", "\x0c")
#: Unicode's White_Space characters outside ASCII: with ASCII_WHITESPACE, what regex ``\s`` matches in polars.
WHITE_SPACE_NON_ASCII = ("\x85", "\xa0", "\u1680", *(chr(c) for c in range(0x2000, 0x200B)), "\u2028", "\u2029", "\u202f", "\u205f", "\u3000")
#: Unicode White_Space outside ASCII, plus the invisible zero-width space (U+200B) and BOM.
UNICODE_WHITESPACE = (*WHITE_SPACE_NON_ASCII, "\u200b", "\ufeff")
#: The file/group/record/unit separators: whitespace to Python's ``str.isspace`` and ``re``'s ``\s``
#: (so to the suite's ``\S``), though not Unicode White_Space.
SEPARATORS = ("\x1c", "\x1d", "\x1e", "\x1f")
#: Lower-casing's one context-dependent result, the final sigma, and the sigma it stands for in a key.
FINAL_SIGMA, SIGMA = "\u03c2", "\u03c3"
#: Characters that show nothing: zero-width space, non-joiner and joiner, word joiner and BOM.
INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
#: What a blank text holds and nothing else: a turn of only these is an ``empty_field`` reject and a
#: ``role_structure`` failure, and two responses that differ only by these at their ends are
#: ``identical_responses`` (:func:`prefdata.schema.has_blank_turn`, :func:`~prefdata.schema.trimmed_contents`).
BLANK = "".join((*ASCII_WHITESPACE, *WHITE_SPACE_NON_ASCII, *SEPARATORS, *INVISIBLE))


def _lower_without_ascii_whitespace(text: pl.Expr) -> pl.Expr:
    text = text.str.to_lowercase()
    for ws in ASCII_WHITESPACE:
        text = text.str.replace_all(ws, "", literal=True)
    return text


def match_text(text: pl.Expr) -> pl.Expr:
    """``text`` lower-cased (with "ς" as "σ"), without whitespace of any kind, in Unicode NFC.

    NFC makes canonically equivalent texts one: "café" written with U+00E9 or with "e" + U+0301
    (as macOS file names and some tokenizers write it) renders the same, so it is one prompt for
    the split and for leakage, as NFC makes them one for ``identical_responses``. Only texts holding
    a non-ASCII character pay for it (ASCII is NFC). Not :func:`prefdata.nfc.nfc`: its test of which
    texts can change, on this computed text, made polars compute the text again, and ASCII keys 2.9x slower.

    Each text goes through one of two branches, ASCII or not, chosen on ``text`` itself: polars
    does not share a subexpression that holds a ``list.eval`` (a prompt's contents), so a branch
    that reused the lower-cased text computed it again for every use (4 times). (Lower-casing a
    non-ASCII text can make it ASCII, the Kelvin sign; the non-ASCII branch leaves such a text as
    the ASCII one would.)

    >>> pl.select(match_text(pl.lit("What\\u00a0is  2+2?\\n"))).item()
    'whatis2+2?'
    >>> pl.select(match_text(pl.lit("Caf\\u00e9"))).item() == pl.select(match_text(pl.lit("CAFE\\u0301"))).item()
    True
    >>> pl.select(match_text(pl.lit("\u039f\u0394\u039f\u03a3 \u039a\u0391\u0399"))).item()  # "ΟΔΟΣ ΚΑΙ"; the sigma before U+200B is "σ" too
    'οδοσκαι'
    """
    non_ascii = text.str.len_bytes() != text.str.len_chars()
    ascii_key = _lower_without_ascii_whitespace(pl.when(~non_ascii).then(text))
    unicode_free = _lower_without_ascii_whitespace(pl.when(non_ascii).then(text))
    # one pass: the whitespace goes and the final sigma (only non-ASCII texts hold one) reads as "σ"
    unicode_free = unicode_free.str.replace_many([*UNICODE_WHITESPACE, FINAL_SIGMA], [""] * len(UNICODE_WHITESPACE) + [SIGMA])
    # NFC last: a combining mark that whitespace kept apart from its letter composes with it too
    return pl.coalesce(unicode_free.str.normalize("NFC"), ascii_key)


#: :func:`prompt_key` of a prompt without text: no turns, or only turns that normalize to nothing.
NO_TEXT_KEY = 0
_MIX = 0x9E3779B97F4A7C15
#: A character :func:`match_text` keeps.
_TEXT = "[^" + "".join(f"\\x{{{ord(c):x}}}" for c in (*ASCII_WHITESPACE, *UNICODE_WHITESPACE)) + "]"


def normalized_turn() -> pl.Expr:
    """A message as prompts are compared, inside ``list.eval``: its role, and its content through
    :func:`match_text` (a null content reads as "")."""
    el = pl.element()
    return pl.struct(el.struct.field("role"), match_text(el.struct.field("content").fill_null("")).alias("content"))


def prompt_key(prompt: pl.Expr, *, normalized: bool = False) -> pl.Expr:
    """64-bit key of a prompt (a message list; ``normalized``: a :func:`normalized_turn` list): equal
    for two prompts whose turns have the same roles and the same :func:`match_text` contents, in the
    same order.

    Roles and turn boundaries count: ``[system "Be a pirate.", user "Say hello"]`` is another prompt
    than ``[user "Be a pirate. Say hello"]`` (under another system prompt, preferring the other
    answer is a real preference), though both join to the same text. The normalized contents are
    joined with a newline, which none of them holds, and the roles written with their lengths, so
    the two texts hashed tell the turns apart. A prompt without text is :data:`NO_TEXT_KEY`,
    whatever its roles: the leakage check leaves such prompts (a dataset without a prompt column)
    out. Each list is read by its own ``list.eval`` and normalized once (polars would compute a
    shared one again for every use, see :func:`match_text`).

    >>> key = lambda *ms: pl.select(prompt_key(pl.lit([dict(role=r, content=c) for r, c in ms]))).item()
    >>> key(("user", "What is  2+2?")) == key(("user", "what is 2+2?"))
    True
    >>> key(("system", "Be a pirate."), ("user", "Say hello")) == key(("user", "Be a pirate. Say hello"))
    False
    >>> key(("user", " \\u00a0")) == NO_TEXT_KEY
    True
    """
    el = pl.element()
    content = el.struct.field("content").fill_null("")
    role = el.struct.field("role").fill_null("")
    contents = prompt.list.eval(content if normalized else match_text(content)).list.join("\n").fill_null("")
    roles = prompt.list.eval(pl.format("{}:{}", role.str.len_bytes(), role)).list.join("").fill_null("")
    key = contents.nchash.xxh3_64() ^ (roles.nchash.xxh3_64(seed=1) * pl.lit(_MIX, dtype=pl.UInt64))
    raw = prompt.list.eval(content).list.join("\n").fill_null("")  # no normalizing: stops at its first character of text
    return pl.when(raw.str.contains(_TEXT)).then(key).otherwise(pl.lit(NO_TEXT_KEY, dtype=pl.UInt64))

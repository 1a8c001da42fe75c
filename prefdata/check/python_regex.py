r"""Suite regexes are Python ``re`` syntax (what GX runs); polars runs Rust's ``regex``. This module
rewrites a Python pattern into a Rust one that finds a match in exactly the strings Python's
``re.search`` does, or refuses it with :class:`UntranslatableRegex` (the polars engine then points at
``--engine gx``).

The pattern is cut into tokens the way Python's parser reads it (escapes, classes, groups,
quantifiers), so an escaped ``\(`` is never taken for a group and a ``(?x`` inside a class is never
taken for a flag. Python and Rust read these differently, and the rewrite makes Rust read them
Python's way:

- ``\s``/``\S``: Python also counts U+001C-U+001F as whitespace.
- ``$`` (without MULTILINE): Python also matches before a final newline, which ``(?:\n?\z)`` does
  too; but that consumes the newline, so a ``$`` with anything consuming after it (``(a$)\n``) is
  refused. ``\Z`` is Rust's ``\z``.
- ``\<``/``\>``: literals in Python, word boundaries in Rust; ``[\b]``: a backspace in Python.
- A ``{`` that starts no Python quantifier (Python takes only ``{m}``, ``{m,}``, ``{,n}``, ``{m,n}``
  with digits and nothing else: ``a{ 2}``, ``{}``, ``^\s*{``): a literal in Python; Rust reads
  whitespace inside braces and refuses a lone ``{``. It is escaped. ``{,n}`` is refused: Python reads
  ``{0,n}``, but GX (pandas' Arrow strings) sends patterns without ``\s``, ``\w``, ``\d``, ``\b`` or
  ``$`` to RE2, which reads it as literal text, so GX's own verdict depends on the pattern.
- Inside a class, ``[``, ``&&``, ``--``, ``~~``: literals and ranges in Python, nested classes and set
  operations in Rust. Every literal character Rust treats specially there is escaped, ranges kept.

Refused: verbose mode and MULTILINE switched in a scoped group (the ``$`` rewrite depends on it),
possessive quantifiers, comments, look-around, backreferences, conditionals and atomic groups; a
construct neither list covers (``\N{...}``) fails to compile in Rust and the caller refuses it then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class UntranslatableRegex(ValueError):
    """A Python pattern whose meaning the polars engine cannot reproduce; the message says why."""


#: Python ``re`` (what GX runs) -> Rust ``regex`` (what polars runs): escapes outside a character class.
_OUTSIDE = {
    "s": r"[\s\x1c-\x1f]",  # Python counts the file/group/record/unit separators as whitespace
    "S": r"[^\s\x1c-\x1f]",
    "Z": r"\z",  # Python's end of string
    "<": "<",  # a literal in Python, a word boundary in Rust
    ">": ">",
}
#: The same inside a class.
_INSIDE = {"s": r"\s\x1c-\x1f", "S": r"[^\s\x1c-\x1f]", "<": "<", ">": ">", "b": r"\x08"}
#: Characters Rust gives a meaning inside a class (nesting, negation, ranges, set operations).
_CLASS_SPECIAL = "[]\\^-&~"

#: An escape as Python reads it: ``\x`` takes two hex digits, ``\u`` four, ``\U`` eight, ``\N`` a name.
_ESCAPE = re.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}]*\}|.)", re.DOTALL)
#: A counted repetition as Python reads it: digits and one comma, no whitespace (``{}`` is a literal).
_BRACES = re.compile(r"\{(\d*)(?:(,)(\d*))?\}")
#: Global flags (Python takes one or more groups, only at the very start) and scoped ones.
_GLOBAL_FLAGS = re.compile(r"\(\?([aiLmsux]+)\)")
_SCOPED_FLAGS = re.compile(r"\(\?([aiLmsux]*)(?:-([aiLmsux]*))?:")
#: Group openers Rust has no equivalent for, and what they are.
_UNSUPPORTED_GROUPS = (
    ("(?#", "comments (?#...)"),
    ("(?=", "look-ahead (?=...)"),
    ("(?!", "look-ahead (?!...)"),
    ("(?<=", "look-behind (?<=...)"),
    ("(?<!", "look-behind (?<!...)"),
    ("(?P=", "backreferences (?P=name)"),
    ("(?(", "conditionals (?(...)...)"),
    ("(?>", "atomic groups (?>...)"),
)


@dataclass(frozen=True)
class _Token:
    kind: str  # flags | open | close | alt | dollar | quant | atom
    text: str  # the Rust spelling
    least: int = 0  # a quantifier's minimum count


def python_regex_to_rust(pattern: str) -> str:
    r"""A pattern written for Python's ``re`` (GX's dialect) with the same meaning in Rust's ``regex``.

    ``pattern`` must be one Python compiles (the caller checks); the result may still fail to compile
    in Rust (``\N{...}``, ``(?a)``), which the caller refuses too.

    >>> python_regex_to_rust(r"^[0-9a-f]{64}$"), python_regex_to_rust(r"[a&&b]\S")
    ('^[0-9a-f]{64}(?:\\n?\\z)', '[a\\&\\&b][^\\s\\x1c-\\x1f]')
    >>> python_regex_to_rust(r"^\s*{"), python_regex_to_rust("a{ 2}"), python_regex_to_rust("[+--]")
    ('^[\\s\\x1c-\\x1f]*\\{', 'a\\{ 2\\}', '[+-\\-]')
    """
    tokens, flags = _tokens(pattern)
    out = []
    for k, token in enumerate(tokens):
        if token.kind != "dollar":
            out.append(token.text)
        elif "m" in flags:
            out.append("$")  # MULTILINE: before any newline or at the end, in both dialects
        elif _nothing_consumes_after(tokens, k):
            out.append(r"(?:\n?\z)")
        else:
            raise UntranslatableRegex(
                "'$' followed by more pattern, after it or after the group it ends (Python's '$' does not "
                "consume the final newline)"
            )
    return "".join(out)


def _tokens(pattern: str) -> tuple[list[_Token], set[str]]:
    """The pattern as tokens in Rust spelling, and the global flags its leading flag groups set."""
    tokens: list[_Token] = []
    flags: set[str] = set()
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            escape = _ESCAPE.match(pattern, i)
            if escape is None:  # a trailing backslash: Python refuses it before this runs
                raise UntranslatableRegex("a trailing backslash")
            tokens.append(_Token("atom", _OUTSIDE.get(escape.group()[1:], escape.group())))
            i = escape.end()
        elif c == "[":
            text, i = _class(pattern, i)
            tokens.append(_Token("atom", text))
        elif c == "(":
            token, i = _group(pattern, i, at_start=not tokens or tokens[-1].kind == "flags", flags=flags)
            tokens.append(token)
        elif c in ")|$":
            tokens.append(_Token({")": "close", "|": "alt", "$": "dollar"}[c], c))
            i += 1
        elif c in "*+?" or (c == "{" and (braces := _BRACES.match(pattern, i)) and braces.group() != "{}"):
            if c == "{":
                lo, comma, hi = braces.groups()
                if comma and not lo:  # Python: {0,n}; RE2, which GX's pandas sends some patterns to, a literal
                    raise UntranslatableRegex(f"{braces.group()} means {{0,{hi}}} to Python but literal text to RE2, "
                                              f"which GX runs some patterns with; write {{0,{hi}}}")
                text, least, i = "{" + (lo or "0") + (comma or "") + (hi or "") + "}", int(lo or 0), braces.end()
            else:
                text, least, i = c, int(c == "+"), i + 1
            if pattern.startswith("+", i):
                raise UntranslatableRegex("possessive quantifiers (*+, ++, ?+, {m,n}+) are not translated")
            if pattern.startswith("?", i):  # lazy
                text, i = text + "?", i + 1
            tokens.append(_Token("quant", text, least))
        else:
            # a '{' or '}' here is a literal to Python: Rust would read '{ 2}' as a repetition or refuse '{'
            tokens.append(_Token("atom", "\\" + c if c in "{}" else c))
            i += 1
    return tokens, flags


def _group(pattern: str, i: int, at_start: bool, flags: set[str]) -> tuple[_Token, int]:
    """The group opener at ``pattern[i] == "("``: its token and where it ends."""
    if at_start and (glob := _GLOBAL_FLAGS.match(pattern, i)):
        if "x" in glob.group(1):
            raise UntranslatableRegex("verbose mode (x) is not translated")
        flags.update(glob.group(1))
        return _Token("flags", glob.group()), glob.end()
    for opener, what in _UNSUPPORTED_GROUPS:
        if pattern.startswith(opener, i):
            raise UntranslatableRegex(f"{what} are not translated (Rust's regex has none)")
    if scoped := _SCOPED_FLAGS.match(pattern, i):
        letters = scoped.group(1) + (scoped.group(2) or "")
        if "x" in letters:
            raise UntranslatableRegex("verbose mode (x) is not translated")
        if "m" in letters:
            raise UntranslatableRegex("MULTILINE (m) switched in a scoped group is not translated")
        return _Token("open", scoped.group()), scoped.end()
    if pattern.startswith("(?P<", i):
        end = pattern.index(">", i) + 1
        return _Token("open", pattern[i:end]), end
    if pattern.startswith("(?", i):  # Python refuses every other extension before this runs
        raise UntranslatableRegex(f"the group {pattern[i:i + 3]!r} is not translated")
    return _Token("open", "("), i + 1


def _class(pattern: str, i: int) -> tuple[str, int]:
    """The character class at ``pattern[i] == "["``, read as Python reads it (a ``]`` first is a
    literal; ``a-z`` a range; every other ``[``, ``-``, ``&``, ``~`` a literal), in Rust spelling."""
    j = i + 1
    negate = pattern.startswith("^", j)
    j += negate
    items: list[str] = []
    while True:
        if j >= len(pattern):
            raise UntranslatableRegex("an unterminated character set")  # Python refuses it first
        if pattern[j] == "]" and items:
            return "[" + "^" * negate + "".join(items) + "]", j + 1
        lo, j = _class_atom(pattern, j)
        if pattern.startswith("-", j) and j + 1 < len(pattern) and pattern[j + 1] != "]":
            hi, j = _class_atom(pattern, j + 1)
            items.append(f"{lo}-{hi}")
        else:
            items.append(lo)


def _class_atom(pattern: str, j: int) -> tuple[str, int]:
    """One character, or one escape, inside a class, in Rust spelling, and where it ends."""
    if pattern[j] == "\\":
        escape = _ESCAPE.match(pattern, j)
        if escape is None:
            raise UntranslatableRegex("a trailing backslash")
        return _INSIDE.get(escape.group()[1:], escape.group()), escape.end()
    c = pattern[j]
    return ("\\" + c if c in _CLASS_SPECIAL else c), j + 1


def _nothing_consumes_after(tokens: list[_Token], k: int) -> bool:
    """Whether nothing that consumes text can follow the ``$`` at ``tokens[k]``: the rest of its own
    alternation does not follow it, and the groups it ends may only be followed by a quantifier that
    asks for at most one repetition (the first one decides the verdict) or by the end."""
    j = k + 1
    while j < len(tokens):
        kind = tokens[j].kind
        if kind == "alt":  # skip the other branches, up to the ')' that ends this group
            depth = 0
            j += 1
            while j < len(tokens) and not (tokens[j].kind == "close" and depth == 0):
                depth += (tokens[j].kind == "open") - (tokens[j].kind == "close")
                j += 1
        elif kind == "close":
            j += 1
            if j < len(tokens) and tokens[j].kind == "quant" and tokens[j].least <= 1:
                j += 1
        else:
            return False
    return True

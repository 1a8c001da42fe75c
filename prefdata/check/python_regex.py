r"""Suite regexes are Python ``re`` syntax (what GX runs); polars runs Rust's ``regex``. This module
rewrites a Python pattern into a Rust one that finds a match in exactly the strings GX does: those
Python's ``re.search`` does, except for IGNORECASE where GX runs RE2 and for ``\b``/``\B`` (both below),
or refuses it with :class:`UntranslatableRegex` (the polars engine then points at
``--engine gx``).

The pattern is cut into tokens the way Python's parser reads it (escapes, classes, groups,
quantifiers), so an escaped ``\(`` is never taken for a group and a ``(?x`` inside a class is never
taken for a flag. Python and Rust read these differently, and the rewrite makes Rust read them
Python's way:

- ``\s``/``\S``: Python also counts U+001C-U+001F as whitespace.
- ``\w``/``\W``/``\d``/``\D``: Rust's Unicode sets are not Python's (``\w`` differs on 12,909 code points:
  Rust's takes combining marks, ZWJ and connector punctuation, Python's ``²`` and ``½``; ``\d`` on 100).
  Each becomes the explicit set Python's ``re`` matches, computed from ``re`` itself once per process
  (about 0.3 s, the first time a pattern needs it); matching with it costs about what Rust's own does.
- IGNORECASE follows the engine GX picks. pandas' Arrow strings (GX's) hand a pattern holding ``\s``,
  ``\S``, ``\w``, ``\W``, ``\d``, ``\D``, ``\b``, ``\B`` (in a class too, where ``\b`` is a backspace
  and does not count) or a ``\u``, ``\U``, ``\N{`` escape to Python's ``re`` (for ``\w``/``\d``/``\b`` and
  negations: when the column holds non-ASCII text), every other one to RE2, whose IGNORECASE is simple
  case folding, as Rust's ``i`` flag is. So a pattern without those escapes keeps Rust's ``i`` flag;
  in one with them Python pairs characters Rust does not (``i`` with ``İ`` and ``ı``), so Rust's ``i``
  flag is dropped and every literal, escape and class under Python's IGNORECASE (global or scoped)
  becomes the set Python matches: a character without any case mapping matches under IGNORECASE only
  where it matches without it, so only the cased ones (about 2,900) are asked. The rule depends on
  the pattern alone, pandas' also on the data: on ASCII-only text GX runs ``(?i)\wı`` with RE2, and on
  a column holding a line break ``(?i)^I$`` with Python's ``re``; there ``İ`` and ``ı`` (as letters or
  inside class ranges) are the only characters whose verdict differs.
- ``$`` (without MULTILINE): Python also matches before a final newline, which ``(?:\n?\z)`` does
  too; but that consumes the newline, so a ``$`` with anything consuming after it (``(a$)\n``) is
  refused. ``\Z`` is Rust's ``\z``.
- ``\<``/``\>``: literals in Python, word boundaries in Rust; ``[\b]``: a backspace in Python.
- ``\b``/``\B`` stay Rust's word boundaries: the same as Python's (and RE2's) except next to a character
  the two ``\w`` sets disagree on (a combining mark, ZWJ, ``²``). Python's cannot be said exactly without
  look-around, which Rust's regex has none of.
- A ``{`` that starts no Python quantifier (Python takes only ``{m}``, ``{m,}``, ``{,n}``, ``{m,n}``
  with digits and nothing else: ``a{ 2}``, ``{}``, ``^\s*{``): a literal in Python; Rust reads
  whitespace inside braces and refuses a lone ``{``. It is escaped. ``{,n}`` is refused: Python reads
  ``{0,n}``, but GX (pandas' Arrow strings) sends patterns without ``\s``, ``\w``, ``\d``, ``\b`` or
  ``$`` to RE2, which reads it as literal text, so GX's own verdict depends on the pattern.
- Inside a class, ``[``, ``&&``, ``--``, ``~~``: literals and ranges in Python, nested classes and set
  operations in Rust. Every literal character Rust treats specially there is escaped, ranges kept.

Refused: verbose mode and MULTILINE switched in a scoped group (the ``$`` rewrite depends on it),
ASCII mode (``(?a)``), possessive quantifiers, comments,
look-around, backreferences, conditionals and atomic groups; a
construct neither list covers (``\N{...}``) fails to compile in Rust and the caller refuses it then.
"""

from __future__ import annotations

import re
import sys
from array import array
from dataclasses import dataclass
from functools import cache


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
#: Escapes whose Unicode sets differ between the dialects (Rust's ``\w`` takes combining marks, ZWJ and
#: connector punctuation, Python's takes ``²`` and ``½``; their ``\d`` differ on 100 code points): each
#: becomes the explicit set Python's ``re`` matches, ``\W``/``\D`` its complement.
_PYTHON_SETS = "wd"
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
#: Escapes IGNORECASE leaves alone: sets (the same in both cases) and anchors.
_CASELESS_ESCAPES = "dDwWsSAZbB<>"


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
    python_case = _python_case(pattern)
    ignorecase = [False]  # Python's IGNORECASE where the pattern is, one entry per open group (python_case only)
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            escape = _ESCAPE.match(pattern, i)
            if escape is None:  # a trailing backslash: Python refuses it before this runs
                raise UntranslatableRegex("a trailing backslash")
            text = _escape(escape.group(), inside=False)
            if python_case and ignorecase[-1] and escape.group()[1] not in _CASELESS_ESCAPES:
                text = _ignorecase("[" + escape.group() + "]", text)
            tokens.append(_Token("atom", text))
            i = escape.end()
        elif c == "[":
            text, end = _class(pattern, i)
            tokens.append(_Token("atom", _ignorecase(pattern[i:end], text) if python_case and ignorecase[-1] else text))
            i = end
        elif c == "(":
            at_start = not tokens or tokens[-1].kind == "flags"
            token, i, case = _group(pattern, i, at_start=at_start, flags=flags, python_case=python_case)
            tokens.append(token)
            if token.kind == "flags":
                ignorecase[-1] = "i" in flags
            else:
                ignorecase.append(ignorecase[-1] if case is None else case)
        elif c == ")":
            tokens.append(_Token("close", c))
            if len(ignorecase) > 1:  # an unbalanced ')' is Python's error, reported before this runs
                ignorecase.pop()
            i += 1
        elif c in "|$":
            tokens.append(_Token({"|": "alt", "$": "dollar"}[c], c))
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
            text = "\\" + c if c in "{}" else c
            python_literal = python_case and ignorecase[-1] and c not in ".^"
            tokens.append(_Token("atom", _ignorecase_literal(c, text) if python_literal else text))
            i += 1
    return tokens, flags


def _group(
    pattern: str, i: int, at_start: bool, flags: set[str], python_case: bool
) -> tuple[_Token, int, bool | None]:
    """The group opener at ``pattern[i] == "("``: its token, where it ends, and whether IGNORECASE holds
    inside it (None: as outside). With ``python_case`` Rust's ``i`` flag is dropped (the caller spells
    out Python's cases); otherwise it is kept."""
    if at_start and (glob := _GLOBAL_FLAGS.match(pattern, i)):
        _refuse_flags(glob.group(1))
        flags.update(glob.group(1))
        letters = glob.group(1).replace("i", "") if python_case else glob.group(1)
        return _Token("flags", f"(?{letters})" if letters else ""), glob.end(), None
    for opener, what in _UNSUPPORTED_GROUPS:
        if pattern.startswith(opener, i):
            raise UntranslatableRegex(f"{what} are not translated (Rust's regex has none)")
    if scoped := _SCOPED_FLAGS.match(pattern, i):
        on, off = scoped.group(1), scoped.group(2) or ""
        _refuse_flags(on + off)
        if "m" in on + off:
            raise UntranslatableRegex("MULTILINE (m) switched in a scoped group is not translated")
        case = True if "i" in on else False if "i" in off else None
        if python_case:
            on, off = on.replace("i", ""), off.replace("i", "")
        return _Token("open", "(?" + on + ("-" + off if off else "") + ":"), scoped.end(), case
    if pattern.startswith("(?P<", i):
        end = pattern.index(">", i) + 1
        return _Token("open", pattern[i:end]), end, None
    if pattern.startswith("(?", i):  # Python refuses every other extension before this runs
        raise UntranslatableRegex(f"the group {pattern[i:i + 3]!r} is not translated")
    return _Token("open", "("), i + 1, None


def _python_case(pattern: str) -> bool:
    r"""Whether IGNORECASE follows Python's case rules: where the pattern holds ``\s``, ``\S``, ``\w``,
    ``\W``, ``\d``, ``\D``, ``\b``, ``\B`` (anywhere; ``\b`` in a class is a backspace) or a ``\u``,
    ``\U``, ``\N{`` escape, the patterns pandas' Arrow strings hand to Python's ``re`` (always, or on
    data GX meets every day: any non-ASCII text). Every other pattern goes to RE2, whose ``(?i)`` is
    simple case folding, as Rust's ``i`` flag is."""
    i, n = 0, len(pattern)
    while i < n:
        if pattern[i] == "\\":
            escape = _ESCAPE.match(pattern, i)
            if escape is None:
                return False  # a trailing backslash: refused by the tokenizer
            if escape.group()[1] in "sSwWdDbBuUN":
                return True
            i = escape.end()
        elif pattern[i] == "[":
            _, end = _class(pattern, i)
            if any(escape.group()[1] in "sSwWdDuUN" for escape in _ESCAPE.finditer(pattern, i, end)):
                return True
            i = end
        else:
            i += 1
    return False


def _refuse_flags(letters: str) -> None:
    if "x" in letters:
        raise UntranslatableRegex("verbose mode (x) is not translated")
    if "a" in letters:
        raise UntranslatableRegex("ASCII mode (a) is not translated (Rust's regex has no such flag)")


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
        return _escape(escape.group(), inside=True), escape.end()
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


def _escape(escape: str, inside: bool) -> str:
    r"""One escape in Rust spelling, inside a class or outside one. ``\w``, ``\d`` and their negations
    become the sets Python matches; ``\b``/``\B`` (outside a class) stay Rust's word boundaries."""
    letter = escape[1:]
    if len(letter) == 1 and letter.lower() in _PYTHON_SETS:
        items = _python_set("\\" + letter.lower())
        return "[^" + items + "]" if letter.isupper() else items if inside else "[" + items + "]"
    return (_INSIDE if inside else _OUTSIDE).get(letter, escape)


@cache
def _every_char() -> str:
    """Every code point a Rust string can hold (all but the surrogates), in order: decoded from their
    UTF-32 bytes at once (0.05 s; 1.1 million ``chr`` calls take 0.2 s). ``array("I")`` holds 4-byte
    items in the machine's byte order (a C ``unsigned int`` wherever CPython builds)."""
    points = array("I", range(0xD800))
    points.extend(range(0xE000, 0x110000))
    return points.tobytes().decode("utf-32-le" if sys.byteorder == "little" else "utf-32-be")


@cache
def _python_set(escape: str) -> str:
    """The characters ``escape`` (``\\w``, ``\\d``) matches in Python, as Rust class items; built once."""
    return _rust_items(re.findall(escape, _every_char()))


def _rust_items(chars: str | list[str] | set[str]) -> str:
    """``chars`` as the items of a Rust class, consecutive code points as ranges."""
    runs: list[list[int]] = []
    for point in sorted(set(map(ord, chars))):
        if runs and runs[-1][1] == point - 1:
            runs[-1][1] = point
        else:
            runs.append([point, point])
    return "".join(f"\\x{{{lo:X}}}" + (f"-\\x{{{hi:X}}}" if hi > lo else "") for lo, hi in runs)


@cache
def _cased() -> str:
    """Every character with a case mapping, or the result of one, in order. Python's IGNORECASE matches
    a character outside this set only where it matches without IGNORECASE (so only the cased ones need
    asking); whole blocks without any case mapping are skipped at once."""
    cased: set[str] = set()
    chars = _every_char()
    for start in range(0, len(chars), 256):
        block = chars[start:start + 256]
        if block.lower() == block == block.upper() == block.casefold():
            continue
        for c in block:
            mapped = c.lower() + c.upper() + c.casefold() + c.title()
            if mapped != c * 4:
                cased.add(c)
                cased.update(mapped)
    return "".join(sorted(cased))


@cache
def _cased_items() -> str:
    return _rust_items(_cased())


@cache
def _ignorecase(python: str, rust: str) -> str:
    """The one-character pattern ``python`` (a class, or an escape in one) under Python's IGNORECASE, in
    Rust spelling: the cased characters Python's ``re`` finds, asked one by one, and of the others
    those ``rust`` (its spelling without IGNORECASE) matches."""
    cased = re.findall("(?i)" + python, _cased())
    return "[" + _rust_items(cased) + "[" + rust + "&&[^" + _cased_items() + "]]]"


@cache
def _ignorecase_literal(c: str, rust: str) -> str:
    """The literal character ``c`` under Python's IGNORECASE (``i`` also matches ``İ`` and ``ı``, ``k``
    the Kelvin sign), in Rust spelling; ``rust`` where it matches only itself."""
    matched = set(re.findall("(?i)" + re.escape(c), _cased() + c))
    return rust if matched == {c} else "[" + _rust_items(matched) + "]"

"""The polars engine runs suite regexes (Python ``re`` syntax, as GX reads them) through
:func:`python_regex_to_rust`: for every pattern both dialects accept, the translated pattern finds
a match in exactly the strings Python's ``re.search`` does, or the translation refuses it."""

from __future__ import annotations

import re
import warnings

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from prefdata.check.python_regex import UntranslatableRegex, python_regex_to_rust

TOKENS = ["a", "b", "\\n", "$", "^", ".", "\\s", "\\S", "[", "]", "[^", "(?m)", "(?x)", "(?i)", "\\Z", "|", "(", ")",
          "*", "+", "?", "{2}", "{1, 2}", "{1,2}", "\\\\", "\\]", "#", " ", "\n", "\\$", "-", "(?:", "(?m:", "&&", "\\<",
          "\\(", "\\x1c", "~~", "{", "}", "{ 2}", "{2 }", "{,2}", "--", "\\b", "(?s)", "(?i)(?m)", "\\{",
          "\\w", "\\W", "\\d", "\\D", "(?i:", "(?-i:", "[\\w", "I", "k"]
CHARS = "ab \n\x1c#[]\\$-&<>(){}1~,+\x08_IK\u0130\u0131\u212a\u0301\u00b2\u200d\u0663"


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=6).map("".join), st.lists(st.text(CHARS, max_size=6), min_size=1, max_size=20))
def test_translated_patterns_match_what_python_matches(pattern, strings):
    """Python's reading, except where the polars engine keeps Rust's (README "Regexes"): ``\\b``/``\\B`` on
    combining marks, ZWJ and ``²``, and ``(?i)`` on ``İ``/``ı`` in a pattern GX hands to RE2 (none of the
    escapes that send it to Python's ``re``); strings holding those characters are left out there."""
    if "\\b" in pattern or "\\B" in pattern:
        strings = [s for s in strings if not set(s) & set("\u0301\u200d\u00b2")]
    if "i" in pattern and not _gx_uses_python_re(pattern):
        strings = [s for s in strings if not set(s) & set("\u0130\u0131")]
    assume(strings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Python's FutureWarnings on "[[" and "&&"
        try:
            compiled = re.compile(pattern)
        except re.error:
            assume(False)
    try:
        rust = python_regex_to_rust(pattern)
        found = pl.Series(strings, dtype=pl.String).str.contains(rust).to_list()
    except (UntranslatableRegex, pl.exceptions.PolarsError):
        assume(False)  # refused, which the engine reports as a suite error
    assert found == [compiled.search(s) is not None for s in strings], rust


#: Patterns a differential hunt found read differently, each with Python's reading: a brace that starts
#: no Python quantifier is a literal (Rust reads whitespace inside braces and refuses a lone "{"); "--"
#: in a class is a range or a literal (Rust: set difference); MULTILINE from a second leading flag
#: group; an escaped "(" before flag letters is no flag group; "[\b]" is a backspace.
HUNTED = [r"a{ 2}", r"a{2 }", r"a{1,2 }", r"a{ 1,2}", "a{1,\t2}", r"[+--]", r"[*--]", r"[a-z--b]", r"[\--/]",
          r"(?i)(?m)a$", r"(?s)(?m)^a$", r"^\(?max\)?$", r"\(?x\)?", r"\(?sim:", r"[(?x]", r"[(?m:]",
          r"^\s*{", r"x{a}", r"{}", r"{{.*}}", r"[\b]"]
ORDINARY = [r"^[0-9a-f]{64}$", r"^(?:yes|no)$", r"\d{3}-\d{4}", r"(?i)^[a-z]+$", r"\s+$", r"(?m)^\s*$", r"a$|b",
            r"(a$)+", r"(a$|b)*", r"^$", r"a{1, 2}", r"[a&&b]\S", r"[]a]", r"[^]a]", r"[a-]", r"\<a\>", r"a\Z", r"(?P<n>a)b",
            r"(?i:A)b", r"a{2,}", r"a{1,2}?", r"x}"]
SAMPLES = ["a\n", "ab\n", "a", "\n", "", "aa", "a{ 2}", "a{2 }", "a{1,2 }", "a{ 1,2}", "a{1,\t2}", "+", ",", "-", "*",
           "b", "x", ".", "/", "a\nb", "x\na\ny", "max", "(max)", "mix", "(sim:", "(", "?", '{"a": 1}', " {}", "[1]",
           "x{a}", "{{x}}", "aab", "\x08", "]", "A", "Ab", "x}", "{2}", "\x1c", "  \n", "yes", "no\n", "555-1234",
           "0" * 64 + "\n", "a{1, 2}", "<a>"]


@pytest.mark.filterwarnings("ignore:Possible (nested set|set intersection|set difference):FutureWarning")
@pytest.mark.parametrize("pattern", HUNTED + ORDINARY)
def test_patterns_are_translated_to_what_python_matches(pattern):
    """Each is translated (none is refused: Rust can say each of them) and matches where ``re.search`` does."""
    found = pl.Series(SAMPLES, dtype=pl.String).str.contains(python_regex_to_rust(pattern)).to_list()
    assert found == [re.search(pattern, s) is not None for s in SAMPLES]


@pytest.mark.parametrize(
    ("pattern", "refused"),
    [("(?x) a b", "verbose"), ("(?m:a$)", "MULTILINE"), ("(?-m:a$)", "MULTILINE"), (r"\w*+y", "possessive"),
     ("a$\\n", "followed by more"),
     # a "$" that ends a group or a branch, with more pattern after the group ("$" then consumes the newline)
     (r"(a$)\n", "followed by more"), (r"(?:b$)\n", "followed by more"), (r"(?:a|b$)\n", "followed by more"),
     (r"(?:$|x)\n", "followed by more"), (r"(\n$){2}", "followed by more"), (r"(a$)?b", "followed by more"),
     ("(?=a)", "look-ahead"), ("a(?#note)", "comments"),
     # each refused construct is named (the engine shows the message and points at --engine gx)
     (r"(?<!a)b", "look-behind"), (r"(?<=a)b", "look-behind"), (r"(?!a)b", "look-ahead"),
     (r"(?P<x>a)(?P=x)", "backreferences"), (r"(a)?(?(1)b|c)", "conditionals"), (r"(?>a)", "atomic groups"),
     # (?a) has no Rust flag
     (r"(?a)\w", "ASCII"), (r"(?a:\w)", "ASCII"),
     # Python reads {0,n}, RE2 (GX's pandas runs some patterns with it) literal text: write {0,n}
     (r"a{,2}b", r"write \{0,2\}"), (r"a{,}", r"write \{0,\}")],
)
def test_what_cannot_be_translated_is_refused(pattern, refused):
    with pytest.raises(UntranslatableRegex, match=refused):
        python_regex_to_rust(pattern)



def _found(pattern: str, strings: list[str]) -> list[bool]:
    return pl.Series(strings, dtype=pl.String).str.contains(python_regex_to_rust(pattern)).to_list()


#: Hand-read verdicts (checked against ``re.search`` too) for what Python and Rust read differently
#: inside a class and around ``$``/``\Z`` (the module doc's list): "~~" is two "~" (Rust: symmetric
#: difference); a range may end in an escape; ``\s``/``\S`` in a class count U+001C-U+001F as whitespace;
#: ``\Z`` is the end of the string under MULTILINE too; a ``$`` that ends a branch or a group repeated
#: at least at most once ({m,n} with m <= 1) has nothing consuming after it, so it is translated.
VERDICTS = [
    ("[a~~b]", {"~": True, "a": True, "b": True, "x": False, "": False}),
    ("[^~~]", {"~": False, "~~": False, "a": True}),
    (r"[a-\x7a]", {"m": True, "a": True, "z": True, "-": False, "\\": False, "A": False}),
    (r"[\x00-\x1f]", {"\x05": True, "\x1f": True, " ": False, "-": False, "x": False}),
    (r"[!-\]]", {"!": True, "5": True, "A": True, "]": True, "-": True, "a": False, " ": False}),
    (r"[0-\u0039]", {"0": True, "5": True, "9": True, "-": False, "u": False}),
    (r"[\s]", {"\x1c": True, "\x1f": True, " ": True, "a": False, "": False}),
    (r"^[a\s]+$", {"a\x1c": True, "\x1d\x1e": True, "ab": False}),
    (r"[\S]", {"\x1c": False, "\x1f": False, " ": False, "\x1c\x1d": False, "a": True}),
    (r"^[a\S]+$", {"a\x1c": False, "ab": True}),
    (r"(?m)a\Z", {"a": True, "b\na": True, "a\nb": False, "a\n": False}),
    (r"(?m)^a\Z", {"x\na": True, "a\nx": False}),
    (r"(?:a$|(b)c)", {"a": True, "a\n": True, "xa\n": True, "bc": True, "b": False, "a\nb": False}),
    (r"(a$|(?:b)c)", {"a\n": True, "bc": True, "a\nb": False}),
    (r"(a$){1,3}", {"a": True, "a\n": True, "ba\n": True, "": False, "a\nb": False}),
    (r"(a$){0,2}", {"": True, "b": True}),
]


@pytest.mark.filterwarnings("ignore:Possible (nested set|set intersection|set difference|set symmetric difference):FutureWarning")
@pytest.mark.parametrize(("pattern", "verdicts"), VERDICTS, ids=[p for p, _ in VERDICTS])
def test_class_and_anchor_differences_are_read_pythons_way(pattern, verdicts):
    strings = list(verdicts)
    assert [re.search(pattern, s) is not None for s in strings] == list(verdicts.values())  # the hand reading is Python's
    assert _found(pattern, strings) == list(verdicts.values())


def _word(c: str) -> bool:
    """Python's ``\\w`` on ``str`` (the ``re`` docs: Unicode word characters, digits and the underscore)."""
    return c.isalnum() or c == "_"


@pytest.fixture(scope="module")
def differing() -> dict[str, list[str]]:
    """The code points whose ``\\w`` and ``\\d`` Rust's regex and Python's ``re`` disagree on."""
    every = [chr(c) for c in [*range(0xD800), *range(0xE000, 0x110000)]]
    chars = pl.Series(every, dtype=pl.String)
    rust_word = chars.str.contains(r"^\w$").to_list()
    rust_digit = chars.str.contains(r"^\d$").to_list()
    return {"w": [c for c, r in zip(every, rust_word) if r != _word(c)],
            "d": [c for c, r in zip(every, rust_digit) if r != c.isdecimal()]}


WORD_AND_DIGIT = [
    (r"\w", _word), (r"\W", lambda c: not _word(c)), (r"[\w]", _word), (r"[^\w]", lambda c: not _word(c)),
    (r"[\W]", lambda c: not _word(c)), (r"[x\W]", lambda c: c == "x" or not _word(c)), (r"[^\W]", _word),
    (r"\d", str.isdecimal), (r"\D", lambda c: not c.isdecimal()), (r"[\d]", str.isdecimal),
    (r"[^\d]", lambda c: not c.isdecimal()), (r"[\D]", lambda c: not c.isdecimal()), (r"(?i)\w", _word),
]


@pytest.mark.parametrize(("pattern", "python"), WORD_AND_DIGIT, ids=[p for p, _ in WORD_AND_DIGIT])
def test_word_and_digit_classes_are_pythons_where_rust_differs(differing, pattern, python):
    """Python's ``\\w`` is ``str.isalnum()`` or ``_``, its ``\\d`` ``str.isdecimal()`` (the ``re`` docs); Rust's
    differ on thousands of code points (combining marks, ZWJ, ``‿``, ``²``, newer digits). On every one
    of them the translation gives Python's verdict, which is GX's (pandas runs a pattern with ``\\w``
    or ``\\d`` through Python's ``re``; README "Regexes")."""
    strings = differing["d" if "d" in pattern.lower() else "w"]
    assert len(strings) >= (100 if "d" in pattern.lower() else 12_000)  # what the check is about: Rust does differ
    expected = [python(c) for c in strings]
    assert [re.search(pattern, c) is not None for c in strings] == expected
    assert _found(pattern, strings) == expected


def test_word_characters_in_context():
    """The bug as a suite meets it: NFD "été" (a combining acute) is not all word characters to Python."""
    strings = ["e\u0301t\u00e9", "\u00e9t\u00e9", "x\u00b2", "a\u200db", "snake_case", "a\u203fb", "\u0663\u0664"]
    assert _found(r"^\w+$", strings) == [False, True, True, False, True, False, True]
    assert _found(r"^\d+$", strings) == [False, False, False, False, False, False, True]


#: Non-ASCII text, as GX meets it: pandas' Arrow strings then hand a pattern to Python's ``re`` when it
#: holds ``\s``, ``\w``, ``\d``, ``\b`` (or a negation) or a ``\u``/``\U``/``\N{}`` escape, to RE2 otherwise.
_NON_ASCII = pd.array(["\u00e9"], dtype="string[pyarrow]")


def _gx_uses_python_re(pattern: str) -> bool:
    """pandas' own choice of engine (``_needs_python_regex``) on non-ASCII text without a newline."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return _NON_ASCII._needs_python_regex(pattern)


@pytest.fixture(scope="module")
def cased() -> list[str]:
    """Characters with a case mapping (or the result of one): the only ones IGNORECASE can change. (No
    code point past U+1FFFF has one.)"""
    return sorted({m for c in map(chr, range(0x20000)) for m in c + c.lower() + c.upper() + c.casefold() + c.title()
                   if c.lower() != c or c.upper() != c or c.casefold() != c or c.title() != c})


#: Plain ``(?i)`` patterns: GX (pandas' Arrow strings) runs them with RE2, whose IGNORECASE is simple case
#: folding, as Rust's ``i`` flag is (``i`` does not match ``İ`` or ``ı``).
RE2_CASE_PATTERNS = ["(?i)i", "(?i)I", "(?i)k", "(?i)s", "(?i)\u03c3", "(?i)\u00df", "(?i)[a-z]", "(?i)[^a-z]",
                     r"(?i)\x69", r"(?i)[\x69]", "(?i:i)", "(?i)(?-i:i)", "(?i)a(?-i:b)", "(?i)[i-k]", r"(?is)I.",
                     "(?i)^\u0130$", "(?i)[^i]"]
#: ``(?i)`` with ``\s``, ``\w``, ``\d``, ``\b`` (or a negation, in a class too) or a ``\u``/``\U`` escape: GX
#: runs them with Python's ``re`` (on non-ASCII text), whose IGNORECASE pairs ``i`` with ``İ`` and ``ı``.
PYTHON_CASE_PATTERNS = [r"(?i)[^\W]", r"(?i)^\u0130$", r"(?i)^i\w?$", r"(?i)\u0069", r"(?i)[i\d]", r"(?i)k|\s",
                        r"(?i:i)\S?", r"(?i)^\U00000049\D?$", r"(?i)[^i\s]"]
_CASE_STRINGS = ["0", "_", "\u0301", "\u6f22", "ab", "aB", "Ab", "i\n", "I\u00e9"]


@pytest.mark.parametrize("pattern", RE2_CASE_PATTERNS)
def test_plain_ignorecase_is_simple_case_folding_as_in_re2(cased, pattern):
    """GX's verdict for a plain ``(?i)`` pattern is RE2's (pyarrow's ``match_substring_regex``, which pandas
    calls), asked here directly: on every cased character the polars engine's is the same."""
    assert not _gx_uses_python_re(pattern)
    strings = [*cased, *_CASE_STRINGS]
    expected = pc.match_substring_regex(pa.array(strings), pattern).to_pylist()
    assert _found(pattern, strings) == expected


@pytest.mark.parametrize("pattern", PYTHON_CASE_PATTERNS)
def test_ignorecase_with_python_escapes_is_pythons(cased, pattern):
    """Where GX runs the pattern with Python's ``re``, every cased character gets Python's verdict."""
    assert _gx_uses_python_re(pattern)
    strings = [*cased, *_CASE_STRINGS]
    assert _found(pattern, strings) == [re.search(pattern, s) is not None for s in strings]


def test_ignorecase_verdicts_by_hand():
    """RE2's and Rust's simple case folding: ``K`` (Kelvin) folds to ``k``, ``ſ`` to ``s``, ``İ`` and ``ı`` to
    nothing; Python's IGNORECASE also pairs ``i`` with ``İ`` and ``ı``."""
    strings = ["i", "I", "\u0130", "\u0131", "k", "\u212a", "\u017f", "x"]
    assert _found("(?i)i", strings) == [True, True, False, False, False, False, False, False]
    assert _found("(?i)[k-s]", strings) == [False, False, False, False, True, True, True, False]
    assert _found("(?i)[^i]", strings) == [False, False, True, True, True, True, True, True]
    assert _found(r"(?i)^i\w*$", strings) == [True, True, True, True, False, False, False, False]
    assert _found(r"(?i)\u0069", strings) == [True, True, True, True, False, False, False, False]
    assert _found(r"(?i)[k-s\d]", strings) == [False, False, False, False, True, True, True, False]


def test_word_boundaries_are_rusts():
    """``\\b``/``\\B`` keep Rust's meaning (README "Regexes", "Still different"): the same as Python's and RE2's
    on ASCII text and on letters, different next to a combining mark, a ZWJ or ``²`` (Python: not word
    characters; Rust: word characters)."""
    assert python_regex_to_rust(r"\b(damn|hell)\b") == r"\b(damn|hell)\b"
    strings = ["damn it", "oh hell!", "hellish", "Damn", "\u00e9hell", "hell\u00e9", "h\u00e9ll damn."]
    assert _found(r"\b(damn|hell)\b", strings) == [True, True, False, False, False, False, True]
    assert _found(r"e\B", ["he", "hex", "e\u0301"]) == [False, True, True]  # Python: False, True, False

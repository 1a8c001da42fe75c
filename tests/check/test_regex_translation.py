"""The polars engine runs suite regexes (Python ``re`` syntax, as GX reads them) through
:func:`python_regex_to_rust`: for every pattern both dialects accept, the translated pattern finds
a match in exactly the strings Python's ``re.search`` does, or the translation refuses it."""

from __future__ import annotations

import re
import warnings

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from prefdata.check.python_regex import UntranslatableRegex, python_regex_to_rust

TOKENS = ["a", "b", "\\n", "$", "^", ".", "\\s", "\\S", "[", "]", "[^", "(?m)", "(?x)", "(?i)", "\\Z", "|", "(", ")",
          "*", "+", "?", "{2}", "{1, 2}", "{1,2}", "\\\\", "\\]", "#", " ", "\n", "\\$", "-", "(?:", "(?m:", "&&", "\\<",
          "\\(", "\\x1c", "~~", "{", "}", "{ 2}", "{2 }", "{,2}", "--", "\\b", "(?s)", "(?i)(?m)", "\\{"]
CHARS = "ab \n\x1c#[]\\$-&<>(){}1~,+\x08"


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=6).map("".join), st.lists(st.text(CHARS, max_size=6), min_size=1, max_size=20))
def test_translated_patterns_match_what_python_matches(pattern, strings):
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
     # Python reads {0,n}, RE2 (GX's pandas runs some patterns with it) literal text: write {0,n}
     (r"a{,2}b", r"write \{0,2\}"), (r"a{,}", r"write \{0,\}")],
)
def test_what_cannot_be_translated_is_refused(pattern, refused):
    with pytest.raises(UntranslatableRegex, match=refused):
        python_regex_to_rust(pattern)

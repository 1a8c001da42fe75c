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

from prefdata.check.engine_polars import UntranslatableRegex, python_regex_to_rust

TOKENS = ["a", "b", "\\n", "$", "^", ".", "\\s", "\\S", "[", "]", "[^", "(?m)", "(?x)", "(?i)", "\\Z", "|", "(", ")",
          "*", "+", "?", "{2}", "{1, 2}", "{1,2}", "\\\\", "\\]", "#", " ", "\n", "\\$", "-", "(?:", "(?m:", "&&", "\\<",
          "\\(", "\\x1c", "~~"]
CHARS = "ab \n\x1c#[]\\$-&<>(){}1~"


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


@pytest.mark.parametrize(
    ("pattern", "refused"),
    [("(?x) a b", "verbose"), ("(?m:a$)", "MULTILINE"), (r"\w*+y", "possessive"), ("a$\\n", "followed by more")],
)
def test_what_cannot_be_translated_is_refused(pattern, refused):
    with pytest.raises(UntranslatableRegex, match=refused):
        python_regex_to_rust(pattern)

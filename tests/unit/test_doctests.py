"""The examples in docstrings run, so they cannot drift from the code they document."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import prefdata


def _modules_with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(prefdata.__path__, "prefdata."):
        if info.name.endswith("__main__"):  # runs the CLI when imported
            continue
        tests = doctest.DocTestFinder().find(importlib.import_module(info.name))
        if any(not ex.options.get(doctest.SKIP) for t in tests for ex in t.examples):
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules_with_examples())
def test_docstring_examples_pass(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0

"""README's ``id`` recipe, run as printed, gives the id ``prefdata build`` writes for a non-ASCII pair:
"compact JSON" alone did not say ``ensure_ascii=False``, and Python's default escapes non-ASCII."""

from __future__ import annotations

import contextlib
import io
import json
import re

import polars as pl

import prefdata
from tests.conftest import REPO


def _recipe() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), flags=re.DOTALL)
    found = [b for b in blocks if "hashlib.sha256" in b and "ensure_ascii=False" in b]
    assert len(found) == 1, "README's id recipe (a python block with hashlib.sha256 and ensure_ascii=False)"
    return found[0]


def test_the_readme_recipe_reproduces_the_id_of_a_non_ascii_pair(tmp_path):
    recipe = _recipe()
    namespace: dict = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(recipe, namespace)  # noqa: S102 (the README's own example, run as a reader would)
    pair, computed = namespace["pair"], printed.getvalue().strip()
    assert any(not c.isascii() for m in pair["prompt"] for c in m["content"])
    assert re.search(rf"^# {computed}\b", recipe, flags=re.MULTILINE), "the hash printed in README is the one it computes"

    raw = tmp_path / "raw.jsonl"
    raw.write_text(json.dumps(pair) + "\n", encoding="utf-8")  # escaped in the raw file: the id is of the text
    prefdata.build(raw, tmp_path / "out", quiet=True)
    assert pl.read_parquet(tmp_path / "out" / "data" / "*.parquet")["id"].to_list() == [computed]

"""Row filters from a config: ``lang == "en"``, ``deleted == false``, ``score >= 3``, ``tag in [a, b]``.

A filter is ``<field path> <operator> <YAML value>``; a source's list of filters must all hold. Each
filter compiles to a polars expression (record filters, evaluated in the same pass as decoding) and
to a Python predicate (filters on the messages of a tree, which is walked in Python). Records a
filter excludes are rejects with reason ``filtered_out``, never silently dropped.

>>> f = parse_filter("lang == 'en'")
>>> f.matches({"lang": "en"}), f.matches({"lang": "de"})
(True, False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import polars as pl
import yaml

from prefdata.errors import ConfigError
from prefdata.shapes.fields import as_number, expr_for, parse_path

_FILTER = re.compile(r"^\s*(?P<path>[^\s=!<>]+)\s*(?P<op>==|!=|<=|>=|<|>|not in|in)\s*(?P<value>\S.*?)\s*$")
OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")


@dataclass(frozen=True)
class Filter:
    text: str
    path: str
    op: str
    value: Any

    # -- polars ---------------------------------------------------------------------------------

    def expr(self) -> pl.Expr:
        """True where the record passes (a missing field fails every operator but ``!=``/``not in``)."""
        raw = expr_for(self.path).cast(pl.String)
        if self.op in ("in", "not in"):
            texts = [_text(v) for v in self.value]
            hit = raw.is_in(texts).fill_null(False)
            return hit if self.op == "in" else ~hit
        if self.value is None:
            return raw.is_null() if self.op == "==" else raw.is_not_null()
        if isinstance(self.value, (int, float)) and not isinstance(self.value, bool):
            num = as_number(raw)
            out = {"==": num == self.value, "!=": num != self.value, "<": num < self.value, "<=": num <= self.value, ">": num > self.value, ">=": num >= self.value}[self.op]
            return out.fill_null(self.op == "!=")
        if self.op not in ("==", "!="):
            raise ConfigError(f"filter {self.text!r}: {self.op} needs a number")
        out = raw == _text(self.value)
        return (out if self.op == "==" else ~out).fill_null(self.op == "!=")

    # -- Python (tree messages) -----------------------------------------------------------------

    def matches(self, obj: Any) -> bool:
        value = _get(obj, self.path)
        if self.op in ("in", "not in"):
            hit = value is not None and _text(value) in {_text(v) for v in self.value}
            return hit if self.op == "in" else not hit
        if self.value is None:
            return (value is None) == (self.op == "==")
        if isinstance(self.value, (int, float)) and not isinstance(self.value, bool):
            try:
                num = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return self.op == "!="
            return {"==": num == self.value, "!=": num != self.value, "<": num < self.value, "<=": num <= self.value, ">": num > self.value, ">=": num >= self.value}[self.op]
        same = value is not None and _text(value) == _text(self.value)
        return same if self.op == "==" else not same


def _text(value: Any) -> str:
    """A value as the decoder shows it: JSON text for scalars (``true``, ``3``), the string itself."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _get(obj: Any, path: str) -> Any:
    for token in parse_path(path):
        if isinstance(token, int):
            obj = obj[token] if isinstance(obj, list) and -len(obj) <= token < len(obj) else None
        else:
            obj = obj.get(token) if isinstance(obj, dict) else None
        if obj is None:
            return None
    return obj


def parse_filter(text: str) -> Filter:
    m = _FILTER.match(text)
    if not m:
        raise ConfigError(f"filter {text!r}: expected '<field> <op> <value>' with op one of {', '.join(OPS)}")
    if m.group("value")[:1] in ("=", "<", ">", "!"):  # `lang === en` would compare lang with "= en"
        raise ConfigError(
            f"filter {text!r}: the value starts with {m.group('value')[0]!r}; a mistyped operator? "
            f"ops: {', '.join(OPS)} (quote a value that really starts with it)"
        )
    try:
        value = yaml.safe_load(m.group("value"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"filter {text!r}: cannot read the value: {exc}") from None
    op = m.group("op")
    if op in ("in", "not in") and not isinstance(value, list):
        raise ConfigError(f"filter {text!r}: '{op}' needs a list, e.g. [a, b]")
    parse_path(m.group("path"))
    return Filter(text=text.strip(), path=m.group("path"), op=op, value=value)


def parse_filters(texts: list[str]) -> list[Filter]:
    return [parse_filter(t) for t in texts]

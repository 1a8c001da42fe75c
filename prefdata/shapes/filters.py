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

import math
import operator
import re
from dataclasses import dataclass
from typing import Any

import polars as pl
import yaml

from prefdata.config_files import YAML11_BOOLEANS, load_data_yaml
from prefdata.errors import ConfigError
from prefdata.shapes.fields import as_number, blank_as_null, expr_for, parse_path

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
        """True where the record passes (a missing field fails every operator but ``!=``/``not in``).

        ``!=`` is the negation of ``==``, ``in`` is ``==`` against any listed value and ``not in``
        its negation, so ``tier == 1``, ``tier in [1, 2]`` and ``tier not in [1]`` agree on every
        value (a CSV cell ``"1.0"`` is 1 to all three)."""
        raw = expr_for(self.path).cast(pl.String)
        if self.op in _EQUALITY:
            hit = _equals_any(raw, self._listed())
            return hit if self.op in ("==", "in") else ~hit
        if not _is_number(self.value):
            raise ConfigError(f"filter {self.text!r}: {self.op} needs a number")
        return _ORDER[self.op](as_number(raw), self.value).fill_null(False)

    # -- Python (tree messages) -----------------------------------------------------------------

    def matches(self, obj: Any) -> bool:
        """:meth:`expr` on one parsed message (the same operators, the same values equal)."""
        value = _get(obj, self.path)
        if self.op in _EQUALITY:
            hit = any(_same(value, v) for v in self._listed())
            return hit if self.op in ("==", "in") else not hit
        num = _number(value)
        return num is not None and _ORDER[self.op](num, self.value)

    def _listed(self) -> list[Any]:
        """The values an equality operator compares with: ``in``'s list, or ``==``'s one value."""
        return self.value if self.op in ("in", "not in") else [self.value]


#: The operators that compare for equality (``!=`` and ``not in`` negate the others), and the order
#: comparisons: one table for the polars and the Python path, which must agree.
_EQUALITY = ("==", "!=", "in", "not in")
_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equals_any(raw: pl.Expr, values: list[Any]) -> pl.Expr:
    """``raw == v`` for any ``v`` of ``values``, never null: ``null`` matches a missing field and a
    blank one (an empty CSV cell, JSON ``""``), which the shapes read as missing too (:func:`blank_as_null`:
    a filter ``model != null`` must not keep the row that is then written with a null model), a number
    matches a raw value that reads as that number (``1``, ``1.0``, ``"1.0"``, ``"01"``), anything else
    matches its text (:func:`_text`). One vectorized test per kind of value, however long the list.

    A raw integer is compared with the whole numbers exactly, as text, whatever its size: 19-digit
    ids such as 1234567890123456789 and ...790 are one float64, and an allow-list of ids must not mix
    them up.
    """
    numbers = [v for v in values if _is_number(v)]
    texts = [t for v in values if v is not None and not _is_number(v) for t in _texts(v)]
    booleans = sorted({b for v in values if (b := _boolean(v)) is not None})
    hit = pl.lit(False)
    if any(v is None for v in values):  # a blank value too: the shapes read it as missing
        hit = hit | blank_as_null(raw).is_null()
    if numbers:
        whole = [str(w) for v in numbers if (w := _whole(v)) is not None]
        integer = raw.str.replace(r"^\+", "").str.replace(r"^(-?)0+([0-9])", "${1}${2}").str.replace(r"^-0$", "0")
        as_float = as_number(raw).is_in([float(v) for v in numbers])
        is_integer = raw.str.contains(f"^{_INTEGER.pattern}$")
        hit = hit | pl.when(is_integer).then(integer.is_in(whole)).otherwise(as_float).fill_null(False)
    if texts:
        hit = hit | raw.is_in(texts).fill_null(False)
    if booleans:
        hit = hit | raw.str.strip_chars().str.to_lowercase().is_in(booleans).fill_null(False)
    return hit


def _whole(value: float) -> int | None:
    """A configured number as an integer when it is a whole one (``1`` and ``1.0``), else None."""
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value)


def _number(value: Any) -> float | None:
    """A parsed value as a finite number, as :func:`prefdata.shapes.fields.as_number` reads its text
    (``true`` is no number: the decoder shows it as the text ``true``; nor are ``" 1"`` and ``"1_0"``,
    which Python's ``float`` reads and polars does not)."""
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    if isinstance(value, str) and (value != value.strip() or "_" in value or not value.isascii()):
        return None
    try:
        num = float(value)
    except (TypeError, ValueError):
        return None
    return num if math.isfinite(num) else None


def _integer(value: Any) -> int | None:
    """A parsed value as an integer when it is one (``1``, ``"01"``, ``"+1"``, any size)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    return None


_INTEGER = re.compile(r"[+-]?[0-9]+")
#: A blank text as polars' ``strip_chars`` sees it: Python's ``\s`` also counts \x1c-\x1f, which it does not.
_BLANK = re.compile(r"[^\S\x1c-\x1f]*")
#: Numbers only YAML 1.1 reads: digits grouped by ``_`` (``1_000``), binary (``0b101``) and hex with ``_``.
_YAML11_NUMBER = re.compile(r"[-+]?(?:0b[01_]+|0x[0-9a-fA-F]*_[0-9a-fA-F_]*|[0-9][0-9_]*_[0-9_]*(?:\.[0-9_]*)?)")


def _same(value: Any, expected: Any) -> bool:
    """``value == expected`` as :func:`_equals_any` reads it, for one parsed value."""
    if expected is None:  # the decoder reads a list or object as no text; a blank text is missing
        return value is None or isinstance(value, (list, dict)) or (isinstance(value, str) and _BLANK.fullmatch(value) is not None)
    if _is_number(expected):
        integer = _integer(value)
        if integer is not None:  # exactly, as :func:`_equals_any` compares a raw integer
            return integer == _whole(expected)
        return _number(value) == expected
    if value is None:
        return False
    boolean = _boolean(expected)
    return _text(value) in _texts(expected) or (boolean is not None and _text(value).strip().lower() == boolean)


def _texts(expected: Any) -> list[str]:
    """The texts a configured value that is no number matches exactly: its own (a boolean matches by
    :func:`_boolean` alone)."""
    return [] if isinstance(expected, bool) else [_text(expected)]


def _boolean(expected: Any) -> str | None:
    """The boolean a configured value means, as ``"true"``/``"false"``, or None: YAML ``true``/``false``,
    and a YAML 1.1 boolean word (``no``) for the boolean it meant there
    (:data:`prefdata.config_files.YAML11_BOOLEANS`), so ``deleted == no`` still matches JSON ``false``.

    A field matches it in any case, blanks around it aside: JSON ``true`` decodes as the text
    ``true``, but pandas writes a boolean into a CSV as ``True`` and Excel as ``TRUE``, and a filter
    must drop the deleted rows of that table as it does for its JSON lines or Parquet.
    """
    if isinstance(expected, bool):
        return "true" if expected else "false"
    return YAML11_BOOLEANS.get(expected.strip().lower()) if isinstance(expected, str) else None


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
        value = load_data_yaml(m.group("value"))  # `country == no` is Norway, not false
    except yaml.YAMLError as exc:
        raise ConfigError(f"filter {text!r}: cannot read the value: {exc}") from None
    op = m.group("op")
    for item in value if isinstance(value, list) else [value]:
        quoted = f'"{item}"' in m.group("value") or f"'{item}'" in m.group("value")
        if isinstance(item, str) and not quoted and _YAML11_NUMBER.fullmatch(item):  # YAML 1.1 read a number; 1.2 text
            meant = yaml.safe_load(item)  # PyYAML reads YAML 1.1: the number it meant there
            raise ConfigError(f"filter {text!r}: {item!r} is text in YAML 1.2 (YAML 1.1 read it as the number {meant!r}); "
                              f"write {meant!r}, or quote it to compare with that text")
    if op in ("in", "not in") and not isinstance(value, list):
        raise ConfigError(f"filter {text!r}: '{op}' needs a list, e.g. [a, b]")
    parse_path(m.group("path"))
    return Filter(text=text.strip(), path=m.group("path"), op=op, value=value)


def parse_filters(texts: list[str]) -> list[Filter]:
    return [parse_filter(t) for t in texts]

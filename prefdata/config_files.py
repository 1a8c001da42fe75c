"""YAML and JSON for the files users write by hand (build configs, check configs, training recipes).

``yaml.safe_load`` and ``json.loads`` keep the last of two equal keys without a word, so a config
that sets ``length_bias`` twice, or a recipe that sets ``beta`` twice, silently runs with one of the
two values. Here a repeated key is an error naming the key and its line, as a typo should be.

A build config names values found in the data (label maps, filters), where YAML 1.1's booleans
bite: ``labels: {up: [yes], down: [no]}`` or ``ok in [yes, no]`` read ``true``/``false`` and match
no record whose label is the string "yes". :func:`load_data_yaml` reads scalars as YAML 1.2 does
(only ``true``/``false`` are booleans, ``010`` is ten, ``1:30`` is text); the build and check configs'
switches then refuse ``yes``, which is text there, as they refuse ``"5"`` for a count. Training recipes are read the same way, so that
``lr_scheduler_kwargs: {min_lr: 1e-6}`` hands the scheduler a number.
Dataset cards are read with :func:`load_card_yaml` (``yaml.safe_load``'s YAML 1.1), as the Hub's
libraries read them.

Lists or mappings nested some hundreds of levels deep exhaust Python's recursion in the parsers (and in
any code that walks the value after them): every loader here raises its format's own error for them
(:class:`NestedTooDeeplyYAML`, a ``yaml.YAMLError``; :class:`NestedTooDeeplyJSON`, a
``json.JSONDecodeError``), so each caller's handler for a file that does not parse names the file.
"""

from __future__ import annotations

import codecs
import io
import json
import numbers
import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BeforeValidator, Field


class _UniqueKeyLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses a mapping holding the same key twice."""


_MERGE = "tag:yaml.org,2002:merge"


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    """The mapping's own keys, each once (keys a ``<<: *base`` merge brings in may be overridden, as
    YAML means them to be); then ``SafeLoader``'s mapping, merges and its errors included."""
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == _MERGE:
            continue
        key = loader.construct_object(key_node, deep=deep)
        try:
            repeated = key in seen
        except TypeError:  # an unhashable key: construct_mapping says so
            continue
        if repeated:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, f"found the key {key!r} twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


_BOOL = "tag:yaml.org,2002:bool"


class _DataValueLoader(_UniqueKeyLoader):
    """:class:`_UniqueKeyLoader` with YAML 1.2's core schema for scalars: ``yes``, ``no``, ``on``,
    ``off``, ``1:30`` and dates are strings, ``010`` is ten and ``1e-3`` a number."""


_INT, _FLOAT, _TIMESTAMP = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp"
_DataValueLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT, _FLOAT, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# YAML 1.2's core schema: `010` is ten, `1:30` and `2024-01-15` are text, `1e-3` is a number
_DataValueLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_DataValueLoader.add_implicit_resolver(_INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789"))
_DataValueLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+.0123456789"),
)


#: Resolves plain scalars as :func:`load_data_yaml` does (a loader over no text, used for its resolver).
_PLAIN_RESOLVER = _DataValueLoader("")


def _int12(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text, 10)


def _float12(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).lower()
    return float(text.replace(".inf", "inf").replace(".nan", "nan"))


_DataValueLoader.add_constructor(_INT, _int12)
_DataValueLoader.add_constructor(_FLOAT, _float12)


def reads_as_text(value: str) -> bool:
    """Whether ``value`` written as a plain YAML scalar comes back from :func:`load_data_yaml` as this
    string. PyYAML's dumper quotes by YAML 1.1's rules, so ``09`` and ``1e6`` (not 1.1 numbers, but
    1.2 ones) would be written bare and read back as 9 and 1000000.0; a printed config quotes them."""
    return _PLAIN_RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) == "tag:yaml.org,2002:str"


#: Characters a plain or single-quoted YAML scalar would not keep: line breaks YAML folds (NEL, the
#: Unicode line and paragraph separators too), so a string holding one must be written escaped.
_LINE_BREAKS = frozenset("\n\r\x85\u2028\u2029")


def represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    """A string as a dumper writes it for :func:`load_data_yaml` to read back: double-quoted when it holds
    a line break, single-quoted when YAML 1.2 would read it as something else (``09``, ``1e6``, which
    PyYAML, quoting by YAML 1.1's rules, writes bare), plain otherwise."""
    if not _LINE_BREAKS.isdisjoint(value):
        style = '"'
    elif not reads_as_text(value):
        style = "'"
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


#: Words YAML 1.1 read as booleans and YAML 1.2 (how configs and recipes are read) as text, with the
#: boolean each meant.
YAML11_BOOLEANS = {"yes": "true", "on": "true", "no": "false", "off": "false"}
_UNDERSCORED_NUMBER = re.compile(r"[-+]?[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?")


def underscored_number(text: str) -> str | None:
    """The number to write for text YAML 1.1 read as one with ``_`` between digits (``1_000``: ``1000``),
    or None; YAML 1.2 reads it as text."""
    return text.replace("_", "") if "_" in text and _UNDERSCORED_NUMBER.fullmatch(text) else None


def plain_whole(value: Any) -> Any:
    """The ``int`` of a numpy integer (``np.int64(3)``), anything else as it is: a config built in code
    from a pipeline's values holds numpy's integers, which the Python API's options take
    (:func:`prefdata.arguments.require_whole`), while a strict ``int`` field refuses them. Booleans
    (``np.bool_`` is not ``numbers.Integral``) and text still reach the field's own check and fail it."""
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, int)):
        return int(value)
    return value


#: A whole number for a config field (build or check config): not ``true``, ``5.0`` or ``"5"``; a
#: numpy integer (a config dict built in code) is one (:func:`plain_whole`).
Count = Annotated[int, Field(strict=True), BeforeValidator(plain_whole)]


#: Lists and mappings inside one another deeper than this are refused: no config, recipe, suite or
#: file prefdata writes comes near it, and code that walks a value recursively (validation, printing,
#: ``json.dumps``) stays far from Python's recursion limit (1,000 frames).
MAX_NESTING = 100

#: The words each loader's error says for a value nested too deeply.
NESTED_TOO_DEEPLY = f"nested too deeply: lists or mappings inside one another more than {MAX_NESTING} levels deep"


class NestedTooDeeplyYAML(yaml.MarkedYAMLError):
    """YAML nested more than :data:`MAX_NESTING` levels deep (``in "file", line N`` where it was found)."""

    def __init__(self, mark: yaml.Mark | None) -> None:
        super().__init__(problem=NESTED_TOO_DEEPLY, problem_mark=mark)


class NestedTooDeeplyJSON(json.JSONDecodeError):
    """JSON nested more than :data:`MAX_NESTING` levels deep; ``msg`` says so (no position: the C
    parser gives none when it runs out of recursion)."""

    def __init__(self, doc: str) -> None:
        ValueError.__init__(self, NESTED_TOO_DEEPLY)
        self.msg, self.doc, self.pos, self.lineno, self.colno = NESTED_TOO_DEEPLY, doc, 0, 1, 1

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.doc,)


def too_deep(value: Any, limit: int = MAX_NESTING, *, shared: bool = True) -> bool:
    """Whether ``value`` (from a parser: dicts, lists, scalars) holds lists or dicts more than ``limit``
    levels deep. A loop over the levels, not recursion, so that it cannot exhaust the recursion it
    guards. ``shared``: the value may hold one list in many places (YAML aliases), so each level holds
    each list or dict once, and aliases repeating one list do not multiply the work (one that holds
    itself is too deep); JSON shares nothing, and is walked faster without that bookkeeping."""
    if not isinstance(value, (dict, list)):
        return False
    level: Any = {id(value): value} if shared else [value]
    for _ in range(limit):
        items = level.values() if shared else level
        children = (child for item in items for child in (item.values() if isinstance(item, dict) else item)
                    if isinstance(child, (dict, list)))
        level = {id(child): child for child in children} if shared else list(children)
        if not level:
            return False
    return True


def load_data_yaml(text: str, name: str | None = None) -> Any:
    """:func:`load_yaml` where only ``true``/``false`` are booleans (for configs that name data values)."""
    return _load(text, name, _DataValueLoader)


def load_yaml(text: str, name: str | None = None) -> Any:
    """``yaml.safe_load`` that raises ``yaml.YAMLError`` on a repeated key; ``name`` (the file) is
    what its messages say the text is ("in 'config.yaml', line 3")."""
    return _load(text, name, _UniqueKeyLoader)


def load_card_yaml(text: str, name: str | None = None) -> Any:
    """A dataset card's YAML header as the Hub's libraries read it (``yaml.safe_load``: YAML 1.1 scalars,
    the last of two equal keys kept), with :class:`NestedTooDeeplyYAML` for deep nesting."""
    return _load(text, name, yaml.SafeLoader)


def _load(text: str, name: str | None, loader_class: type[yaml.SafeLoader]) -> Any:
    stream = io.StringIO(text)
    stream.name = name or "<string>"  # type: ignore[misc]
    loader = loader_class(stream)  # a SafeLoader subclass: no arbitrary objects
    compose_node, depth = loader.compose_node, 0

    def compose_within_depth(parent: yaml.Node | None, index: Any) -> yaml.Node:
        """The composer's step, refusing a node inside more than :data:`MAX_NESTING` collections where
        it stands (PyYAML recurses once per level, and its scanner slows down with each)."""
        nonlocal depth
        depth += 1
        try:
            if depth > MAX_NESTING + 1:
                raise NestedTooDeeplyYAML(loader.get_mark())
            return compose_node(parent, index)
        finally:
            depth -= 1

    loader.compose_node = compose_within_depth  # type: ignore[method-assign]
    try:
        value = loader.get_single_data()
    except RecursionError:  # deep in a way the composer's count misses: still the file's fault
        raise NestedTooDeeplyYAML(loader.get_mark()) from None
    finally:
        loader.dispose()
    if too_deep(value):
        raise NestedTooDeeplyYAML(None)
    return value


class DuplicateKeyError(ValueError):
    """A JSON object holds a key twice (``json`` gives its hook no position, so none is claimed)."""


def load_json(text: str) -> Any:
    """``json.loads`` that raises :class:`DuplicateKeyError` on a repeated key."""

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise DuplicateKeyError(f"found the key {key!r} twice in one object")
            out[key] = value
        return out

    return parse_json(text, object_pairs_hook=unique)


def parse_json(text: str, **options: Any) -> Any:
    """``json.loads`` (``options`` are its own) that raises :class:`NestedTooDeeplyJSON`, a
    ``json.JSONDecodeError``, for lists or objects nested more than :data:`MAX_NESTING` levels deep.
    For JSON files prefdata reads whole: configs, suites, ``manifest.json``, ``checks.json``."""
    try:
        value = json.loads(text, **options)
    except RecursionError:
        raise NestedTooDeeplyJSON(text) from None
    # JSON has no aliases: a text with few brackets cannot nest deeper (a quick test for JSON lines)
    if text.count("[") + text.count("{") > MAX_NESTING and too_deep(value, shared=False):
        raise NestedTooDeeplyJSON(text)
    return value


def read_text(path: str | Path) -> str:
    """A hand-written config file's text: UTF-8 (a byte order mark allowed), or UTF-16 with its byte
    order mark, as Windows editors and PowerShell's ``>`` write it. Raises ``UnicodeDecodeError`` for
    other bytes and ``OSError`` for a file that cannot be read (a folder, say)."""
    data = Path(path).read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def not_text(path: str | Path, exc: UnicodeDecodeError) -> str:
    """Why a config file could not be read as text, for the error naming it."""
    return f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"

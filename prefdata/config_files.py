"""YAML and JSON for the files users write by hand (build configs, check configs, training recipes).

``yaml.safe_load`` and ``json.loads`` keep the last of two equal keys without a word, so a config
that sets ``length_bias`` twice, or a recipe that sets ``beta`` twice, silently runs with one of the
two values. Here a repeated key is an error naming the key and its line, as a typo should be.

A build config names values found in the data (label maps, filters), where YAML 1.1's booleans
bite: ``labels: {up: [yes], down: [no]}`` or ``ok in [yes, no]`` read ``true``/``false`` and match
no record whose label is the string "yes". :func:`load_data_yaml` reads only ``true``/``false`` as
booleans, as YAML 1.2 does; settings that are booleans still accept "yes" (pydantic reads it).
Dataset cards are read elsewhere with plain ``yaml.safe_load``, as the Hub's libraries read them.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import yaml


class _UniqueKeyLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses a mapping holding the same key twice."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, f"found the key {key!r} twice", key_node.start_mark
            )
        seen[key] = True
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


_BOOL = "tag:yaml.org,2002:bool"


class _DataValueLoader(_UniqueKeyLoader):
    """:class:`_UniqueKeyLoader` with YAML 1.2's booleans: ``yes``, ``no``, ``on``, ``off`` are strings."""


_DataValueLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL] for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_DataValueLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def load_data_yaml(text: str, name: str | None = None) -> Any:
    """:func:`load_yaml` where only ``true``/``false`` are booleans (for configs that name data values)."""
    return _load(text, name, _DataValueLoader)


def load_yaml(text: str, name: str | None = None) -> Any:
    """``yaml.safe_load`` that raises ``yaml.YAMLError`` on a repeated key; ``name`` (the file) is
    what its messages say the text is ("in 'config.yaml', line 3")."""
    return _load(text, name, _UniqueKeyLoader)


def _load(text: str, name: str | None, loader: type[yaml.SafeLoader]) -> Any:
    stream = io.StringIO(text)
    stream.name = name or "<string>"  # type: ignore[misc]
    return yaml.load(stream, Loader=loader)  # a SafeLoader subclass: no arbitrary objects


def load_json(text: str) -> Any:
    """``json.loads`` that raises ``json.JSONDecodeError`` on a repeated key."""

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:  # the key's second occurrence in the text, as the place to look
                quoted = json.dumps(key)
                raise json.JSONDecodeError(f"found the key {key!r} twice", text, max(0, text.find(quoted, text.find(quoted) + 1)))
            out[key] = value
        return out

    return json.loads(text, object_pairs_hook=unique)

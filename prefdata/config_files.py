"""YAML and JSON for the files users write by hand (build configs, check configs, training recipes).

``yaml.safe_load`` and ``json.loads`` keep the last of two equal keys without a word, so a config
that sets ``length_bias`` twice, or a recipe that sets ``beta`` twice, silently runs with one of the
two values. Here a repeated key is an error naming the key and its line, as a typo should be.
Dataset cards are read elsewhere with plain ``yaml.safe_load``, as the Hub's libraries read them.
"""

from __future__ import annotations

import io
import json
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


def load_yaml(text: str, name: str | None = None) -> Any:
    """``yaml.safe_load`` that raises ``yaml.YAMLError`` on a repeated key; ``name`` (the file) is
    what its messages say the text is ("in 'config.yaml', line 3")."""
    stream = io.StringIO(text)
    stream.name = name or "<string>"  # type: ignore[misc]
    return yaml.load(stream, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects


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

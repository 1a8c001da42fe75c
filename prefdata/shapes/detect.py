"""Guess a file's shape from the keys and values of a sample of its records.

Detection only proposes a source config; the config is what the build runs, and ``build`` prints it
so the user can save and edit it. When the keys fit no shape, or fit one only by a guess prefdata
will not make silently, detection raises :class:`AmbiguousLayoutError` with a config to start from.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from prefdata.config import SourceBase, parse_config
from prefdata.errors import AmbiguousLayoutError
from prefdata.shapes.messages import looks_like_messages

CHOSEN_KEYS = ("chosen", "chosen_messages", "chosen_response", "response_chosen", "chosen_conversation")
REJECTED_KEYS = ("rejected", "rejected_messages", "rejected_response", "response_rejected", "rejected_conversation")
PROMPT_KEYS = ("prompt", "conversations", "question", "query", "instruction", "history", "context", "messages")
SYSTEM_KEYS = ("system", "system_prompt")
_MARKERS = ("\n\nHuman:", "\n\nAssistant:", "Human:", "Assistant:")


def key_stats(sample: Sequence[Mapping[str, Any]]) -> Counter[str]:
    keys: Counter[str] = Counter()
    for rec in sample:
        if isinstance(rec, Mapping):
            keys.update(rec.keys())
    return keys


def _first(keys: Counter[str] | set[str], names: Sequence[str]) -> str | None:
    """The first of ``names`` that the sampled records have."""
    return next((n for n in names if n in keys), None)


def _values(sample: Sequence[Mapping[str, Any]], key: str) -> list[Any]:
    return [r[key] for r in sample if isinstance(r, Mapping) and r.get(key) is not None]


def detect(sample: Sequence[Mapping[str, Any]], *, name: str, what: str = "file") -> SourceBase:
    """A source config for records like ``sample`` (raises AmbiguousLayoutError when unsure)."""
    keys = key_stats(sample)
    source: dict[str, Any] | None = None
    chosen, rejected = _first(keys, CHOSEN_KEYS), _first(keys, REJECTED_KEYS)
    if chosen and rejected:
        source = _preference_or_transcript(sample, keys, chosen, rejected)
    else:
        from prefdata.shapes.detect_more import detect_other

        source = detect_other(sample, keys)
    if source is None:
        raise AmbiguousLayoutError(
            f"{what} {name}: {_why(sample, keys)}; write a build config (see the suggestion below and README 'Raw shapes')",
            suggested_config=_skeleton(keys),
        )
    source = {"name": name, **source}
    return parse_config({"sources": [source]}, origin=f"detected config for {name}").sources[0]


def _preference_or_transcript(sample: Sequence[Mapping[str, Any]], keys: Counter[str], chosen: str, rejected: str) -> dict[str, Any] | None:
    columns: dict[str, Any] = {"chosen": chosen, "rejected": rejected}
    system = _first(keys, SYSTEM_KEYS)
    if keys.get("instruction") and keys.get("input"):
        columns["prompt_template"] = "{instruction}\n\n{input}"
    else:
        prompt = _first(keys, PROMPT_KEYS)
        if prompt:
            columns["prompt"] = prompt
    for extra in ("chosen_model", "rejected_model"):
        if keys.get(extra):
            columns[extra] = extra
    if "prompt" in columns or "prompt_template" in columns:
        if system:
            columns["system"] = system
        for extra in ("score_chosen", "score_rejected"):
            if keys.get(extra):
                columns[extra] = extra
        return {"shape": "preference", "columns": columns}
    values = _values(sample, chosen)[:50]
    if values and all(isinstance(v, str) for v in values):
        if not any(m in v for v in values for m in _MARKERS):
            return None  # plain strings without a prompt: nothing to say what the prompt is
    elif not all(looks_like_messages(v) for v in values):
        return None
    return {"shape": "transcript", "columns": {"chosen": chosen, "rejected": rejected}}


def _why(sample: Sequence[Mapping[str, Any]], keys: Counter[str]) -> str:
    from prefdata.shapes.detect_more import RESPONSE_A_KEYS, RESPONSE_B_KEYS, WINNER_KEYS

    a, b, winner = _first(keys, RESPONSE_A_KEYS), _first(keys, RESPONSE_B_KEYS), _first(keys, WINNER_KEYS)
    if a and b and winner:
        seen = sorted({json.dumps(v) for v in _values(sample, winner)})[:8]
        return f"looks pairwise, but the values of '{winner}' ({', '.join(seen)}) do not say which one means A wins"
    return f"cannot tell its shape from its fields ({', '.join(sorted(keys)) or 'none'})"


def _skeleton(keys: Counter[str]) -> str:
    """A config to complete: the likeliest shape for these fields, known columns filled in."""
    from prefdata.shapes.detect_more import RESPONSE_A_KEYS, RESPONSE_B_KEYS, WINNER_KEYS

    fields = ", ".join(sorted(keys)) or "..."
    head = f"# Fields found: {fields}\n# Complete the <...> parts (README: 'Raw shapes').\nsources:\n"
    prompt = _first(keys, PROMPT_KEYS) or "<field>"
    a, b = _first(keys, RESPONSE_A_KEYS), _first(keys, RESPONSE_B_KEYS)
    if a and b:
        winner = _first(keys, WINNER_KEYS) or "<field>"
        return head + (
            "  - shape: pairwise\n"
            f"    columns: {{prompt: {prompt}, response_a: {a}, response_b: {b}, winner: {winner}}}\n"
            "    winner_values: {a: [<value meaning A wins>], b: [<value meaning B wins>], tie: [<tie value>]}\n"
            "    # or, for a numeric preference: winner_threshold: {a_below: <x>, b_above: <y>}\n"
        )
    return head + (
        "  - shape: preference        # or transcript, pairwise, rated, ranked, feedback, tree, custom\n"
        "    columns:\n"
        f"      prompt: {prompt}\n"
        "      chosen: <field>\n"
        "      rejected: <field>\n"
    )

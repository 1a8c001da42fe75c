"""Guess a file's shape from the keys and values of a sample of its records.

Detection only proposes a source config; the config is what the build runs, and ``build`` prints it
so the user can save and edit it. When the keys fit no shape, or fit one only by a guess prefdata
will not make silently, detection raises :class:`AmbiguousLayoutError` with a config to start from.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from prefdata.config import SourceBase, TurnMarkers, parse_config
from prefdata.errors import AmbiguousLayoutError, ConfigError
from prefdata.io.decode import is_blank_text, json_text
from prefdata.schema import CANONICAL_COLUMNS
from prefdata.shapes.messages import ROLE_ALIASES, looks_like_messages
from prefdata.text_keys import BLANK

CHOSEN_KEYS = ("chosen", "chosen_messages", "chosen_response", "response_chosen", "chosen_conversation")
REJECTED_KEYS = ("rejected", "rejected_messages", "rejected_response", "response_rejected", "rejected_conversation")
#: ``input`` last: alone beside chosen/rejected it is the prompt (argilla's distilabel DPO sets); beside
#: ``instruction`` it is Alpaca's second field (the template case above it).
PROMPT_KEYS = ("prompt", "conversations", "question", "query", "instruction", "history", "context", "messages", "input")
SYSTEM_KEYS = ("system", "system_prompt")
_MARKERS = ("\n\nHuman:", "\n\nAssistant:", "Human:", "Assistant:")
#: A turn that starts after a single line break (not a blank line), Windows line ends included.
_SINGLE_BREAK_TURN = re.compile(r"(?<![\r\n])\r?\n(?:Human|Assistant):")
#: The roles of a dialogue's turns as the default blank-line markers read it, and as single-break
#: markers read it (a turn at the start after nothing but blank text, as the parser reads one, or
#: after a blank line or a single line break).
_START = f"\\A[{re.escape(BLANK)}]*"
_BLANK_LINE_ROLES = re.compile(rf"(?:{_START}|\r?\n\r?\n)(Human|Assistant):")
_ANY_BREAK_ROLES = re.compile(rf"(?:{_START}|\r?\n)(Human|Assistant):")
#: Characters a field path reads as nesting or indexing: a key holding one cannot be named in a config.
_PATH_SYNTAX = re.compile(r"[.\[\]]")


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


def detect(sample: Sequence[Mapping[str, Any]], *, name: str, what: str = "file", path: str | None = None) -> SourceBase:
    """A source config named ``name`` for records like ``sample`` (raises AmbiguousLayoutError when
    unsure, naming the file by ``path``, extension included, when given)."""
    keys = key_stats(sample)
    source: dict[str, Any] | None = None
    chosen, rejected = _first(keys, CHOSEN_KEYS), _first(keys, REJECTED_KEYS)
    if chosen and rejected:
        source = _earlier_output(keys) or _preference_or_transcript(sample, keys, chosen, rejected)
    else:
        from prefdata.shapes.detect_more import detect_other

        source = detect_other(sample, keys)
    if source is None:
        raise AmbiguousLayoutError(
            f"{what} {path or name}: {_why(sample, keys)}; write a build config (see the suggestion below and README 'Raw shapes')",
            suggested_config=_skeleton(keys, sample),
        )
    where = f"{what} {path or name}"
    named = [v for value in source.get("columns", {}).values() for v in ([value] if isinstance(value, str) else value or [])]
    unaddressable = [k for k in named if isinstance(k, str) and k in keys and _PATH_SYNTAX.search(k)]
    if unaddressable:  # "annotator.1" would be read as annotator -> 1, which no record has
        raise AmbiguousLayoutError(
            f"{where}: {_path_syntax_reason(unaddressable)}, so no config can name {_them(unaddressable)}; "
            f"rename {_them(unaddressable)} ({_renamed(unaddressable)}) and build again",
            suggested_config=_skeleton(keys, sample),
        )
    source = {"name": name, **source}
    try:
        return parse_config({"sources": [source]}, origin=f"detected config for {name}").sources[0]
    except ConfigError as exc:  # a layout detection recognised but cannot write as a config
        raise AmbiguousLayoutError(f"{where}: {exc}; write a build config (see README 'Raw shapes')", suggested_config=_skeleton(keys, sample)) from None


def _path_syntax_reason(fields: Sequence[str]) -> str:
    """Why ``fields`` cannot be named: one wording for detection's two places that meet them."""
    many = len(fields) > 1
    return f"the field{'s' if many else ''} {', '.join(map(repr, fields))} {'hold' if many else 'holds'} '.', '[' or ']', which a field path reads as nesting"


def _them(fields: Sequence[str]) -> str:
    return "them" if len(fields) > 1 else "it"


def _renamed(fields: Sequence[str]) -> str:
    """A name each of ``fields`` could take (``annotator.1`` -> ``annotator_1``), as an example."""
    shown = ", ".join(f"{f} -> {_PATH_SYNTAX.sub('_', f).strip('_') or 'field'}" for f in fields[:3])
    return "e.g. " + shown + (", ..." if len(fields) > 3 else "")


def _is_hh_dialogue(value: Any) -> bool:
    # blank text before the first marker is no text before it, to the parser as here (strip_chars_start(BLANK))
    return isinstance(value, str) and value.lstrip(BLANK).startswith("Human:") and "Assistant:" in value


def prompt_extras(sample: Sequence[Mapping[str, Any]], keys: Counter[str], columns: Mapping[str, Any]) -> dict[str, Any]:
    """What else the prompt needs besides its field or template: earlier turns in a LLaMA-Factory
    ``history`` of ``[user, assistant]`` pairs, and turn markers when the prompt strings are whole
    HH-style dialogues (Nectar, Dahoas): without them, the earlier turns would be lost or would end
    up inside one user turn, markers and all."""
    extra: dict[str, Any] = {}
    prompt = columns.get("prompt")
    history = _values(sample, "history")
    # an empty history ([], null or a blank "") is no evidence either way: it builds as no earlier turns
    # whether history is mapped or not; only histories with something in them vote
    voting = [h for h in history if h != [] and not is_blank_text(h)]
    pairs = sum(isinstance(h, list) and all(isinstance(p, list) and all(isinstance(t, str) for t in p) for p in h) for h in voting)
    # a field present in the sample, even null in every sampled record, is mapped: a later record's turns are kept
    present = any(isinstance(r, Mapping) and "history" in r for r in sample)
    if prompt != "history" and present and (not voting or pairs * 2 > len(voting)):  # the odd one out is a reject, not every record's turns lost
        extra["history"] = "history"
    texts = _values(sample, prompt) if prompt else []
    if texts and sum(map(_is_hh_dialogue, texts)) * 2 > len(texts):  # the odd one out is a reject, not lost
        extra["prompt_markers"] = hh_markers(texts)
    return extra


def hh_markers(texts: Sequence[Any]) -> dict[str, str]:
    """The turn markers of HH-style dialogues: HH-RLHF's blank-line ``\n\nHuman:`` (the defaults), or
    ``\nHuman:`` when a dialogue needs them (:func:`_needs_single_breaks`): the defaults would not split
    its single-break turns (the dialogue, markers and all, would stay in one turn); ``\nHuman:`` splits
    blank-line turns too."""
    single = any(_needs_single_breaks(t) for t in texts if isinstance(t, str))
    return {"user": "\nHuman:", "assistant": "\nAssistant:"} if single else TurnMarkers().model_dump()


def _alternates(roles: Sequence[str]) -> bool:
    return bool(roles) and all(a != b for a, b in itertools.pairwise(roles))


def _needs_single_breaks(text: str) -> bool:
    """Whether ``text`` needs single-break markers to be read whole: its turns at every line start
    alternate Human/Assistant and are more than its blank-line turns (``Human: hi\nAssistant: hello\n\nHuman: ...``,
    or blank-line turns with a last exchange written ``\nAssistant:``, whose reply the defaults would
    leave inside the Human turn). A marker at a line start that breaks the alternation is text inside a
    turn: HH-RLHF harmless test record 1561 has ``\nAssistant:`` inside its chosen reply, and one such
    record in the sample switched the whole file to single-break markers, which split that reply (so
    the pairs depended on record order)."""
    if not _SINGLE_BREAK_TURN.search(text):
        return False
    every_line = _ANY_BREAK_ROLES.findall(text)
    return _alternates(every_line) and len(every_line) > len(_BLANK_LINE_ROLES.findall(text))


def _holds_whole_conversations(sample: Sequence[Mapping[str, Any]], chosen: str) -> bool:
    """Chosen message lists that carry the conversation before the reply: more than one user turn, or
    a system turn (Capybara, orpo-dpo-mix). Their shared turns are the prompt, which a prompt field
    next to them (often only the first user turn) cannot say."""
    for value in _values(sample, chosen)[:50]:
        if not looks_like_messages(value) or not isinstance(value, list) or len(value) < 3:
            continue
        first = str(value[0].get("role", value[0].get("from", ""))).strip().lower()
        if ROLE_ALIASES.get(first) != "assistant":
            return True
    return False


def _earlier_output(keys: Counter[str]) -> dict[str, Any] | None:
    """The pairs of an earlier build (its ``data/`` shards: every canonical column) read as they are.

    Those pairs passed their own source's checks, whose direction rule is not in the data: a rated
    source with ``higher_is_better: false`` chose the lower score, and a source with
    ``scores_must_agree: false`` kept ties and lower scores. Judged again by the default rule, such
    pairs were all ``tie``/``scores_disagree`` rejects, and ``prefdata build ds ds`` (a re-split)
    replaced ``ds`` with an empty dataset. The scores are kept as the metadata they are."""
    if not all(name in keys for name in CANONICAL_COLUMNS):
        return None
    columns = {"chosen": "chosen", "rejected": "rejected", "prompt": "prompt", "chosen_model": "chosen_model",
               "rejected_model": "rejected_model", "score_chosen": "score_chosen", "score_rejected": "score_rejected"}
    return {"shape": "preference", "columns": columns, "scores_must_agree": False}


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
    scores = {extra: extra for extra in ("score_chosen", "score_rejected") if keys.get(extra)}
    if ("prompt" in columns or "prompt_template" in columns) and _holds_whole_conversations(sample, chosen):
        for key in ("prompt", "prompt_template"):
            columns.pop(key, None)
        return {"shape": "transcript", "columns": columns | scores}
    if "prompt" in columns or "prompt_template" in columns:
        if system:
            columns["system"] = system
        columns |= prompt_extras(sample, keys, columns) | scores
        return {"shape": "preference", "columns": columns}
    values = _values(sample, chosen)[:50]
    if values and all(isinstance(v, str) for v in values):
        if not any(m in v for v in values for m in _MARKERS):
            return None  # plain strings without a prompt: nothing to say what the prompt is
        markers = hh_markers(values)
        if markers != TurnMarkers().model_dump():
            return {"shape": "transcript", "columns": columns | scores, "markers": markers}
    elif not all(looks_like_messages(v) for v in values):
        return None
    return {"shape": "transcript", "columns": columns | scores}


def _why(sample: Sequence[Mapping[str, Any]], keys: Counter[str]) -> str:
    from prefdata.shapes.detect_more import WINNER_KEYS, _prompt_columns, extra_response_fields, response_fields

    (a, b), winner = response_fields(keys), _first(keys, WINNER_KEYS)
    several = extra_response_fields(keys)
    if several:
        return (
            f"looks pairwise, but it holds {len(several)} response fields ({', '.join(several)}): name the two "
            "to compare in columns.response_a and columns.response_b"
        )
    # no usable prompt field: none of the names, or only a `history` of earlier turns (never the prompt)
    if a and b and winner and _prompt_columns(sample, keys) is None:
        return (
            f"looks pairwise ('{a}' vs '{b}', verdict '{winner}'), but no field holds the prompt: name it in "
            f"columns.prompt, a nested path works (e.g. {a}[0].content when each response is a conversation)"
        )
    if a and b and winner:
        seen = sorted({json_text(v) for v in _values(sample, winner)})[:8]
        return f"looks pairwise, but the values of '{winner}' ({', '.join(seen)}) do not say which one means A wins"
    label, response = _feedback_fields(keys)
    if label and response:
        seen = sorted({json_text(v) for v in _values(sample, label)})[:8]
        return (
            f"looks like feedback ('{response}' voted on in '{label}'), but not every value of '{label}' ({', '.join(seen)}) "
            "is a vote prefdata knows: say which mean up and down under labels"
        )
    if len(sample) == 1 and len(keys) == 1:
        (key,) = keys
        value = sample[0].get(key)
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            return (
                f"the file is one JSON object whose '{key}' holds a list of {len(value)} records; prefdata reads a JSON "
                f"array or JSON lines of records (e.g. `jq '.{key}' FILE > records.json`)"
            )
    nesting = sorted(k for k in keys if _PATH_SYNTAX.search(k))
    if nesting:  # a lone "annotator.1" or "prompt.x" may be what the shape is missing; no config can name it
        return (
            f"cannot tell its shape from its fields ({', '.join(sorted(keys))}); {_path_syntax_reason(nesting)}, so no config "
            f"could name {_them(nesting)} should the shape need {_them(nesting)}: rename {_them(nesting)} ({_renamed(nesting)})"
        )
    return f"cannot tell its shape from its fields ({', '.join(sorted(keys)) or 'none'})"


def _feedback_fields(keys: Counter[str]) -> tuple[str | None, str | None]:
    """The label and response fields of what looks like a feedback log (either may be None)."""
    from prefdata.shapes.detect_more import LABEL_KEYS, RESPONSE_KEYS

    return _first(keys, LABEL_KEYS), _first(keys, RESPONSE_KEYS)


def _skeleton(keys: Counter[str], sample: Sequence[Mapping[str, Any]]) -> str:
    """A config to complete: the likeliest shape for these fields, known columns filled in."""
    from prefdata.shapes.detect_more import WINNER_KEYS, _prompt_columns, extra_response_fields, response_fields

    fields = ", ".join(sorted(keys)) or "..."
    head = f"# Fields found: {fields}\n# Complete the <...> parts (README: 'Raw shapes').\nsources:\n"
    prompt = _first(keys, PROMPT_KEYS) or "<field>"
    a, b = response_fields(keys)
    several = extra_response_fields(keys)
    if several:  # the pair is the user's choice among them
        a = b = "<field>"
        head += f"  # response_a and response_b: two of {', '.join(several)}\n"
    if a and b:
        # as pairwise detection reads the prompt: a `history` of earlier turns is never it
        pairwise = _prompt_columns(sample, keys)
        prompt = "<field>" if pairwise is None else pairwise.get("prompt", prompt)
        winner = _first(keys, WINNER_KEYS) or "<field>"
        return head + (
            "  - shape: pairwise\n"
            f"    columns: {{prompt: {prompt}, response_a: {a}, response_b: {b}, winner: {winner}}}\n"
            "    winner_values: {a: [<value meaning A wins>], b: [<value meaning B wins>], tie: [<tie value>]}\n"
            "    # or, for a numeric preference: winner_threshold: {a_below: <x>, b_above: <y>}\n"
        )
    label, response = _feedback_fields(keys)
    if label and response:
        return head + (
            "  - shape: feedback\n"
            f"    columns: {{prompt: {prompt}, response: {response}, label: {label}}}\n"
            "    labels: {up: [<values meaning up-voted>], down: [<values meaning down-voted>]}\n"
        )
    return head + (
        "  - shape: preference        # or transcript, pairwise, rated, ranked, feedback, tree, custom\n"
        "    columns:\n"
        f"      prompt: {prompt}\n"
        "      chosen: <field>\n"
        "      rejected: <field>\n"
    )

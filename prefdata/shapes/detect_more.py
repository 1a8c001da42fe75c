"""Detection of the shapes without chosen/rejected fields: pairwise, rated, ranked, feedback, tree.

Each rule looks for field names the common public formats use and checks a sample value, and only
proposes a config; verdict encodings in particular are guessed from the sampled values and printed,
so the user can see (and fix) what prefdata assumed. A value pair whose direction has no common
reading is not guessed: 0/1 (which one is "A"?) and -1/+1 (``score_a - score_b`` or "-1 = the first
one"?) stop the build with a config to complete, since a wrong guess swaps every pair.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from prefdata.config import FeedbackLabels, value_key
from prefdata.shapes.detect import _first, _values, prompt_extras
from prefdata.shapes.messages import looks_like_messages

# response_0/response_1 (PKU-SafeRLHF) and response_1/response_2 (HelpSteer) both occur: B prefers _2.
RESPONSE_A_KEYS = (
    "response_a", "response1", "completion_a", "output_1", "answer_a", "conversation_a", "model_a_response",
    "human_ref_A", "response_0", "response_1", "answer_0",
)
RESPONSE_B_KEYS = (
    "response_b", "response2", "completion_b", "output_2", "answer_b", "conversation_b", "model_b_response",
    "human_ref_B", "response_2", "response_1", "answer_1",
)
WINNER_KEYS = ("winner", "preference", "choice", "better", "preferred", "better_response_id", "label", "labels")
MODEL_A_KEYS = ("model_a", "model1", "generator_1")
MODEL_B_KEYS = ("model_b", "model2", "generator_2")
PROMPT_KEYS = ("prompt", "instruction", "question", "query", "input", "conversations", "messages", "context", "history")
COMPLETION_LIST_KEYS = ("completions", "responses", "outputs", "candidates", "answers")
LABEL_KEYS = ("label", "thumbs", "thumb", "feedback", "vote", "kto_tag", "rating")
RESPONSE_KEYS = ("response", "completion", "output", "answer")
SCORE_KEYS = ("score", "overall_score", "rating", "reward", "fine-grained_score")
RANK_KEYS = ("rank", "ranking")
TEXT_KEYS = ("response", "text", "completion", "output", "content", "answer")


def response_fields(keys: Counter[str] | set[str]) -> tuple[str | None, str | None]:
    """The two response fields of a pairwise record: the first A name present, then the first B name
    present other than it (``response_1`` is A beside ``response_2`` and B beside ``response_0``, so a
    lone ``response_1`` is one response, not a pair of it with itself)."""
    a = _first(keys, RESPONSE_A_KEYS)
    return a, _first(keys, [k for k in RESPONSE_B_KEYS if k != a])


def extra_response_fields(keys: Counter[str] | set[str]) -> list[str]:
    """Every response field name present, when there are more than two (``response_0``, ``response_1``
    and ``response_2``): which two form the pair is the user's call, so detection proposes none."""
    present = sorted({k for k in (*RESPONSE_A_KEYS, *RESPONSE_B_KEYS) if k in keys})
    return present if len(present) > 2 else []


def _prompt_columns(sample: Sequence[Mapping[str, Any]], keys: Counter[str]) -> dict[str, Any] | None:
    if keys.get("instruction") and keys.get("input"):
        columns = {"prompt_template": "{instruction}\n\n{input}"}
    else:
        # SHP's `history` is the post (text); LLaMA-Factory's is earlier turns, never the prompt itself
        usable = [k for k in PROMPT_KEYS if k in keys and (k != "history" or all(isinstance(v, str) for v in _values(sample, k)))]
        if not usable:
            return None
        columns = {"prompt": usable[0]}
    return columns | prompt_extras(sample, keys, columns)


def detect_other(sample: Sequence[Mapping[str, Any]], keys: Counter[str]) -> dict[str, Any] | None:
    return _tree(sample, keys) or _pairwise(sample, keys) or _rated(sample, keys) or _feedback(sample, keys)


def _tree(sample: Sequence[Mapping[str, Any]], keys: Counter[str]) -> dict[str, Any] | None:
    for root in ("$", "prompt", "message_tree", "root"):
        values = list(sample) if root == "$" else _values(sample, root)
        msgs = [v for v in values if isinstance(v, dict)]
        if msgs and all("replies" in m and ("text" in m or "content" in m) for m in msgs):
            text = "text" if "text" in msgs[0] else "content"
            return {"shape": "tree", "columns": {"root": root, "text": text}}
    return None


def _verdict_values(values: list[Any]) -> dict[str, list[Any]] | None:
    """Guess which winner values mean A / B / tie from the values seen.

    An arena name says its direction alone (``model_a`` is model A's win), so a sample of only
    ``model_a`` and ``tie`` is read; a bare ``a`` or ``1`` is not: one letter or number could be a grade,
    an answer key or one end of a 0/1 label, so both ends of the scale must be seen."""
    seen = {value_key(v) for v in values}
    encodings = [
        ({"model_a", "model_b"}, False, {"a": ["model_a"], "b": ["model_b"], "tie": ["tie"], "both_bad": ["tie (bothbad)", "both_bad"]}),
        ({"a", "b"}, True, {"a": ["a"], "b": ["b"], "tie": ["tie"], "both_bad": ["both_bad"]}),
        ({"1", "2"}, True, {"a": [1], "b": [2], "tie": [0]}),
    ]
    for names, both, mapping in encodings:
        known = {value_key(v) for vs in mapping.values() for v in vs}
        if (names <= seen if both else names & seen) and seen <= known:
            return mapping
    return None


def _index_verdict(a: str, b: str, values: list[Any]) -> dict[str, list[Any]] | None:
    """``{a: [0], b: [1]}`` when the verdict names the response by the number its field ends with
    (``better_response_id`` 0/1 next to ``response_0``/``response_1``): no guess about direction."""
    da, db = re.search(r"(\d+)$", a), re.search(r"(\d+)$", b)
    if not (da and db) or da.group(1) == db.group(1):
        return None
    seen = {value_key(v) for v in values}
    if seen != {value_key(da.group(1)), value_key(db.group(1))}:  # both seen: one value alone says no direction
        return None
    return {"a": [int(da.group(1))], "b": [int(db.group(1))]}


def _pairwise(sample: Sequence[Mapping[str, Any]], keys: Counter[str]) -> dict[str, Any] | None:
    a, b = response_fields(keys)
    if not (a and b) or extra_response_fields(keys):
        return None
    columns: dict[str, Any] = {"response_a": a, "response_b": b}
    prompt = _prompt_columns(sample, keys)
    if prompt is None:
        return None
    columns |= prompt
    annotators = sorted(k for k in keys if k.startswith("annotator"))
    winner = _first(keys, WINNER_KEYS)
    source: dict[str, Any] = {"shape": "pairwise", "columns": columns}
    if winner:
        columns["winner"] = winner
        values = _values(sample, winner)
        if values and all(isinstance(v, float) for v in values) and not all(v.is_integer() for v in values):
            return None  # a numeric preference needs an explicit threshold and tie band (1.0/2.0 are labels)
        mapping = _index_verdict(a, b, values) or _verdict_values(values)
        if mapping is None:
            return None
        source["winner_values"] = mapping
    elif annotators:
        columns["annotators"] = annotators
        mapping = _verdict_values([v for k in annotators for v in _values(sample, k)])
        if mapping is None:
            return None
        source["winner_values"] = mapping
    else:
        return None
    ma, mb = _first(keys, MODEL_A_KEYS), _first(keys, MODEL_B_KEYS)
    if ma and mb:
        columns["model_a"], columns["model_b"] = ma, mb
    return source


def _rated(sample: Sequence[Mapping[str, Any]], keys: Counter[str]) -> dict[str, Any] | None:
    lst = _first(keys, COMPLETION_LIST_KEYS)
    prompt = _prompt_columns(sample, keys)
    if not (lst and prompt):
        return None
    items = [i for v in _values(sample, lst) if isinstance(v, list) for i in v]
    objs = [i for i in items if isinstance(i, dict)]
    if not objs or len(objs) != len(items):
        return None
    item_keys = set().union(*objs)
    text = _first(item_keys, TEXT_KEYS)
    if text is None:
        return None
    columns: dict[str, Any] = {**prompt, "completions": lst, "text": text}
    model = _first(item_keys, ("model", "model_name"))
    if model:
        columns["model"] = model
    score = _first(item_keys, SCORE_KEYS)
    if score and all(isinstance(o.get(score), (int, float)) and not isinstance(o.get(score), bool) for o in objs):
        columns["score"] = score
        return {"shape": "rated", "columns": columns}
    rank = _first(item_keys, RANK_KEYS)
    if rank:
        columns["rank"] = rank
        return {"shape": "ranked", "columns": columns}
    return None


def _feedback(sample: Sequence[Mapping[str, Any]], keys: Counter[str]) -> dict[str, Any] | None:
    label = _first(keys, LABEL_KEYS)
    if not label:
        return None
    values = _values(sample, label)
    labels = {value_key(v) for v in values}
    defaults = FeedbackLabels()  # the labels a feedback source maps without a config
    known = {value_key(v) for v in (*defaults.up, *defaults.down)}
    if not labels or not labels <= known:
        return None
    columns: dict[str, Any] = {"label": label}
    response = _first(keys, RESPONSE_KEYS)
    prompt = _prompt_columns(sample, keys)
    if response and prompt:
        columns |= prompt | {"response": response}
    else:
        conv = _first(keys, ("messages", "conversation", "conversations"))
        if not conv or not all(looks_like_messages(v) for v in _values(sample, conv)[:50]):
            return None
        columns["conversation"] = conv
    return {"shape": "feedback", "columns": columns}

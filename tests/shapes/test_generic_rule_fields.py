"""A reject of the generic rules (missing/empty field, roles, turn order, identical responses) names
the raw field the source maps the canonical column to: the data's `bad`, not `rejected`, a column
the data never had. A column built from several raw fields keeps its canonical name, and its detail
lists them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import prefdata
from tests.support.dataset import assert_reconciled, pairs, rejects


def _build(tmp_path: Path, records: list[dict[str, Any]], source: dict[str, Any]) -> list[tuple[int, str, str, str]]:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    prefdata.build(raw, tmp_path / "out", config={"sources": [{"name": "a", "path": "a.jsonl", **source}]}, test_fraction=0)
    assert_reconciled(tmp_path / "out")
    return rejects(tmp_path / "out").sort("record").select("record", "reason", "field", "detail").rows()


def _turns(*turns: tuple[str, str]) -> list[dict[str, str]]:
    return [{"role": role, "content": text} for role, text in turns]


def test_preference_rejects_name_the_mapped_raw_fields(tmp_path: Path) -> None:
    """The review's repro: `rejected` (missing) and `chosen` (empty turn) where the data's fields are `bad` and `good`."""
    records = [
        {"q": "hi there", "good": "hello", "bad": "go away"},
        {"q": "how are you", "good": "fine"},
        {"q": "what time", "good": "   ", "bad": "noon"},
        {"q": "  ", "good": "a", "bad": "b"},
        {"q": "again", "good": "same", "bad": "same "},
    ]
    got = _build(tmp_path, records, {"shape": "preference", "columns": {"prompt": "q", "chosen": "good", "rejected": "bad"}})
    assert got == [
        (2, "missing_field", "bad", "bad is missing"),
        (3, "empty_field", "good", "good has an empty turn"),
        (4, "empty_field", "q", "q has an empty turn"),
        (5, "identical_responses", "good,bad", "good and bad are the same text"),
    ]


def test_preference_message_list_rules_name_the_raw_fields(tmp_path: Path) -> None:
    records = [
        {"q": _turns(("user", "u"), ("assistant", "a")), "good": _turns(("assistant", "a")), "bad": _turns(("assistant", "b"))},
        {"q": _turns(("user", "u")), "good": _turns(("assistant", "a")), "bad": _turns(("user", "b"))},
        {"q": _turns(("user", "u")), "good": _turns(("wizard", "a")), "bad": _turns(("assistant", "b"))},
        {"q": _turns(("user", "u")), "good": _turns(("assistant", "a")), "bad": []},
    ]
    got = _build(tmp_path, records, {"shape": "preference", "columns": {"prompt": "q", "chosen": "good", "rejected": "bad"}})
    assert got == [
        (1, "bad_turn_order", "q", "q: the prompt's last turn is 'assistant'; it must end with a user or tool turn"),
        (2, "bad_turn_order", "bad", "bad holds a 'user' turn; responses must be assistant turns"),
        (3, "unknown_role", "good", "good has a turn with role 'wizard'"),
        (4, "empty_field", "bad", "bad has no turns"),
    ]


def test_a_nested_path_is_named_as_configured(tmp_path: Path) -> None:
    records = [{"d": {"q": "hi", "r": ["fine", " "]}}]
    got = _build(tmp_path, records, {"shape": "preference", "columns": {"prompt": "d.q", "chosen": "d.r[0]", "rejected": "d.r[1]"}})
    assert got == [(1, "empty_field", "d.r[1]", "d.r[1] has an empty turn")]


def test_a_prompt_of_several_fields_keeps_its_name_and_lists_them(tmp_path: Path) -> None:
    records = [{"sys": "Be kind.", "q": " ", "good": "a", "bad": "b"}]
    source = {"shape": "preference", "columns": {"prompt": "q", "system": "sys", "chosen": "good", "rejected": "bad"}}
    assert _build(tmp_path, records, source) == [(1, "empty_field", "prompt", "prompt (from sys, q) has an empty turn")]


def test_a_prompt_with_a_history_lists_both_fields(tmp_path: Path) -> None:
    """A prompt built from LLaMA-Factory's ``history`` and the prompt field is a prompt of several fields:
    an empty turn in the history is "prompt (from history, q)", not blamed on ``q`` alone."""
    records = [{"q": "And now?", "history": [["Hi.", " "]], "good": "a", "bad": "b"}]
    source = {"shape": "preference", "columns": {"prompt": "q", "history": "history", "chosen": "good", "rejected": "bad"}}
    assert _build(tmp_path, records, source) == [(1, "empty_field", "prompt", "prompt (from history, q) has an empty turn")]


def test_transcript_rejects_name_the_dialogue_fields(tmp_path: Path) -> None:
    """The responses are the final turns of one field each; the prompt is the turns both dialogues share."""
    records = [
        {"good": "\n\nHuman: hi\n\nAssistant: ", "bad": "\n\nHuman: hi\n\nAssistant: no"},
        {"good": "\n\nHuman: hi\n\nAssistant: yes", "bad": "\n\nHuman: hi\n\nAssistant: yes"},
        {"good": "\n\nHuman:  \n\nAssistant: a", "bad": "\n\nHuman:  \n\nAssistant: b"},
    ]
    got = _build(tmp_path, records, {"shape": "transcript", "columns": {"chosen": "good", "rejected": "bad"}})
    assert got == [
        (1, "empty_field", "good", "good has an empty turn"),
        (2, "identical_responses", "good,bad", "good and bad are the same text"),
        (3, "empty_field", "prompt", "prompt (from good, bad) has an empty turn"),
    ]


def test_pairwise_rejects_name_the_response_the_verdict_made_chosen_or_rejected(tmp_path: Path) -> None:
    """Whether `chosen` is `r1` or `r2` depends on each record's verdict: the reject names the one it was."""
    a, user, wizard = _turns(("assistant", "fine")), _turns(("user", "x")), _turns(("wizard", "y"))
    records = [
        {"q": "hi", "r1": user, "r2": a, "w": "a"},  # r1 is chosen
        {"q": "hi", "r1": user, "r2": a, "w": "b"},  # r1 is rejected
        {"q": "hi", "r1": a, "r2": wizard, "w": "a"},
        {"q": "hi", "r1": a, "r2": wizard, "w": "b"},
        {"q": "hi", "r1": a, "r2": a, "w": "b"},
        {"q": " ", "r1": a, "r2": _turns(("assistant", "other")), "w": "a"},
    ]
    source = {"shape": "pairwise", "columns": {"prompt": "q", "response_a": "r1", "response_b": "r2", "winner": "w"}, "winner_values": {"a": ["a"], "b": ["b"]}}
    assert _build(tmp_path, records, source) == [
        (1, "bad_turn_order", "r1", "r1 holds a 'user' turn; responses must be assistant turns"),
        (2, "bad_turn_order", "r1", "r1 holds a 'user' turn; responses must be assistant turns"),
        (3, "unknown_role", "r2", "r2 has a turn with role 'wizard'"),
        (4, "unknown_role", "r2", "r2 has a turn with role 'wizard'"),
        (5, "identical_responses", "r2,r1", "r2 and r1 are the same text"),
        (6, "empty_field", "q", "q has an empty turn"),
    ]


def test_rated_rejects_name_the_completion_text_path(tmp_path: Path) -> None:
    records = [
        {"ins": " ", "comps": [{"resp": _turns(("assistant", "a")), "s": 1}, {"resp": _turns(("assistant", "b")), "s": 2}]},
        {"ins": "x", "comps": [{"resp": _turns(("user", "a")), "s": 1}, {"resp": _turns(("assistant", "b")), "s": 2}]},
        {"ins": "y", "comps": [{"resp": _turns(("assistant", "a"), ("assistant", " ")), "s": 1}, {"resp": _turns(("assistant", "b")), "s": 2}]},
    ]
    source = {"shape": "rated", "columns": {"prompt": "ins", "completions": "comps", "text": "resp", "score": "s"}}
    assert _build(tmp_path, records, source) == [
        (1, "empty_field", "ins", "ins has an empty turn"),
        (2, "bad_turn_order", "comps[].resp", "comps[].resp holds a 'user' turn; responses must be assistant turns"),
        (3, "empty_field", "comps[].resp", "comps[].resp has an empty turn"),
    ]


def test_ranked_plain_completions_are_named_by_the_list(tmp_path: Path) -> None:
    records = [{"ins": "x", "comps": [[{"role": "user", "content": "a"}], [{"role": "assistant", "content": "b"}]], "rk": [1, 2]}]
    source = {"shape": "ranked", "columns": {"prompt": "ins", "completions": "comps", "text": "$", "ranks": "rk"}}
    assert _build(tmp_path, records, source) == [(1, "bad_turn_order", "comps[]", "comps[] holds a 'user' turn; responses must be assistant turns")]


def test_a_blank_tree_message_names_its_raw_path(tmp_path: Path) -> None:
    """A blank text was left to the generic rules, which named `chosen` or `prompt`; it is a message
    that cannot be a turn, named by its path as a null text is, and costs only the pairs it is in."""
    def msg(role: str, text: str, rank: int | None = None, *replies: dict) -> dict:
        return {"role": role, "text": text, "rank": rank, "replies": list(replies)}

    records = [
        msg("prompter", "hi", None, msg("assistant", " ", 0), msg("assistant", "b", 1)),
        msg("prompter", " ", None, msg("assistant", "a", 0), msg("assistant", "b", 1)),
        msg("prompter", "q", None, msg("assistant", "a", 0), msg("assistant", "b", 1), msg("assistant", "\u200b", 2)),
    ]
    got = _build(tmp_path, records, {"shape": "tree"})
    assert got == [
        (1, "empty_field", "root.replies[0].text", "root.replies[0].text is empty or blank"),
        (2, "empty_field", "root.text", "root.text is empty or blank"),
    ]
    # record 3 keeps its pair a > b: its blank third reply costs only the pair it is in
    counts = json.loads((tmp_path / "out" / "manifest.json").read_text())["counts"]
    assert counts["pairs_dropped_by_reason"] == {"empty_field": 1}


def test_a_blank_or_null_system_message_in_a_tree_is_dropped_not_unusable(tmp_path: Path) -> None:
    """As every shape drops an empty system turn (README: it "says nothing and is dropped"), a tree's
    blank or null system message is no turn on the path; it was an `empty_field root.text` reject with
    no pair. A blank user message stays unusable."""
    def msg(role: str, text: str | None, rank: int | None = None, *replies: dict) -> dict:
        return {"role": role, "text": text, "rank": rank, "replies": list(replies)}

    ranked = (msg("assistant", "a", 0), msg("assistant", "b", 1))
    records = [
        msg("system", "", None, msg("prompter", "q1", None, *ranked)),
        msg("system", None, None, msg("prompter", "q2", None, *ranked)),
        msg("prompter", "q3", None, msg("assistant", "x", None, msg("system", " \u200b", None, msg("prompter", "q4", None, *ranked)))),
        msg("system", "be brief", None, msg("prompter", " ", None, *ranked)),
    ]
    got = _build(tmp_path, records, {"shape": "tree"})
    assert got == [(4, "empty_field", "root.replies[0].text", "root.replies[0].text is empty or blank")]
    prompts = sorted(pairs(tmp_path / "out")["prompt"].to_list(), key=str)
    assert prompts == [
        [{"role": "user", "content": "q1"}],
        [{"role": "user", "content": "q2"}],
        [{"role": "user", "content": "q3"}, {"role": "assistant", "content": "x"}, {"role": "user", "content": "q4"}],
    ]


def test_a_field_name_with_braces_is_text_in_the_detail(tmp_path: Path) -> None:
    """The field's name goes into a detail that polars formats: its `{}` is no placeholder."""
    records = [{"q": "hi", "good{}": _turns(("wizard", "a")), "bad": _turns(("assistant", "b"))}]
    source = {"shape": "preference", "columns": {"prompt": "q", "chosen": "good{}", "rejected": "bad"}}
    assert _build(tmp_path, records, source) == [(1, "unknown_role", "good{}", "good{} has a turn with role 'wizard'")]


def test_feedback_rejects_name_the_prompt_and_response_fields(tmp_path: Path) -> None:
    """A feedback half-pair passes the generic rules before pairing: its rejects name `q` and `r`,
    not the canonical `prompt`/`response` the data never had."""
    serialized = json.dumps(_turns(("assistant", "hi")))
    records = [
        {"q": "hi there", "r": "hello", "label": "up"},
        {"q": "hi there", "r": "go away", "label": "down"},
        {"q": "  ", "r": "a", "label": "up"},
        {"q": "what now", "r": serialized, "label": "down"},
    ]
    got = _build(tmp_path, records, {"shape": "feedback", "columns": {"prompt": "q", "response": "r", "label": "label"}})
    assert got == [
        (3, "empty_field", "q", "q has an empty turn"),
        (4, "serialized_messages", "r", "r holds a message list written out as text ([{'role': ..., 'content': ...}]); decode it before building"),
    ]


def test_feedback_conversation_rejects_name_the_conversation(tmp_path: Path) -> None:
    """In conversation mode the response is the dialogue's last turn, named by its field; the prompt,
    the turns before it, keeps its name and says where it came from, as a transcript's shared turns do."""
    records = [
        {"messages": _turns(("user", "hi"), ("assistant", "hello")), "label": "up"},
        {"messages": _turns(("user", "hi"), ("assistant", "go away")), "label": "down"},
        {"messages": _turns(("user", "hi"), ("user", "again")), "label": "up"},
        {"messages": _turns(("user", " "), ("assistant", "a")), "label": "down"},
        {"messages": _turns(("assistant", "first"), ("assistant", "a")), "label": "down"},
    ]
    got = _build(tmp_path, records, {"shape": "feedback", "columns": {"conversation": "messages", "label": "label"}})
    assert got == [
        (3, "bad_turn_order", "messages", "messages holds a 'user' turn; responses must be assistant turns"),
        (4, "empty_field", "prompt", "prompt (from messages) has an empty turn"),
        (5, "bad_turn_order", "prompt", "prompt (from messages): the prompt's last turn is 'assistant'; it must end with a user or tool turn"),
    ]

"""Layouts of public preference datasets that used to lose turns, or land in the wrong shape.

Each sample is a few records written the way the public dataset ships them: LLaMA-Factory's alpaca
``history`` pairs, HH-style dialogues in a *prompt* string (Nectar, Dahoas), chosen/rejected that
carry the whole conversation next to a prompt field (Capybara, orpo-dpo-mix), HH transcripts saved
with Windows line ends, and a system field next to a prompt that already has it. Detection must
propose the config that keeps every turn, and the build must follow it or reject with a reason.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

import prefdata
from prefdata.errors import AmbiguousLayoutError
from tests.support.dataset import assert_reconciled, pairs, rejects
from tests.support.scored_raw import write_scored


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _turns(msgs: list[dict]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in msgs]


def _by_record(out: Path) -> dict[int, dict]:
    return {row["lineage"][0]["record"]: row for row in pairs(out).iter_rows(named=True)}


def _detected(raw: Path):
    return prefdata.inspect(raw).files[0]


def test_llamafactory_alpaca_history_becomes_the_earlier_turns(tmp_path: Path) -> None:
    raw = tmp_path / "alpaca_dpo.json"
    raw.write_text(json.dumps([
        {"instruction": "And in Celsius?", "input": "", "system": "You are a nurse.",
         "history": [["Normal body temperature in Fahrenheit?", "About 98.6 F."]], "chosen": "About 37 C.", "rejected": "About 98 C."},
        {"instruction": "Name a moon.", "input": "", "history": [], "chosen": "Europa.", "rejected": "Mars."},
        {"instruction": "Which one?", "input": "", "history": [["Only a question"]], "chosen": "A.", "rejected": "B."},
    ]))
    report = _detected(raw)
    assert "history: history" in report.config_yaml and report.shape == "preference"
    out = tmp_path / "out"
    prefdata.build(raw, out)
    assert_reconciled(out)
    got = _by_record(out)
    assert _turns(got[1]["prompt"]) == [
        ("system", "You are a nurse."),
        ("user", "Normal body temperature in Fahrenheit?"),
        ("assistant", "About 98.6 F."),
        ("user", "And in Celsius?"),
    ]
    assert _turns(got[2]["prompt"]) == [("user", "Name a moon.")]
    bad = rejects(out).row(0, named=True)
    assert (bad["record"], bad["reason"], bad["field"]) == (3, "wrong_type", "history")
    assert "history[0] holds 1 text(s)" in bad["detail"]


def test_one_history_that_is_not_a_list_does_not_drop_history_for_every_record(tmp_path: Path) -> None:
    """Detection proposes history when most sampled histories are lists of pairs: the odd record out
    (`"history": "x"`) is a wrong_type reject saying so, not a reason to read every prompt without
    its earlier turns (which trained "37 C." as the answer to a context-free "And in Celsius?")."""
    base = {"history": [["Normal body temperature in Fahrenheit?", "About 98.6 F."]], "chosen": "37 C.", "rejected": "100 C."}
    raw = _jsonl(tmp_path / "p.jsonl", [dict(base, instruction=f"And in Celsius? ({i})") for i in range(5)] + [dict(base, instruction="Hi", history="x")])
    assert "history: history" in _detected(raw).config_yaml
    out = tmp_path / "out"
    prefdata.build(raw, out)
    assert_reconciled(out)
    assert all(p[0]["content"] == "Normal body temperature in Fahrenheit?" for p in pairs(out)["prompt"].to_list())
    assert rejects(out).select("record", "reason", "field", "detail").rows() == [(6, "wrong_type", "history", "history: expected an array, got string")]


@pytest.mark.parametrize("written", [False, True])
def test_a_blank_history_string_is_no_earlier_turns_as_an_empty_list_is(tmp_path: Path, written: bool) -> None:
    """A converter writes an empty history as `""` (or spaces) where others write `[]`: both mean no
    earlier turns, so neither is a reject, whether detection or a written config maps `history`. At
    790ef66 six `[]` and three `""` built all nine pairs; then `[]` voted for history and the `""`
    records became `history: expected an array, got string` rejects. Text there is still no list."""
    rows = [{"instruction": f"Question {i}?", "input": "", "chosen": f"good {i}", "rejected": f"bad {i}", "history": h}
            for i, h in enumerate([[], [], [], [], [], [], "", " ", "\t\n"])]
    rows += [{"instruction": "And in Celsius?", "input": "", "chosen": f"37 C. ({i})", "rejected": "100 C.", "history": [["Fahrenheit?", "98.6 F."]]} for i in range(2)]
    rows.append({"instruction": "Odd?", "input": "", "chosen": "A.", "rejected": "B.", "history": "x"})
    raw = _jsonl(tmp_path / "p.jsonl", rows)
    config = None
    if written:
        config = {"sources": [{"shape": "preference", "columns": {"prompt": "instruction", "history": "history", "chosen": "chosen", "rejected": "rejected"}}]}
    else:
        assert "history: history" in _detected(raw).config_yaml
    out = tmp_path / "out"
    prefdata.build(raw, out, config=config, quiet=True)
    assert_reconciled(out)
    got = _by_record(out)
    assert sorted(got) == list(range(1, 12))
    assert all(_turns(got[r]["prompt"]) == [("user", f"Question {r - 1}?")] for r in range(1, 10))
    assert all(_turns(got[r]["prompt"]) == [("user", "Fahrenheit?"), ("assistant", "98.6 F."), ("user", "And in Celsius?")] for r in (10, 11))
    assert rejects(out).select("record", "reason", "field", "detail").rows() == [(12, "wrong_type", "history", "history: expected an array, got string")]


@pytest.mark.parametrize("empty", [[], ""])
def test_only_histories_with_turns_vote_for_mapping_history(empty: list | str) -> None:
    """Empty histories say nothing about the layout: two records with earlier turns among five empty
    ones are a history layout (at 790ef66 and since, 2 of 7 lost both records' turns unsaid), and
    one pair history against two texts is not."""
    from prefdata.shapes.detect import prompt_extras

    turns = [["Fahrenheit?", "98.6 F."]]
    columns = {"prompt": "instruction"}
    assert prompt_extras([{"history": turns}] * 2 + [{"history": empty}] * 5, Counter(), columns) == {"history": "history"}
    assert prompt_extras([{"history": turns}] + [{"history": "notes"}] * 2 + [{"history": empty}] * 5, Counter(), columns) == {}
    # nothing but empty histories: mapped, which costs the sampled records nothing and keeps a later record's turns
    assert prompt_extras([{"history": empty}] * 3, Counter(), columns) == {"history": "history"}
    # null is empty too (README 'Raw shapes': "[], null, absent or a blank string"), even in every sampled record
    assert prompt_extras([{"history": None}] * 3, Counter(), columns) == {"history": "history"}
    assert prompt_extras([{"instruction": "q"}] * 3, Counter(), columns) == {}  # absent everywhere: nothing to map


def test_a_history_null_in_every_sampled_record_keeps_a_later_records_turns(tmp_path: Path) -> None:
    """README ('Raw shapes'): when every sampled history is empty, detection maps `history`, so a later
    record's turns are kept, not dropped unsaid. A null history counted as no field at all: 200 sampled
    nulls left `history` unmapped, and record 201's earlier turns were silently lost."""
    rows = [{"instruction": f"q{i}", "input": "", "chosen": "a", "rejected": f"b{i}", "history": None} for i in range(200)]
    rows.append({"instruction": "And in Celsius?", "input": "", "chosen": "37 C.", "rejected": "100 C.", "history": [["Fahrenheit?", "98.6 F."]]})
    raw = _jsonl(tmp_path / "p.jsonl", rows)
    assert "history: history" in _detected(raw).config_yaml
    out = tmp_path / "out"
    prefdata.build(raw, out, quiet=True)
    got = _by_record(out)
    assert _turns(got[201]["prompt"]) == [("user", "Fahrenheit?"), ("assistant", "98.6 F."), ("user", "And in Celsius?")]
    assert _turns(got[1]["prompt"]) == [("user", "q0")] and len(got) == 201


NECTAR_PROMPT = "\n\nHuman: Recommend a sci-fi book.\n\nAssistant: Try Dune.\n\nHuman: Something shorter?\n\nAssistant:"


def test_hh_dialogue_in_a_prompt_string_is_split_into_turns(tmp_path: Path) -> None:
    raw = _jsonl(tmp_path / "rm_static.jsonl", [
        {"prompt": NECTAR_PROMPT, "chosen": "Flowers for Algernon.", "rejected": "Dune."},
        {"prompt": "Human: Hi\r\n\r\nAssistant:", "chosen": "Hello!", "rejected": "Go."},
        {"prompt": "Preamble\n\nHuman: Hi\n\nAssistant:", "chosen": "Hello!", "rejected": "Go."},
        {"prompt": "\n\nHuman: Hi\n\nAssistant: Hello", "chosen": "there", "rejected": "Go."},
    ])
    report = _detected(raw)
    assert "prompt_markers" in report.config_yaml and "split at turn markers" in report.description
    out = tmp_path / "out"
    prefdata.build(raw, out)
    assert_reconciled(out)
    got = _by_record(out)
    assert _turns(got[1]["prompt"]) == [("user", "Recommend a sci-fi book."), ("assistant", "Try Dune."), ("user", "Something shorter?")]
    assert _turns(got[2]["prompt"]) == [("user", "Hi")]
    reasons = {r["record"]: (r["reason"], r["field"]) for r in rejects(out).iter_rows(named=True)}
    # text before the first marker is never dropped silently; a prompt that ends with a reply is not a prompt
    assert reasons == {3: ("malformed_transcript", "prompt"), 4: ("bad_turn_order", "prompt")}


def test_blank_text_before_the_first_marker_is_no_text_before_it(tmp_path: Path) -> None:
    """README (transcript, prompt_markers): only text before the first marker is a malformed_transcript
    reject. A dialogue whose first marker follows nothing but blank text (one line break, a space, a BOM)
    starts with that turn: ``"\nHuman: hi"`` and ``" Human: hi"`` were rejected "text before the first
    turn marker", and detection, which read them as HH dialogues, so lost every record of such a file."""
    leads = ["\n", " ", "\ufeff \n\n", "Note\n"]
    raw = _jsonl(tmp_path / "t.jsonl", [{"chosen": f"{lead}Human: hi {i}\n\nAssistant: hello", "rejected": f"{lead}Human: hi {i}\n\nAssistant: go"}
                                         for i, lead in enumerate(leads, 1)])
    out = tmp_path / "t"
    prefdata.build(raw, out, config={"sources": [{"shape": "transcript"}]})
    assert_reconciled(out)
    got = _by_record(out)
    assert sorted(got) == [1, 2, 3]
    assert all(_turns(got[r]["prompt"]) == [("user", f"hi {r}")] and _turns(got[r]["chosen"]) == [("assistant", "hello")] for r in got)
    bad = rejects(out).row(0, named=True)  # text that is not blank is still never dropped
    assert (bad["record"], bad["reason"], bad["field"]) == (4, "malformed_transcript", "chosen")
    assert bad["detail"] == "chosen: text before the first turn marker ('\\n\\nHuman:' or '\\n\\nAssistant:')"

    raw = _jsonl(tmp_path / "p.jsonl", [
        {"prompt": "\nHuman: What is 2+2?\n\nAssistant:", "chosen": "4", "rejected": "5"},
        {"prompt": " Human: Capital of France?\n\nAssistant:", "chosen": "Paris", "rejected": "Rome"},
    ])
    assert "prompt_markers" in _detected(raw).config_yaml
    out = tmp_path / "p"
    prefdata.build(raw, out)
    assert_reconciled(out)
    got = _by_record(out)
    assert (_turns(got[1]["prompt"]), _turns(got[2]["prompt"])) == ([("user", "What is 2+2?")], [("user", "Capital of France?")])
    assert rejects(out).height == 0
    # detection skips what the parser skips: a BOM (blank, though not str.isspace) before the first marker
    from prefdata.shapes.detect import prompt_extras

    markers = {"user": "\n\nHuman:", "assistant": "\n\nAssistant:"}
    assert prompt_extras([{"prompt": "\ufeffHuman: hi\n\nAssistant:"}], Counter(), {"prompt": "prompt"}) == {"prompt_markers": markers}


@pytest.mark.parametrize(("user", "assistant", "text"), [
    ("<|user|>", "\n<|assistant|>", "\n<|assistant|>Hi, how can I help?\n<|user|>q1\n<|assistant|>x"),
    ("\nUser:", "\n\nAssistant:", "\n\nAssistant: Hello!\nUser: q1\n\nAssistant: x"),
    ("\nUser:", "\n\nAssistant:", " \n\nAssistant: Hello!\nUser: q1\n\nAssistant: x"),
    ("\nUser:", "\n\nAssistant:", "Assistant: Hello!\nUser: q1\n\nAssistant: x"),
    ("\n\n Human:", "\n\n Assistant:", " Assistant: Hello!\n\n Human: q1\n\n Assistant: x"),
])
def test_a_first_turn_takes_its_own_markers_line_breaks(user: str, assistant: str, text: str) -> None:
    """Custom markers may differ in their leading line breaks (``<|user|>`` beside ``\\n<|assistant|>``),
    or hold blank text after them (``\\n\\n Human:``). A dialogue opening with the assistant's marker,
    bare or after blank text, starts with that turn: the blank-text rule first gave every first turn the
    user marker's line breaks, so these were "text before the first turn marker" rejects."""
    from prefdata.shapes.transcript import parse_marked_text

    turns, problem = parse_marked_text(pl.col("t"), user, assistant)
    row = pl.DataFrame({"t": [text]}).select(turns.alias("turns"), problem.alias("problem")).row(0, named=True)
    assert row["problem"] is None
    assert [(t["role"], t["content"]) for t in row["turns"]] == [("assistant", "Hello!" if "Hello" in text else "Hi, how can I help?"),
                                                                 ("user", "q1"), ("assistant", "x")]


def test_hh_prompt_strings_of_a_ranked_source_are_split_too(tmp_path: Path) -> None:
    raw = _jsonl(tmp_path / "nectar.jsonl", [
        {"prompt": NECTAR_PROMPT, "answers": [{"answer": "Dune.", "model": "m1", "rank": 2}, {"answer": "Flowers for Algernon.", "model": "m2", "rank": 1}]},
        {"prompt": NECTAR_PROMPT, "answers": [{"answer": "Dune.", "model": "m1", "rank": 2}, {"answer": "Neuromancer.", "model": "m2", "rank": 1}]},
        {"prompt": "Intro\n\nHuman: Hi\n\nAssistant:", "answers": [{"answer": "Go.", "model": "m1", "rank": 2}, {"answer": "Hi!", "model": "m2", "rank": 1}]},
    ])
    report = _detected(raw)
    assert report.shape == "ranked" and "prompt_markers" in report.config_yaml
    out = tmp_path / "out"
    prefdata.build(raw, out)
    assert_reconciled(out)
    assert rejects(out).select("record", "reason", "field").rows() == [(3, "malformed_transcript", "prompt")]
    row = _by_record(out)[1]
    assert _turns(row["prompt"]) == [("user", "Recommend a sci-fi book."), ("assistant", "Try Dune."), ("user", "Something shorter?")]
    assert _turns(row["chosen"]) == [("assistant", "Flowers for Algernon.")]


def test_whole_conversations_next_to_a_prompt_field_are_read_as_transcripts(tmp_path: Path) -> None:
    def conv(*turns: tuple[str, str]) -> list[dict]:
        return [{"role": r, "content": c} for r, c in turns]

    raw = _jsonl(tmp_path / "capybara.jsonl", [
        {"prompt": "Hi", "chosen": conv(("user", "Hi"), ("assistant", "Hello!")), "rejected": conv(("user", "Hi"), ("assistant", "Go.")),
         "score_chosen": 5, "score_rejected": 2},
        {"prompt": "Name a prime > 10.", "chosen": conv(("user", "Name a prime > 10."), ("assistant", "11."), ("user", "And > 100?"), ("assistant", "101.")),
         "rejected": conv(("user", "Name a prime > 10."), ("assistant", "11."), ("user", "And > 100?"), ("assistant", "102.")),
         "score_chosen": 4, "score_rejected": 1},
        {"prompt": "Name a planet.", "chosen": conv(("system", "Be a pirate."), ("user", "Name a planet."), ("assistant", "Arr, Mars!")),
         "rejected": conv(("system", "Be a pirate."), ("user", "Name a planet."), ("assistant", "Mars.")), "score_chosen": 3, "score_rejected": "n/a"},
    ])
    report = _detected(raw)
    assert report.shape == "transcript" and "score_chosen: score_chosen" in report.config_yaml
    out = tmp_path / "out"
    prefdata.build(raw, out)
    assert_reconciled(out)
    got = _by_record(out)
    assert _turns(got[2]["prompt"]) == [("user", "Name a prime > 10."), ("assistant", "11."), ("user", "And > 100?")]
    assert _turns(got[2]["chosen"]) == [("assistant", "101.")] and (got[2]["score_chosen"], got[2]["score_rejected"]) == (4.0, 1.0)
    assert _turns(got[1]["prompt"]) == [("user", "Hi")]
    bad = rejects(out).row(0, named=True)  # a score that is not a number is a reject, as in the preference shape
    assert (bad["record"], bad["reason"], bad["field"]) == (3, "wrong_type", "score_rejected")


def test_system_first_conversations_next_to_a_prompt_are_transcripts(tmp_path: Path) -> None:
    """detect: chosen lists that carry the conversation before the reply, "more than one user turn, or
    a system turn (Capybara, orpo-dpo-mix)", are a transcript: [system, user, assistant] lists beside a
    prompt field too, whose system turn the prompt field cannot say."""
    def conv(q: str, a: str) -> list[dict]:
        return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": q}, {"role": "assistant", "content": a}]

    rows = [{"prompt": f"Question {i}?", "chosen": conv(f"Question {i}?", "Yes."), "rejected": conv(f"Question {i}?", "No.")} for i in range(5)]
    assert _detected(_jsonl(tmp_path / "orpo.jsonl", rows)).shape == "transcript"


def test_single_turn_conversations_next_to_a_prompt_stay_preference(tmp_path: Path) -> None:
    """UltraFeedback-binarized style (chosen = [user prompt, assistant reply]) keeps its documented shape."""
    row = {"prompt": "Hi", "chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
           "rejected": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Go"}]}
    assert _detected(_jsonl(tmp_path / "uf.jsonl", [row])).shape == "preference"


def test_hh_transcripts_with_windows_line_ends_parse(tmp_path: Path) -> None:
    raw = _jsonl(tmp_path / "hh.jsonl", [
        {"chosen": "\r\n\r\nHuman: Fix a tire?\r\nIt is flat.\r\n\r\nAssistant: Patch it.", "rejected": "\r\n\r\nHuman: Fix a tire?\r\nIt is flat.\r\n\r\nAssistant: Buy a car."},
    ])
    out = tmp_path / "out"
    prefdata.build(raw, out)
    row = pairs(out).row(0, named=True)
    assert _turns(row["prompt"]) == [("user", "Fix a tire?\r\nIt is flat.")]  # only the markers are matched, the text is kept
    assert _turns(row["chosen"]) == [("assistant", "Patch it.")]


def test_a_marker_without_a_line_break_counts_only_at_a_line_start(tmp_path: Path) -> None:
    """``markers: {user: "User:"}`` split "a SuperUser: prefix" mid-word into two user turns."""
    said = "User: What does a SuperUser: prefix mean?\r\nAssistant: It marks admins"
    raw = _jsonl(tmp_path / "t.jsonl", [{"chosen": said + ".", "rejected": said + " and guests."}])
    config = {"sources": [{"shape": "transcript", "markers": {"user": "User:", "assistant": "Assistant:"}}]}
    prefdata.build(raw, tmp_path / "out", config=config)
    row = pairs(tmp_path / "out").row(0, named=True)
    assert _turns(row["prompt"]) == [("user", "What does a SuperUser: prefix mean?")]
    assert _turns(row["chosen"]) == [("assistant", "It marks admins.")]


def test_message_list_transcripts_are_stripped_like_marked_text(tmp_path: Path) -> None:
    """A trailing space in one dialogue's user turn made it ``transcripts_diverge``; HH text is stripped."""
    def said(reply: str, user: str) -> list[dict]:
        return [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]

    raw = _jsonl(tmp_path / "m.jsonl", [{"chosen_messages": said("  Simmer it 9 minutes.  ", "How do I boil an egg? "),
                                          "rejected_messages": said("Fry it.", "How do I boil an egg?")}])
    config = {"sources": [{"shape": "transcript", "columns": {"chosen": "chosen_messages", "rejected": "rejected_messages"}}]}
    prefdata.build(raw, tmp_path / "out", config=config)
    row = pairs(tmp_path / "out").row(0, named=True)
    assert _turns(row["prompt"]) == [("user", "How do I boil an egg?")]
    assert _turns(row["chosen"]) == [("assistant", "Simmer it 9 minutes.")]
    assert_reconciled(tmp_path / "out")


def test_a_system_field_already_in_the_prompt_is_not_doubled(tmp_path: Path) -> None:
    raw = _jsonl(tmp_path / "sys.jsonl", [
        {"system": "One word.", "messages": [{"role": "system", "content": "One word."}, {"role": "user", "content": "Sky?"}],
         "chosen": {"role": "assistant", "content": "Blue."}, "rejected": {"role": "assistant", "content": "It is blue."}},
        {"system": "One word.", "messages": [{"role": "user", "content": "Grass?"}],
         "chosen": {"role": "assistant", "content": "Green."}, "rejected": {"role": "assistant", "content": "It is green."}},
    ])
    out = tmp_path / "out"
    prefdata.build(raw, out)
    got = _by_record(out)
    assert _turns(got[1]["prompt"]) == [("system", "One word."), ("user", "Sky?")]
    assert _turns(got[2]["prompt"]) == [("system", "One word."), ("user", "Grass?")]


@pytest.mark.parametrize(("values", "guessed"), [([-1, 1, 1, 0], False), (["model_a", "model_b", "tie"], True)])
def test_signed_verdicts_are_not_guessed(tmp_path: Path, values: list, guessed: bool) -> None:
    """-1/+1 may be ``score_a - score_b`` or "-1 = the first one": a wrong guess swaps every pair."""
    raw = _jsonl(tmp_path / "p.jsonl", [{"prompt": f"q{i}", "response_a": "x", "response_b": "y", "winner": v} for i, v in enumerate(values)])
    if guessed:
        prefdata.build(raw, tmp_path / "out")
        return
    with pytest.raises(AmbiguousLayoutError, match="do not say which one means A wins"):
        prefdata.build(raw, tmp_path / "out")


@pytest.mark.parametrize(("values", "chosen"), [
    (["model_a", "model_a", "tie"], ["x", "x"]),
    (["model_b", "tie (bothbad)", "model_b"], ["y", "y"]),
    (["a", "tie"], None),  # a lone letter could be a grade or an answer key: both ends must be seen
    (["b", "b"], None),
    ([1, 0, 1], None),
])
def test_one_arena_name_says_its_direction_alone(tmp_path: Path, values: list, chosen: list | None) -> None:
    """An arena log whose sample holds model_a (or model_b) but not the other is still an arena log;
    detection used to refuse it until both names were sampled."""
    raw = _jsonl(tmp_path / "p.jsonl", [{"prompt": f"q{i}", "response_a": "x", "response_b": "y", "winner": v} for i, v in enumerate(values)])
    if chosen is None:
        with pytest.raises(AmbiguousLayoutError, match="do not say which one means A wins"):
            prefdata.build(raw, tmp_path / "out")
        return
    prefdata.build(raw, tmp_path / "out")
    assert [c[0]["content"] for c in pairs(tmp_path / "out").sort("id")["chosen"].to_list()] == chosen
    assert rejects(tmp_path / "out")["reason"].to_list() in (["tie"], ["both_bad"])


def test_pairwise_without_a_prompt_field_says_so(tmp_path: Path) -> None:
    def conv(reply: str) -> list[dict]:
        return [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": reply}]

    raw = _jsonl(tmp_path / "arena.jsonl", [{"model_a": "m1", "model_b": "m2", "winner": "model_a", "conversation_a": conv("Hello"), "conversation_b": conv("Go")}])
    with pytest.raises(AmbiguousLayoutError, match=r"no field holds the prompt.*conversation_a\[0\]\.content"):
        prefdata.build(raw, tmp_path / "out")
    config = {"sources": [{"shape": "pairwise", "columns": {"prompt": "conversation_a[0].content", "response_a": "conversation_a",
                                                             "response_b": "conversation_b", "winner": "winner"},
                           "winner_values": {"a": ["model_a"], "b": ["model_b"], "tie": ["tie"]}}]}
    prefdata.build(raw, tmp_path / "out", config=config)
    row = pairs(tmp_path / "out").row(0, named=True)
    assert _turns(row["prompt"]) == [("user", "Hi")] and _turns(row["chosen"]) == [("assistant", "Hello")]


def test_a_missing_prompt_is_named_by_its_raw_field(tmp_path: Path) -> None:
    raw = _jsonl(tmp_path / "orca.jsonl", [
        {"system": "", "question": "Hi?", "chosen": "Hello.", "rejected": "Go."},
        {"system": "", "question": None, "chosen": "Hello.", "rejected": "Go."},
    ])
    out = tmp_path / "out"
    prefdata.build(raw, out)
    bad = rejects(out).row(0, named=True)
    assert (bad["record"], bad["reason"], bad["field"], bad["detail"]) == (2, "missing_field", "question", "question is missing")
    raw = _jsonl(tmp_path / "alpaca.jsonl", [
        {"instruction": "Fix.", "input": "teh", "chosen": "the", "rejected": "teh"},
        {"instruction": " ", "input": None, "chosen": "the", "rejected": "teh"},
    ])
    prefdata.build(raw, out)
    bad = rejects(out).row(0, named=True)
    assert (bad["record"], bad["reason"], bad["field"]) == (2, "missing_field", "instruction,input")
    assert "every field of prompt_template (instruction, input) is missing or blank" in bad["detail"]


@pytest.mark.parametrize("shape", ["preference", "transcript"])
def test_scores_that_contradict_the_label_are_rejects_unless_allowed(tmp_path: Path, shape: str) -> None:
    raw, columns = write_scored(tmp_path, shape)
    out = tmp_path / "out"
    prefdata.build(raw, out, config={"sources": [{"shape": shape, "columns": columns}]})
    assert_reconciled(out)
    assert sorted(_by_record(out)) == [1, 4]  # a missing score says nothing against the label
    got = rejects(out).sort("record").select("record", "reason", "field", "detail").rows()
    assert got == [
        (2, "tie", "score_chosen,score_rejected", "score_chosen = score_rejected = 5.0"),
        (3, "scores_disagree", "score_chosen,score_rejected", "score_chosen 2.0 < score_rejected 7.0"),
    ]
    prefdata.build(raw, out, config={"sources": [{"shape": shape, "columns": columns, "scores_must_agree": False}]})
    assert sorted(_by_record(out)) == [1, 2, 3, 4]


def test_a_verdict_naming_the_response_by_its_number_is_read_without_a_guess(tmp_path: Path) -> None:
    """PKU-SafeRLHF: ``better_response_id`` 0/1 names ``response_0``/``response_1``; no direction to guess."""
    raw = _jsonl(tmp_path / "pku.jsonl", [
        {"prompt": "How to stay safe?", "response_0": "Lock doors.", "response_1": "Never mind.", "better_response_id": 0, "safer_response_id": 1},
        {"prompt": "Best tea?", "response_0": "Any.", "response_1": "Green tea, brewed at 80 C.", "better_response_id": 1, "safer_response_id": 1},
    ])
    report = _detected(raw)
    assert report.shape == "pairwise" and "winner: better_response_id" in report.config_yaml
    out = tmp_path / "out"
    prefdata.build(raw, out)
    got = _by_record(out)
    assert _turns(got[1]["chosen"]) == [("assistant", "Lock doors.")] and got[1]["chosen_position"] == "a"
    assert _turns(got[2]["chosen"]) == [("assistant", "Green tea, brewed at 80 C.")] and got[2]["chosen_position"] == "b"


def test_shp_style_0_1_labels_stop_with_a_pairwise_config(tmp_path: Path) -> None:
    raw = _jsonl(tmp_path / "shp.jsonl", [
        {"post_id": "p1", "history": "Why is the sky blue?", "human_ref_A": "Rayleigh scattering.", "human_ref_B": "Magic.", "labels": 1},
        {"post_id": "p2", "history": "Why do cats purr?", "human_ref_A": "No idea.", "human_ref_B": "Contentment, mostly.", "labels": 0},
    ])
    with pytest.raises(AmbiguousLayoutError, match="the values of 'labels'") as err:
        prefdata.build(raw, tmp_path / "out")
    assert "shape: pairwise" in err.value.suggested_config and "response_a: human_ref_A" in err.value.suggested_config


@pytest.mark.parametrize(("values", "detected"), [(["1.0", "2.0", "2"], True), ([1.0, 2.0, 2.0], True), ([0.3, 0.7, 0.9], False)])
def test_whole_number_verdicts_written_as_floats_are_labels(tmp_path: Path, values: list, detected: bool) -> None:
    """A verdict column exported through pandas (1.0/2.0, or "1.0" in a CSV) is the 1/2 labels, not a
    probability that needs a threshold; a real fraction still does."""
    raw = _jsonl(tmp_path / "p.jsonl", [{"prompt": f"q{i}", "response_a": f"x{i}", "response_b": f"y{i}", "winner": v} for i, v in enumerate(values)])
    if not detected:
        with pytest.raises(AmbiguousLayoutError):
            prefdata.build(raw, tmp_path / "out")
        return
    prefdata.build(raw, tmp_path / "out")
    got = _by_record(tmp_path / "out")
    assert {r: row["chosen_position"] for r, row in got.items()} == {1: "a", 2: "b", 3: "b"}


def test_prompt_markers_on_a_prompt_that_is_not_a_string_are_a_config_error(tmp_path: Path) -> None:
    from prefdata.errors import ConfigError

    raw = _jsonl(tmp_path / "m.jsonl", [{"prompt": [{"role": "user", "content": "Hi"}], "chosen": "a", "rejected": "b"}])
    config = {"sources": [{"shape": "preference", "columns": {"prompt": "prompt", "prompt_markers": {}}}]}
    with pytest.raises(ConfigError, match="'prompt' holds messages; remove prompt_markers"):
        prefdata.build(raw, tmp_path / "out", config=config)


def test_prompt_markers_beside_a_prompt_template_are_a_config_error(tmp_path: Path) -> None:
    """prompt_markers split a prompt *string*; a prompt built by a prompt_template has none to split, so
    the config is refused (not built with the markers silently ignored)."""
    from prefdata.errors import ConfigError

    raw = _jsonl(tmp_path / "r.jsonl", [{"instruction": "\n\nHuman: hi\n\nAssistant:", "input": "x", "good": "a", "bad": "b"}])
    columns = {"prompt_template": "{instruction}\n\n{input}", "chosen": "good", "rejected": "bad",
               "prompt_markers": {"user": "\n\nHuman:", "assistant": "\n\nAssistant:"}}
    with pytest.raises(ConfigError, match="a prompt_template is used; remove prompt_markers"):
        prefdata.build(raw, tmp_path / "out", config={"sources": [{"shape": "preference", "columns": columns}]})
    assert not (tmp_path / "out" / "data").exists()


def test_a_marked_prompt_s_malformed_transcript_detail_names_its_field(tmp_path: Path) -> None:
    """README (prompt_markers): text before the first marker is a malformed_transcript reject; like every
    reject it names the raw field, in ``field`` and at the head of its detail."""
    raw = _jsonl(tmp_path / "r.jsonl", [{"q": "\n\nHuman: hi\n\nAssistant:", "good": "a", "bad": "b"},
                                        {"q": "preamble\n\nHuman: hi\n\nAssistant:", "good": "a", "bad": "b"}])
    columns = {"prompt": "q", "chosen": "good", "rejected": "bad", "prompt_markers": {"user": "\n\nHuman:", "assistant": "\n\nAssistant:"}}
    prefdata.build(raw, tmp_path / "out", config={"sources": [{"shape": "preference", "columns": columns}]})
    [(record, reason, field, detail)] = rejects(tmp_path / "out").select("record", "reason", "field", "detail").rows()
    assert (record, reason, field) == (2, "malformed_transcript", "q")
    assert detail.startswith("q: ") and "first" in detail


def test_a_numbered_verdict_needs_both_numbers_in_the_sample(tmp_path: Path) -> None:
    """Seeing only ``1`` next to response_1/response_2 says nothing about the encoding (0/1 would swap every pair)."""
    raw = _jsonl(tmp_path / "p.jsonl", [{"prompt": f"q{i}", "response_1": f"x{i}", "response_2": f"y{i}", "label": 1} for i in range(5)])
    with pytest.raises(AmbiguousLayoutError):
        prefdata.build(raw, tmp_path / "out")


def test_an_input_field_alone_is_the_prompt_and_beside_instruction_the_alpaca_input(tmp_path: Path) -> None:
    """argilla's distilabel DPO sets name the prompt ``input``; Alpaca's ``input`` goes with ``instruction``."""
    argilla = [{"system": "Be brief." if i % 2 else "", "input": f"What is {i}+{i}?", "chosen": f"It is {2 * i}.", "rejected": "No idea."} for i in range(4)]
    out = tmp_path / "argilla"
    prefdata.build(_jsonl(tmp_path / "argilla.jsonl", argilla), out)
    by_record = _by_record(out)
    assert _turns(by_record[2]["prompt"]) == [("system", "Be brief."), ("user", "What is 1+1?")]
    assert _turns(by_record[1]["prompt"]) == [("user", "What is 0+0?")]
    alpaca = [{"instruction": "Add.", "input": f"{i}+{i}", "chosen": f"{2 * i}", "rejected": "?"} for i in range(3)]
    out = tmp_path / "alpaca"
    prefdata.build(_jsonl(tmp_path / "alpaca.jsonl", alpaca), out)
    assert _turns(_by_record(out)[1]["prompt"]) == [("user", "Add.\n\n0+0")]


def _mixed_kinds(n: int) -> tuple[list[dict], list[dict]]:
    text = [{"prompt": f"s{i}", "chosen": f"c{i}", "rejected": f"r{i}"} for i in range(n)]
    msgs = [
        {"prompt": [{"role": "user", "content": f"m{i}"}], "chosen": [{"role": "assistant", "content": f"c{i}"}],
         "rejected": [{"role": "assistant", "content": f"r{i}"}]}
        for i in range(n)
    ]
    return text, msgs


@pytest.mark.parametrize("order", ["text_first", "messages_first"])
def test_a_file_mixing_text_and_message_records_warns_with_counts_and_the_rule(tmp_path: Path, order: str) -> None:
    """Plain-string and message-list records in one file: the kind most of the 200 sampled records have
    is read, the other kind was rejected wholesale (half the file) with no warning, under a reason that
    depended on the order. Each record cannot yet be read by its own kind; the build now says so."""
    text, msgs = _mixed_kinds(150)
    rows, read_as, reason = (text + msgs, "text", "non_text_content") if order == "text_first" else (msgs + text, "messages", "wrong_type")
    raw = tmp_path / "mixed.jsonl"
    raw.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = prefdata.build(raw, tmp_path / "out", quiet=True)
    assert result.counts["rejected_by_reason"] == {reason: 150}
    (line,) = [w for w in result.warnings if "more than one kind" in w]
    counts = "150 text, 50 messages" if read_as == "text" else "150 messages, 50 text"
    assert line == (
        f"file mixed.jsonl: fields 'prompt', 'chosen', 'rejected' of 200 sampled records hold more than one kind ({counts}); "
        f"read as {read_as}, the kind most hold, so records holding another kind are {reason} rejects: give each kind its own file and source"
    )


def test_the_kind_counts_list_the_most_common_kind_first_whatever_the_record_order(tmp_path: Path) -> None:
    """README preference: the warning gives the counts as "(150 text, 50 messages)", the kind most hold
    first (``kind_split``'s docstring), also when the rarer kind comes first in the file: here 50 message
    records then 150 text ones, so the counts are not in the order the kinds were first seen."""
    text, msgs = _mixed_kinds(150)
    rows = msgs[:50] + text
    counts = Counter("text" if isinstance(r["prompt"], str) else "messages" for r in rows).most_common()
    assert counts == [("text", 150), ("messages", 50)]
    raw = tmp_path / "mixed.jsonl"
    raw.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = prefdata.build(raw, tmp_path / "out", quiet=True)
    assert result.counts["rejected_by_reason"] == {"non_text_content": 50}
    (line,) = [w for w in result.warnings if "more than one kind" in w]
    assert "hold more than one kind (" + ", ".join(f"{n} {k}" for k, n in counts) + "); read as text," in line, line


def test_files_of_one_kind_each_warn_nothing(tmp_path: Path) -> None:
    text, msgs = _mixed_kinds(3)
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, rows in (("a.jsonl", text), ("b.jsonl", msgs)):
        (raw / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = prefdata.build(raw, tmp_path / "out", quiet=True)
    assert result.counts["pairs_written"] == 6 and not [w for w in result.warnings if "more than one kind" in w]


def test_one_field_of_mixed_kinds_is_named_in_the_singular(tmp_path: Path) -> None:
    """Only ``chosen`` mixes kinds: "field 'chosen' ... holds" (it said "hold")."""
    text, msgs = _mixed_kinds(150)
    rows = text + [{**t, "chosen": m["chosen"]} for t, m in zip(text[:50], msgs)]
    raw = tmp_path / "mixed.jsonl"
    raw.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = prefdata.build(raw, tmp_path / "out", quiet=True)
    (line,) = [w for w in result.warnings if "more than one kind" in w]
    assert "field 'chosen' of 200 sampled records holds more than one kind" in line, line


def _user(text: str) -> dict:
    return {"role": "user", "content": text}


def _system(text: str) -> dict:
    return {"role": "system", "content": text}


def test_a_response_that_only_repeats_the_prompt_is_not_cut_to_nothing(tmp_path: Path) -> None:
    """README preference: only prompt turns repeated *before the answer* are cut off. A chosen that is
    the prompt and nothing after has no answer to cut them from: it stays as written and is rejected
    for its user turn (bad_turn_order), not emptied into an empty_field "chosen has no turns"."""
    raw = _jsonl(tmp_path / "p.jsonl", [{"prompt": [_user("hi")], "chosen": [_user("hi")],
                                          "rejected": [_user("hi"), {"role": "assistant", "content": "yo"}]}])
    prefdata.build(raw, tmp_path / "out")
    assert rejects(tmp_path / "out").select("record", "reason", "field").rows() == [(1, "bad_turn_order", "chosen")]


def test_a_system_field_unlike_the_prompts_own_system_turn_is_added_first(tmp_path: Path) -> None:
    """README: a `system` field whose turn the prompt already starts with is not added twice; only that
    same turn is left out, a different one is still placed first."""
    raw = _jsonl(tmp_path / "p.jsonl", [
        {"prompt": [_system("Be terse."), _user("hi")], "sys": "Answer in French.", "chosen": "salut", "rejected": "hello"},
        {"prompt": [_system("Be terse."), _user("hey")], "sys": "Be terse.", "chosen": "yo", "rejected": "hello"},
    ])
    config = {"sources": [{"shape": "preference", "columns": {"prompt": "prompt", "system": "sys", "chosen": "chosen", "rejected": "rejected"}}]}
    prefdata.build(raw, tmp_path / "out", config=config)
    got = _by_record(tmp_path / "out")
    assert _turns(got[1]["prompt"]) == [("system", "Answer in French."), ("system", "Be terse."), ("user", "hi")]
    assert _turns(got[2]["prompt"]) == [("system", "Be terse."), ("user", "hey")]


def test_a_history_item_that_is_not_a_pair_is_named_by_its_index(tmp_path: Path) -> None:
    """README: "An item that is not a pair is a `wrong_type` reject naming `history[i]`": the item at
    fault (the second), not the first."""
    raw = _jsonl(tmp_path / "h.jsonl", [{"history": [["q1", "a1"], ["q2"], ["q3", "a3"]], "instruction": "next?", "chosen": "yes", "rejected": "no"}])
    prefdata.build(raw, tmp_path / "out")
    [(reason, field, detail)] = rejects(tmp_path / "out").select("reason", "field", "detail").rows()
    assert (reason, field) == ("wrong_type", "history")
    assert "history[1] holds 1 text(s)" in detail


def test_a_transcript_whose_rejected_dialogue_ends_with_the_user_is_malformed(tmp_path: Path) -> None:
    """transcript: *both* dialogues must end with an assistant turn; a rejected one ending on Human is a
    malformed_transcript reject naming its field and its last role, not transcripts_diverge."""
    base = "\n\nHuman: hi\n\nAssistant: "
    raw = _jsonl(tmp_path / "t.jsonl", [
        {"chosen": base + "hello", "rejected": base + "go away\n\nHuman: rude"},
        {"chosen": base + "hello\n\nHuman: more", "rejected": base + "go away"},
    ])
    prefdata.build(raw, tmp_path / "out", config={"sources": [{"shape": "transcript"}]})
    got = rejects(tmp_path / "out").sort("record")
    assert got.select("record", "reason", "field").rows() == [(1, "malformed_transcript", "rejected"), (2, "malformed_transcript", "chosen")]
    assert "last turn is 'user'" in got["detail"][0]


def test_a_transcript_may_start_with_a_bare_assistant_marker(tmp_path: Path) -> None:
    """A dialogue may start with a bare marker, ``Assistant:`` as well as ``Human:`` (the assistant's
    greeting first): it is split into turns, not "text before the first turn marker"."""
    greet = "Assistant: Hi, how can I help?\n\nHuman: a joke\n\nAssistant: "
    raw = _jsonl(tmp_path / "t.jsonl", [{"chosen": greet + "knock knock", "rejected": greet + "no"}])
    prefdata.build(raw, tmp_path / "out", config={"sources": [{"shape": "transcript"}]})
    row = pairs(tmp_path / "out").row(0, named=True)
    assert _turns(row["prompt"]) == [("assistant", "Hi, how can I help?"), ("user", "a joke")]
    assert (_turns(row["chosen"]), _turns(row["rejected"])) == ([("assistant", "knock knock")], [("assistant", "no")])


TRANSCRIPT = {"sources": [{"shape": "transcript"}]}
AGREED = {"chosen": "\n\nHuman: x\n\nAssistant: a", "rejected": "\n\nHuman: x\n\nAssistant: c"}


def _reject_rows(out: Path) -> list[tuple]:
    return rejects(out).sort("record").select("record", "reason", "field", "detail").rows()


def test_a_transcript_of_only_the_final_reply_has_no_prompt(tmp_path: Path) -> None:
    """README transcript: "the prompt is everything before the final assistant turns". Dialogues that are
    only that reply have nothing before it, so the record has no prompt: a ``missing_field`` reject
    ("a needed field absent/null") on ``prompt``, whose detail lists the fields it is built from (README:
    "A column built from several fields keeps its name and its detail lists them"), not an empty prompt
    list ("prompt has no turns")."""
    raw = _jsonl(tmp_path / "t.jsonl", [{"chosen": "\n\nAssistant: a", "rejected": "\n\nAssistant: b"}, AGREED])
    prefdata.build(raw, tmp_path / "out", config=TRANSCRIPT, test_fraction=0)
    assert _reject_rows(tmp_path / "out") == [(1, "missing_field", "prompt", "prompt (from chosen, rejected) is missing")]
    assert pairs(tmp_path / "out").height == 1
    assert_reconciled(tmp_path / "out")


def test_a_transcript_without_its_rejected_dialogue_is_missing_rejected(tmp_path: Path) -> None:
    """README reject table, ``missing_field``: "a needed field absent/null", named by its raw field
    ("a record without `bad` is `missing_field` with field `bad` and detail `bad is missing`"). A
    transcript record without ``rejected`` is that reject on ``rejected``, as one without ``chosen`` is
    on ``chosen``, also when chosen is a lone reply and so gives no prompt either: the missing field
    is reported, not the prompt cut from it."""
    raw = _jsonl(tmp_path / "t.jsonl", [AGREED, {"chosen": "\n\nAssistant: a"}, {"rejected": "\n\nHuman: z\n\nAssistant: a"}])
    prefdata.build(raw, tmp_path / "out", config=TRANSCRIPT, test_fraction=0)
    assert _reject_rows(tmp_path / "out") == [
        (2, "missing_field", "rejected", "rejected is missing"),
        (3, "missing_field", "chosen", "chosen is missing"),
    ]
    assert_reconciled(tmp_path / "out")


def test_transcripts_diverge_gives_chosens_turns_then_rejecteds(tmp_path: Path) -> None:
    """README reject table, ``transcripts_diverge``: "transcript pairs whose dialogues differ before the
    final reply". The detail says "chosen (N turns) and rejected (M turns)": chosen's count first. The
    counts are the markers in each raw string (4 and 2), so a swap shows."""
    chosen = "\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: d"
    rejected = "\n\nHuman: other\n\nAssistant: e"
    n_c, n_r = (t.count("\n\nHuman:") + t.count("\n\nAssistant:") for t in (chosen, rejected))
    assert (n_c, n_r) == (4, 2)
    raw = _jsonl(tmp_path / "t.jsonl", [{"chosen": chosen, "rejected": rejected}, AGREED])
    prefdata.build(raw, tmp_path / "out", config=TRANSCRIPT, test_fraction=0)
    assert _reject_rows(tmp_path / "out") == [
        (1, "transcripts_diverge", "chosen,rejected", f"chosen ({n_c} turns) and rejected ({n_r} turns) differ before their final assistant turn"),
    ]


@pytest.mark.parametrize(("field", "char"), [("chosen", "\ue001"), ("rejected", "\ue000")])
def test_a_transcript_holding_the_parsers_reserved_characters_is_malformed(tmp_path: Path, field: str, char: str) -> None:
    """README transcript: text holding U+E000 or U+E001 (the private-use characters the parser marks
    turns with) is a ``malformed_transcript`` reject ("unparseable transcripts", README reject table):
    read, U+E001 would cut the turn's text at it ("a" kept, "b" silently lost)."""
    record = {"chosen": "\n\nHuman: hi\n\nAssistant: yes", "rejected": "\n\nHuman: hi\n\nAssistant: no"}
    record[field] = f"\n\nHuman: hi\n\nAssistant: a{char}b"
    raw = _jsonl(tmp_path / "t.jsonl", [record, AGREED])
    prefdata.build(raw, tmp_path / "out", config=TRANSCRIPT, test_fraction=0)
    assert _reject_rows(tmp_path / "out") == [
        (1, "malformed_transcript", field, f"{field}: text contains reserved characters U+E000/U+E001"),
    ]
    assert_reconciled(tmp_path / "out")


def test_a_number_in_a_value_content_part_is_non_text_content(tmp_path: Path) -> None:
    """README transcript: LLaMA-Factory ``chosen_messages`` hold ``content`` as ``{type, value}`` parts;
    README reject table, ``non_text_content``: "a JSON true, number, list or object ... where text
    belongs: never coerced". A number in ``value`` is that reject naming the part, as a number in
    ``text`` is; it never becomes the text "5"."""
    q = [{"role": "user", "content": [{"type": "text", "value": "Q"}]}]

    def a(v: object) -> list[dict]:
        return [{"role": "assistant", "content": [{"type": "text", "value": v}]}]

    raw = _jsonl(tmp_path / "m.jsonl", [
        {"chosen_messages": q + a(5), "rejected_messages": q + a("no")},
        {"chosen_messages": q + a("yes"), "rejected_messages": q + a("no")},
    ])
    config = {"sources": [{"shape": "transcript", "columns": {"chosen": "chosen_messages", "rejected": "rejected_messages"}}]}
    prefdata.build(raw, tmp_path / "out", config=config, test_fraction=0)
    path = "chosen_messages[1].content[0].value"
    assert _reject_rows(tmp_path / "out") == [(1, "non_text_content", path, f"{path}: expected text, got number 5")]
    row = pairs(tmp_path / "out").row(0, named=True)
    assert (_turns(row["prompt"]), _turns(row["chosen"])) == ([("user", "Q")], [("assistant", "yes")])
    assert_reconciled(tmp_path / "out")


@pytest.mark.parametrize("other", ["context", "messages"])
def test_detection_takes_input_as_the_prompt_only_last(other: str) -> None:
    """README preference: the prompt is the first of prompt, conversations, question, query, instruction,
    history, context, messages and input: beside `context` or `messages` (no instruction), `input` is not it."""
    from prefdata.shapes.detect import detect

    value = "ctx text" if other == "context" else [_user("hi")]
    assert detect([{other: value, "input": "in text", "chosen": "a", "rejected": "b"}] * 3, name="x").columns.prompt == other


def test_detection_maps_history_and_prompt_markers_only_on_a_majority() -> None:
    """README: detection proposes `history` and `prompt_markers` "when most of the sampled records have
    them": one of two is half, not most; two of three is."""
    from prefdata.shapes.detect import detect

    good, bad = {"prompt": "p", "history": [["u", "a"]], "chosen": "a", "rejected": "b"}, {"prompt": "p", "history": "x", "chosen": "a", "rejected": "b"}
    assert detect([good, bad], name="x").columns.history is None
    assert detect([good, bad, good], name="x").columns.history == "history"
    hh, plain = {"prompt": NECTAR_PROMPT, "chosen": "a", "rejected": "b"}, {"prompt": "What is 2+2?", "chosen": "4", "rejected": "5"}
    assert detect([hh, plain], name="x").columns.prompt_markers is None
    markers = detect([hh, plain, hh], name="x").columns.prompt_markers
    assert markers is not None and (markers.user, markers.assistant) == ("\n\nHuman:", "\n\nAssistant:")


def test_detection_maps_system_prompt_and_the_response_models(tmp_path: Path) -> None:
    """README preference: a system field is detected as `system` or `system_prompt`, and chosen_model/
    rejected_model fields are mapped, so neither the system turn nor the model names are lost."""
    raw = _jsonl(tmp_path / "p.jsonl", [{"system_prompt": "Be kind.", "prompt": "hi", "chosen": "hello", "rejected": "go",
                                          "chosen_model": "m1", "rejected_model": "m2"}])
    prefdata.build(raw, tmp_path / "out")
    row = pairs(tmp_path / "out").row(0, named=True)
    assert _turns(row["prompt"]) == [("system", "Be kind."), ("user", "hi")]
    assert (row["chosen_model"], row["rejected_model"]) == ("m1", "m2")


def test_a_lone_response_1_is_one_response_not_a_pair_of_it_with_itself(tmp_path: Path) -> None:
    """``response_1`` is response A beside ``response_2`` (HelpSteer) and response B beside ``response_0``
    (PKU-SafeRLHF). Alone it was taken as both: the proposed config compared each response with itself,
    and a build without a config wrote 0 pairs, every record an identical_responses reject. One response
    field is no pairwise layout: the build stops with a config to complete (detect.py docstring)."""
    from prefdata.shapes.detect import detect

    rows = [{"prompt": f"q{i}", "response_1": f"answer {i}", "winner": "model_a" if i % 2 else "model_b"} for i in range(6)]
    raw = _jsonl(tmp_path / "p.jsonl", rows)
    with pytest.raises(AmbiguousLayoutError, match=r"cannot tell its shape from its fields \(prompt, response_1, winner\)"):
        prefdata.build(raw, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    # either neighbour makes it a pair again, response_1 on the side its dataset puts it
    for other, a, b in (("response_0", "response_0", "response_1"), ("response_2", "response_1", "response_2")):
        columns = detect([r | {other: f"other {i}"} for i, r in enumerate(rows)], name="x").columns
        assert (columns.response_a, columns.response_b) == (a, b), other


def test_three_response_fields_leave_the_pair_to_the_user(tmp_path: Path) -> None:
    """With ``response_0``, ``response_1`` and ``response_2`` any two could be the pair; detection took
    response_0 vs response_2 and silently dropped response_1. README ('Raw shapes'): pairwise is proposed
    only for two response fields, so the build stops naming all three, with a config to complete."""
    rows = [
        {"prompt": f"q{i}", "response_0": f"a{i}", "response_1": f"b{i}", "response_2": f"c{i}", "winner": "model_a" if i % 2 else "model_b"}
        for i in range(6)
    ]
    raw = _jsonl(tmp_path / "p.jsonl", rows)
    with pytest.raises(AmbiguousLayoutError, match=r"holds 3 response fields \(response_0, response_1, response_2\)") as caught:
        prefdata.build(raw, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    suggested = caught.value.suggested_config
    assert "# response_a and response_b: two of response_0, response_1, response_2" in suggested
    assert "columns: {prompt: prompt, response_a: <field>, response_b: <field>, winner: winner}" in suggested
    # the user's choice of two builds: response_1 vs response_2, model_a meaning response_1 won
    config = tmp_path / "c.yaml"
    config.write_text(
        "sources:\n  - shape: pairwise\n"
        "    columns: {prompt: prompt, response_a: response_1, response_b: response_2, winner: winner}\n"
        "    winner_values: {a: [model_a], b: [model_b]}\n"
    )
    prefdata.build(raw, tmp_path / "out", config=config)
    got = {(r["prompt"][-1]["content"], r["chosen"][-1]["content"], r["rejected"][-1]["content"]) for r in pairs(tmp_path / "out").iter_rows(named=True)}
    assert got == {(f"q{i}", f"b{i}", f"c{i}") if i % 2 else (f"q{i}", f"c{i}", f"b{i}") for i in range(6)}


def test_two_response_fields_ending_in_the_same_number_give_the_verdict_no_direction() -> None:
    """``better_response_id`` names a response by the number its field ends with; when both fields end
    in 1 (``response1``, ``response_1``) the number names neither, so the 1s say no direction and
    detection stops (module docstring of detect_more: no guess), not with a config mapping 1 to A and B."""
    from prefdata.shapes.detect import detect

    sample = [{"prompt": f"q{i}", "response1": "x", "response_1": "y", "better_response_id": 1} for i in range(5)]
    with pytest.raises(AmbiguousLayoutError, match=r"the values of 'better_response_id' \(1\) do not say which one means A wins"):
        detect(sample, name="x")


@pytest.mark.parametrize("item", [
    {"text": "b", "score": False},  # JSON true/false are no numbers: no scores to rank by
    "plain text answer",  # a string among the objects: no {text, score} list
])
def test_a_completions_list_is_rated_only_when_every_item_is_a_scored_object(item: object) -> None:
    from prefdata.shapes.detect import detect

    first = {"text": "a", "score": True if isinstance(item, dict) else 3}
    sample = [{"prompt": f"q{i}", "completions": [first, item]} for i in range(5)]
    with pytest.raises(AmbiguousLayoutError, match=r"cannot tell its shape from its fields \(completions, prompt\)"):
        detect(sample, name="x")


def test_a_history_of_earlier_turns_in_some_records_is_never_the_prompt() -> None:
    """detect_more: SHP's ``history`` is the post (text in every record), LLaMA-Factory's holds earlier
    turns and is never the prompt. A sample mixing both is no prompt field, and the error says so
    (it used to blame the model_a/model_b verdict, whose direction is plain)."""
    from prefdata.shapes.detect import detect

    sample = [{"history": [["hi", "hello"]] if i % 2 else "some post", "response_a": "x", "response_b": "y",
               "winner": "model_a" if i % 2 else "model_b"} for i in range(6)]
    with pytest.raises(AmbiguousLayoutError, match=r"looks pairwise \('response_a' vs 'response_b', verdict 'winner'\), but no field holds the prompt") as refused:
        detect(sample, name="x")
    # nor does the config to complete name it (it proposed `prompt: history`, contradicting the message)
    assert "columns: {prompt: <field>, response_a: response_a, response_b: response_b, winner: winner}" in refused.value.suggested_config
    text_only = [r | {"history": "some post"} for r in sample]
    assert detect(text_only, name="x").columns.prompt == "history"


def test_a_negative_index_in_a_sampled_path_reads_as_python_indexing_does() -> None:
    """``turns[-1]`` is the last turn (README: field paths), also of a one-item list; the values
    detection and kind sniffing sample (base.sample_values) are read the same way, a missing one skipped."""
    from prefdata.shapes.base import sample_values

    records = [{"turns": ["only"]}, {"turns": ["a", "b"]}, {"turns": []}, {"t": {"x": [1, 2, 3]}}, {"t": {"x": [1]}}]
    assert sample_values(records, "turns[-1]") == ["only", "b"]
    assert sample_values(records, "t.x[-3]") == [1]
    assert sample_values(records, "turns[-2]") == ["a"]

"""Roles are mapped alike in every shape, a reject names the raw field it is about, and an unusable
message of a tree costs only the pairs it would be in (the bug hunt on the raw shapes' semantics)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import prefdata
from tests.support.dataset import assert_reconciled, manifest, pairs, rejects

TREE = {"sources": [{"shape": "tree", "columns": {"root": "prompt"}}]}


def _jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def m(role: object, text: object, rank: object = None, *replies: dict, **extra: object) -> dict:
    return {"role": role, "text": text, "rank": rank, "replies": list(replies), **extra}


def _texts(out: Path) -> list[tuple[str, str, str]]:
    """(last prompt turn, chosen, rejected) of every pair, sorted."""
    got = pairs(out)
    return sorted((p[-1]["content"], c[0]["content"], r[0]["content"]) for p, c, r in zip(got["prompt"], got["chosen"], got["rejected"]))


def _rejects(out: Path) -> list[tuple[int, str, str]]:
    if not (out / "rejects").exists() or not list((out / "rejects").glob("*.parquet")):
        return []
    return rejects(out).sort("record").select("record", "reason", "field").rows()


def _dropped(out: Path) -> dict[str, int]:
    return manifest(out)["counts"].get("pairs_dropped_by_reason", {})


def test_a_tree_role_that_maps_to_nothing_is_unknown_role(tmp_path: Path) -> None:
    """An unmapped role was read as "not an assistant, not a user": a root `customer` gave
    `no_ranked_replies`, and the pairs under a `customer` follow-up were lost with no reject or count."""
    trees = [
        m("customer", "Best pizza topping?", None, m("assistant", "Mushrooms.", 0), m("assistant", "Glue.", 1)),
        m("prompter", "Tell me a fact.", None,
          m("assistant", "Octopuses have three hearts.", 0,
            m("customer", "Another one?", None, m("assistant", "Honey never spoils.", 0), m("assistant", "The sky is green.", 1))),
          m("assistant", "I don't know.", 1)),
        # a ranked reply whose role maps to nothing is no "non-assistant" left out: its pair is dropped
        m("prompter", "Name a colour.", None, m("assistant", "Blue.", 0), m("assistant", "Red.", 1), m("wizard", "Seven.", 2)),
    ]
    raw = _jsonl(tmp_path / "t.jsonl", [{"prompt": t} for t in trees])
    prefdata.build(raw, tmp_path / "out", config=TREE, test_fraction=0)
    assert _rejects(tmp_path / "out") == [(1, "unknown_role", "prompt.role")]
    assert "role 'customer' maps to none of system/user/assistant/tool" in rejects(tmp_path / "out")["detail"][0]
    assert _texts(tmp_path / "out") == [("Name a colour.", "Blue.", "Red."), ("Tell me a fact.", "Octopuses have three hearts.", "I don't know.")]
    assert _dropped(tmp_path / "out") == {"unknown_role": 2}
    assert_reconciled(tmp_path / "out")

    # mapped under `roles:`, the same trees give every pair
    config = {"sources": [{"shape": "tree", "columns": {"root": "prompt"}, "roles": {"customer": "user", "Wizard": "assistant"}}]}
    prefdata.build(raw, tmp_path / "mapped", config=config, test_fraction=0)
    assert _rejects(tmp_path / "mapped") == [] and _dropped(tmp_path / "mapped") == {}
    assert len(_texts(tmp_path / "mapped")) == 5


def test_a_tree_reject_names_the_reply_by_its_raw_position(tmp_path: Path) -> None:
    """The path counted only the kept replies: after a deleted one, replies[2] was named replies[1]."""
    tree = m("prompter", "Q?", None, m("assistant", "Deleted.", 0, deleted=True), m("assistant", "Fine.", 1), m("assistant", 7, 2))
    prefdata.build(_jsonl(tmp_path / "t.jsonl", [{"prompt": tree}]), tmp_path / "out", config=TREE)
    [(_, reason, field, detail)] = rejects(tmp_path / "out").select("record", "reason", "field", "detail").rows()
    assert (reason, field) == ("non_text_content", "prompt.replies[2].text")
    assert detail == "prompt.replies[2].text: expected text, got int"


def test_an_unusable_tree_message_costs_only_the_pairs_it_would_be_in(tmp_path: Path) -> None:
    """One reply with null or non-text text anywhere rejected the whole tree, its good pairs with it."""
    trees = [
        # 1: an unranked reply with no text, in no pair: the pair is kept and nothing is dropped
        m("prompter", "Best pizza topping?", None, m("assistant", "Mushrooms.", 0), m("assistant", "Glue.", 1), m("assistant", None)),
        # 2: a follow-up with no usable text over ranked replies: their pair is dropped (counted), the root pair kept
        m("prompter", "Tell me a fact.", None,
          m("assistant", "Octopuses have three hearts.", 0, m("prompter", 42, None, m("assistant", "Honey.", 0), m("assistant", "Sky.", 1))),
          m("assistant", "I don't know.", 1)),
        # 3: a ranked reply with null text: only its own pair goes
        m("prompter", "Name a colour.", None, m("assistant", "Blue.", 0), m("assistant", "Red.", 1), m("assistant", None, 2)),
        # 4: the best-ranked reply is unusable: every pair of the group goes, and the tree is a reject
        m("prompter", "Capital of France?", None, m("assistant", ["Paris."], 0), m("assistant", "Lyon.", 1)),
        # 5: an unranked, non-text user turn under an assistant, with nothing ranked below: costs nothing
        m("prompter", "Say hi.", None, m("assistant", "Hi!", 0, m("prompter", {"x": 1})), m("assistant", "No.", 1)),
    ]
    raw = _jsonl(tmp_path / "t.jsonl", [{"prompt": t} for t in trees])
    prefdata.build(raw, tmp_path / "out", config=TREE, test_fraction=0)
    assert _texts(tmp_path / "out") == [
        ("Best pizza topping?", "Mushrooms.", "Glue."),
        ("Name a colour.", "Blue.", "Red."),
        ("Say hi.", "Hi!", "No."),
        ("Tell me a fact.", "Octopuses have three hearts.", "I don't know."),
    ]
    assert _rejects(tmp_path / "out") == [(4, "non_text_content", "prompt.replies[0].text")]
    assert _dropped(tmp_path / "out") == {"missing_field": 1, "non_text_content": 1}
    assert_reconciled(tmp_path / "out")


CUSTOM = '''
import polars as pl

def _turn(role, text):
    return pl.concat_list(pl.struct(pl.lit(role).alias("role"), text.alias("content")))

def sharegpt(lf):
    return lf.select("_record", _turn(" Human", pl.col("q")).alias("prompt"),
                     _turn("gpt", pl.col("g")).alias("chosen"), _turn("wizard", pl.col("b")).alias("rejected"))
'''


def test_custom_message_roles_map_as_in_every_shape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The roles of the message lists a custom function returns were taken as they were: `human`
    and `gpt` were `unknown_role`, and the source's `roles:` was accepted and ignored."""
    (tmp_path / "roles_custom.py").write_text(CUSTOM)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "roles_custom", raising=False)
    raw = _jsonl(tmp_path / "r.jsonl", [{"q": f"q{i}", "g": f"good{i}", "b": f"bad{i}"} for i in range(2)])
    source = {"shape": "custom", "function": "roles_custom:sharegpt"}
    prefdata.build(raw, tmp_path / "bare", config={"sources": [source]}, test_fraction=0)
    got = rejects(tmp_path / "bare").select("reason", "detail").rows()
    assert got == [("unknown_role", "rejected has a turn with role 'wizard'")] * 2  # human and gpt were mapped
    prefdata.build(raw, tmp_path / "out", config={"sources": [{**source, "roles": {"wizard": "assistant"}}]}, test_fraction=0)
    out = pairs(tmp_path / "out")
    assert out.height == 2 and _rejects(tmp_path / "out") == []
    roles = {(p[0]["role"], c[0]["role"], r[0]["role"]) for p, c, r in zip(out["prompt"], out["chosen"], out["rejected"])}
    assert roles == {("user", "assistant", "assistant")}
    assert_reconciled(tmp_path / "out")


PAIRWISE = {"sources": [{"shape": "pairwise", "columns": {"prompt": "q", "response_a": "answer_a", "response_b": "answer_b", "winner": "w"},
                         "winner_values": {"a": [1], "b": [2]}, "models_from": {"field": "cmp", "separator": "_"}}]}


def test_a_missing_or_blank_pairwise_response_names_its_raw_field(tmp_path: Path) -> None:
    """Left to the generic rules, after the verdict swapped the responses, the field was `chosen` or
    `rejected`: no field of the data, and not saying which response was missing."""
    recs = [
        {"q": "Q1", "answer_a": None, "answer_b": "B", "w": 2, "cmp": "m1_m2"},
        {"q": "Q2", "answer_a": "A", "answer_b": None, "w": 2, "cmp": "m1_m2"},
        {"q": "Q3", "answer_a": "  ", "answer_b": "B", "w": 1, "cmp": "m1_m2"},
        {"q": "Q4", "answer_a": "A", "answer_b": "", "w": 1, "cmp": "m1_m2"},
    ]
    prefdata.build(_jsonl(tmp_path / "p.jsonl", recs), tmp_path / "out", config=PAIRWISE, test_fraction=0)
    assert rejects(tmp_path / "out").sort("record").select("record", "reason", "field", "detail").rows() == [
        (1, "missing_field", "answer_a", "answer_a is missing"),
        (2, "missing_field", "answer_b", "answer_b is missing"),
        (3, "empty_field", "answer_a", "answer_a has an empty turn"),
        (4, "empty_field", "answer_b", "answer_b has an empty turn"),
    ]
    assert_reconciled(tmp_path / "out")


def test_a_non_text_part_in_a_pairwise_response_names_that_response(tmp_path: Path) -> None:
    """README pairwise: a bad response "is a reject naming its raw field (`response1`)": an image part in
    the B response is non_text_content on ``answer_b``, in the A response on ``answer_a``."""
    def said(*parts: dict) -> list[dict]:
        return [{"role": "assistant", "content": list(parts)}]

    image = {"type": "image_url", "image_url": {"url": "http://x/y.png"}}
    recs = [{"q": "Say hi.", "answer_a": said({"type": "text", "text": "Hi!"}), "answer_b": said({"type": "text", "text": "Hello!"}), "w": 1},
            {"q": "Say bye.", "answer_a": said({"type": "text", "text": "Bye!"}), "answer_b": said(image), "w": 1},
            {"q": "Say yes.", "answer_a": said(image), "answer_b": said({"type": "text", "text": "Yes."}), "w": 2}]
    prefdata.build(_jsonl(tmp_path / "p.jsonl", recs), tmp_path / "out", config=PAIRWISE, test_fraction=0)
    assert _rejects(tmp_path / "out") == [(2, "non_text_content", "answer_b"), (3, "non_text_content", "answer_a")]
    assert pairs(tmp_path / "out").height == 1


def test_models_from_trims_the_names(tmp_path: Path) -> None:
    """The spaces around the separator are no part of the names: "m1 _ m2" gave " m2" and "m1 "."""
    recs = [{"q": "Q1", "answer_a": "A", "answer_b": "B", "w": 1, "cmp": "m1 _ m2"}, {"q": "Q2", "answer_a": "A", "answer_b": "B", "w": 2, "cmp": " m1_m2 "}]
    prefdata.build(_jsonl(tmp_path / "p.jsonl", recs), tmp_path / "out", config=PAIRWISE, test_fraction=0)
    assert sorted(pairs(tmp_path / "out").select("chosen_model", "rejected_model").rows()) == [("m1", "m2"), ("m2", "m1")]


def test_a_tool_message_pairs_its_ranked_replies(tmp_path: Path) -> None:
    """README tree: "every message with two or more ranked assistant replies" is a pairing parent, a
    tool result too (a prompt may end in a user or tool turn): its replies were not paired."""
    tree = m("prompter", "Weather in Paris?", None,
             m("assistant", "weather(city='Paris')", None,
               m("tool", '{"temp": 21}', None, m("assistant", "21 C, sunny.", 0), m("assistant", "It is cold.", 1))))
    prefdata.build(_jsonl(tmp_path / "t.jsonl", [{"prompt": tree}]), tmp_path / "out", config=TREE, test_fraction=0)
    assert _rejects(tmp_path / "out") == []
    got = pairs(tmp_path / "out")
    assert [(t["role"], t["content"]) for t in got["prompt"][0]] == [
        ("user", "Weather in Paris?"), ("assistant", "weather(city='Paris')"), ("tool", '{"temp": 21}')]
    assert _texts(tmp_path / "out") == [('{"temp": 21}', "21 C, sunny.", "It is cold.")]


@pytest.mark.parametrize("first", ["Mushrooms.", "Basil."])
def test_of_replies_tied_for_the_best_rank_the_first_is_chosen(tmp_path: Path, first: str) -> None:
    """README tree: replies tied for the best rank are never paired with each other, and the first of
    them in the raw list is chosen against each strictly worse one (so the pairs follow the data, not
    a sort's tie order)."""
    other = "Basil." if first == "Mushrooms." else "Mushrooms."
    tree = m("prompter", "Best pizza topping?", None, m("assistant", first, 0), m("assistant", other, 0), m("assistant", "Glue.", 1))
    prefdata.build(_jsonl(tmp_path / "t.jsonl", [{"prompt": tree}]), tmp_path / "out", config=TREE, test_fraction=0)
    assert _texts(tmp_path / "out") == [("Best pizza topping?", first, "Glue.")]


@pytest.mark.parametrize("deleted", ["false", "False", 0, None])
def test_only_deleted_true_deletes_a_tree_message(tmp_path: Path, deleted: object) -> None:
    """README tree: deleted messages (``deleted: true``) are left out with their subtrees; any other
    value, the text "false" included, is not a deletion."""
    def tree(flag: object) -> dict:
        return m("prompter", "Best pizza topping?", None, m("assistant", "Mushrooms.", 0), m("assistant", "Glue.", 1, deleted=flag), deleted=flag)

    prefdata.build(_jsonl(tmp_path / "t.jsonl", [{"prompt": tree(deleted)}]), tmp_path / "out", config=TREE, test_fraction=0)
    assert _rejects(tmp_path / "out") == [] and _texts(tmp_path / "out") == [("Best pizza topping?", "Mushrooms.", "Glue.")]
    prefdata.build(_jsonl(tmp_path / "d.jsonl", [{"prompt": tree(True)}]), tmp_path / "del", config=TREE, test_fraction=0)
    assert _rejects(tmp_path / "del") == [(1, "filtered_out", "prompt")]


def test_skip_deleted_false_keeps_deleted_tree_messages(tmp_path: Path) -> None:
    """README tree: deleted messages are left out (config ``skip_deleted``, on by default);
    with ``skip_deleted: false`` a ``deleted: true`` reply is an ordinary one and pairs."""
    tree = m("prompter", "Best pizza topping?", None,
             m("assistant", "Mushrooms.", 0), m("assistant", "Glue.", 1, deleted=True), m("assistant", "Pineapple.", 2))
    raw = _jsonl(tmp_path / "t.jsonl", [{"prompt": tree}])
    for skip, rejected in ((True, ["Pineapple."]), (False, ["Glue.", "Pineapple."])):
        config = {"sources": [{**TREE["sources"][0], "skip_deleted": skip}]}
        prefdata.build(raw, tmp_path / f"out_{skip}", config=config, test_fraction=0)
        assert [r for _, _, r in _texts(tmp_path / f"out_{skip}")] == rejected, skip
        assert _rejects(tmp_path / f"out_{skip}") == []


@pytest.mark.parametrize(("user", "assistant"), [("Prompter", "Assistant"), (" PROMPTER", "ASSISTANT ")])
def test_tree_roles_are_read_trimmed_and_in_any_case(tmp_path: Path, user: str, assistant: str) -> None:
    """README tree: "Roles map as in every shape" (trimmed, case-insensitive, messages.ROLE_ALIASES):
    ``Prompter``/``ASSISTANT `` pair as ``prompter``/``assistant`` do, never ``unknown_role``."""
    tree = m(user, "Best pizza topping?", None, m(assistant, "Mushrooms.", 0), m(assistant, "Glue.", 1))
    prefdata.build(_jsonl(tmp_path / "t.jsonl", [{"prompt": tree}]), tmp_path / "out", config=TREE, test_fraction=0)
    assert _rejects(tmp_path / "out") == [] and _dropped(tmp_path / "out") == {}
    got = pairs(tmp_path / "out")
    assert [(t["role"], t["content"]) for t in got["prompt"][0]] == [("user", "Best pizza topping?")]
    assert _texts(tmp_path / "out") == [("Best pizza topping?", "Mushrooms.", "Glue.")]


def test_ranked_replies_under_an_assistant_message_form_no_pair(tmp_path: Path) -> None:
    """README: a prompt ends in a user or tool turn, so ranked assistant replies under an *assistant*
    message are no pairing parent: they give no pair and no ``bad_turn_order`` drop is counted."""
    tree = m("prompter", "Tell me a joke.", None,
             m("assistant", "Why did the chicken cross the road?", 0,
               m("assistant", "To get to the other side.", 0), m("assistant", "Because.", 1)),
             m("assistant", "No.", 1))
    prefdata.build(_jsonl(tmp_path / "t.jsonl", [{"prompt": tree}]), tmp_path / "out", config=TREE, test_fraction=0)
    assert _texts(tmp_path / "out") == [("Tell me a joke.", "Why did the chicken cross the road?", "No.")]
    assert _dropped(tmp_path / "out") == {} and _rejects(tmp_path / "out") == []


def test_a_tree_whose_root_is_blank_is_a_reject_for_that(tmp_path: Path) -> None:
    """README tree: "one whose root cannot be a turn is a reject for that": a blank root text is
    ``empty_field`` on the root's text, with ranked replies or none (never ``no_ranked_replies``)."""
    trees = [m("prompter", "  ", None, m("assistant", "Hm?")),
             m("prompter", " ", None, m("assistant", "A", 0), m("assistant", "B", 1))]
    prefdata.build(_jsonl(tmp_path / "t.jsonl", [{"prompt": t} for t in trees]), tmp_path / "out", config=TREE, test_fraction=0)
    assert _rejects(tmp_path / "out") == [(1, "empty_field", "prompt.text"), (2, "empty_field", "prompt.text")]


def test_llamafactory_sharegpt_tool_roles(tmp_path: Path) -> None:
    """LLaMA-Factory's ShareGPT ``from`` values: ``function_call`` is the model's call (an assistant turn)
    and ``observation`` the tool's result (a tool turn), as messages.ROLE_ALIASES maps them."""
    conv = [{"from": "human", "value": "Weather in Paris?"}, {"from": "function_call", "value": '{"name": "weather"}'},
            {"from": "observation", "value": '{"temp": 21}'}]
    rows = [{"conversations": conv, "chosen": {"from": "gpt", "value": "21 C."}, "rejected": {"from": "gpt", "value": "No idea."}}]
    config = {"sources": [{"shape": "preference", "columns": {"prompt": "conversations", "chosen": "chosen", "rejected": "rejected"}}]}
    prefdata.build(_jsonl(tmp_path / "s.jsonl", rows), tmp_path / "out", config=config, test_fraction=0)
    assert _rejects(tmp_path / "out") == []
    assert [(t["role"], t["content"]) for t in pairs(tmp_path / "out")["prompt"][0]] == [
        ("user", "Weather in Paris?"), ("assistant", '{"name": "weather"}'), ("tool", '{"temp": 21}')]


PARTS = {"sources": [{"shape": "preference", "columns": {"prompt": "p", "chosen": "good", "rejected": "bad"}}]}


def _said(*parts: dict) -> list[dict]:
    return [{"role": "assistant", "content": list(parts)}]


def test_content_parts_without_a_type_are_text_joined_by_line_breaks(tmp_path: Path) -> None:
    """A content part with no ``type`` (``{"text": ...}``) is text, as a ``"text"`` part is, and the text
    parts of one message are joined with a line break."""
    rows = [{"p": "hi", "good": _said({"text": "Hello"}, {"type": "text", "text": "there"}), "bad": _said({"type": "text", "text": "Go away."})}]
    prefdata.build(_jsonl(tmp_path / "c.jsonl", rows), tmp_path / "out", config=PARTS, test_fraction=0)
    assert _rejects(tmp_path / "out") == []
    assert [(t["role"], t["content"]) for t in pairs(tmp_path / "out")["chosen"][0]] == [("assistant", "Hello\nthere")]


def test_a_non_text_part_is_named_by_the_field_that_holds_it(tmp_path: Path) -> None:
    """Every reject names its raw field: an image part in ``rejected`` (here ``bad``) was named ``good``."""
    image = {"type": "image", "text": None}
    rows = [{"p": "q1", "good": _said({"type": "text", "text": "fine"}), "bad": _said({"type": "text", "text": "look"}, image)},
            {"p": "q2", "good": _said({"type": "text", "text": "see"}, image), "bad": _said({"type": "text", "text": "no"})}]
    prefdata.build(_jsonl(tmp_path / "c.jsonl", rows), tmp_path / "out", config=PARTS, test_fraction=0)
    assert _rejects(tmp_path / "out") == [(1, "non_text_content", "bad"), (2, "non_text_content", "good")]


def test_a_non_text_part_in_the_prompt_is_a_reject_naming_the_prompt_field(tmp_path: Path) -> None:
    """README: non-text content is never coerced: an image part in a preference *prompt* list is
    non_text_content on the raw prompt field, as in chosen or rejected, not dropped to leave a pair
    whose prompt lost what the question was about."""
    question = [{"role": "user", "content": [{"type": "text", "text": "What is in this picture?"},
                                             {"type": "image_url", "image_url": {"url": "http://x/cat.png"}}]}]
    plain = [{"role": "user", "content": [{"type": "text", "text": "Say hi."}]}]
    rows = [{"p": plain, "good": _said({"type": "text", "text": "Hi!"}), "bad": _said({"type": "text", "text": "No."})},
            {"p": question, "good": _said({"type": "text", "text": "A cat."}), "bad": _said({"type": "text", "text": "A dog."})}]
    prefdata.build(_jsonl(tmp_path / "c.jsonl", rows), tmp_path / "out", config=PARTS, test_fraction=0)
    assert _rejects(tmp_path / "out") == [(2, "non_text_content", "p")]
    assert _texts(tmp_path / "out") == [("Say hi.", "Hi!", "No.")]


@pytest.mark.parametrize("blank", ["", "  \n"])
def test_a_blank_system_turn_of_a_message_list_is_dropped(tmp_path: Path, blank: str) -> None:
    """README: a system message with blank text says nothing and is left off, "as in every shape"; a
    whitespace-only one in a prompt's message list was an empty_field reject."""
    rows = [{"p": [{"role": "system", "content": blank}, {"role": "user", "content": "hi"}], "good": "hello", "bad": "go"}]
    prefdata.build(_jsonl(tmp_path / "s.jsonl", rows), tmp_path / "out", config=PARTS, test_fraction=0)
    assert _rejects(tmp_path / "out") == []
    assert [(t["role"], t["content"]) for t in pairs(tmp_path / "out")["prompt"][0]] == [("user", "hi")]


def test_a_feedback_conversation_holding_only_the_response_has_no_prompt(tmp_path: Path) -> None:
    """A conversation with nothing before the rated response is ``missing_field`` naming the
    conversation field ("no prompt"), feedback's own check before pairing, not a generic empty_field."""
    rows = [{"messages": [{"role": "assistant", "content": "Hello there"}], "label": "up"},
            {"messages": [{"role": "assistant", "content": "Go away"}], "label": "down"}]
    config = {"sources": [{"shape": "feedback", "columns": {"conversation": "messages", "label": "label"}, "labels": {"up": ["up"], "down": ["down"]}}]}
    prefdata.build(_jsonl(tmp_path / "f.jsonl", rows), tmp_path / "out", config=config, test_fraction=0)
    assert _rejects(tmp_path / "out") == [(1, "missing_field", "messages"), (2, "missing_field", "messages")]
    assert rejects(tmp_path / "out")["detail"].to_list() == ["no prompt", "no prompt"]
    assert pairs(tmp_path / "out").height == 0


def test_a_reject_row_of_the_adapter_carries_no_pair_columns() -> None:
    """shapes/base.py: an adapter's reject is "``_reason`` set, the pair columns null"
    (null_pairs_where_rejected clears prompt, chosen and rejected): a record rejected for a score that
    is no number keeps none of its texts on the reject row, its `rejected` text included."""
    import polars as pl

    from prefdata.io.decode import DecodeSpec, decode
    from prefdata.shapes import make_shape
    from prefdata.shapes.detect import detect
    from prefdata.shapes.fields import field_specs

    recs = [{"prompt": "q1", "chosen": "good", "rejected": "bad", "score_chosen": 5, "score_rejected": 1},
            {"prompt": "q2", "chosen": "good2", "rejected": "bad2", "score_chosen": "lots", "score_rejected": 1}]
    shape = make_shape(detect(recs, name="x"), recs)
    lines = pl.DataFrame({"_record": [0, 1], "_line": [json.dumps(r) for r in recs]}, schema={"_record": pl.Int64, "_line": pl.String})
    out = shape.adapt(decode(lines, DecodeSpec(field_specs(shape.leaves()))).lazy()).collect().sort("_record")
    assert out["_reason"].to_list() == [None, "wrong_type"]
    # the pair row keeps its texts, the reject row none
    assert out.select(pl.col(c).is_null() for c in ("prompt", "chosen", "rejected")).rows() == [(False, False, False), (True, True, True)]

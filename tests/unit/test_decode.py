"""Strict decoding: text is never silently coerced, and one bad line never costs its batch."""

from __future__ import annotations

import json

import polars as pl
import pytest

from prefdata.errors import ConfigError
from prefdata.io.decode import DecodeSpec, column_of
from prefdata.io.decode import decode as decode_columns
from prefdata.shapes.fields import Leaf, field_specs, parse_path
from prefdata.shapes.messages import MESSAGES, TEXT

SPEC = DecodeSpec(
    field_specs(
        [
            Leaf("prompt", TEXT.dtype, TEXT.strict),
            Leaf("turns", MESSAGES.dtype, MESSAGES.strict),
            Leaf("meta.score", pl.String),
        ]
    )
)



def decode(lines: pl.DataFrame, spec: DecodeSpec) -> pl.DataFrame:
    """``decode``'s frame, each field's column (:func:`column_of`: marked, so no raw field shares a
    column with the decoder's or a shape's own) under the field's name, as these tests read them."""
    out = decode_columns(lines, spec)
    assert all(column_of(n) in out.columns and n not in out.columns for n in spec.names)
    return out.rename({column_of(n): n for n in spec.names})

def _decode(*records: object) -> pl.DataFrame:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    frame = pl.DataFrame({"_record": list(range(1, len(lines) + 1)), "_line": lines}, schema={"_record": pl.Int64, "_line": pl.String})
    return decode(frame, SPEC)


@pytest.mark.parametrize(
    "value,kind",
    [(True, "boolean"), (5, "number"), (1.0000000918, "number"), (-5, "number"), (-0.5, "number"), (-2e-7, "number"),
     (["a"], "array"), ({"a": 1}, "object")],
)
def test_non_string_text_is_a_reject_not_a_coercion(value: object, kind: str) -> None:
    """README (rejects): `non_text_content` is a JSON true, number, list or object where text belongs,
    "never coerced"; a negative number too (polars reads ``-5`` into a text column as "-5")."""
    out = _decode({"prompt": "fine"}, {"prompt": value}).row(1, named=True)
    assert out["_reason"] == "non_text_content"
    assert out["_field"] == "prompt"
    assert kind in out["_detail"]
    assert out["prompt"] is None


@pytest.mark.parametrize("text", ["true", "false", "5", "-1.5e3", "0"])
def test_strings_that_look_like_scalars_stay_text(text: str) -> None:
    out = _decode({"prompt": text}).row(0, named=True)
    assert out["_reason"] is None and out["prompt"] == text


def test_text_inside_message_lists_is_strict_too() -> None:
    out = _decode({"turns": [{"role": "user", "content": "ok"}, {"role": "assistant", "content": False}]}).row(0, named=True)
    assert out["_reason"] == "non_text_content" and out["_field"] == "turns[1].content"
    # the detail names the path too, as the decoder's other details do (`history: expected an array, ...`)
    assert out["_detail"] == "turns[1].content: expected text, got boolean false"


def test_lenient_scalars_keep_their_json_text() -> None:
    out = _decode({"meta": {"score": 4.5}}, {"meta": {"score": True}}, {"meta": {"score": "7"}})
    assert out.get_column("meta").struct.field("score").to_list() == ["4.5", "true", "7"]
    assert out.get_column("_reason").is_null().all()


def test_malformed_lines_only_reject_themselves() -> None:
    out = _decode({"prompt": "a"}, '{"prompt": "b', "null", "[1]", {"prompt": "c"}, '"str"')
    assert out.get_column("_reason").to_list() == [None, "malformed_json", "malformed_record", "malformed_record", None, "malformed_record"]
    assert out.get_column("prompt").to_list() == ["a", None, None, None, "c", None]
    assert out.get_column("_record").to_list() == [1, 2, 3, 4, 5, 6]


def test_structure_mismatch_is_wrong_type() -> None:
    out = _decode({"turns": "a string"}, {"meta": [1]}).to_dicts()
    assert [r["_reason"] for r in out] == ["wrong_type", "wrong_type"]
    assert [r["_field"] for r in out] == ["turns", "meta"]


TEXT_LISTS = DecodeSpec(field_specs([Leaf("history", pl.List(pl.List(pl.String)), (("*", "*"),)), Leaf("texts", pl.List(pl.String), (("*",),))]))


@pytest.mark.parametrize(("record", "where", "kind"), [
    ({"history": ""}, "history", "string"),
    ({"history": "x"}, "history", "string"),
    ({"history": [["a", "b"], "c"]}, "history[1]", "string"),
    ({"texts": "Apple."}, "texts", "string"),
    ({"texts": 5}, "texts", "number"),
])
def test_a_scalar_where_a_list_of_texts_belongs_is_not_read_as_a_one_item_list(record: dict, where: str, kind: str) -> None:
    """polars reads "x" where a list of texts belongs as ["x"] (and [["x"]] a level deeper), which a
    shape would then call a history item holding one text: the record says it is no list at all."""
    frame = pl.DataFrame({"_record": [1, 2], "_line": [json.dumps({"history": [["u", "a"]], "texts": ["t"]}), json.dumps(record)]})
    good, bad = decode(frame, TEXT_LISTS).to_dicts()
    assert (bad["_reason"], bad["_field"], bad["_detail"]) == ("wrong_type", where, f"{where}: expected an array, got {kind}")
    assert good["_reason"] is None and (good["history"], good["texts"]) == ([["u", "a"]], ["t"])  # a real one-item list stays one


#: A history read as LLaMA-Factory writes it, where a blank string is a missing history (no earlier turns).
OPTIONAL_HISTORY = DecodeSpec(field_specs([Leaf("history", pl.List(pl.List(pl.String)), (("*", "*"),), blank_is_missing=True), Leaf("meta.turns", pl.List(pl.List(pl.String)), blank_is_missing=True)]))


@pytest.mark.parametrize(("record", "reason", "detail"), [
    ({"history": ""}, None, None),
    ({"history": " \t\n\u3000"}, None, None),
    ({"meta": {"turns": ""}}, None, None),
    ({"history": "x"}, "wrong_type", "history: expected an array, got string"),
    ({"history": " x "}, "wrong_type", "history: expected an array, got string"),
    ({"history": "\u200b"}, "wrong_type", "history: expected an array, got string"),  # invisible, not White_Space: a score reads it so too
    # \x1c-\x1f are Python's \s but not Unicode White_Space, which polars' strip_chars (a blank score) uses
    ({"history": "\x1c"}, "wrong_type", "history: expected an array, got string"),
    ({"history": "\x1f "}, "wrong_type", "history: expected an array, got string"),
    ({"history": 0}, "wrong_type", "history: expected an array, got number"),
    ({"history": [[""]]}, None, None),  # a real list: the shape says its item holds one text
    ({"meta": {"turns": "x"}}, "wrong_type", "meta.turns: expected an array, got string"),
])
def test_a_blank_string_where_an_optional_list_belongs_is_missing(record: dict, reason: str | None, detail: str | None) -> None:
    """A converter writes an empty field as `"history": ""`: missing, as null is (a blank score is a
    missing score), not a string where a list belongs. Text in it is still no list."""
    frame = pl.DataFrame({"_record": [1, 2], "_line": [json.dumps({"history": [["u", "a"]]}), json.dumps(record)]})
    good, got = decode(frame, OPTIONAL_HISTORY).to_dicts()
    assert (got["_reason"], got["_detail"]) == (reason, detail)
    if reason is None and "history" in record and isinstance(record["history"], str):
        assert got["history"] is None
    if reason is None and "meta" in record:
        assert got["meta"]["turns"] is None
    assert good["_reason"] is None and good["history"] == [["u", "a"]]


#: Lists of single values that are not text a pair needs: a parallel list of scores, a custom
#: source's tags, the list a ``scores[0]`` path or a filter on ``tags[0]`` reads, one inside an object
#: and one inside a list of objects.
VALUE_LISTS = DecodeSpec(
    field_specs([Leaf("scores", pl.List(pl.String)), Leaf("meta.tags", pl.List(pl.String)), Leaf("items", pl.List(pl.Struct({"ids": pl.List(pl.String)})))])
)


@pytest.mark.parametrize(("record", "where", "kind"), [
    ({"scores": 7}, "scores", "number"),
    ({"scores": "7"}, "scores", "string"),
    ({"scores": True}, "scores", "boolean"),
    ({"meta": {"tags": "en"}}, "meta.tags", "string"),
    ({"items": [{"ids": "x"}]}, "items[0].ids", "string"),
])
def test_a_scalar_where_a_list_of_values_belongs_is_not_a_one_item_list(record: dict, where: str, kind: str) -> None:
    """Lists the decoder holds to no text type were not checked at all: ``"scores": 7`` was read as
    ``["7"]`` (so ``scores[0]`` as 7), and a custom source's function got a list the data never had."""
    frame = pl.DataFrame({"_record": [1, 2], "_line": [json.dumps({"scores": ["1"], "meta": {"tags": ["en"]}, "items": [{"ids": ["i"]}]}), json.dumps(record)]})
    good, bad = decode(frame, VALUE_LISTS).to_dicts()
    assert (bad["_reason"], bad["_field"], bad["_detail"]) == ("wrong_type", where, f"{where}: expected an array, got {kind}")
    assert good["_reason"] is None and (good["scores"], good["meta"], good["items"]) == (["1"], {"tags": ["en"]}, [{"ids": ["i"]}])


def test_real_one_item_lists_decode_as_polars_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-item list the raw line holds is checked against the line, not decoded again exactly:
    every record holding one (``"tags": ["en"]``) would cost nine times the decode."""
    from prefdata.io import decode as decoder

    exact: list[str] = []
    slow = decoder._decode_slow
    monkeypatch.setattr(decoder, "_decode_slow", lambda lines, spec: (exact.extend(lines["_line"]), slow(lines, spec))[1])
    lines = [json.dumps({"scores": [str(i)], "meta": {"tags": ["en"]}}) for i in range(5)] + ['{"scores": [1.0]}']
    out = decode(pl.DataFrame({"_record": list(range(6)), "_line": lines}), VALUE_LISTS)
    assert exact == [] and out["_reason"].null_count() == 6
    assert out["scores"].to_list() == [["0"], ["1"], ["2"], ["3"], ["4"], ["1"]]  # 1.0 as polars writes it, as in [1.0, 2.0]
    assert out["meta"].struct.field("tags").to_list() == [["en"]] * 5 + [None]


@pytest.mark.parametrize(("item", "read"), [("7.0", "7"), ("1e+20", "100000000000000000000"), ("-0.0", "-0"), ("1E2", "100"), ("null", None)])
def test_a_one_item_list_whose_item_polars_writes_otherwise_is_not_read_again(monkeypatch: pytest.MonkeyPatch, item: str, read: str | None) -> None:
    """The JSONPath gives a number as the line writes it (``7.0``), polars as it reads it (``"7"``),
    and a ``null`` item as null: every record of ``"ratings": [7.0]`` (how Python writes a float) was
    decoded again one by one, 1.5x the build's CPU. The same scalar where the list belongs stays a
    wrong_type reject."""
    from prefdata.io import decode as decoder

    exact: list[str] = []
    slow = decoder._decode_slow
    monkeypatch.setattr(decoder, "_decode_slow", lambda lines, spec: (exact.extend(lines["_line"]), slow(lines, spec))[1])
    lines = [f'{{"scores": [{item}]}}', f'{{"scores": [{item}, {item}]}}', f'{{"scores": {item}}}']
    out = decode(pl.DataFrame({"_record": [1, 2, 3], "_line": lines}), VALUE_LISTS).to_dicts()
    assert exact == ([] if item == "null" else [lines[2]])  # only the scalar is read again (a scalar null is no list)
    assert (out[0]["_reason"], out[0]["scores"], out[1]["scores"]) == (None, [read], [read, read])
    if item == "null":
        assert out[2]["_reason"] is None and out[2]["scores"] is None
    else:
        assert (out[2]["_reason"], out[2]["_detail"]) == ("wrong_type", "scores: expected an array, got number")


def test_paths() -> None:
    assert parse_path("a.b[2].c") == ("a", "b", 2, "c")
    with pytest.raises(ConfigError):
        parse_path("[0]")


@pytest.mark.parametrize("bad", ['{"prompt": "cut', '{"turns": "a string"}', "[1]", '{"meta": {"score": [1]}}'])
def test_a_record_decodes_the_same_whatever_else_its_batch_holds(bad: str) -> None:
    """polars and orjson differ on duplicate keys and on numbers read as text; a line polars refuses
    must not switch the batch's other records from one to the other."""
    good = ['{"prompt": "first", "prompt": "second"}', '{"meta": {"score": 1.0}}', '{"meta": {"score": 1e5}}', '{"prompt": "plain"}']
    alone = _decode(*good)
    mixed = _decode(good[0], good[1], bad, good[2], good[3])
    assert mixed.get_column("_reason").is_not_null().to_list() == [False, False, True, False, False]
    assert mixed.filter(pl.col("_reason").is_null()).drop("_record").equals(alone.drop("_record"))
    assert alone.get_column("prompt").to_list()[0] == "first"  # polars keeps the first of duplicate keys

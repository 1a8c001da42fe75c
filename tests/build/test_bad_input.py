"""Bad input never crashes a build and never vanishes: it becomes a reject with a reason, or a skipped
file with a warning; RAW with nothing readable is a clear error."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import unicodedata
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

import prefdata
from prefdata.cli import cli
from prefdata.errors import InputError, OutputError
from tests.support.dataset import assert_reconciled, manifest, pairs, rejects

GOOD = {"prompt": "Say hi.", "chosen": "Hi!", "rejected": "No."}


def _line(obj: object) -> bytes:
    return json.dumps(obj).encode() + b"\n"


@pytest.fixture()
def messy_raw(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "logs.jsonl").write_bytes(
        _line(GOOD)  # 1
        + b'{"prompt": "Truncated?", "chosen": "Ye\n'  # 2 truncated JSON line
        + b"\xff\xfe\x00\x9c binary garbage \x80\x81\n"  # 3 not UTF-8
        + _line({"prompt": "Wrong type", "chosen": True, "rejected": "No."})  # 4 boolean where text belongs
        + _line({"prompt": {"text": "nested"}, "chosen": "a", "rejected": "b"})  # 5 object where text belongs
        + _line([1, 2, 3])  # 6 not an object
        + b"\n"  # 7 blank line: not a record
        + _line({"prompt": "Missing rejected", "chosen": "x"})  # 8
        + _line({"prompt": "Numbers", "chosen": 42, "rejected": "forty-two"})  # 9 number where text belongs
        + _line({"prompt": "Second good", "chosen": "Yes.", "rejected": "No."})  # 10
    )
    (raw / "empty.jsonl").write_bytes(b"")
    (raw / "notes.txt").write_text("not data")
    (raw / "blank.json").write_text("   \n\n")
    return raw


def test_bad_records_become_rejects_with_reasons(messy_raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = prefdata.build(messy_raw, out)
    by_record = {r["record"]: r for r in rejects(out).iter_rows(named=True)}
    assert {k: v["reason"] for k, v in by_record.items()} == {
        2: "malformed_json",
        3: "invalid_utf8",
        4: "non_text_content",
        5: "non_text_content",
        6: "malformed_record",
        8: "missing_field",
        9: "non_text_content",
    }
    assert by_record[4]["field"] == "chosen" and "boolean" in by_record[4]["detail"]
    assert by_record[9]["field"] == "chosen" and "number" in by_record[9]["detail"]
    assert by_record[5]["field"] == "prompt"
    assert by_record[8]["field"] == "rejected"
    assert by_record[2]["raw"] == '{"prompt": "Truncated?", "chosen": "Ye'
    assert by_record[3]["raw"].startswith("\\xff\\xfe")  # the bytes, shown losslessly
    assert sorted(pairs(out).select(pl.col("lineage").list.first().struct.field("record")).to_series()) == [1, 10]
    m = manifest(out)
    assert m["inputs"][0]["blank_lines"] == 1 and m["inputs"][0]["records"] == 9
    skipped = {s["path"]: s["reason"] for s in m["skipped_files"]}
    assert skipped["empty.jsonl"] == "empty file"
    assert skipped["notes.txt"].startswith("unknown extension '.txt'")
    assert "whitespace" in skipped["blank.json"]
    assert len(result.warnings) == 3
    assert_reconciled(out)


def test_cli_reports_skipped_files_and_succeeds(messy_raw: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["build", str(messy_raw), str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "notes.txt: skipped (unknown extension '.txt'" in res.stderr
    assert "9 records read -> 2 pairs" in res.stdout


def test_the_build_summary_lists_reject_reasons_most_frequent_first(tmp_path: Path) -> None:
    """`prefdata build` prints the reject reasons most frequent first, ties by name, so the reason that
    cost the most records tops the list (here the reverse of name order)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "x.jsonl").write_bytes(
        _line(GOOD)
        + b"{bad\n"  # malformed_json: 1
        + b"[1]\n[2]\n[3]\n"  # malformed_record: 3
        + _line({"prompt": "Second", "chosen": "Yes.", "rejected": "No."})
        + _line({"prompt": "p3", "chosen": "a"}) + _line({"prompt": "p4", "chosen": "a"})  # missing_field: 2
        + _line({"prompt": "p5", "chosen": "a", "rejected": "a"}) + _line({"prompt": "p6", "chosen": "b", "rejected": "b"})  # identical_responses: 2
    )
    res = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith("10 records read -> 2 pairs (") and lines[0].endswith(", 8 rejected")
    assert lines[1:5] == ["  malformed_record: 3", "  identical_responses: 2", "  missing_field: 2", "  malformed_json: 1"]


def test_the_build_summary_says_one_pair_in_the_singular(tmp_path: Path) -> None:
    """The summary says "1 record read -> 1 pair", singular for pairs as for records."""
    (tmp_path / "a.jsonl").write_bytes(_line(GOOD))
    res = CliRunner().invoke(cli, ["build", str(tmp_path / "a.jsonl"), str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("1 record read -> 1 pair (train "), res.stdout


def test_nothing_readable_is_a_clear_error(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.txt").write_text("hello")
    (raw / "b.jsonl").write_bytes(b"not json\n\xff\n")
    with pytest.raises(InputError, match="nothing readable"):
        prefdata.build(raw, tmp_path / "out")
    res = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out")])
    assert res.exit_code == 2
    assert "nothing readable" in res.stderr and "a.txt" in res.stderr and "b.jsonl" in res.stderr
    assert not (tmp_path / "out").exists()


def test_a_raw_of_only_hidden_files_is_nothing_readable_and_lists_them(tmp_path: Path) -> None:
    """README: hidden files (names starting with '.' or '_') are not read but listed as skipped, so a RAW
    holding only those is "nothing readable" with each one and why, not "holds no files"; an empty
    RAW still says that."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "_x.jsonl").write_bytes(_line(GOOD))
    (raw / ".y.jsonl").write_bytes(_line(GOOD))
    res = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out")])
    assert res.exit_code == 2
    assert f"nothing readable in RAW '{raw}'" in res.stderr and "holds no files" not in res.stderr
    assert "  _x.jsonl: skipped (hidden (the name starts with '.' or '_'), not read)" in res.stderr
    assert "  .y.jsonl: skipped (hidden (the name starts with '.' or '_'), not read)" in res.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    res = CliRunner().invoke(cli, ["build", str(empty), str(tmp_path / "out")])
    assert res.exit_code == 2 and f"RAW directory '{empty}' holds no files" in res.stderr


def test_upper_case_extensions_are_read_like_lower_case_ones(tmp_path: Path) -> None:
    """README: extensions name the format in any case (exports from Windows tools: `LOGS.JSONL`,
    `Data.Jsonl.GZ`): each is read by its format, not skipped as an unknown extension."""
    import gzip

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "LOGS.JSONL").write_bytes(_line(GOOD))
    (raw / "Data.Jsonl.GZ").write_bytes(gzip.compress(_line({"prompt": "Other", "chosen": "Yes.", "rejected": "No."})))
    (raw / "Rows.CSV").write_text("prompt,chosen,rejected\nThird,Yes.,No.\n")
    result = prefdata.build(raw, tmp_path / "out")
    assert result.manifest["skipped_files"] == []
    assert sorted(i["path"] for i in result.manifest["inputs"]) == ["Data.Jsonl.GZ", "LOGS.JSONL", "Rows.CSV"]
    assert result.counts["pairs_written"] == 3


def test_the_hint_for_an_unknown_extension_in_a_subfolder_matches_the_file(tmp_path: Path) -> None:
    """The hint for an unknown extension shows a source `path` that reads the file; in a subfolder of RAW
    that is `'**/*.txt'`, since in a glob `*` does not cross '/' (`'*.txt'` matches RAW's top level only)."""
    raw = tmp_path / "raw"
    (raw / "sub").mkdir(parents=True)
    (raw / "sub" / "logs.txt").write_bytes(_line(GOOD))
    (raw / "top.txt").write_bytes(_line(GOOD))
    (raw / "good.jsonl").write_bytes(_line(GOOD))
    reasons = {s["path"]: s["reason"] for s in prefdata.build(raw, tmp_path / "out").manifest["skipped_files"]}
    assert "(e.g. `path: '**/*.txt'`)" in reasons["sub/logs.txt"]
    assert "(e.g. `path: '*.txt'`)" in reasons["top.txt"]
    assert raw / "sub" / "logs.txt" in list(raw.glob("**/*.txt"))  # the oracle: pathlib's glob
    assert raw / "sub" / "logs.txt" not in list(raw.glob("*.txt"))


def test_missing_raw_is_an_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["build", str(tmp_path / "nope"), str(tmp_path / "out")])
    assert res.exit_code == 2 and "does not exist" in res.stderr


def test_broken_json_array_keeps_the_elements_before_the_break(tmp_path: Path) -> None:
    raw = tmp_path / "a.json"
    raw.write_text('[{"prompt": "p1", "chosen": "c", "rejected": "r"}, {"prompt": "p2", "chosen": "c", "rejected": "r"}, {"prompt": "p3", "ch')
    out = tmp_path / "out"
    prefdata.build(raw, out)
    assert pairs(out).height == 2
    rej = rejects(out).row(0, named=True)
    assert rej["record"] == 3 and rej["reason"] == "malformed_json" and rej["raw"].startswith('{"prompt": "p3"')
    assert_reconciled(out)


def test_a_bad_json_array_element_rejects_only_itself(tmp_path: Path) -> None:
    good = [json.dumps({"prompt": f"p{i}", "chosen": "c", "rejected": "r"}).encode() for i in range(4)]
    bad_json = b'{"prompt": "p", "chosen": tru, "rejected": "r"}'
    bad_utf8 = b'{"prompt": "\xff\xfe", "chosen": "c", "rejected": "r"}'
    raw = tmp_path / "a.json"
    pretty_duplicate = json.dumps(json.loads(good[1]), indent=4).encode()
    elements = [good[0], bad_json, good[1], bad_utf8, good[2], good[3], pretty_duplicate]
    raw.write_bytes(b"[\n  " + b",\n  ".join(elements) + b"\n]\n")
    out = tmp_path / "out"
    prefdata.build(raw, out)
    assert sorted(r["record"] for r in pairs(out).get_column("lineage").explode().to_list()) == [1, 3, 5, 6]
    rej = {r["record"]: r for r in rejects(out).iter_rows(named=True)}
    assert rej[2]["reason"] == "malformed_json" and rej[2]["raw"] == bad_json.decode()
    assert rej[4]["reason"] == "invalid_utf8" and rej[4]["raw"].startswith('{"prompt": "\\xff')
    # a duplicate's raw text is read back from the file: the element exactly as written
    assert rej[7]["reason"] == "duplicate_pair" and rej[7]["raw"] == pretty_duplicate.decode()
    assert_reconciled(out)


def test_a_duplicate_pair_names_the_first_kept_record_it_repeats(tmp_path: Path) -> None:
    """README (rejects): `duplicate_pair` is "the same pair, byte for byte (its `id`), as an earlier record
    (first kept)"; the detail names that record's file and number and the id's start. The id is
    README's recipe (sha256 of the compact, non-ASCII-kept JSON of the pair)."""
    raw = tmp_path / "raw.jsonl"
    first, second = ({"prompt": p, "chosen": "yes", "rejected": "no"} for p in ("q2", "q"))
    raw.write_text("".join(json.dumps(r) + "\n" for r in (first, second, first, second)))  # records 3 and 4 repeat 1 and 2
    out = tmp_path / "out"
    prefdata.build(raw, out)

    def pair_id(record: dict) -> str:
        pair = {"prompt": [{"role": "user", "content": record["prompt"]}],
                "chosen": [{"role": "assistant", "content": record["chosen"]}],
                "rejected": [{"role": "assistant", "content": record["rejected"]}]}
        return hashlib.sha256(json.dumps(pair, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()

    assert sorted(pairs(out).get_column("id").to_list()) == sorted([pair_id(first), pair_id(second)])
    got = rejects(out).sort("record").select("record", "reason", "field", "detail").rows()
    assert got == [
        (3, "duplicate_pair", "id", f"same prompt/chosen/rejected as raw.jsonl record 1 (id {pair_id(first)[:12]})"),
        (4, "duplicate_pair", "id", f"same prompt/chosen/rejected as raw.jsonl record 2 (id {pair_id(second)[:12]})"),
    ]
    assert_reconciled(out)


def test_refuses_to_replace_a_folder_that_is_not_a_dataset(tmp_path: Path, fixtures_dir: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    res = CliRunner().invoke(cli, ["build", str(fixtures_dir / "raw" / "transcript" / "hh.jsonl"), str(out)])
    assert res.exit_code == 2 and "not a prefdata dataset" in res.stderr
    assert (out / "thesis.tex").read_text() == "years of work"


def test_an_absent_field_is_missing_and_an_empty_message_list_is_empty(tmp_path: Path) -> None:
    user, a, b = [{"role": "user", "content": "q"}], [{"role": "assistant", "content": "a"}], [{"role": "assistant", "content": "b"}]
    rows = [
        {"prompt": [], "chosen": a, "rejected": b},
        {"prompt": user, "chosen": a, "rejected": []},
        {"prompt": user, "chosen": a},
        {"prompt": [{"role": "user", "content": "fine"}], "chosen": a, "rejected": b},
    ]
    (tmp_path / "a.jsonl").write_bytes(b"".join(_line(r) for r in rows))
    prefdata.build(tmp_path / "a.jsonl", tmp_path / "out")
    got = rejects(tmp_path / "out").sort("record").select("record", "reason", "field", "detail").rows()
    assert got == [
        (1, "empty_field", "prompt", "prompt has no turns"),
        (2, "empty_field", "rejected", "rejected has no turns"),
        (3, "missing_field", "rejected", "rejected is missing"),
    ]


def test_a_build_that_writes_no_pair_says_so_even_when_quiet(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(_line({"prompt": "p", "chosen": "same", "rejected": "same"}) + _line({"prompt": "q", "chosen": "x"}))
    result = CliRunner().invoke(cli, ["build", str(tmp_path / "a.jsonl"), str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0
    assert "warning: no pair was written: all 2 records were rejected (identical_responses: 1, missing_field: 1)" in result.output


def test_a_build_whose_one_record_is_rejected_says_the_1_record_was(tmp_path: Path) -> None:
    """The empty-build warning's wording for a single record: "the 1 record was rejected", not "all 1 records were"."""
    (tmp_path / "a.jsonl").write_bytes(_line({"prompt": "p", "chosen": "same", "rejected": "same"}))
    result = CliRunner().invoke(cli, ["build", str(tmp_path / "a.jsonl"), str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0
    assert "warning: no pair was written: the 1 record was rejected (identical_responses: 1)" in result.output


def _preference_config(tmp_path: Path, extra: str = "") -> Path:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("sources:\n  - shape: preference\n    path: a.jsonl\n    columns: {prompt: prompt, chosen: chosen, rejected: rejected}\n" + extra, encoding="utf-8")
    return cfg


def test_a_build_with_config_does_not_print_the_config_back(tmp_path: Path) -> None:
    """README: "Without `--config`, each file's shape is detected ... and printed, with the config the build
    used" (to save and pass as --config): a build given --config does not print it back."""
    (tmp_path / "a.jsonl").write_bytes(b"".join(_line({**GOOD, "prompt": f"Say hi {i}."}) for i in range(3)))
    plain = CliRunner().invoke(cli, ["build", str(tmp_path / "a.jsonl"), str(tmp_path / "o1")])
    given = CliRunner().invoke(cli, ["build", str(tmp_path / "a.jsonl"), str(tmp_path / "o2"), "--config", str(_preference_config(tmp_path))])
    assert plain.exit_code == given.exit_code == 0, given.output
    assert "config used (save it as a file and pass --config to edit it):" in plain.stderr
    assert "config used" not in given.output


def test_the_build_command_honours_a_config_that_turns_dedup_off(tmp_path: Path) -> None:
    """README: the config's `dedup` (default true); `--keep-duplicates` keeps all too. Without the flag the CLI
    leaves the config's `dedup: false` in force: 4 records, one an exact copy of another, give 4 pairs."""
    rows = [{**GOOD, "prompt": f"Say hi {i}."} for i in range(3)] + [{**GOOD, "prompt": "Say hi 0."}]
    (tmp_path / "a.jsonl").write_bytes(b"".join(_line(r) for r in rows))
    cfg = _preference_config(tmp_path, "dedup: false\n")
    result = CliRunner().invoke(cli, ["build", str(tmp_path / "a.jsonl"), str(tmp_path / "out"), "--config", str(cfg), "-q"])
    assert result.exit_code == 0, result.output
    assert manifest(tmp_path / "out")["counts"]["pairs_written"] == 4


def test_an_out_path_that_is_not_utf8_is_refused_before_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """polars writes Parquet only to UTF-8 paths: OUT in a Latin-1 folder crashed once all of RAW was
    read ("Object does not have a .write() method", exit 3), also as a relative OUT under such a folder."""
    import os

    (tmp_path / "a.jsonl").write_bytes(_line(GOOD))
    latin1 = os.fsdecode(os.fsencode(tmp_path) + b"/d\xe9")
    os.mkdir(latin1)
    for out, shown in ((os.path.join(latin1, "out"), "d\\xe9/out"), (os.fsdecode(os.fsencode(tmp_path) + b"/out\xe9"), "out\\xe9")):
        result = CliRunner().invoke(cli, ["build", str(tmp_path / "a.jsonl"), out, "-q"])
        assert result.exit_code == 2, result.output
        assert f"{shown}' is not a UTF-8 path" in result.output and "Traceback" not in result.output
        assert not os.path.exists(out)
    monkeypatch.chdir(latin1)
    with pytest.raises(OutputError, match=r"d\\xe9/out' is not a UTF-8 path"):
        prefdata.build(tmp_path / "a.jsonl", "out")


def test_wrong_argument_types_from_python_are_prefdata_errors(tmp_path: Path) -> None:
    from prefdata.check.errors import CheckError
    from prefdata.errors import ConfigError

    with pytest.raises(InputError, match="raw must be a path"):
        prefdata.build(123, tmp_path / "out")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="config must be a YAML file path, a mapping or a BuildConfig, got int"):
        prefdata.build(tmp_path, tmp_path / "out", config=42)  # type: ignore[arg-type]
    with pytest.raises(CheckError, match="the dataset must be a path"):
        prefdata.check(5)  # type: ignore[arg-type]


def test_message_lists_written_out_as_text_are_rejected_not_trained_on(tmp_path: Path) -> None:
    """``Dataset.to_csv`` writes a message column as its Python repr, and hand-made files hold JSON: read
    as text, each would become a response that repeats the whole conversation."""
    import csv

    turns = lambda answer: [{"content": "Question?", "role": "user"}, {"content": answer, "role": "assistant"}]
    raw = tmp_path / "raw.csv"
    with raw.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["prompt", "chosen", "rejected"])
        writer.writerow(["Question?", str(turns("Good.")), str(turns("Bad."))])  # Python repr
        writer.writerow(["Question 2?", json.dumps(turns("Good.")), json.dumps(turns("Bad."))])  # JSON
        writer.writerow(["Question 3?", "[{'a': 1}] is a list of one dict.", "No."])  # text about a list: kept
        writer.writerow(["Question 4?", "Here: [{\"role\": \"user\"}] and more", "No."])  # not the whole text: kept
        # JSON answers that are no serialized reply: other dicts, and a user message the prompt asked for
        writer.writerow(["Todo list as JSON?", json.dumps([{"content": "Buy milk", "done": False}]), "No."])
        writer.writerow(["The OpenAI messages JSON for 'hi'?", json.dumps([{"role": "user", "content": "hi"}]), "hi"])
    out = tmp_path / "out"
    result = prefdata.build(raw, out)
    by_record = {r["record"]: r for r in rejects(out).iter_rows(named=True)}
    assert {k: (v["reason"], v["field"]) for k, v in by_record.items()} == {1: ("serialized_messages", "chosen"), 2: ("serialized_messages", "chosen")}
    assert "decode it before building" in by_record[1]["detail"]
    assert result.counts["pairs_written"] == 4
    assert_reconciled(out)


def test_a_null_turn_in_a_message_list_is_rejected_not_dropped(tmp_path: Path) -> None:
    """``[user, null, user]`` became the prompt ``[user, user]``: the step that drops empty system
    turns filtered on a null condition, and polars' filter drops nulls, so the turn vanished unsaid
    (``{"role": "assistant", "content": null}`` was already an ``empty_field`` reject)."""
    user = {"role": "user", "content": "Book me a flight."}
    answer = [{"role": "assistant", "content": "Done."}]
    records = [
        {"prompt": [user, None, {"role": "user", "content": "The cheapest one."}], "chosen": answer, "rejected": [{"role": "assistant", "content": "No."}]},
        {"prompt": [user], "chosen": [*answer, None], "rejected": [{"role": "assistant", "content": "No."}]},
        {"prompt": [{"role": "system", "content": " "}, user], "chosen": answer, "rejected": [{"role": "assistant", "content": "No."}]},
        # README, empty_field: a system turn with null content says nothing either, and is dropped as a blank one is
        {"prompt": [{"role": "system", "content": None}, user], "chosen": answer, "rejected": [{"role": "assistant", "content": "Nope."}]},
    ]
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "out"
    prefdata.build(raw, out, test_fraction=0)
    by_record = {r["record"]: r for r in rejects(out).iter_rows(named=True)}
    assert {n: (r["reason"], r["field"]) for n, r in by_record.items()} == {1: ("empty_field", "prompt"), 2: ("empty_field", "chosen")}
    assert pairs(out)["prompt"].to_list() == [[user], [user]]  # the empty system turns are still dropped, the pairs kept
    assert_reconciled(out)


def test_a_blank_non_system_turn_in_a_message_list_is_rejected_not_dropped(tmp_path: Path) -> None:
    """README reject table, ``empty_field``: "an empty or blank turn ... in a message list (except a
    system turn: an empty, blank or null one ... says nothing and is dropped)". Only a *system* turn
    is dropped: a blank user or assistant turn inside the prompt (or a response) is the record's
    ``empty_field`` reject on the raw field the config maps (README: `good has an empty turn`), never
    a pair whose turn silently vanished, and blank is README's blank (NBSP, zero-width space, BOM)."""
    def say(role: str, text: str) -> dict:
        return {"role": role, "content": text}

    fine, other = [say("assistant", "Fine.")], [say("assistant", "No.")]
    records = [
        {"conversation": [say("user", "Q1"), say("assistant", " "), say("user", "Q1 again")], "good": fine, "bad": other},  # 1
        {"conversation": [say("user", "Q2"), say("user", "")], "good": fine, "bad": other},  # 2
        {"conversation": [say("system", "Be brief."), say("user", "\u200b\ufeff")], "good": fine, "bad": other},  # 3
        {"conversation": [say("user", "Q4")], "good": [say("assistant", "\u00a0"), *fine], "bad": other},  # 4
        {"conversation": [say("system", " \u200b"), say("user", "Q5")], "good": fine, "bad": other},  # 5: dropped system turn
        {"conversation": [say("user", "Q6")], "good": fine, "bad": other},  # 6
    ]
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "out"
    config = {"sources": [{"shape": "preference", "columns": {"prompt": "conversation", "chosen": "good", "rejected": "bad"}}]}
    result = prefdata.build(raw, out, config=config, test_fraction=0)
    assert rejects(out).sort("record").select("record", "reason", "field", "detail").rows() == [
        (1, "empty_field", "conversation", "conversation has an empty turn"),
        (2, "empty_field", "conversation", "conversation has an empty turn"),
        (3, "empty_field", "conversation", "conversation has an empty turn"),
        (4, "empty_field", "good", "good has an empty turn"),
    ]
    got = pairs(out).sort(pl.col("lineage").list.first().struct.field("record"))
    assert got["prompt"].to_list() == [[say("user", "Q5")], [say("user", "Q6")]]
    assert got["chosen"].to_list() == [fine, fine]
    c = manifest(out)["counts"]
    assert (c["records_read"], c["pairs_written"], c["records_rejected"], c["rejected_by_reason"]) == (6, 2, 4, {"empty_field": 4})
    assert result.counts["rejected_by_reason"] == {"empty_field": 4}
    assert_reconciled(out)


def _rewrite_in_place_same_size(log: Path) -> None:
    """A log truncated and rewritten, or an equal-length fix saved: same inode, same size, other bytes.
    Its modification time is set one second on, so a coarse file-system clock cannot hide the change."""
    before = os.stat(log)
    data = log.read_bytes()
    with open(log, "r+b") as fh:
        fh.write(data.replace(b"Hi!", b"Yo!"))
    os.utime(log, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    after = os.stat(log)
    assert (after.st_ino, after.st_size) == (before.st_ino, before.st_size) and log.read_bytes() != data


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: f.open("a").write(json.dumps({"prompt": "Late?", "chosen": "Yes.", "rejected": "No."}) + "\n"), "changed during the build"),
    (lambda f: f.rename(f.with_suffix(".jsonl.1")), "went away during the build"),
    # README manifest.json: the build describes one version of each input; the stamp is the file's
    # inode, size and modification time, so a same-size rewrite in place stops it too
    (_rewrite_in_place_same_size, "changed during the build"),
])
def test_a_raw_file_that_changes_during_the_build_stops_it(tmp_path: Path, monkeypatch, change, message) -> None:
    """A live log appended to while the build ran gave a reject whose raw text held a line never
    read (its end was taken from the file's size after pass two); one rotated away crashed (exit 3)
    at the end, though every record had been read. Now either is exit 2 naming the file, and the
    previous OUT stays as it was."""
    pipeline = importlib.import_module("prefdata.build.pipeline")  # prefdata.build is also the function
    raw = tmp_path / "raw"
    raw.mkdir()
    log = raw / "live.jsonl"
    log.write_bytes(_line(GOOD) * 3 + _line({**GOOD, "prompt": "Other"}))  # two repeats: rejects read back by offset
    out = tmp_path / "out"
    prefdata.build(raw, out)
    before = manifest(out)
    pass_two = pipeline._pass_two

    def changing(*args, **kwargs):
        change(log)
        return pass_two(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_pass_two", changing)
    with pytest.raises(InputError, match=f"live.jsonl: {message}"):
        prefdata.build(raw, out)
    assert manifest(out) == before


def test_a_file_none_of_whose_records_parse_says_what_its_first_record_holds(tmp_path: Path) -> None:
    """A CSV whose rows all end in a stray comma, or JSON lines written with Python's str(dict), was
    skipped as "no record parses as a JSON object", which says nothing of a CSV's cell counts and
    leaves the user to open the file. The reason now quotes the first record's problem, and says a
    config that names the file rejects each record instead (nothing is skipped unsaid)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "export.csv").write_text("prompt,chosen,rejected\nQ1,c1,r1,\nQ2,c2,r2,\n")
    (raw / "pyrepr.jsonl").write_text(str({"prompt": "R", "chosen": "c", "rejected": "r"}) + "\n")
    (raw / "good.jsonl").write_bytes(_line(GOOD))
    result = prefdata.build(raw, tmp_path / "out")
    reasons = {s["path"]: s["reason"] for s in result.manifest["skipped_files"]}
    assert reasons["export.csv"].startswith("no row of it can be read; the first: record 1: row has 4 cells, header has 3;")
    assert reasons["pyrepr.jsonl"].startswith("no record parses as a JSON object; the first: record 1 is not JSON:")
    config = tmp_path / "c.yaml"
    config.write_text("sources:\n  - {name: e, path: export.csv, shape: preference, columns: {prompt: prompt, chosen: chosen, rejected: rejected}}\n")
    named = prefdata.build(raw, tmp_path / "named", config=config)
    assert named.counts["rejected_by_reason"] == {"malformed_record": 2}
    assert not [w for w in named.warnings if "misspelt" in w]  # "in none of the 0 sampled records": nothing to judge


def test_the_first_problem_is_no_blank_line_after_a_byte_order_mark(tmp_path: Path) -> None:
    """A BOM and a blank line (or one of no-break spaces, blank to the build) started the file: the
    reason blamed "record 1 is not JSON: input data is empty", not the first record that is a problem."""
    raw = tmp_path / "raw"
    raw.mkdir()
    pyrepr = str({"prompt": "R", "chosen": "c", "rejected": "r"}).encode() + b"\n"
    (raw / "bom.jsonl").write_bytes(b"\xef\xbb\xbf\n" + pyrepr)
    (raw / "nbsp.jsonl").write_bytes(b"\xef\xbb\xbf\r\n" + "\u00a0\u3000\n".encode() + pyrepr)
    (raw / "good.jsonl").write_bytes(_line(GOOD))
    result = prefdata.build(raw, tmp_path / "out")
    reasons = {s["path"]: s["reason"] for s in result.manifest["skipped_files"]}
    assert reasons["bom.jsonl"].startswith("no record parses as a JSON object; the first: record 2 is not JSON:")
    assert reasons["nbsp.jsonl"].startswith("no record parses as a JSON object; the first: record 3 is not JSON:")


def test_a_json_array_of_non_objects_and_a_compressed_unknown_name_say_what_to_do(tmp_path: Path) -> None:
    """From a review: a JSON array of arrays was skipped with no word of what it holds, and `logs.txt.gz` was told
    to use `path: '*.txt'`, which does not match it."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "pairs.json").write_text("[[1, 2], [3, 4]]")
    (raw / "logs.txt.gz").write_bytes(__import__("gzip").compress(_line(GOOD)))
    (raw / "good.jsonl").write_bytes(_line(GOOD))
    reasons = {s["path"]: s["reason"] for s in prefdata.build(raw, tmp_path / "out").manifest["skipped_files"]}
    assert "; the first: record 1: a JSON array, not an object;" in reasons["pairs.json"]
    assert "(e.g. `path: '*.txt.gz'`)" in reasons["logs.txt.gz"]



@pytest.mark.parametrize("blank", ["\u200b", "\x1c", "\u2060", "\ufeff", " "])
def test_a_blank_system_turn_or_completion_is_left_out_as_an_empty_one_is(tmp_path: Path, blank: str) -> None:
    """With blank widened to zero-width and separator characters, a system turn of only those made
    the whole record an empty_field reject (an empty one is dropped and the record kept), and a rated
    completion of only those was paired as the worst and then rejected, losing the record's pair."""
    system = [{"role": "system", "content": blank}, {"role": "user", "content": "Hi?"}]
    raw = tmp_path / "chat.jsonl"
    raw.write_text(json.dumps({"prompt": system, "chosen": "Hello.", "rejected": "Go away."}) + "\n")
    out = prefdata.build(raw, tmp_path / "out", test_fraction=0)
    assert out.counts["pairs_written"] == 1
    assert [m["role"] for m in pairs(tmp_path / "out")["prompt"][0]] == ["user"]
    rated = tmp_path / "rated.jsonl"
    completions = [{"text": "Apple.", "score": 9}, {"text": "Pear.", "score": 3}, {"text": blank, "score": 1}]
    rated.write_text(json.dumps({"instruction": "Name a fruit.", "completions": completions}) + "\n")
    config = {"sources": [{"shape": "rated", "columns": {"prompt": "instruction", "completions": "completions", "text": "text", "score": "score"}}]}
    done = prefdata.build(rated, tmp_path / "rated-out", config=config, test_fraction=0)
    assert done.counts["pairs_written"] == 1 and done.counts["records_rejected"] == 0
    assert pairs(tmp_path / "rated-out")["rejected"][0][0]["content"] == "Pear."

def test_blank_and_equal_texts_are_rejected_as_check_reads_them(tmp_path: Path) -> None:
    """A turn of only U+001C-U+001F (Python's ``\\s``, so the default suite's ``\\S`` fails it) or of
    invisible characters (zero-width space, word joiner, BOM) is ``empty_field``; responses equal
    after Unicode NFC, or once such characters are trimmed, are ``identical_responses``. Both were
    written, and ``check`` failed the first on the build's own output."""
    cafe = "Un caf\u00e9 cr\u00e8me, s'il vous pla\u00eet."
    records = [
        {"prompt": "q1", "chosen": "\x1c", "rejected": "No."},
        {"prompt": "q2", "chosen": "\u200b", "rejected": "No."},
        {"prompt": "\ufeff", "chosen": "Yes.", "rejected": "No."},
        {"prompt": "q4", "chosen": "Yes.", "rejected": " \u2060\u200d "},
        {"prompt": "q5", "chosen": cafe, "rejected": unicodedata.normalize("NFD", cafe)},
        {"prompt": "q6", "chosen": "Yes\x1f", "rejected": "\ufeffYes"},
        {"prompt": "q7", "chosen": "\u200dYes", "rejected": "No."},  # text around an invisible one: kept
    ]
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "out"
    prefdata.build(raw, out, test_fraction=0)
    got = {r["record"]: (r["reason"], r["field"]) for r in rejects(out).iter_rows(named=True)}
    assert got == {
        1: ("empty_field", "chosen"), 2: ("empty_field", "chosen"), 3: ("empty_field", "prompt"), 4: ("empty_field", "rejected"),
        5: ("identical_responses", "chosen,rejected"), 6: ("identical_responses", "chosen,rejected"),
    }
    assert prefdata.check(out, write=False).check("role_structure").passed


def test_special_files_and_link_loops_are_skipped_with_their_own_reason(tmp_path: Path) -> None:
    """A FIFO (or a link to /dev/urandom) in RAW was an "empty file" (its size is 0), a link loop "a
    broken symbolic link", and a loop without extension got advice (`path: loop1`) that failed with ELOOP."""
    import os

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "good.jsonl").write_text(json.dumps(GOOD) + "\n")
    os.mkfifo(raw / "pipe.jsonl")
    (raw / "rand.jsonl").symlink_to("/dev/null")
    (raw / "l1.jsonl").symlink_to("l2.jsonl")
    (raw / "l2.jsonl").symlink_to("l1.jsonl")
    (raw / "loop1").symlink_to("loop2")
    (raw / "loop2").symlink_to("loop1")
    (raw / "gone.jsonl").symlink_to("nothing.jsonl")
    result = prefdata.build(raw, tmp_path / "out")
    assert result.counts["pairs_written"] == 1
    assert {s["path"]: s["reason"] for s in manifest(tmp_path / "out")["skipped_files"]} == {
        "pipe.jsonl": "not a regular file: a pipe, socket or device",
        "rand.jsonl": "not a regular file: a pipe, socket or device",
        **dict.fromkeys(("l1.jsonl", "l2.jsonl", "loop1", "loop2"), "a symbolic link loop"),
        "gone.jsonl": "a broken symbolic link",
    }


def _exit_and_error(argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from prefdata.cli import main

    monkeypatch.setattr("sys.argv", ["prefdata", *argv])
    with pytest.raises(SystemExit) as info:
        main()
    return info.value.code, capsys.readouterr().err


def _refused(exc_path: object) -> PermissionError:
    return PermissionError(13, "Permission denied", str(exc_path))


def test_a_file_in_raw_the_system_refuses_stops_the_build_naming_it(tmp_path: Path, monkeypatch, capsys) -> None:
    """A mode-000 file in a RAW folder was skipped (exit 0), so the dataset silently lacked its records;
    README: a file the system refuses is exit 2 with its name. Simulated, since the tests may run as root."""
    from prefdata.io import discover

    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("a.jsonl", "b.jsonl", "LICENSE", ".hidden.jsonl"):
        (raw / name).write_bytes(_line(GOOD))
    sniff = discover.sniff_compression
    refused = {raw / "b.jsonl", raw / "LICENSE", raw / ".hidden.jsonl"}  # the last two stay skipped, as documented
    monkeypatch.setattr(discover, "sniff_compression", lambda p: (_ for _ in ()).throw(_refused(p)) if p in refused else sniff(p))
    for argv in (["build", str(raw), str(tmp_path / "out"), "-q"], ["inspect", str(raw)]):
        code, err = _exit_and_error(argv, monkeypatch, capsys)
        assert code == 2 and "cannot read this file in RAW (Permission denied" in err and err.rstrip().endswith("b.jsonl"), err
    assert not (tmp_path / "out").exists()
    refused.discard(raw / "b.jsonl")
    code, err = _exit_and_error(["build", str(raw), str(tmp_path / "out"), "-q"], monkeypatch, capsys)
    assert code == 0, err


@pytest.mark.parametrize("how", ["no search (mode 000 or 444)", "no listing (mode 111)"])
def test_a_folder_in_raw_the_system_refuses_is_named_itself(tmp_path: Path, monkeypatch, capsys, how) -> None:
    """An unsearchable sub-folder stopped the build naming `sub/manifest.json`, a file that is not there;
    an unlistable one was passed over without a word by os.walk."""
    import os

    raw = tmp_path / "raw"
    (raw / "sub").mkdir(parents=True)
    (raw / "a.jsonl").write_bytes(_line(GOOD))
    (raw / "sub" / "b.jsonl").write_bytes(_line(GOOD))
    sub = raw / "sub"
    if how.startswith("no search"):
        is_file = Path.is_file
        monkeypatch.setattr(Path, "is_file", lambda p: (_ for _ in ()).throw(_refused(p)) if p.parent == sub else is_file(p))
    else:
        scandir = os.scandir
        monkeypatch.setattr(os, "scandir", lambda p=".": (_ for _ in ()).throw(_refused(p)) if Path(p) == sub else scandir(p))
    code, err = _exit_and_error(["build", str(raw), str(tmp_path / "out"), "-q"], monkeypatch, capsys)
    assert code == 2 and "cannot read this folder in RAW (Permission denied" in err, err
    assert err.rstrip().endswith(str(sub)) and "manifest.json" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("pattern", ["**/*.jsonl", "*/*.jsonl", "sub/*.jsonl"])
def test_a_folder_a_glob_must_list_but_may_not_stops_the_build_naming_it(tmp_path: Path, monkeypatch, capsys, pattern) -> None:
    """Python's glob passes over a folder it cannot list, so `build "raw/**/*.jsonl" out` built without its
    records and exit 0, while `build raw out` stopped naming it (review23_cli #01)."""
    import os

    raw = tmp_path / "raw"
    for folder in ("ok", "sub"):
        (raw / folder).mkdir(parents=True)
        (raw / folder / f"{folder}.jsonl").write_bytes(_line(GOOD))
    sub = raw / "sub"
    scandir = os.scandir
    monkeypatch.setattr(os, "scandir", lambda p=".": (_ for _ in ()).throw(_refused(p)) if Path(p) == sub else scandir(p))
    code, err = _exit_and_error(["build", str(raw / pattern), str(tmp_path / "out"), "-q"], monkeypatch, capsys)
    assert code == 2 and "cannot read this folder in RAW (Permission denied" in err and err.rstrip().endswith(str(sub)), err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["_old", "plain"])
def test_a_folder_a_glob_matches_but_never_reads_is_skipped_even_unsearchable(tmp_path: Path, monkeypatch, capsys, name) -> None:
    """`raw/*` matches folders without reading inside them (a plain one is listed as a folder the glob
    matches, a hidden one as hidden): one that cannot be searched stopped the build (review23_cli #02, #03)."""
    raw = tmp_path / "raw"
    (raw / name).mkdir(parents=True)
    (raw / "a.jsonl").write_bytes(_line(GOOD))
    (raw / name / "b.jsonl").write_bytes(_line(GOOD))
    unsearchable = raw / name
    is_file = Path.is_file
    monkeypatch.setattr(Path, "is_file", lambda p: (_ for _ in ()).throw(_refused(p)) if p.parent == unsearchable else is_file(p))
    code, err = _exit_and_error(["build", str(raw / "*"), str(tmp_path / "out"), "-q"], monkeypatch, capsys)
    assert code == 0, err
    skipped = {item["path"]: item["reason"] for item in json.loads((tmp_path / "out" / "manifest.json").read_text())["skipped_files"]}
    assert f"{name}/" in skipped, skipped


def test_a_refused_raw_file_named_like_checks_gets_no_check_hint(tmp_path: Path, monkeypatch, capsys) -> None:
    """The hint for a read-only dataset's checks.json was given for any refused file with "checks" in its name,
    such as a raw `checks_2024.jsonl` (review23_cli #04)."""
    from prefdata.io import discover

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "checks_2024.jsonl").write_bytes(_line(GOOD))
    monkeypatch.setattr(discover, "sniff_compression", lambda p: (_ for _ in ()).throw(_refused(p)))
    code, err = _exit_and_error(["build", str(raw), str(tmp_path / "out"), "-q"], monkeypatch, capsys)
    assert code == 2 and err.rstrip().endswith("checks_2024.jsonl") and "--no-write" not in err, err


@pytest.mark.parametrize("name", ["_record", "_line", "_reason", "_field", "_detail"])
def test_a_raw_field_named_like_the_decoders_own_columns_builds_like_any_other(tmp_path: Path, name: str) -> None:
    """A raw field may have any name: one spelled like a column the decoder keeps beside the fields
    (`_record`, `_line`, `_reason`, `_field`, `_detail`) is read, filtered and rejected as any field
    is (README "Bad input never crashes a build"), not a polars DuplicateError and exit 3."""
    records = [
        {name: "Question 1?", "chosen": "Yes 1.", "rejected": "No."},
        {name: "Question 2?", "chosen": "Yes 2.", "rejected": "No.", "lang": "de"},  # filtered out
        {name: 5, "chosen": "Yes 3.", "rejected": "No."},  # a number where the prompt's text belongs
        {name: "Question 4?", "chosen": "Yes 4."},
        {name: "Question 5?", "chosen": "Yes 5.", "rejected": "No."},
    ]
    lines = [json.dumps(r) for r in records]
    (tmp_path / "raw.jsonl").write_text("".join(line + "\n" for line in lines))
    config = tmp_path / "c.yaml"
    config.write_text(
        "sources:\n  - path: raw.jsonl\n    shape: preference\n"
        f"    columns: {{prompt: {name}, chosen: chosen, rejected: rejected}}\n"
        f"    filters: [\"{name} != 'Question 2?'\"]\n"
        "split: {test_fraction: 0}\n"
    )
    out = tmp_path / "out"
    result = prefdata.build(tmp_path / "raw.jsonl", out, config=str(config), quiet=True)
    assert result.counts["records_read"] == 5
    assert result.counts["pairs_written"] == 2
    prompts = sorted(m[0]["content"] for m in pairs(out).get_column("prompt").to_list())
    assert prompts == ["Question 1?", "Question 5?"]
    got = {r["record"]: (r["reason"], r["field"], r["raw"]) for r in rejects(out).iter_rows(named=True)}
    assert got == {
        2: ("filtered_out", name, lines[1]),
        3: ("non_text_content", name, lines[2]),
        4: ("missing_field", "rejected", lines[3]),
    }
    assert_reconciled(out)


#: Per shape, records whose fields take the given names and the source reading them (``n`` maps each
#: role to its raw field name): each shape's own working columns (``__prompt``, ``__winner``, ``__n``
#: ...) are names a raw field may have too.
def _named_records(shape: str, n: dict[str, str]) -> tuple[list[dict], dict]:
    if shape == "preference":
        recs = [{n["prompt"]: f"Q{i}?", n["chosen"]: f"Yes {i}.", n["rejected"]: f"No {i}.", n["score"]: 9, n["history"]: [["hi", "hello"]]}
                for i in range(3)]
        cols = {"prompt": n["prompt"], "chosen": n["chosen"], "rejected": n["rejected"], "score_chosen": n["score"], "history": n["history"]}
        return recs + [{n["prompt"]: "Q?", n["chosen"]: 5, n["rejected"]: "No."}], {"shape": "preference", "columns": cols}
    if shape == "transcript":
        recs = [{n["chosen"]: f"\n\nHuman: Q{i}?\n\nAssistant: Yes {i}.", n["rejected"]: f"\n\nHuman: Q{i}?\n\nAssistant: No {i}.",
                 n["model"]: "m"} for i in range(3)]
        return recs, {"shape": "transcript", "columns": {"chosen": n["chosen"], "rejected": n["rejected"], "chosen_model": n["model"]}}
    if shape == "pairwise":
        recs = [{n["prompt"]: f"Q{i}?", n["a"]: f"A{i}.", n["b"]: f"B{i}.", n["winner"]: "abx"[i], n["model"]: "m-a"} for i in range(3)]
        cols = {"prompt": n["prompt"], "response_a": n["a"], "response_b": n["b"], "winner": n["winner"], "model_a": n["model"]}
        return recs, {"shape": "pairwise", "columns": cols, "winner_values": {"a": ["a"], "b": ["b"]}}
    if shape == "rated":
        recs = [{n["prompt"]: f"Q{i}?", n["completions"]: [f"R{i}{j}" for j in range(3)], n["scores"]: [3, 1, 2], n["models"]: ["x", "y", "z"],
                 n["history"]: [["hi", "hello"]]} for i in range(3)]
        cols = {"prompt": n["prompt"], "completions": n["completions"], "text": "$", "scores": n["scores"], "models": n["models"],
                "history": n["history"]}
        return recs + [{n["prompt"]: 5, n["completions"]: ["a", "b"], n["scores"]: [1, 2]}], {"shape": "rated", "columns": cols}
    recs = [{n["prompt"]: f"Q{i // 2}?", n["response"]: f"R{i}", n["label"]: ["up", "down"][i % 2], n["model"]: f"m{i}"} for i in range(5)]
    cols = {"prompt": n["prompt"], "response": n["response"], "label": n["label"], "model": n["model"]}
    return recs, {"shape": "feedback", "columns": cols, "labels": {"up": ["up"], "down": ["down"]}}


#: Each shape's roles, named plainly and then like the working columns the shapes add to a batch.
WORKING_NAMES = {
    "preference": ({"prompt": "p", "chosen": "c", "rejected": "r", "score": "s", "history": "h"},
                   {"prompt": "__row", "chosen": "__items", "rejected": "__value", "score": "__chosen", "history": "__prompt"}),
    "transcript": ({"chosen": "c", "rejected": "r", "model": "m"}, {"chosen": "__prompt", "rejected": "__r", "model": "__c"}),
    "pairwise": ({"prompt": "p", "a": "a", "b": "b", "winner": "w", "model": "m"},
                 {"prompt": "__winner", "a": "__prompt", "b": "__w", "winner": "__value", "model": "__row"}),
    "rated": ({"prompt": "p", "completions": "c", "scores": "s", "models": "m", "history": "h"},
              {"prompt": "__bad_text", "completions": "__pairs", "scores": "__items", "models": "__values", "history": "__n"}),
    "feedback": ({"prompt": "p", "response": "r", "label": "l", "model": "m"},
                 {"prompt": "__response", "response": "__label", "label": "__prompt", "model": "__row"}),
}


@pytest.mark.parametrize("shape", list(WORKING_NAMES))
def test_raw_fields_named_like_a_shapes_working_columns_build_as_any_names_do(tmp_path: Path, shape: str) -> None:
    """A raw field may have any name (README "Bad input never crashes a build"): fields named like the
    columns a shape works in (``__prompt``, ``__winner``, ``__n``) crashed the build (exit 3), or were
    silently replaced (a ``__winner`` prompt written as the verdict "a", models that were the scores).
    The same records under plain names and under those names give the same pairs and rejects."""
    built = []
    for names in WORKING_NAMES[shape]:
        recs, source = _named_records(shape, names)
        raw = tmp_path / f"{names[next(iter(names))].strip('_')}.jsonl"
        raw.write_text("".join(json.dumps(r) + "\n" for r in recs))
        out = tmp_path / f"out-{raw.stem}"
        result = prefdata.build(raw, out, config={"sources": [source], "split": {"test_fraction": 0}}, quiet=True)
        assert_reconciled(out)
        plain = {v: k for k, v in names.items()}
        reasons = sorted((r["record"], r["reason"], plain.get(r["field"], r["field"])) for r in rejects(out).iter_rows(named=True)) if (out / "rejects").exists() else []
        built.append((result.counts["pairs_written"], pairs(out).drop("id", "source", "lineage").sort("prompt", "chosen").to_dicts(), reasons))
    assert built[0][0] > 0 and built[1] == built[0]

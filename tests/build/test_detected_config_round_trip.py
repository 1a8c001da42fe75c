"""The config ``build`` prints for what it detected (and ``inspect`` proposes per file), passed back with
``--config``, gives the same build: the property a hunt checked over 21 layouts, 10 formats and 70 file
names. These are the cases where it did not hold, or where detection proposed a config that reads
nothing."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import prefdata
from prefdata.cli import cli
from prefdata.errors import AmbiguousLayoutError
from prefdata.shapes.detect import detect
from tests.support.dataset import pairs

PAIR = {"prompt": "q", "chosen": "yes", "rejected": "no"}


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _digest(out: Path) -> str:
    files = sorted([*out.glob("data/*"), *out.glob("rejects/*")])
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()


def _round_trip(raw: Path, tmp_path: Path) -> tuple[prefdata.BuildResult, prefdata.BuildResult]:
    first = prefdata.build(raw, tmp_path / "auto")
    config = tmp_path / "config.yaml"
    config.write_text(first.config_yaml, encoding="utf-8")
    second = prefdata.build(raw, tmp_path / "again", config=config)
    assert _digest(tmp_path / "auto") == _digest(tmp_path / "again")
    assert first.counts == second.counts
    return first, second


@pytest.mark.parametrize("name", ["[ab].jsonl", "ab?.jsonl", "*.jsonl", "x\x85y.jsonl"])
def test_a_printed_path_selects_its_own_file_alone(tmp_path, name):
    """``[ab].jsonl`` came back as a glob that also took ``a.jsonl`` (or stopped the build, "matched by
    two sources"); a name with U+0085 was printed plain, read back with a space, and matched nothing."""
    raw = tmp_path / "raw"
    raw.mkdir()
    _write(raw / name, [PAIR])
    _write(raw / "a.jsonl", [{**PAIR, "prompt": "p"}])
    (raw / "b.jsonl").write_text("not json\n")  # skipped by detection: no JSON object in it
    first, _ = _round_trip(raw, tmp_path)
    assert first.counts["records_read"] == 2


def test_a_file_name_that_is_not_utf8_is_skipped_with_a_reason(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    with open(os.fsencode(raw) + b"/\xff\xfe.jsonl", "w") as f:
        f.write(json.dumps(PAIR) + "\n")
    _write(raw / "ok.jsonl", [PAIR])
    result = prefdata.build(raw, tmp_path / "out")  # crashed (exit 3) in polars on the surrogate escapes
    assert result.counts["records_read"] == 1
    assert [(s["path"], "not valid UTF-8" in s["reason"]) for s in result.manifest["skipped_files"]] == [("\\xff\\xfe.jsonl", True)]


def test_a_parquet_file_in_a_folder_whose_name_is_not_utf8_builds_like_the_others(tmp_path):
    """pyarrow took the path, which it encodes as UTF-8: a Parquet file in ``raw\\xe9/`` crashed the
    build and ``inspect`` (exit 3), where JSON lines beside it built. It is handed an open file now."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    raw = os.fsdecode(os.fsencode(tmp_path) + b"/raw\xe9")
    os.mkdir(raw)
    with open(os.path.join(raw, "pairs.parquet"), "wb") as fh:  # pyarrow cannot take the path either
        pq.write_table(pa.table({k: [f"{v} {i}" for i in range(3)] for k, v in PAIR.items()}), fh)
    _write(Path(raw) / "ok.jsonl", [{**PAIR, "prompt": "p"}])
    result = prefdata.build(raw, tmp_path / "out")
    assert result.counts["records_read"] == 4 and not result.manifest["skipped_files"]
    assert sorted((f.path, f.sampled) for f in prefdata.inspect(raw).files) == [("ok.jsonl", 1), ("pairs.parquet", 3)]


def test_file_names_with_control_characters_are_shown_escaped(tmp_path):
    """``new\\nline.jsonl: detected ...`` printed over two lines, and a carriage return made a terminal
    show ``evil\\rok.jsonl`` as ``ok.jsonl``. Messages escape such names, as those not in UTF-8; the
    manifest keeps the names as they are."""
    from click.testing import CliRunner

    from prefdata.cli import cli

    raw = tmp_path / "raw"
    raw.mkdir()
    _write(raw / "new\nline.jsonl", [PAIR])
    _write(raw / "evil\rok.jsonl", [{**PAIR, "prompt": "p"}])
    (raw / "bad\x1b.parquet").write_bytes(b"not parquet")
    build = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out")])
    inspect = CliRunner().invoke(cli, ["inspect", str(raw), "--examples", "0"])
    assert build.exit_code == 0 and inspect.exit_code == 0
    for output in (build.output, inspect.output):
        assert "\r" not in output and "\x1b" not in output and not any(line.startswith("line.jsonl") for line in output.splitlines())
    assert "new\\nline.jsonl: detected" in build.output and "evil\\rok.jsonl: detected" in build.output
    assert "bad\\x1b.parquet: skipped (not a readable Parquet file" in build.output
    assert "== new\\nline.jsonl (jsonl" in inspect.output and "== bad\\x1b.parquet: skipped (not a readable Parquet file" in inspect.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert sorted(i["path"] for i in manifest["inputs"]) == ["evil\rok.jsonl", "new\nline.jsonl"]


def test_inspect_proposes_the_config_build_detects(tmp_path):
    """``inspect`` named ``logs.jsonl.gz`` "logs.jsonl" (build: "logs") and gave no ``path``."""
    import gzip

    raw = tmp_path / "raw"
    raw.mkdir()
    with gzip.open(raw / "logs.jsonl.gz", "wt") as f:
        f.write(json.dumps(PAIR) + "\n")
    _write(raw / "other.jsonl", [{**PAIR, "prompt": "p"}])
    built = prefdata.build(raw, tmp_path / "out")
    proposed = {f.path: f.config_yaml for f in prefdata.inspect(raw).files}
    for source in built.config.sources:
        assert f"name: {source.name}\n  path: {source.path}\n" in proposed[source.path], proposed[source.path]


def test_a_build_stopped_by_an_ambiguous_layout_prints_the_suggested_config(tmp_path):
    """README: when the layout is ambiguous "the build stops and prints a config to complete" (exit 2);
    the error says "see the suggestion below", so the suggestion follows it on stderr, whole."""
    raw = tmp_path / "raw"
    raw.mkdir()
    _write(raw / "x.jsonl", [{"foo": "x", "bar": 1}, {"foo": "y", "bar": 2}])
    with pytest.raises(AmbiguousLayoutError) as err:
        prefdata.build(raw, tmp_path / "out")
    res = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out")])
    assert res.exit_code == 2
    assert "see the suggestion below" in res.stderr
    suggestion = res.stderr.split("\nsuggested config:\n", 1)[1]
    assert suggestion.strip() == err.value.suggested_config.strip()
    assert yaml.safe_load(suggestion)["sources"][0]["shape"] == "preference"
    assert not (tmp_path / "out").exists()


def test_keys_a_field_path_cannot_name_stop_detection_with_the_reason(tmp_path):
    """``annotator.1`` was proposed as an annotator column, read as annotator -> 1, and every record was
    rejected ``missing_field``; ``annotator]`` raised a config error that stopped ``inspect`` for every file."""
    raw = tmp_path / "raw"
    raw.mkdir()
    votes = {"prompt": "q", "response_a": "x", "response_b": "y", "annotator.1": 1, "annotator.2": 1, "annotator.3": 2}
    _write(raw / "votes.jsonl", [votes])
    _write(raw / "ok.jsonl", [PAIR])
    with pytest.raises(AmbiguousLayoutError, match=r"'annotator\.1'.*hold '\.', '\[' or '\]'.*rename them"):
        prefdata.build(raw / "votes.jsonl", tmp_path / "out")
    reports = {f.path: f for f in prefdata.inspect(raw).files}
    assert "rename them" in reports["votes.jsonl"].problem and reports["ok.jsonl"].shape == "preference"


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"instruction": "q", "response1": "a", "response2": "b", "annotator.1": 1}, "annotator.1"),  # the verdict detection lacks
        ({"prompt.x": "q", "chosen_text": "a", "rejected_text": "b"}, "prompt.x"),
    ],
)
def test_a_lone_key_a_field_path_cannot_name_is_named_when_detection_gives_up(tmp_path, record, field):
    """One ``annotator.1`` left the layout unreadable, and the error said only "cannot tell its shape from
    its fields": the README's reason (the ``.`` reads as nesting) was given only for keys detection had mapped."""
    _write(tmp_path / "a.jsonl", [record])
    renamed = field.replace(".", "_")
    with pytest.raises(AmbiguousLayoutError, match=rf"cannot tell its shape.*the field '{re.escape(field)}' holds '\.', .*rename it \(e\.g\. {re.escape(field)} -> {renamed}\)"):
        prefdata.build(tmp_path / "a.jsonl", tmp_path / "out")


@pytest.mark.parametrize(("key", "renamed"), [("score.1", "score_1"), ("score[1]", "score_1")])
def test_a_bracket_in_a_field_name_is_path_syntax_as_a_dot_is(key, renamed):
    """README: a field path reads '.', '[' and ']' as nesting (``turns[0]`` indexes), so a field named
    ``score[1]`` cannot be named in a config either: detection says so and suggests the rename."""
    with pytest.raises(AmbiguousLayoutError) as caught:
        detect([{"text": "x", key: 3}], name="f")
    message = str(caught.value)
    assert f"the field '{key}' holds '.', '[' or ']', which a field path reads as nesting" in message
    assert f"(e.g. {key} -> {renamed})" in message


@pytest.mark.parametrize(("keys", "example"), [
    (["a.1", "b.1", "c.1"], "(e.g. a.1 -> a_1, b.1 -> b_1, c.1 -> c_1)"),
    (["a.1", "b.1", "c.1", "d.1"], "(e.g. a.1 -> a_1, b.1 -> b_1, c.1 -> c_1, ...)"),
])
def test_the_rename_example_shows_three_fields_and_elides_only_more(keys, example):
    """detect: the rename example lists up to three fields, and ", ..." says only that more are left out."""
    with pytest.raises(AmbiguousLayoutError) as caught:
        detect([{k: "x" for k in keys}], name="f")
    assert example in str(caught.value)


def test_hh_dialogues_with_single_line_breaks_get_markers_that_split_them(tmp_path):
    """The blank-line defaults were proposed for ``Human: hi\\nAssistant: hello\\n...``: nothing was split,
    and each prompt was one user turn holding the whole dialogue, markers and all."""
    dialogue = "Human: hi\nAssistant: hello\n\nHuman: what is 2+2?\nAssistant:"  # one blank line among single ones
    _write(tmp_path / "p.jsonl", [{"prompt": dialogue, "chosen": "4", "rejected": "5"}])
    _write(tmp_path / "t.jsonl", [{"chosen": dialogue + " 4", "rejected": dialogue + " 5"}])
    for name in ("p.jsonl", "t.jsonl"):
        _round_trip(tmp_path / name, tmp_path / name.split(".")[0])
        prompt = pairs(tmp_path / name.split(".")[0] / "auto")["prompt"][0]
        assert [(t["role"], t["content"]) for t in prompt] == [("user", "hi"), ("assistant", "hello"), ("user", "what is 2+2?")]


def test_blank_line_turns_with_a_last_exchange_on_a_single_break_get_markers_that_split_it(tmp_path):
    """``Human: hi\n\nAssistant: hello\n\nHuman: and then?\nAssistant: reply``: the blank-line turns
    (Human, Assistant, Human) alternate, so the first version of the stray-marker rule kept the defaults,
    the last reply stayed inside the Human turn and every record was a malformed_transcript reject."""
    rows = []
    for i in range(4):
        base = f"Human: hi {i}\n\nAssistant: hello\n\nHuman: and then {i}?\nAssistant: "
        rows.append({"chosen": base + f"good answer {i}", "rejected": base + f"bad answer {i}"})
    _write(tmp_path / "t.jsonl", rows)
    result = prefdata.build(tmp_path / "t.jsonl", tmp_path / "out", quiet=True)
    assert result.counts["pairs_written"] == 4, result.counts
    prompt = pairs(tmp_path / "out")["prompt"][0]
    assert [t["role"] for t in prompt] == ["user", "assistant", "user"]


def test_a_stray_single_break_marker_inside_a_reply_does_not_switch_the_file_markers(tmp_path):
    """HH-RLHF test record 1561 has ``  \nAssistant:`` inside its chosen reply. Any sampled dialogue with a
    single-break turn switched the whole file to ``\nHuman:``/``\nAssistant:``, so with that record first
    its reply was split (a ``transcripts_diverge`` reject) and the pairs depended on record order."""
    stray = {"chosen": "\n\nHuman: hi\n\nAssistant: hello.  \nAssistant:   By the way, bye", "rejected": "\n\nHuman: hi\n\nAssistant: go"}
    others = [{"chosen": f"\n\nHuman: q{i}\n\nAssistant: yes", "rejected": f"\n\nHuman: q{i}\n\nAssistant: no"} for i in range(5)]
    ids = {}
    for order, rows in (("last", [*others, stray]), ("first", [stray, *others])):
        _write(tmp_path / f"{order}.jsonl", rows)
        result = prefdata.build(tmp_path / f"{order}.jsonl", tmp_path / order)
        assert result.config.sources[0].markers.user == "\n\nHuman:", order
        assert result.counts["pairs_written"] == 6 and result.counts["records_rejected"] == 0, result.counts
        ids[order] = set(pairs(tmp_path / order)["id"])
        assert "hello.  \nAssistant:   By the way, bye" in {m["content"] for c in pairs(tmp_path / order)["chosen"] for m in c}
    assert ids["first"] == ids["last"]


def test_a_leading_line_break_is_no_single_break_turn(tmp_path):
    """``"\nHuman: hi\n\nAssistant: hello"`` starts with its Human turn, as the parser reads it (blank text
    before the first marker is skipped): its turns are blank-line turns, so the defaults read it and
    detection keeps them (README prompt_markers: single-break markers only when a dialogue needs them).
    Single-break markers would split the stray ``\nAssistant:`` inside the other record's reply."""
    lead = {"chosen": "\nHuman: hi\n\nAssistant: hello", "rejected": "\nHuman: hi\n\nAssistant: go"}
    stray = {"chosen": "\n\nHuman: q\n\nAssistant: yes.  \nAssistant: bye", "rejected": "\n\nHuman: q\n\nAssistant: no"}
    _write(tmp_path / "t.jsonl", [lead, stray])
    first, _ = _round_trip(tmp_path / "t.jsonl", tmp_path)
    assert (first.config.sources[0].markers.user, first.config.sources[0].markers.assistant) == ("\n\nHuman:", "\n\nAssistant:")
    assert first.counts["pairs_written"] == 2 and first.counts["records_rejected"] == 0, first.counts
    chosen = sorted(m["content"] for c in pairs(tmp_path / "auto")["chosen"] for m in c)
    assert chosen == ["hello", "yes.  \nAssistant: bye"]


def test_hh_rlhf_builds_the_same_pairs_with_its_stray_marker_record_first(shared_data, tmp_path):
    """The real case: record 1561 moved to the front gave 2,302 pairs instead of 2,303."""
    lines = (shared_data / "hh-rlhf-harmless-test" / "test.jsonl").read_bytes().splitlines(keepends=True)
    (tmp_path / "moved.jsonl").write_bytes(b"".join([lines[1560], *lines[:1560], *lines[1561:]]))
    result = prefdata.build(tmp_path / "moved.jsonl", tmp_path / "out")
    assert result.counts["pairs_written"] == 2303, result.counts
    assert result.config.sources[0].markers.user == "\n\nHuman:"


def test_the_detected_line_names_markers_that_are_not_the_defaults(tmp_path):
    """The line read the same for either marker set, so a switch showed only in the printed config."""
    single = "Human: hi\nAssistant: hello\n\nHuman: what is 2+2?\nAssistant:"
    _write(tmp_path / "single.jsonl", [{"chosen": single + " 4", "rejected": single + " 5"}])
    _write(tmp_path / "p.jsonl", [{"prompt": single, "chosen": "4", "rejected": "5"}])
    _write(tmp_path / "blank.jsonl", [{"chosen": "\n\nHuman: hi\n\nAssistant: 4", "rejected": "\n\nHuman: hi\n\nAssistant: 5"}])
    described = {f.path: f.description for f in prefdata.inspect(tmp_path).files}
    assert "split at turn markers '\\nHuman:'/'\\nAssistant:';" in described["single.jsonl"], described
    assert "split at turn markers '\\nHuman:'/'\\nAssistant:'" in described["p.jsonl"], described
    assert "split at turn markers;" in described["blank.jsonl"], described


@pytest.mark.parametrize("stem", ["08", "09", "1e6", "0o17", "1.5e3", "TRUE"])
def test_a_source_named_like_a_yaml_12_number_is_quoted_in_the_printed_config(tmp_path, stem):
    """Daily logs ``08.jsonl``, ``09.jsonl``: the dumper quoted by YAML 1.1's rules (where ``09`` and
    ``1e6`` are text) and configs are read as YAML 1.2 (where they are numbers), so passing the printed
    config back failed ("name: Input should be a valid string")."""
    raw = tmp_path / "raw"
    raw.mkdir()
    _write(raw / f"{stem}.jsonl", [PAIR])
    _write(raw / "other.jsonl", [{**PAIR, "prompt": "p"}])
    first, _ = _round_trip(raw, tmp_path)
    assert f"name: '{stem}'" in first.config_yaml

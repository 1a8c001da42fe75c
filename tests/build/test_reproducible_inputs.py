"""The same RAW, options and config read the same files every time: a glob follows the folder walk's
rules (OUT and earlier outputs left out, hidden names skipped, nothing dropped unsaid), a rebuild's
manifest matches the first build's, and the config a manifest records builds the same bytes again."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import prefdata
from prefdata.io.discover import FOLDER_MATCHED, discover
from tests.conftest import FIXTURES, REPO

CONFIG = FIXTURES / "configs" / "fixtures.yaml"
STRINGS = FIXTURES / "raw" / "preference" / "strings.jsonl"
PREFERENCE = {"sources": [{"name": "prefs", "shape": "preference", "columns": {"prompt": "prompt"}}]}


def _hashes(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in ("data", "rejects", "kto") for p in sorted((out / folder).glob("*.parquet"))}


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _skipped(out: Path) -> dict[str, str]:
    return {s["path"]: s["reason"] for s in _manifest(out)["skipped_files"]}


def test_a_glob_rebuild_does_not_read_the_out_inside_it(tmp_path: Path) -> None:
    """``raw/**`` into ``raw/out``: the second build read OUT's own shards and manifest as raw data."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "strings.jsonl").write_bytes(STRINGS.read_bytes())
    first = prefdata.build(f"{raw}/**", raw / "out", config=PREFERENCE)
    hashes, manifest = _hashes(raw / "out"), _manifest(raw / "out")
    second = prefdata.build(f"{raw}/**", raw / "out", config=PREFERENCE)
    assert second.counts == first.counts and _hashes(raw / "out") == hashes
    assert _manifest(raw / "out")["inputs"] == manifest["inputs"] and _manifest(raw / "out")["skipped_files"] == []


def test_a_glob_skips_an_earlier_output_below_its_wildcard_but_reads_one_it_names(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "strings.jsonl").write_bytes(STRINGS.read_bytes())
    prefdata.build(raw / "strings.jsonl", raw / "old", config=PREFERENCE)
    prefdata.build(f"{raw}/**/*.*", tmp_path / "out", config=PREFERENCE)
    assert [i["path"] for i in _manifest(tmp_path / "out")["inputs"]] == ["strings.jsonl"]
    assert _skipped(tmp_path / "out") == {"old/": "the output of an earlier `prefdata build` (manifest.json and data/), not raw data; "
                                          "pass it as RAW to rebuild from its pairs"}
    # named before the wildcard: the user asks for that output's pairs
    named = prefdata.build(f"{raw}/old/data/*.parquet", tmp_path / "again")
    assert named.counts["records_read"] == _manifest(raw / "old")["counts"]["pairs_written"]


@pytest.mark.parametrize("wildcards", ["**/*.parquet", "**", "*/*.parquet", "*/*"])
def test_a_glob_inside_an_earlier_output_reads_its_pairs_as_the_folder_does(tmp_path: Path, wildcards: str) -> None:
    """``ds/**/*.parquet`` read ``ds/rejects/`` as raw records, and the build stopped (exit 2: no shape has a
    reject's fields) where ``build ds`` rebuilds from ``data/``; ``kto/`` would have been read as pairs."""
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps(r) + "\n" for r in [
        {"prompt": "q1", "chosen": "a", "rejected": "b"}, {"prompt": "q2", "chosen": "a", "rejected": "a"},
        {"prompt": "q3", "chosen": "c", "rejected": "d"}]))
    prefdata.build(raw, tmp_path / "ds")
    folder = prefdata.build(tmp_path / "ds", tmp_path / "from_folder")
    globbed = prefdata.build(f"{tmp_path}/ds/{wildcards}", tmp_path / "from_glob")
    assert globbed.counts == folder.counts and folder.counts["pairs_written"] == 2
    assert [i["path"] for i in _manifest(tmp_path / "from_glob")["inputs"]] == [i["path"] for i in _manifest(tmp_path / "from_folder")["inputs"]]
    assert _skipped(tmp_path / "from_glob").get("rejects/", "").startswith("part of an earlier `prefdata build`")


def test_a_glob_lists_the_folders_and_hidden_names_it_does_not_read(tmp_path: Path) -> None:
    raw, elsewhere = tmp_path / "raw", tmp_path / "elsewhere"
    (raw / "sub").mkdir(parents=True)
    elsewhere.mkdir()
    for folder in (raw, raw / "sub", elsewhere):
        (folder / f"{folder.name}.jsonl").write_bytes(STRINGS.read_bytes())
    (raw / "linked").symlink_to(elsewhere)
    (raw / "_draft.jsonl").write_bytes(STRINGS.read_bytes())
    (raw / "again.jsonl").symlink_to(raw / "raw.jsonl")
    prefdata.build(f"{raw}/*", tmp_path / "out", config=PREFERENCE)
    assert [i["path"] for i in _manifest(tmp_path / "out")["inputs"]] == ["raw.jsonl"]
    skipped = _skipped(tmp_path / "out")
    assert skipped["sub/"].startswith("a folder the glob matches") and skipped["linked/"] == skipped["sub/"]
    assert skipped["_draft.jsonl"].startswith("hidden") and skipped["again.jsonl"] == "the same file as raw.jsonl, which is read already"
    # a wildcard that asks for the hidden name reads it; /** reads inside folders
    prefdata.build(f"{raw}/_*.jsonl", tmp_path / "draft", config=PREFERENCE)
    assert [i["path"] for i in _manifest(tmp_path / "draft")["inputs"]] == ["_draft.jsonl"]
    prefdata.build(f"{raw}/**/*.jsonl", tmp_path / "deep", config=PREFERENCE)
    assert [i["path"] for i in _manifest(tmp_path / "deep")["inputs"]] == ["linked/elsewhere.jsonl", "raw.jsonl", "sub/sub.jsonl"]


def test_a_glob_matching_only_what_it_passes_over_is_nothing_readable(tmp_path: Path) -> None:
    from prefdata.errors import InputError

    (tmp_path / "raw" / "sub").mkdir(parents=True)
    with pytest.raises(InputError, match="nothing readable"):
        prefdata.build(f"{tmp_path}/raw/*", tmp_path / "out")
    with pytest.raises(InputError, match="matches no file"):
        prefdata.build(f"{tmp_path}/raw/*.jsonl", tmp_path / "out")


def test_a_rebuild_of_out_inside_raw_records_the_same_manifest(tmp_path: Path) -> None:
    """The rebuild listed OUT itself, and a killed build's temp folder under its random name, as skipped."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "strings.jsonl").write_bytes(STRINGS.read_bytes())
    prefdata.build(raw, raw / "out", config=PREFERENCE)
    first = _manifest(raw / "out")
    prefdata.build(raw, raw / "out", config=PREFERENCE)
    (raw / ".out.prefdata-tmp-999999999-deadbeef" / "data").mkdir(parents=True)
    prefdata.build(raw, raw / "out", config=PREFERENCE)
    again = _manifest(raw / "out")
    assert again["skipped_files"] == first["skipped_files"] == []
    assert {k: v for k, v in again.items() if k != "outputs"} == {k: v for k, v in first.items() if k != "outputs"}


def test_the_config_a_manifest_records_builds_the_same_bytes(tmp_path: Path) -> None:
    """The fixtures' pairwise source with winner_threshold was refused: the recorded config holds the
    default winner_values too, and the two were 'not both'."""
    prefdata.build(FIXTURES / "raw", tmp_path / "a", config=CONFIG)
    recorded = tmp_path / "recorded.json"
    recorded.write_text(json.dumps(_manifest(tmp_path / "a")["config"]))
    prefdata.build(FIXTURES / "raw", tmp_path / "b", config=recorded)
    assert _hashes(tmp_path / "b") == _hashes(tmp_path / "a")


def test_a_utf8_file_name_is_read_whatever_the_locale(tmp_path: Path) -> None:
    """Under LC_ALL=C without UTF-8 mode Python decodes names as ASCII; café.jsonl was skipped as not UTF-8."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "café.jsonl").write_bytes(STRINGS.read_bytes())
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "prefdata", "build", str(raw), str(tmp_path / "c"), "-q"], env=env, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    prefdata.build(raw, tmp_path / "utf8")
    assert [i["path"] for i in _manifest(tmp_path / "c")["inputs"]] == ["café.jsonl"]
    assert _hashes(tmp_path / "c") == _hashes(tmp_path / "utf8")


def test_a_glob_asks_for_hidden_names_after_a_doublestar_or_in_a_class(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / "sub").mkdir(parents=True)
    (raw / "sub" / "_b.jsonl").write_bytes(STRINGS.read_bytes())
    (raw / "_c.jsonl").write_bytes(STRINGS.read_bytes())
    (raw / "_hidden").mkdir()
    (raw / "_hidden" / "d.jsonl").write_bytes(STRINGS.read_bytes())
    prefdata.build(f"{raw}/**/_*.jsonl", tmp_path / "a", config=PREFERENCE)
    assert [i["path"] for i in _manifest(tmp_path / "a")["inputs"]] == ["_c.jsonl", "sub/_b.jsonl"]
    prefdata.build(f"{raw}/sub/[_]b.jsonl", tmp_path / "b", config=PREFERENCE)
    assert [i["path"] for i in _manifest(tmp_path / "b")["inputs"]] == ["_b.jsonl"]
    from prefdata.errors import InputError

    with pytest.raises(InputError, match="_hidden/d.jsonl: skipped \\(hidden"):  # ** and * ask for no hidden name
        prefdata.build(f"{raw}/**/*.jsonl", tmp_path / "c", config=PREFERENCE)


def test_a_glob_reads_a_file_under_its_own_name_not_a_linked_folders(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / "real").mkdir(parents=True)
    (raw / "real" / "a.jsonl").write_bytes(STRINGS.read_bytes())
    (raw / "alias").symlink_to(raw / "real")
    prefdata.build(f"{raw}/**/*.jsonl", tmp_path / "out", config=PREFERENCE)
    assert [i["path"] for i in _manifest(tmp_path / "out")["inputs"]] == ["real/a.jsonl"]
    assert _skipped(tmp_path / "out") == {"alias/a.jsonl": "the same file as real/a.jsonl, which is read already"}


def test_a_negated_class_does_not_ask_for_hidden_names(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("_x.jsonl", "b.jsonl"):
        (raw / name).write_bytes(STRINGS.read_bytes())
    prefdata.build(f"{raw}/[!a]*.jsonl", tmp_path / "out", config=PREFERENCE)
    assert [i["path"] for i in _manifest(tmp_path / "out")["inputs"]] == ["b.jsonl"]


def test_a_folder_the_glob_matches_is_listed_only_when_no_match_is_read_inside_it(tmp_path: Path) -> None:
    """A folder a glob matches holding no match is listed, not dropped unsaid; one whose files the
    glob reads (``raw/**`` matches ``sub/`` and ``sub/a.jsonl``) is read through them, not listed too."""
    line = json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"}) + "\n"
    raw = tmp_path / "raw"
    (raw / "sub" / "deeper").mkdir(parents=True)
    (raw / "sub" / "a.jsonl").write_text(line)
    (raw / "sub" / "deeper" / "b.jsonl").write_text(line)
    (raw / "empty").mkdir()
    inputs, skipped = discover(f"{raw}/**")
    assert [i.name for i in inputs] == ["sub/a.jsonl", "sub/deeper/b.jsonl"]
    assert [(s.name, s.reason) for s in skipped] == [("empty/", FOLDER_MATCHED)]
    inputs, skipped = discover(f"{raw}/*")
    assert inputs == []
    assert [(s.name, s.reason) for s in skipped] == [("empty/", FOLDER_MATCHED), ("sub/", FOLDER_MATCHED)]


@pytest.mark.parametrize("folder", [False, True])
def test_a_raw_with_glob_characters_naming_an_existing_path_is_that_path(tmp_path: Path, folder: bool) -> None:
    """RAW is a glob only when it names nothing that exists: a tool's ``logs[1].jsonl`` or a folder
    ``run[3]`` is read as itself, not as the glob ``[1]`` that matches ``logs1.jsonl`` (and no file)."""
    line = json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"}) + "\n"
    (tmp_path / "logs1.jsonl").write_text(line)  # what the glob reading would take
    if folder:
        raw = tmp_path / "run[3]"
        raw.mkdir()
        (raw / "a.jsonl").write_text(line)
    else:
        raw = tmp_path / "logs[1].jsonl"
        raw.write_text(line)
    inputs, _ = discover(raw)
    assert [i.name for i in inputs] == ["a.jsonl" if folder else "logs[1].jsonl"]

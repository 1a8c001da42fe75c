"""Feedback records that cannot be paired go through the same row rules as those that pair before
``output.kto_export`` writes them to ``kto/``: a record with an unknown or missing role, an empty
turn, a prompt not ending in a user turn or a non-assistant response is a reject with that rule's
reason and is not exported; a clean unpaired record is exported as before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import prefdata
from tests.support.dataset import assert_reconciled, pairs, rejects

FEEDBACK = {
    "sources": [{"shape": "feedback", "columns": {"prompt": "prompt", "response": "completion", "label": "label"}}],
    "output": {"kto_export": True},
}
CONVERSATION = {
    "sources": [{"shape": "feedback", "columns": {"conversation": "messages", "label": "label"}}],
    "output": {"kto_export": True},
}

CLEAN = {"prompt": [{"role": "user", "content": "A clean question"}], "completion": [{"role": "assistant", "content": "A clean answer"}], "label": True}

#: (broken record, reason, field)
BROKEN = [
    pytest.param({"prompt": [{"content": "D"}]}, "unknown_role", "prompt", id="prompt-role-none"),
    pytest.param({"prompt": [{"role": None, "content": "D"}]}, "unknown_role", "prompt", id="prompt-role-null"),
    pytest.param({"prompt": [{"role": "narrator", "content": "E"}]}, "unknown_role", "prompt", id="prompt-role-narrator"),
    pytest.param({"prompt": [{"role": "user", "content": ""}]}, "empty_field", "prompt", id="prompt-empty-turn"),
    pytest.param({"prompt": [{"role": "system", "content": "S"}, {"role": "user", "content": "  "}]}, "empty_field", "prompt", id="prompt-blank-turn"),
    pytest.param(
        {"prompt": [{"role": "user", "content": "C"}, {"role": "assistant", "content": "earlier"}]}, "bad_turn_order", "prompt", id="prompt-ends-with-assistant"
    ),
    pytest.param({"completion": [{"role": "user", "content": "x"}]}, "bad_turn_order", "completion", id="response-user-turn"),
    pytest.param({"completion": [{"role": "narrator", "content": "x"}]}, "unknown_role", "completion", id="response-role-narrator"),
    pytest.param({"completion": [{"content": "x"}]}, "unknown_role", "completion", id="response-role-none"),
]


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _kto(out: Path) -> pl.DataFrame:
    return pl.read_parquet(out / "kto" / "*.parquet")


def _kto_records(out: Path) -> list[int]:
    return sorted(_kto(out).select(pl.col("lineage").list.first().struct.field("record")).to_series().to_list())


def _assert_kto_rows_pass_the_rules(out: Path) -> None:
    for row in _kto(out).iter_rows(named=True):
        assert row["prompt"] and row["prompt"][-1]["role"] in ("user", "tool"), row
        for col in ("prompt", "completion"):
            for turn in row[col]:
                assert turn["role"] in ("system", "user", "assistant", "tool"), row
                assert turn["content"].strip(), row
        assert all(turn["role"] == "assistant" for turn in row["completion"]), row


@pytest.mark.parametrize("label", [True, False])
@pytest.mark.parametrize(("broken", "reason", "field"), BROKEN)
def test_an_unpaired_record_breaking_a_rule_is_rejected_and_not_exported(
    tmp_path: Path, broken: dict[str, Any], reason: str, field: str, label: bool
) -> None:
    bad = {**CLEAN, "prompt": [{"role": "user", "content": "A different question"}], **broken, "label": label}
    raw = _jsonl(tmp_path / "fb.jsonl", [bad, CLEAN])
    result = prefdata.build(raw, tmp_path / "out", config=FEEDBACK)
    out = tmp_path / "out"
    got = rejects(out).sort("record").select("record", "reason", "field").rows()
    assert got == [(1, reason, field), (2, "unpaired", "label")]
    assert _kto_records(out) == [2]  # the clean unpaired record is still exported
    _assert_kto_rows_pass_the_rules(out)
    assert result.counts["rejected_by_reason"] == {reason: 1, "unpaired": 1}
    assert_reconciled(out)


def test_the_hunt_repro_exports_only_clean_rows(tmp_path: Path) -> None:
    rows = [
        {"prompt": [{"role": "user", "content": "C"}, {"role": "assistant", "content": "earlier"}], "completion": "x", "label": True},
        {"prompt": [{"content": "D"}], "completion": "y", "label": False},
        {"prompt": [{"role": "narrator", "content": "E"}], "completion": "z", "label": True},
        {"prompt": [{"role": "user", "content": ""}], "completion": "w", "label": True},
        {"prompt": [{"role": "user", "content": "What is 2+2?"}], "completion": "4", "label": True},
        {"prompt": [{"role": "user", "content": "What is 2+2?"}], "completion": "22", "label": False},
        {"prompt": [{"content": "Hi"}], "completion": "Hello", "label": True},
        {"prompt": [{"content": "Hi"}], "completion": "Go away", "label": False},
        {"prompt": [{"role": "user", "content": "Lonely"}], "completion": "up-voted, unpaired", "label": True},
    ]
    result = prefdata.build(_jsonl(tmp_path / "kto.jsonl", rows), tmp_path / "out", config=FEEDBACK)
    out = tmp_path / "out"
    got = rejects(out).sort("record").select("record", "reason").rows()
    assert got == [
        (1, "bad_turn_order"),
        (2, "unknown_role"),
        (3, "unknown_role"),
        (4, "empty_field"),
        (7, "unknown_role"),
        (8, "unknown_role"),
        (9, "unpaired"),
    ]
    assert sorted(r["record"] for lin in pairs(out)["lineage"].to_list() for r in lin) == [5, 6]
    assert _kto_records(out) == [9]
    _assert_kto_rows_pass_the_rules(out)
    assert (result.counts["records_read"], result.counts["pairs_written"], result.counts["records_rejected"]) == (9, 1, 7)
    assert_reconciled(out)


def test_a_broken_record_does_not_sink_its_clean_partner(tmp_path: Path) -> None:
    """Same normalized prompt text, but the up-vote's prompt has no role: it is rejected on its own,
    and the clean down-vote, left without a partner, is exported."""
    rows = [
        {"prompt": [{"content": "Hi"}], "completion": "Hello", "label": True},
        {"prompt": [{"role": "user", "content": "Hi"}], "completion": "Go away", "label": False},
    ]
    prefdata.build(_jsonl(tmp_path / "fb.jsonl", rows), tmp_path / "out", config=FEEDBACK)
    out = tmp_path / "out"
    assert rejects(out).sort("record").select("record", "reason").rows() == [(1, "unknown_role"), (2, "unpaired")]
    assert _kto_records(out) == [2]
    assert_reconciled(out)


@pytest.mark.parametrize(
    ("messages", "reason", "field"),
    [
        pytest.param([{"role": "narrator", "content": "x"}, {"role": "assistant", "content": "a"}], "unknown_role", "prompt", id="narrator"),
        pytest.param([{"role": "user", "content": "hi"}, {"role": "user", "content": "a"}], "bad_turn_order", "messages", id="ends-with-user"),
        pytest.param([{"role": "assistant", "content": "hi"}, {"role": "assistant", "content": "a"}], "bad_turn_order", "prompt", id="prompt-ends-with-assistant"),
        pytest.param([{"role": "user", "content": " "}, {"role": "assistant", "content": "a"}], "empty_field", "prompt", id="empty-turn"),
    ],
)
def test_conversation_feedback_applies_the_same_rules(tmp_path: Path, messages: list[dict[str, Any]], reason: str, field: str) -> None:
    rows = [
        {"messages": messages, "label": True},
        {"messages": [{"role": "user", "content": "hey"}, {"role": "assistant", "content": "hello"}], "label": False},
    ]
    prefdata.build(_jsonl(tmp_path / "c.jsonl", rows), tmp_path / "out", config=CONVERSATION)
    out = tmp_path / "out"
    assert rejects(out).sort("record").select("record", "reason", "field").rows() == [(1, reason, field), (2, "unpaired", "label")]
    assert _kto_records(out) == [2]
    _assert_kto_rows_pass_the_rules(out)
    assert_reconciled(out)


def test_without_kto_export_the_rejects_are_the_same(tmp_path: Path) -> None:
    rows = [
        {"prompt": [{"role": "narrator", "content": "E"}], "completion": [{"role": "assistant", "content": "z"}], "label": True},
        CLEAN,
    ]
    config = {**FEEDBACK, "output": {"kto_export": False}}
    prefdata.build(_jsonl(tmp_path / "fb.jsonl", rows), tmp_path / "out", config=config)
    out = tmp_path / "out"
    assert rejects(out).sort("record").select("record", "reason").rows() == [(1, "unknown_role"), (2, "unpaired")]
    assert not (out / "kto").exists()
    assert_reconciled(out)


@pytest.mark.parametrize("kto_export", [True, False])
def test_the_build_summary_names_the_kto_folder_when_it_writes_one(tmp_path: Path, kto_export: bool) -> None:
    import yaml
    from click.testing import CliRunner

    from prefdata.cli import cli

    config = tmp_path / "build.yaml"
    config.write_text(yaml.safe_dump({**FEEDBACK, "output": {"kto_export": kto_export}}))
    raw = _jsonl(tmp_path / "fb.jsonl", [CLEAN, {**CLEAN, "label": False}])
    result = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out"), "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    folders = "data/, kto/, rejects/" if kto_export else "data/, rejects/"
    assert f"wrote {tmp_path / 'out'}/ ({folders}, manifest.json, README.md)" in result.output


PLAIN = {
    "sources": [{"shape": "feedback", "columns": {"prompt": "prompt", "response": "response", "label": "label"}}],
    "output": {"kto_export": True},
}


def test_kto_rows_follow_the_test_group_a_small_build_forces(tmp_path: Path) -> None:
    """A fraction too small to pick a group: the build puts the group with the smallest hash in test,
    and the KTO rows of that prompt (over the cap here) went to kto/train, so it was in both splits."""
    rows = []
    for name in ("alpha", "beta"):
        rows += [{"prompt": f"Tell me about {name}", "response": f"{name} {kind}", "label": label}
                 for kind, label in (("good", "up"), ("bad one", "down"), ("bad two", "down"))]
    config = {**PLAIN, "sources": [{**PLAIN["sources"][0], "max_pairs_per_prompt": 1}], "split": {"test_fraction": 0.01, "seed": 0}}
    out = tmp_path / "out"
    prefdata.build(_jsonl(tmp_path / "fb.jsonl", rows), out, config=config)

    def prompts(folder: str, split: str) -> set[str]:
        frame = pl.read_parquet(out / folder / f"{split}-00000-of-00001.parquet")
        return {p[-1]["content"] for p in frame["prompt"].to_list()}

    assert len(prompts("data", "test")) == 1 and len(prompts("data", "train")) == 1
    for split in ("train", "test"):
        assert prompts("kto", split) == prompts("data", split)
    assert_reconciled(out)


def test_repeats_of_an_unpaired_record_are_exported_once(tmp_path: Path) -> None:
    """A canned reply down-voted eight times on a prompt without an up-vote was eight kto/ rows: KTOTrainer
    weighted it eight times. Copies are ``duplicate_record`` rejects; ``--keep-duplicates`` keeps them."""
    rows = [{"prompt": "Cancel my order", "response": "Sorry, I can't help.", "label": "down"}] * 8
    rows += [{"prompt": "cancel my  order", "response": "Sorry, I can't help.", "label": "down"}]  # another prompt text: kept
    rows += [{"prompt": "Another question", "response": "An answer", "label": "up"}] * 2
    rows += [{"prompt": "Another question", "response": "An answer", "label": "down"}]  # the other vote: an identical match
    raw = _jsonl(tmp_path / "fb.jsonl", rows)
    prefdata.build(raw, tmp_path / "out", config=PLAIN)
    assert _kto_records(tmp_path / "out") == [1, 9]
    reasons = {r["record"]: r["reason"] for r in rejects(tmp_path / "out").iter_rows(named=True)}
    assert reasons == {1: "unpaired", 9: "unpaired", **dict.fromkeys(range(2, 9), "duplicate_record"), **dict.fromkeys((10, 11, 12), "identical_responses")}
    detail = rejects(tmp_path / "out").filter(pl.col("record") == 5)["detail"].item()
    assert detail == "same prompt, response and label as fb.jsonl record 1, which is kept"
    assert_reconciled(tmp_path / "out")

    prefdata.build(raw, tmp_path / "all", config=PLAIN, dedup=False)
    assert _kto_records(tmp_path / "all") == list(range(1, 10))


def test_kto_shards_without_feedback_have_the_same_columns(tmp_path: Path) -> None:
    raw = _jsonl(tmp_path / "p.jsonl", [{"prompt": "a", "chosen": "x", "rejected": "y"}, {"prompt": "b", "chosen": "x", "rejected": "y"}])
    preference = {"sources": [{"shape": "preference", "columns": {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"}}]}
    prefdata.build(raw, tmp_path / "out", config={**preference, "output": {"kto_export": True}})
    with_feedback = tmp_path / "fb"
    prefdata.build(_jsonl(tmp_path / "fb.jsonl", [{"prompt": "q", "response": "r", "label": "up"}]), with_feedback, config=PLAIN)
    for split in ("train", "test"):
        empty = pl.read_parquet_schema(tmp_path / "out" / "kto" / f"{split}-00000-of-00001.parquet")
        assert empty == pl.read_parquet_schema(with_feedback / "kto" / f"{split}-00000-of-00001.parquet")


def test_a_repeat_of_an_unpaired_record_in_another_source_is_exported_once(tmp_path: Path) -> None:
    """One source per file: the same unpaired record in a.jsonl and b.jsonl was two kto/ rows, where the
    same pair in both files is written once."""
    raw = tmp_path / "raw"
    raw.mkdir()
    vote = {"prompt": "Cancel my order", "response": "Sorry, I can't help.", "label": "down"}
    _jsonl(raw / "a.jsonl", [vote])
    _jsonl(raw / "b.jsonl", [vote, {"prompt": "Another", "response": "Yes", "label": "up"}])
    config = {"sources": [{**PLAIN["sources"][0], "name": n, "path": f"{n}.jsonl"} for n in ("a", "b")], "output": {"kto_export": True}}
    for partitions in (1, 3):
        out = tmp_path / f"out{partitions}"
        prefdata.build(raw, out, config=config, partitions=partitions)
        assert sorted(r["source"] for r in _kto(out).iter_rows(named=True)) == ["a", "b"]  # b's "Another", a's vote
        [copy] = rejects(out).filter(pl.col("reason") == "duplicate_record").to_dicts()
        assert (copy["file"], copy["record"]) == ("b.jsonl", 1)
        assert copy["detail"] == "same prompt, response and label as a.jsonl record 1, which is kept"
        assert_reconciled(out)


def test_a_build_with_no_pairs_never_loads_its_kto_rows_as_the_default(tmp_path: Path) -> None:
    """No prompt got both votes, so only ``kto/`` has rows. The card named one config, ``kto``, and
    ``datasets`` takes a lone config as the default: ``load_dataset(OUT)`` handed out the unpaired rows,
    thumbs-down replies included (a valid SFT dataset). Now it fails, and ``"kto"`` loads by name."""
    import datasets

    raw = _jsonl(tmp_path / "fb.jsonl", [
        {**CLEAN, "prompt": [{"role": "user", "content": f"Question {i}"}], "label": i % 2 == 0} for i in range(3)
    ])
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps(FEEDBACK))
    result = prefdata.build(raw, tmp_path / "out", config=config)
    assert result.counts["pairs_written"] == 0
    assert len(_kto(tmp_path / "out")) == 3
    cache = str(tmp_path / "hf")
    with pytest.raises(ValueError, match="corresponds to no data"):
        datasets.load_dataset(str(tmp_path / "out"), cache_dir=cache)
    assert datasets.load_dataset(str(tmp_path / "out"), "kto", cache_dir=cache)["train"].num_rows == 3
    assert "| unpaired rows for KTO (`kto/`" in (tmp_path / "out" / "README.md").read_text()
    failed = [getattr(x, "id", None) or x.expectation_type for x in prefdata.check(tmp_path / "out", write=False).failures()]
    assert failed == ["expect_table_row_count_to_be_between", "schema"]
    assert "holds no pair at all" in prefdata.check(tmp_path / "out", write=False).check("schema").message


def test_kto_rows_are_in_raw_order_and_the_same_bytes_whatever_the_partitions(tmp_path: Path) -> None:
    """README "Deterministic": the same inputs and options give byte-identical files on any number of
    cores, and kto/ is one shard per split whatever ``--partitions``: its unpaired rows are in raw
    (record) order, not partition by partition."""
    raw = _jsonl(tmp_path / "fb.jsonl", [{"prompt": f"Lonely question {i}?", "response": f"Answer {i}.", "label": "up" if i % 2 else "down"} for i in range(30)])
    config = {**PLAIN, "split": {"test_fraction": 0.0}}
    shards = {}
    for partitions in (1, 4):
        out = tmp_path / f"out{partitions}"
        prefdata.build(raw, out, config=config, partitions=partitions)
        shard = out / "kto" / "train-00000-of-00001.parquet"
        records = pl.read_parquet(shard).select(pl.col("lineage").list.first().struct.field("record")).to_series().to_list()
        assert records == list(range(1, 31)), partitions
        shards[partitions] = shard.read_bytes()
    assert shards[1] == shards[4]


def test_a_rebuild_without_the_kto_export_drops_the_previous_kto_folder(tmp_path: Path) -> None:
    """README: "A rebuild replaces what builds write (`data/`, `rejects/`, `kto/`, `manifest.json`,
    `README.md`)". kto/ is a build's, not the user's: a rebuild without ``kto_export`` must not carry the
    old export into the new OUT, where it would be unlisted in the manifest yet still load as "kto"."""
    raw = _jsonl(tmp_path / "fb.jsonl", [{"prompt": f"Q{i}?", "response": "A.", "label": "up"} for i in range(4)] + [{"prompt": "Q0?", "response": "B.", "label": "down"}])
    out = tmp_path / "out"
    prefdata.build(raw, out, config=PLAIN)
    assert (out / "kto" / "train-00000-of-00001.parquet").is_file()
    said: list[str] = []
    prefdata.build(raw, out, config={"sources": PLAIN["sources"]}, log=said.append)
    assert not (out / "kto").exists()
    assert not [o["path"] for o in json.loads((out / "manifest.json").read_text())["outputs"] if o["path"].startswith("kto/")]
    assert not [line for line in said if "kept from the previous OUT" in line]

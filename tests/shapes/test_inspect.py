"""``prefdata inspect``: fields, examples, the detected shape and a config that builds the file."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

import prefdata
from prefdata.cli import cli
from tests.conftest import FIXTURES
from tests.support.dataset import pairs


def test_inspect_api_proposes_a_config_that_builds(tmp_path: Path) -> None:
    result = prefdata.inspect(FIXTURES / "raw" / "pairwise" / "arena.jsonl")
    (report,) = result.files
    assert report.shape == "pairwise" and report.sampled == 4
    fields = {f.name: f for f in report.fields}
    assert fields["winner"].types == {"string": 4} and fields["prompt"].mean_chars and fields["prompt"].mean_chars > 10
    cfg = yaml.safe_load(report.config_yaml)
    prefdata.build(FIXTURES / "raw" / "pairwise" / "arena.jsonl", tmp_path / "out", config=cfg)
    assert pairs(tmp_path / "out").height == 2


def test_inspect_cli_on_a_folder(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["inspect", str(FIXTURES / "raw" / "pairwise"), "--examples", "1"])
    assert res.exit_code == 0, res.output
    assert "== arena.jsonl (jsonl" in res.stdout and "detected pairwise" in res.stdout
    assert "== winner_01.jsonl" in res.stdout and "not detected: file winner_01.jsonl: looks pairwise" in res.stdout
    assert "config to complete:" in res.stdout and "winner_values: {a: [<value meaning A wins>]" in res.stdout
    assert "example 1:" in res.stdout
    assert "response1" in res.stdout and "number 6" in res.stdout  # annotators.jsonl field stats


def test_a_damaged_file_is_listed_as_skipped_and_the_others_described(tmp_path: Path) -> None:
    """The build skips a damaged Parquet or zstd file and goes on; inspect stopped at it with exit 2."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "good.jsonl").write_text('{"prompt": "p", "chosen": "a", "rejected": "b"}\n')
    (raw / "bad.parquet").write_bytes(b"PAR1 not really parquet")
    (raw / "bad.jsonl.zst").write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 20)
    res = CliRunner().invoke(cli, ["inspect", str(raw)])
    assert res.exit_code == 0, res.output
    assert "== good.jsonl (jsonl" in res.stdout and "detected preference" in res.stdout
    assert "== bad.parquet: skipped (not a readable Parquet file" in res.stdout
    assert "== bad.jsonl.zst: skipped (" in res.stdout
    assert [s.name for s in prefdata.inspect(raw).skipped] == ["bad.jsonl.zst", "bad.parquet"]


def test_a_small_sample_describes_fewer_records_but_detects_as_the_build_does(tmp_path: Path) -> None:
    """Detection from one record found a feedback log that the build (200 records) cannot tell."""
    raw = FIXTURES / "raw" / "feedback" / "thumbs.jsonl"
    full, one = prefdata.inspect(raw), prefdata.inspect(raw, sample_size=1)
    assert one.files[0].sampled == 1 and full.files[0].sampled > 1
    assert (one.files[0].shape, one.files[0].problem, one.files[0].config_yaml) == (full.files[0].shape, full.files[0].problem, full.files[0].config_yaml)
    pairwise = FIXTURES / "raw" / "pairwise" / "annotators.jsonl"
    assert prefdata.inspect(pairwise, sample_size=1).files[0].config_yaml == prefdata.inspect(pairwise).files[0].config_yaml


def test_nothing_readable_exits_2_after_listing_what_was_skipped(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("{}")
    (tmp_path / "cut.json").write_text('[{"prompt": "p", "chos')
    res = CliRunner().invoke(cli, ["inspect", str(tmp_path)])
    assert res.exit_code == 2, res.output
    assert "== notes.txt: skipped (unknown extension '.txt'" in res.stdout
    assert "nothing readable in RAW" in res.output
    assert "config to complete:\n" not in res.stdout.replace("config to complete:\n    ", "")  # never a header with nothing under it


def test_a_feedback_log_with_an_unknown_vote_gets_a_feedback_config_to_complete(tmp_path: Path) -> None:
    """It was told 'cannot tell its shape' and given a prompt/chosen/rejected skeleton."""
    raw = tmp_path / "votes.jsonl"
    raw.write_text('{"prompt": "p", "response": "r", "rating": "thumbs_up"}\n{"prompt": "p", "response": "s", "rating": "meh"}\n')
    (report,) = prefdata.inspect(raw).files
    assert report.problem is not None and "looks like feedback ('response' voted on in 'rating')" in report.problem and '"meh"' in report.problem
    assert "shape: feedback" in report.config_yaml and "label: rating" in report.config_yaml and "labels: {up:" in report.config_yaml


def test_inspect_skips_a_parquet_file_whose_read_column_the_build_cannot_import(tmp_path: Path) -> None:
    """A tree file (the shape reads whole records) with a ``decimal256`` column: inspect said "detected
    tree" and proposed a config, and the build, with or without that config, stopped on the column."""
    import decimal
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [json.loads(line) for line in (FIXTURES / "raw" / "tree" / "oasst_mini.jsonl").read_text().splitlines() if line.strip()]
    table = pa.Table.from_pylist(records)
    table = table.append_column("d", pa.array([decimal.Decimal(i) for i in range(len(records))], type=pa.decimal256(40, 0)))
    pq.write_table(table, tmp_path / "tree.parquet")
    result = prefdata.inspect(tmp_path / "tree.parquet")
    assert not result.files
    (skipped,) = result.skipped
    assert "column 'd' (decimal256(40, 0)) cannot be read" in skipped.reason, skipped
    # a preference file whose decimal256 column nothing reads is inspected and built as before
    pairs_table = pa.table({"prompt": ["q"], "chosen": ["a"], "rejected": ["b"],
                            "d": pa.array([decimal.Decimal(1)], type=pa.decimal256(40, 0))})
    pq.write_table(pairs_table, tmp_path / "pairs.parquet")
    assert prefdata.inspect(tmp_path / "pairs.parquet").files[0].shape == "preference"
    assert prefdata.build(tmp_path / "pairs.parquet", tmp_path / "out", quiet=True).counts["pairs_written"] == 1


def test_fields_are_listed_most_present_first_with_the_mean_length_of_their_texts() -> None:
    """inspect.field_stats: fields most present first, ties by name; mean_chars is the mean length of
    the field's text values (a number in another record is no text and does not count)."""
    from prefdata.inspect import field_stats

    stats = field_stats([{"b": "abcd", "a": 1, "z": "xx"}, {"b": 7, "z": "xxxx"}, {"z": "x", "c": "y"}])
    assert [(s.name, s.present, s.types, s.mean_chars) for s in stats] == [
        ("z", 3, {"string": 3}, 7 / 3),
        ("b", 2, {"string": 1, "number": 1}, 4.0),
        ("a", 1, {"number": 1}, None),
        ("c", 1, {"string": 1}, 1.0),
    ]


def test_inspect_cli_says_one_record_and_lists_a_fields_types_most_frequent_first(tmp_path: Path) -> None:
    """The per-file line says "1 record sampled" (singular), and a field's types are listed most
    frequent first ("string 3, number 1", not alphabetically)."""
    import json

    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps({"prompt": "q", "chosen": "a", "rejected": "b"}) + "\n")
    res = CliRunner().invoke(cli, ["inspect", str(one)])
    assert res.exit_code == 0 and "; 1 record sampled)" in res.output, res.output
    many = tmp_path / "many.jsonl"
    many.write_text("".join(json.dumps({"prompt": f"q{i}", "chosen": "a", "rejected": "b", "tier": v}) + "\n" for i, v in enumerate([1, "x", "y", "z"])))
    res = CliRunner().invoke(cli, ["inspect", str(many)])
    assert res.exit_code == 0 and "; 4 records sampled)" in res.output, res.output
    [tier] = [line for line in res.output.splitlines() if line.strip().startswith("tier")]
    assert "string 3, number 1" in tier, tier

"""``prefdata report`` on odd or broken input: a clear error (exit 2) or a note and a report, never a traceback.

The rule the report follows: exit 2 when the pairs themselves cannot be read (no shards, a message
column that is not a list of messages); a note naming the file and field when only a supplementary
part is unusable (a mistyped metadata column, a malformed manifest.json, an unreadable rejects
shard), because the rest of the report is still true and worth reading.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from prefdata.cli import cli
from prefdata.report import ReportError, report
from prefdata.report.normalize import plan_shard
from prefdata.schema import CANONICAL_SCHEMA, pair_id
from tests.report.report_datasets import REJECTS, canonical_row, msg, simple_rows, write_dataset

SHARD = "data/train-00000-of-00001.parquet"


def run(out: Path, *args: str):
    result = CliRunner().invoke(cli, ["report", str(out), *args])
    assert "Traceback" not in result.output
    return result


def sample_ids(out: Path) -> list[str]:
    return re.findall(r'data-pair-id="([^"]*)"', (out / "report.html").read_text())


def pairwise_rows(n: int) -> list[dict]:
    return [canonical_row([msg("user", f"Question {i}?")], [msg("assistant", f"Good answer {i}.")],
                          [msg("assistant", f"Bad {i}.")], source="arena", scores=(2.0, 1.0), record=i + 1,
                          position="ab"[i % 2]) for i in range(n)]


def rewrite(out: Path, name: str, change) -> None:
    """Rewrite one shard with pyarrow after ``change(table) -> table`` (types polars would not write)."""
    path = out / name
    pq.write_table(change(pq.read_table(path)), path)


def replace(table: pa.Table, column: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(column), column, values)


# --- mistyped metadata columns: read what can be read, say what was not (r15) ---------------------------


def test_integer_ids_are_read_as_text(tmp_path):
    out = write_dataset(tmp_path / "out", {"train": simple_rows(12)})
    rewrite(out, SHARD, lambda t: replace(t, "id", pa.array(range(t.num_rows), pa.int64())))
    result = run(out, "--sample", "3")
    assert result.exit_code == 0, result.output
    assert f"note: {SHARD}: column 'id' is Int64, expected String; read as String." in result.stderr
    assert len(sample_ids(out)) == 3 and all(i.isdigit() for i in sample_ids(out))


def test_text_scores_become_missing_where_they_are_not_numbers(tmp_path):
    out = write_dataset(tmp_path / "out", {"train": pairwise_rows(10)})
    rewrite(out, SHARD, lambda t: replace(t, "score_chosen", pa.array(["high"] * 5 + ["2.5"] * 5)))
    result = run(out)
    assert result.exit_code == 0, result.output
    assert f"{SHARD}: column 'score_chosen' is String, expected Float64; values that are not numbers are shown as missing" in result.stderr
    md = (out / "report.md").read_text()
    assert "Score margin: 5 scored pairs, median 1.5" in md


def test_a_categorical_source_is_read_without_a_recast_note():
    """normalize._is_lossy: the recast notes are for casts that may lose or change values (text to number,
    number to text); a dictionary-encoded (pandas ``category``) text column decodes to the same strings."""
    schema = pl.Schema({**CANONICAL_SCHEMA, "source": pl.Categorical()})
    plan = plan_shard(schema, SHARD)
    assert plan.recast == {} and plan.unusable == {}
    frame = pl.DataFrame({"source": ["beta", "alpha", "beta"]}, schema={"source": pl.Categorical()})
    assert frame.select(plan.columns["source"]).to_series().to_list() == ["beta", "alpha", "beta"]


def test_integer_scores_are_read_without_a_recast_note():
    """normalize._is_lossy: integer scores (a tool rating 1..10 writes Int64) read as Float64 lose nothing,
    so no "values that are not numbers are shown as missing" note; 9 and 3 read as 9.0 and 3.0."""
    schema = pl.Schema({**CANONICAL_SCHEMA, "score_chosen": pl.Int64(), "score_rejected": pl.Int32()})
    plan = plan_shard(schema, SHARD)
    assert plan.recast == {} and plan.unusable == {}
    frame = pl.DataFrame({"score_chosen": [9, 10], "score_rejected": [3, -2]},
                         schema={"score_chosen": pl.Int64(), "score_rejected": pl.Int32()})
    got = frame.select(plan.columns["score_chosen"], plan.columns["score_rejected"]).rows()
    assert got == [(9.0, 3.0), (10.0, -2.0)]


def test_lineage_as_plain_text_is_ignored_with_a_note(tmp_path):
    out = write_dataset(tmp_path / "out", {"train": simple_rows(6)})
    rewrite(out, SHARD, lambda t: replace(t, "lineage", pa.array([f"f:{i}" for i in range(t.num_rows)])))
    result = run(out, "--sample", "6")
    assert result.exit_code == 0, result.output
    assert f"{SHARD}: column 'lineage' is String, expected List(Struct" in result.stderr
    assert "the report ignores it" in result.stderr
    assert len(sample_ids(out)) == 6 and "<b>lineage</b>" not in (out / "report.html").read_text()


def test_messages_that_cannot_be_text_are_an_error_naming_file_and_column(tmp_path):
    out = write_dataset(tmp_path / "out", {"train": simple_rows(3)})
    bad = pa.list_(pa.struct([("role", pa.string()), ("content", pa.list_(pa.int64()))]))
    rewrite(out, SHARD, lambda t: replace(t, "chosen", pa.array([[{"role": "assistant", "content": [1]}]] * 3, bad)))
    result = run(out)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and SHARD in result.stderr and "column 'chosen'" in result.stderr


@pytest.mark.parametrize("column", ["prompt", "chosen", "rejected"])
def test_a_shard_without_a_message_column_is_an_error_naming_it(tmp_path, column):
    """README: exit code 2 when the pairs cannot be read; plan_shard: a missing message column is a
    DatasetError naming the shard and column (each of the three, not only the first two)."""
    out = write_dataset(tmp_path / "out", {"train": simple_rows(3)})
    rewrite(out, SHARD, lambda t: t.drop_columns([column]))
    result = run(out)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and SHARD in result.stderr and f"missing canonical column {column!r}" in result.stderr


def test_messages_without_a_role_field_are_an_error_not_shown_roleless(tmp_path):
    out = write_dataset(tmp_path / "out", {"train": simple_rows(3)})
    bad = pa.list_(pa.struct([("content", pa.string())]))
    rewrite(out, SHARD, lambda t: replace(t, "chosen", pa.array([[{"content": "a"}]] * 3, bad)))
    result = run(out)
    assert result.exit_code == 2
    assert SHARD in result.stderr and "column 'chosen'" in result.stderr


@pytest.mark.parametrize(
    ("content_type", "content", "shown"),
    [
        (pa.binary(), b"Zyx caf\xc3\xa9 \xff", "Zyx caf\u00e9 \ufffd"),
        (
            pa.list_(pa.struct([("type", pa.string()), ("text", pa.string())])),
            [{"type": "text", "text": "Zyx-par"}, {"type": "text", "text": "ts"}],
            "Zyx-parts",
        ),
    ],
    ids=["bytes", "text-parts"],
)
def test_foreign_message_content_is_read_as_check_reads_it(tmp_path, content_type, content, shown):
    """The report reads bytes (invalid UTF-8 replaced) and ``{type, text}`` parts (joined) through
    prefdata.coerce, as ``check`` does, and says that it did."""
    out = write_dataset(tmp_path / "out", {"train": simple_rows(3)})
    foreign = pa.list_(pa.struct([("role", pa.string()), ("content", content_type)]))
    rewrite(out, SHARD, lambda t: replace(t, "chosen", pa.array([[{"role": "assistant", "content": content}]] * 3, foreign)))
    result = run(out, "--sample", "3")
    assert result.exit_code == 0, result.output
    assert f"{SHARD}: column 'chosen' is List(Struct" in result.stderr and "message fields are read as text" in result.stderr
    page = (out / "report.html").read_text()
    assert page.count(shown) >= 3


# --- manifest.json is metadata: a malformed one is ignored with a note, and the card left alone ----------


@pytest.mark.parametrize(
    ("counts", "field"),
    [(None, "counts: expected an object, got null"),
     ({"records_read": "x"}, 'counts.records_read: expected a whole number >= 0, got "x"'),
     ({"records_read": True}, "counts.records_read: expected a whole number >= 0, got true"),  # JSON true is not 1
     ({"rejected_by_reason": {"tie": "many"}}, 'counts.rejected_by_reason.tie: expected a whole number >= 0, got "many"'),
     ({"pairs_by_split": []}, "counts.pairs_by_split: expected an object")],
)
def test_malformed_manifest_counts_are_a_note(tmp_path, counts, field):
    out = write_dataset(tmp_path / "out", {"train": simple_rows(5)}, rejects=REJECTS)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["counts"] = counts
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "README.md").write_text("card written by build\n")
    result = run(out)
    assert result.exit_code == 0, result.output
    assert f"note: manifest.json: {field}" in result.stderr
    assert "The manifest is ignored" in result.stderr
    assert (out / "README.md").read_text() == "card written by build\n"
    html = (out / "report.html").read_text()
    assert '<tr><td>records rejected</td><td class="n">3</td></tr>' in html  # from rejects/ instead


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"outputs": [{"path": 3}]}', '{"inputs": [{"path": "a", "sha256": null}]}'])
def test_unreadable_manifest_is_a_note(tmp_path, text):
    out = write_dataset(tmp_path / "out", {"train": simple_rows(5)})
    (out / "manifest.json").write_text(text)
    result = run(out)
    assert result.exit_code == 0, result.output
    assert "note: manifest.json: " in result.stderr and "The manifest is ignored" in result.stderr


def _manifest_counts(out: Path, **counts) -> None:
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["counts"].update(counts)
    (out / "manifest.json").write_text(json.dumps(manifest))


def test_manifest_and_shards_disagreeing_is_noted(tmp_path):
    """A split on disk that the manifest does not list, and pairs moved between sources, were not noted:
    only the splits the manifest lists were compared."""
    out = write_dataset(tmp_path / "out", {"train": simple_rows(2), "validation": simple_rows(2, seed=1)})
    _manifest_counts(out, pairs_written=2, pairs_by_split={"train": 2}, by_source={"src": {"pairs_written": 2}})
    notes = report(out, card=False).notes
    assert "manifest.json says 0 validation pairs (it lists no validation split), the shards hold 2" in notes
    assert "manifest.json and the shards disagree on the pairs of 1 source(s) (src: 2 in manifest.json, 4 in the shards)" in notes
    # without a per-split map, the total is compared
    _manifest_counts(out, pairs_by_split={}, by_source={"src": {"pairs_written": 4}})
    assert report(out, card=False).notes == ["manifest.json says 2 pairs written, the shards hold 4"]
    _manifest_counts(out, pairs_written=4)
    assert report(out, card=False).notes == []


# --- rejects/ only explains what the build dropped: unreadable parts are left out with a note ------------


def test_corrupt_rejects_shard_is_a_note(tmp_path):
    out = write_dataset(tmp_path / "out", {"train": simple_rows(5)}, rejects=REJECTS)
    (out / "rejects" / "rejects-00000-of-00001.parquet").write_text("garbage")
    result = run(out)
    assert result.exit_code == 0, result.output
    assert "note: rejects/rejects-00000-of-00001.parquet: not a readable Parquet file" in result.stderr


def test_rejects_shard_without_reason_is_a_note(tmp_path):
    out = write_dataset(tmp_path / "out", {"train": simple_rows(5)}, rejects=REJECTS)
    pl.DataFrame({"file": ["a.jsonl"], "why": ["tie"]}).write_parquet(out / "rejects" / "rejects-00001-of-00002.parquet")
    result = run(out)
    assert result.exit_code == 0, result.output
    assert "note: rejects/rejects-00001-of-00002.parquet: column 'reason' is missing" in result.stderr
    html = (out / "report.html").read_text()
    assert "<code>malformed_json</code>" in html  # the readable rejects shard is still shown


# --- variants `prefdata check` accepts (r16) -----------------------------------------------------------


def _two_shards(tmp_path: Path) -> Path:
    rows = pairwise_rows(40)
    return write_dataset(tmp_path / "out", {"train": rows[:30], "test": rows[30:]}, manifest=False)


def test_shards_with_columns_in_another_order(tmp_path):
    out = _two_shards(tmp_path)
    rewrite(out, "data/test-00000-of-00001.parquet", lambda t: t.select(list(reversed(t.column_names))))
    result = run(out, "--sample", "40")
    assert result.exit_code == 0, result.output
    assert "40 pairs" in result.stdout and len(sample_ids(out)) == 40


def test_position_column_in_only_one_shard(tmp_path):
    out = _two_shards(tmp_path)
    rewrite(out, "data/test-00000-of-00001.parquet", lambda t: t.drop(["chosen_position"]))
    result = run(out)
    assert result.exit_code == 0, result.output
    assert "data/test-00000-of-00001.parquet: no 'chosen_position' column while other shards have one" in result.stderr
    assert '"A wins" in arena: 50.0% of 30' in (out / "report.md").read_text()  # the train shard's 30


def test_message_structs_content_first_with_dictionary_roles(tmp_path):
    out = _two_shards(tmp_path)
    reordered = pa.list_(pa.struct([("content", pa.string()), ("role", pa.dictionary(pa.int32(), pa.string())),
                                    ("name", pa.string())]))

    def change(t: pa.Table) -> pa.Table:
        for column in ("prompt", "chosen", "rejected"):
            values = [[{"content": m["content"], "role": m["role"], "name": None} for m in ms] for ms in t[column].to_pylist()]
            t = replace(t, column, pa.array(values, reordered))
        return t

    rewrite(out, SHARD, change)
    assert pl.read_parquet_schema(out / SHARD)["prompt"] != pl.read_parquet_schema(out / "data/test-00000-of-00001.parquet")["prompt"]
    result = run(out, "--sample", "40")
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text()
    assert len(sample_ids(out)) == 40 and "Good answer 0." in html
    assert '"A wins" in arena: 50.0% of 40' in (out / "report.md").read_text()


def test_ids_missing_from_one_shard_are_computed(tmp_path):
    rows = pairwise_rows(4)
    out = write_dataset(tmp_path / "out", {"train": rows[:2], "test": rows[2:]}, manifest=False)
    rewrite(out, "data/test-00000-of-00001.parquet", lambda t: t.drop(["id"]))
    result = run(out, "--sample", "4")
    assert result.exit_code == 0, result.output
    expected = {pair_id(r["prompt"], r["chosen"], r["rejected"]) for r in rows}
    assert set(sample_ids(out)) == expected


# --- options and hidden files ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", ["-1", str(2**64), "x"])
def test_out_of_range_seed_is_a_usage_error(tmp_path, seed):
    out = write_dataset(tmp_path / "out", {"train": simple_rows(3)})
    result = run(out, "--seed", seed)
    assert result.exit_code == 2
    assert "Invalid value for '--seed'" in result.stderr


def test_largest_seed_is_accepted_and_negative_seed_is_a_typed_error(tmp_path):
    out = write_dataset(tmp_path / "out", {"train": simple_rows(3)})
    assert run(out, "--seed", str(2**64 - 1), "--no-card").exit_code == 0
    with pytest.raises(ReportError, match="seed must be a whole number from 0 to 18,446,744,073,709,551,615"):
        report(out, seed=-1)


def test_hidden_files_in_data_are_ignored_and_underscore_files_are_shards(tmp_path):
    """As the Hugging Face loader: ``.x`` files are hidden, ``_x.parquet`` is a shard it trains on."""
    out = write_dataset(tmp_path / "out", {"train": simple_rows(5)})
    (out / "data" / ".train-00001-of-00002.parquet").write_text("partial upload")
    (out / "rejects" / "._rejects.parquet").write_text("resource fork")
    result = run(out, "--no-card")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("5 pairs")
    assert "note:" not in result.stderr
    pl.read_parquet(out / SHARD).write_parquet(out / "data" / "_tmp-00000.parquet")
    result = run(out, "--no-card")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("10 pairs")


def test_notes_quoting_the_manifest_are_escaped_in_markdown(tmp_path):
    """A note can quote a manifest value: report.md must show it as text, not pass raw HTML through."""
    out = write_dataset(tmp_path / "out", {"train": simple_rows(3)})
    (out / "manifest.json").write_text(json.dumps({"counts": {"records_read": "<img src=x onerror=alert(1)>"}}))
    result = run(out, "--no-card")
    assert result.exit_code == 0, result.output
    md = (out / "report.md").read_text()
    assert "<img" not in md and "&lt;img src=x onerror=alert(1)&gt;" in md
    assert "<img" not in (out / "report.html").read_text()


# --- checks.json of another version of the dataset (a check that ran while a rebuild swapped OUT) ----------


def test_checks_written_for_another_number_of_pairs_are_not_shown(tmp_path):
    from prefdata.check import check

    out = write_dataset(tmp_path / "out", {"train": simple_rows(12)})
    check(out)  # writes checks.json for these 12 pairs
    fresh = run(out)
    assert fresh.exit_code == 0 and "checks passed" in fresh.output
    write_dataset(tmp_path / "out", {"train": simple_rows(5, seed=1)})  # the dataset changes under checks.json
    stale = run(out)
    assert stale.exit_code == 0
    assert "checks.json was written for other data files (changed: data/train-00000-of-00001.parquet)" in stale.output
    assert "checks passed" not in stale.output
    doc = json.loads((out / "checks.json").read_text())
    del doc["shard_sha256"]  # a checks.json of an earlier prefdata: compared by its count of pairs
    (out / "checks.json").write_text(json.dumps(doc))
    assert "checks.json was written for 12 pairs but the data holds 5" in run(out).output


def test_the_stale_checks_note_names_three_files_and_says_when_there_are_more():
    """A checks.json naming shards that are gone names the first 3 of them, then " ..." if there are more."""
    from prefdata.report.dataset import checks_for_other_data

    def gone(n: int) -> str | None:
        checked = {f"data/train-{i:05d}-of-0000{n}.parquet": "0" * 64 for i in range(n)}
        return checks_for_other_data({"shard_sha256": checked}, {}, 0)

    names = ", ".join(f"data/train-{i:05d}-of-0000{{n}}.parquet" for i in range(3))
    assert gone(3) == "was written for other data files (gone: " + names.format(n=3) + ")"
    assert gone(5) == "was written for other data files (gone: " + names.format(n=5) + " ...)"


def test_an_old_checks_json_whose_rows_is_a_boolean_is_not_compared_by_it():
    """An older checks.json (no shard_sha256) is compared by its count of pairs, ``rows``; JSON true is
    no count (not 1 pair), so it does not make the checks look written for other data."""
    from prefdata.report.dataset import checks_for_other_data

    assert checks_for_other_data({"rows": True}, {}, 3) is None
    assert checks_for_other_data({"rows": 1}, {}, 3) == "was written for 1 pairs but the data holds 3"

"""``prefdata.report``: what the report shows, for datasets with and without each optional part."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import polars as pl
import pytest
from click.testing import CliRunner

from prefdata.cli import cli
from prefdata.report import ChecksFileError, DatasetError, ReportError, report
from prefdata.report.aggregates import wilson
from tests.report.report_datasets import REJECTS, canonical_row, checks_doc, msg, rich_splits, simple_rows, write_dataset

PLOT_IDS = ["lengths", "length_diff", "margins", "sources", "position", "turns", "tokens"]


def plot_states(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-plot="([a-z_]+)" data-state="(plot|na)"', html))


def test_rich_dataset_shows_every_part(rich_dataset):
    out, hostile = rich_dataset
    result = report(out)
    html = result.html_path.read_text(encoding="utf-8")
    md = result.md_path.read_text(encoding="utf-8")

    assert result.html_path == out.resolve() / "report.html" and result.md_path == out.resolve() / "report.md"
    assert result.checks_source == "checks.json" and result.checks_passed is False
    assert result.pairs == 151
    assert plot_states(html) == {p: "plot" for p in PLOT_IDS}
    assert html.count("<svg") == len(PLOT_IDS)
    # counts: read, written, rejected by reason, per source, per split
    stages = dict(re.findall(r"<tr><td>([a-z ]+)</td><td class=\"n\">([^<]+)</td></tr>", html))
    assert stages == {"records read": "154", "pairs written": "151", "records rejected": "3",
                      "train pairs": "121", "test pairs": "30"}
    reasons = dict(re.findall(r"<tr><td><code>([a-z_]+)</code></td><td class=\"n\">(\d+)</td></tr>", html))
    assert reasons == {"tie": "2", "malformed_json": "1"}
    for source in ("arena", "ultrafeedback", "hh"):
        assert f"<tr><td>{source}</td>" in html, source
    # failed checks first (error expectations aside), with their severity and offending pairs
    assert html.index('data-check="length_bias"') < html.index('data-check="identical_pairs"')
    assert html.index('data-check="truncation_identical"') < html.index('data-check="identical_pairs"')
    assert f'data-pair-id="{hostile["id"]}"' in html
    assert "1 offending id(s) are not in the data" in html  # the truncation check's stale id
    assert "(1 offending id(s) are not in the data: checks.json may be stale.)" in md  # as the HTML says
    assert "expect_column_values_to_match_regex" in html
    # report.md carries the same facts in text
    for text in ("## Counts", "## Checks", "**FAIL**", "`length_bias`", "## Distributions",
                 "malformed\\_json", "\"A wins\" in arena"):
        assert text in md, text
    assert "## Sample of pairs" not in md and "pairs sampled with seed 0 are shown as conversations in `report.html` only" in md


def test_plots_not_applicable_say_so(tmp_path):
    out = write_dataset(tmp_path / "out", {"train": simple_rows(20), "test": simple_rows(5, seed=1)})
    result = report(out)
    html = result.html_path.read_text(encoding="utf-8")
    assert plot_states(html) == {"lengths": "plot", "length_diff": "plot", "margins": "na", "sources": "plot",
                                 "position": "na", "turns": "plot", "tokens": "na"}
    assert "Not applicable: no pair has both score_chosen and score_rejected" in html
    assert "chosen_position is empty or absent" in html
    assert "checks.json has no token lengths" in html
    assert result.checks_source == "none" and result.checks_passed is None
    assert "Checks not run" in html and "Checks not run" in result.md_path.read_text()


def test_malformed_token_statistics_are_ignored_not_drawn(tmp_path):
    checks = checks_doc([])
    checks["checks"][3]["statistic"] = {"max_length": 64, "pairs_truncated": 7,
                                        "length_histogram": {"bin_edges": [0, 1], "chosen": [1, 2, 3]}}
    out = write_dataset(tmp_path / "out", {"train": simple_rows(10)}, checks=checks)
    html = report(out).html_path.read_text()
    assert plot_states(html)["tokens"] == "na"
    assert "ran with max_length=64 (7 pairs longer than that) but recorded no token-length histogram" in html


def test_sample_is_seeded(tmp_path):
    out = write_dataset(tmp_path / "out", {"train": simple_rows(200)})

    def sampled(seed):
        report(out, seed=seed, sample=5)
        return re.findall(r'data-pair-id="([0-9a-f]+)"', (out / "report.html").read_text())

    first, again, other = sampled(0), sampled(0), sampled(1)
    assert len(first) == 5 and first == again and first != other


def test_output_is_deterministic(rich_dataset):
    out, _ = rich_dataset
    a = report(out).html_path.read_bytes()
    b = report(out).html_path.read_bytes()
    assert a == b
    assert b"Date" not in a and b"<metadata>" not in a


def test_svg_ids_are_unique_across_plots(rich_dataset):
    out, _ = rich_dataset
    html = report(out).html_path.read_text()
    ids = re.findall(r'\bid="([^"]+)"', html)
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, sorted(duplicates)[:5]


def test_long_messages_and_prompts_are_truncated_for_display(tmp_path):
    prompt = [msg("user" if i % 2 == 0 else "assistant", f"turn {i}") for i in range(13)]
    row = canonical_row(prompt, [msg("assistant", "x" * 5000)], [msg("assistant", "")])
    out = write_dataset(tmp_path / "out", {"train": [row]})
    html = report(out).html_path.read_text()
    assert "3,500 more characters" in html
    assert "7 earlier prompt messages not shown" in html
    assert "(empty)" in html
    assert "turn 12" in html and "turn 6" not in html


def test_counts_from_data_when_there_is_no_manifest(tmp_path):
    out = write_dataset(tmp_path / "out", {"train": simple_rows(7, source="a") + simple_rows(3, source="b")},
                        manifest=False, rejects=REJECTS)
    result = report(out)
    html = result.html_path.read_text()
    assert "No manifest.json" in html
    assert "malformed_json" in html  # rejects/ is still read
    stages = dict(re.findall(r"<tr><td>([a-z ]+)</td><td class=\"n\">([^<]+)</td></tr>", html))
    assert stages["pairs written"] == "10" and stages["records read"] == "—" and stages["records rejected"] == "3"


def test_manifest_that_disagrees_with_the_shards_is_flagged(tmp_path):
    out = write_dataset(tmp_path / "out", {"train": simple_rows(10), "test": simple_rows(2, seed=3)})
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["counts"]["pairs_by_split"]["train"] = 11
    (out / "manifest.json").write_text(json.dumps(manifest))
    result = report(out)
    assert "manifest.json says 11 train pairs, the shards hold 10" in result.notes


def test_checks_of_a_copy_are_shown_whatever_the_file_times(tmp_path):
    """Staleness was read from file times: a ``git clone`` or ``touch`` hid fresh results behind a
    'may be stale' note, and made the reports of two identical datasets differ."""
    import os
    import shutil

    from prefdata.check import check

    out = write_dataset(tmp_path / "out", {"train": simple_rows(6)})
    check(out)
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    os.utime(copy / "checks.json", (0, 0))  # checks.json older than every shard
    result = report(copy)
    assert not any("stale" in n or "another version" in n for n in result.notes)
    assert "Checks not run" not in result.md_path.read_text()
    assert result.md_path.read_text().replace("copy", "out") == report(out).md_path.read_text()


def test_checks_of_shards_that_changed_are_not_shown_and_the_shards_are_named(tmp_path):
    import pyarrow.parquet as pq

    from prefdata.check import check

    out = write_dataset(tmp_path / "out", {"train": simple_rows(6), "test": simple_rows(3, seed=2)})
    check(out)
    shard = out / "data" / "train-00000-of-00001.parquet"
    table = pq.read_table(shard)
    pq.write_table(table.set_column(table.schema.get_field_index("source"), "source", table.column("source").cast("string")), shard)
    changed = report(out)
    md = changed.md_path.read_text()
    assert "Checks not run** — `checks.json` describes another version of the data (see the notes)" in md
    assert any(n.startswith("checks.json was written for other data files (changed: data/train-00000-of-00001.parquet)") for n in changed.notes)
    (out / "data" / "validation-00000-of-00001.parquet").write_bytes((out / "data" / "test-00000-of-00001.parquet").read_bytes())
    assert any("new: data/validation-00000-of-00001.parquet" in n for n in report(out).notes)
    rerun = report(out, run_checks=True)  # stale counts as missing for --run-checks
    assert rerun.checks_source == "prefdata.check" and "Checks not run" not in rerun.md_path.read_text()


def test_empty_split_and_empty_dataset(tmp_path):
    empty = write_dataset(tmp_path / "empty", {"train": [], "test": []})
    result = report(empty)
    assert result.pairs == 0
    assert set(plot_states(result.html_path.read_text()).values()) == {"na"}
    one_empty = write_dataset(tmp_path / "one", {"train": simple_rows(5), "test": []})
    assert report(one_empty).pairs == 5


def test_a_wins_share_and_interval(rich_dataset):
    out, _ = rich_dataset
    stats = report(out).content.stats["a_wins"]
    data = pl.read_parquet(out / "data" / "*.parquet").filter(pl.col("source") == "arena")
    a = (data["chosen_position"] == "a").sum()
    assert stats["arena"]["pairs"] == data.height
    assert stats["arena"]["share_a"] == pytest.approx(a / data.height)
    assert stats["arena"]["low"] < stats["arena"]["share_a"] < stats["arena"]["high"]
    lo, hi = wilson(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-3) and hi == pytest.approx(0.5962, abs=1e-3)


def test_run_checks_uses_the_check_stage_when_checks_json_is_missing(tmp_path, monkeypatch):
    out = write_dataset(tmp_path / "out", {"train": simple_rows(5)})
    calls = []

    class FakeResult:
        def to_dict(self):
            return checks_doc([])

    fake = type(sys)("prefdata.check")
    fake.check = lambda path: calls.append(path) or FakeResult()
    monkeypatch.setitem(sys.modules, "prefdata.check", fake)
    without = report(out)
    assert without.checks_source == "none" and calls == []
    result = report(out, run_checks=True)
    assert calls and result.checks_source == "prefdata.check" and result.checks_passed is False
    assert 'data-check="length_bias"' in result.html_path.read_text()


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        ("not json", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"checks": {}}', "checks: must be a list"),
        ('{"checks": [{"id": "x", "severity": "fatal", "passed": false}]}', "checks[0].severity"),
        ('{"checks": [{"id": "x", "severity": "warn", "passed": "no"}]}', "checks[0].passed"),
        ('{"checks": [{"id": "x", "severity": "warn", "passed": false, "offending_ids": [1]}]}', "offending_ids"),
        ('{"expectations": [{"expectation_type": "e"}]}', "expectations[0].success"),
        ('{"checks": [{"id": "x", "severity": "warn", "passed": false, "offending_count": "many"}]}',
         "checks[0].offending_count: must be a whole number"),
        ('{"expectations": [{"expectation_type": "e", "success": false, "severity": ["error"]}]}', "expectations[0].severity"),
        ('{"expectations": [{"expectation_type": "e", "success": false, "result": [1]}]}', "expectations[0].result: must be an object"),
        ('{"expectations": [{"expectation_type": "e", "success": false, "result": {"unexpected_count": "3"}}]}',
         "expectations[0].result.unexpected_count"),
        ('{"expectations": [{"expectation_type": "e", "success": false, "result": {"partial_unexpected_list": {"a": 1}}}]}',
         "expectations[0].result.partial_unexpected_list"),
    ],
)
def test_malformed_checks_json_is_a_typed_error(tmp_path, doc, where):
    out = write_dataset(tmp_path / "out", {"train": simple_rows(3)})
    (out / "checks.json").write_text(doc)
    with pytest.raises(ChecksFileError, match=re.escape(where)):
        report(out)


def test_not_a_dataset_is_a_typed_error(tmp_path):
    with pytest.raises(DatasetError, match="no such directory"):
        report(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no data/\\*.parquet"):
        report(tmp_path / "empty")
    bad = tmp_path / "bad" / "data"
    bad.mkdir(parents=True)
    pl.DataFrame({"prompt": ["plain text"], "chosen": ["a"], "rejected": ["b"]}).write_parquet(bad / "train-0.parquet")
    with pytest.raises(DatasetError, match="column 'prompt' is String"):
        report(tmp_path / "bad")
    (bad / "train-0.parquet").write_bytes(b"not parquet")
    with pytest.raises(DatasetError, match="not a readable Parquet file"):
        report(tmp_path / "bad")


def test_report_never_imports_torch(rich_dataset):
    out, _ = rich_dataset
    code = ("import sys; from prefdata.report import report; report(sys.argv[1]); "
            "bad = [m for m in ('torch', 'transformers', 'trl') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code, str(out)], check=True)


def test_rich_fixture_is_what_the_tests_think(rich_dataset):
    """Guard the fixture itself: the chromium test relies on it having every plot's inputs."""
    out, hostile = rich_dataset
    df = pl.read_parquet(out / "data" / "*.parquet")
    assert df["score_chosen"].drop_nulls().len() > 10 and df["chosen_position"].drop_nulls().len() > 10
    assert hostile["id"] in df["id"].to_list()
    splits, _ = rich_splits()
    assert sum(len(v) for v in splits.values()) == df.height


def test_dataset_with_only_prompt_chosen_rejected_still_reports(tmp_path):
    """A dataset another tool wrote may lack the optional columns; the report shows what it can."""
    optional = ("id", "source", "score_chosen", "score_rejected", "chosen_model", "rejected_model", "chosen_position", "lineage")
    out = write_dataset(tmp_path / "out", {"train": simple_rows(12)}, manifest=False, drop=optional)
    result = report(out, sample=3)
    html = result.html_path.read_text()
    assert result.pairs == 12
    assert plot_states(html)["lengths"] == "plot" and plot_states(html)["position"] == "na"
    assert "(no source)" in html and html.count('<article class="pair"') == 3


def test_skipped_checks_are_shown_as_skipped_not_passed(tmp_path):
    checks = checks_doc([])
    checks["checks"].append({"id": "truncation_dropped", "severity": "error", "passed": True, "statistic": {},
                             "threshold": {}, "offending_ids": [], "offending_count": 0,
                             "message": "skipped: needs --tokenizer and --max-length",
                             "skipped": "needs --tokenizer and --max-length"})
    out = write_dataset(tmp_path / "out", {"train": simple_rows(5)}, checks=checks)
    result = report(out)
    html = result.html_path.read_text()
    assert '<span class="badge skipped">skipped</span>' in html
    assert html.index('data-check="truncation_dropped"') > html.index('data-check="identical_pairs"')  # last
    assert "1 skipped" in html
    assert "| skipped | error | `truncation_dropped` |" in result.md_path.read_text()


@pytest.mark.parametrize(("options", "message"), [
    ({"sample": -1}, "sample must be a whole number from 0 to 1,000, got -1"),
    ({"sample": 1001}, "sample must be a whole number from 0 to 1,000, got 1001"),
    ({"examples_per_check": 101}, "examples_per_check must be a whole number from 0 to 100, got 101"),
    ({"examples_per_check": -1}, "examples_per_check must be a whole number from 0 to 100, got -1"),
])
def test_sizes_outside_the_clis_ranges_are_a_typed_error(tmp_path, options, message):
    """README (report options): at most 1,000 sample pairs and 100 examples per check, and the Python
    API refuses what the CLI refuses (it took sample=5000, which `--sample 5000` refuses)."""
    out = write_dataset(tmp_path / "out", {"train": simple_rows(3)})
    with pytest.raises(ReportError, match=re.escape(message)):
        report(out, **options)
    flag, value = next(iter(options.items()))
    shown = CliRunner().invoke(cli, ["report", str(out), "--sample" if flag == "sample" else "--examples", str(value)])
    assert shown.exit_code == 2 and ("0<=x<=1000" if flag == "sample" else "0<=x<=100") in shown.output
    assert report(out, sample=1000, examples_per_check=100, card=False).html_path.exists()  # the bounds themselves are fine


def test_checks_of_a_shard_edited_in_place_to_the_same_size_are_not_shown(tmp_path):
    """A fingerprint of length and footer missed an edit of the same length: builds write no column statistics."""
    import polars as pl

    from prefdata import build
    from prefdata.build.output import write_parquet
    from prefdata.check import check

    out = tmp_path / "out"
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps({"prompt": f"q{i}", "chosen": f"yes {i}", "rejected": "no"}) + "\n" for i in range(6)))
    build(raw, out)
    check(out)
    shard = out / "data" / "train-00000-of-00001.parquet"
    frame = pl.read_parquet(shard)
    size = shard.stat().st_size
    edited = frame.with_columns(pl.col("source").str.replace("raw", "war"))
    write_parquet(edited, shard, "zstd")
    assert shard.stat().st_size == size
    assert any(n.startswith("checks.json was written for other data files (changed: data/train-00000-of-00001.parquet)")
               for n in report(out).notes)


def test_the_sample_says_how_many_pairs_it_is_drawn_from(tmp_path):
    """README: "A seeded sample of pairs" (--sample, --seed): the page says "N pairs drawn at random (seed S)
    from P", P the dataset's pairs (15 train + 5 test), not the sample's own size."""
    rows = simple_rows(20)
    out = write_dataset(tmp_path / "out", {"train": rows[:15], "test": rows[15:]})
    html = report(out, card=False, sample=3, seed=5).html_path.read_text()
    assert "3 pairs drawn at random (seed 5) from 20." in html


def test_reject_examples_name_their_file_and_record(tmp_path):
    """README: a rejected record is kept "with its file, record number, reason, ...": the page's reject
    examples say where each one is, as file:record."""
    rejects = [{**REJECTS[0], "file": "logs/day1.jsonl", "record": 17}, {**REJECTS[2], "file": "logs/day2.jsonl", "record": 4}]
    out = write_dataset(tmp_path / "out", {"train": simple_rows(3)}, rejects=rejects)
    html = report(out, card=False, sample=0).html_path.read_text()
    where = re.findall(r'<td><code>[^<]*</code></td><td class="mono">([^<]*)</td>', html)
    assert sorted(where) == ["logs/day1.jsonl:17", "logs/day2.jsonl:4"]


def test_run_checks_keeps_a_current_checks_json(tmp_path, monkeypatch):
    """report(run_checks=True) runs the checks only when checks.json is missing or describes other data
    (README --run-checks): a current one, written by a check the user ran with options of their own, is
    reported as it is, not replaced by a default run."""
    from prefdata.check import check

    out = write_dataset(tmp_path / "out", {"train": simple_rows(6), "test": simple_rows(3, seed=2)})
    check(out, config={"checks": {"near_duplicates": {"enabled": False}}})
    calls = []
    fake = type(sys)("prefdata.check")
    fake.check = lambda path: calls.append(path)
    monkeypatch.setitem(sys.modules, "prefdata.check", fake)
    result = report(out, run_checks=True)
    assert calls == [] and result.checks_source == "checks.json"
    assert "disabled in the config" in result.md_path.read_text()

"""Report findings from an oracle hunt: equal-length pairs drawn as 'chosen longer', offending ids named
twice in report.md, rejects shown whole, sources left out of the "A wins" plot unsaid, a blank source in
the sample, a file called 'no such directory', and token-length bins of unequal width drawn as counts."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from prefdata.cli import cli
from prefdata.report import plots, report
from prefdata.report.aggregates import MAX_RAW_CHARS
from tests.report.report_datasets import canonical_row, checks_doc, msg, simple_rows, write_dataset


def _plot(result, plot_id: str) -> str:
    return next(p.svg for p in result.content.plots if p.id == plot_id)


def test_pairs_of_equal_length_are_grey_at_zero_not_green(tmp_path: Path) -> None:
    rows = [canonical_row([msg("user", f"q{i}")], [msg("assistant", "same")], [msg("assistant", "SAME")], record=i + 1) for i in range(10)]
    rows.append(canonical_row([msg("user", "q")], [msg("assistant", "a")], [msg("assistant", "longer")], record=11))
    svg = _plot(report(write_dataset(tmp_path / "out", {"train": rows})), "length_diff")
    assert f"fill: {plots.CHOSEN}" not in svg  # chosen is never longer
    assert f"fill: {plots.SAME_LENGTH}" in svg and f"fill: {plots.REJECTED}" in svg


def test_report_md_names_an_offending_id_once_as_the_page_does(tmp_path: Path) -> None:
    rows = simple_rows(4)
    doc = checks_doc([rows[0]["id"], rows[0]["id"]])
    result = report(write_dataset(tmp_path / "out", {"train": rows}, checks=doc))
    md = result.md_path.read_text()
    line = next(ln for ln in md.splitlines() if ln.startswith("Offending pairs of"))
    assert "(first 1)" in line and line.count("`" + rows[0]["id"][:16]) == 1


def test_examples_are_the_first_n_distinct_offending_pairs(tmp_path: Path) -> None:
    """``exact_duplicates`` names each extra copy of a pair by its id: ``--examples 3`` took 3 ids and
    then dropped the repeats, showing 2 pairs where 4 distinct ones offended (and 3 in another row order)."""
    rows = simple_rows(5)
    a, b, c, d = (r["id"] for r in rows[:4])
    result = report(write_dataset(tmp_path / "out", {"train": rows}, checks=checks_doc([a, a, b, c, d])), examples_per_check=3)
    line = next(ln for ln in result.md_path.read_text().splitlines() if ln.startswith("Offending pairs of"))
    assert "(first 3)" in line and all(f"`{i[:16]}" in line for i in (a, b, c)) and d[:16] not in line
    assert "Show the first 3 offending pairs (of 12)" in result.html_path.read_text()


def test_a_huge_reject_is_cut_as_a_message_is(tmp_path: Path) -> None:
    raw = '{"prompt": "' + "x" * 600_000 + '"}'
    reject = {"file": "raw.jsonl", "record": 1, "source": "src", "reason": "missing_field", "field": "chosen", "detail": None, "raw": raw}
    result = report(write_dataset(tmp_path / "out", {"train": simple_rows(1)}, rejects=[reject]))
    html = result.html_path.read_text()
    assert len(html) < 200_000
    shown = MAX_RAW_CHARS - len('{"prompt": "')
    assert "x" * shown in html and "x" * (shown + 1) not in html
    assert f"… ({len(raw) - MAX_RAW_CHARS} more characters)" in html


def test_the_a_wins_plot_says_how_many_sources_it_leaves_out(tmp_path: Path) -> None:
    rows = [canonical_row([msg("user", f"q{s}-{i}")], [msg("assistant", "yes")], [msg("assistant", "no")],
                          source=f"judge{s:02d}", record=i + 1, position="a" if i % 2 else "b")
            for s in range(plots.MAX_BARS + 5) for i in range(4)]
    svg = _plot(report(write_dataset(tmp_path / "out", {"train": rows})), "position")
    assert re.search(r"5 more sources in report\.md", svg.replace("\n", " ")) or "5 more sources" in svg


def test_a_pair_without_source_is_named_as_the_tables_name_it(tmp_path: Path) -> None:
    row = simple_rows(1)[0] | {"source": None}
    html = report(write_dataset(tmp_path / "out", {"train": [row]}), sample=1).html_path.read_text()
    assert "<span><b>source</b> (no source)</span>" in html


def test_a_file_given_as_the_dataset_is_called_a_file(tmp_path: Path) -> None:
    (tmp_path / "pairs.jsonl").write_text("{}\n")
    res = CliRunner().invoke(cli, ["report", str(tmp_path / "pairs.jsonl")])
    assert res.exit_code == 2 and "pairs.jsonl: is a file, not a folder" in res.output
    res = CliRunner().invoke(cli, ["report", str(tmp_path / "absent")])
    assert res.exit_code == 2 and "absent: no such directory" in res.output


def test_token_length_bins_of_unequal_width_are_drawn_per_token_width(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.axes import Axes

    drawn: list[list[float]] = []
    real = Axes.stairs
    monkeypatch.setattr(Axes, "stairs", lambda self, values, *a, **k: (drawn.append(list(values)), real(self, values, *a, **k))[1])
    tokens = {"check": "truncation_dropped", "max_length": 512, "bin_edges": [0, 128, 256, 384, 512, 768, 1024, 1026],
              "chosen": [128, 128, 128, 128, 256, 256, 2], "rejected": [0] * 7}
    svg = plots.token_lengths(tokens).svg
    assert "pairs per 128 tokens" in svg
    assert drawn[0] == [128.0] * 7  # one pair per token in every bin: one height, whatever the width

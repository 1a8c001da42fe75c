"""Rated binarization and prompt templates on the inputs that used to give wrong pairs: a completion
text listed twice with different scores, score gaps that meet the margin only up to float rounding,
a ``best_vs_random`` draw that followed the record's place in its file, and a template whose first
field is empty."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import prefdata
from prefdata.errors import ConfigError
from prefdata.io.decode import column_of
from prefdata.shapes.prompt import template_expr
from tests.support.dataset import assert_reconciled, pairs, rejects

ALPACA = "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:"


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _rated(policy: str, **binarize: object) -> dict:
    return {"sources": [{"shape": "rated", "columns": {"prompt": "p", "completions": "c", "text": "t", "score": "s"},
                         "binarize": {"policy": policy, **binarize}}]}


def _texts(out: Path) -> list[tuple[str, str, float, float]]:
    got = pairs(out).sort("id")
    return sorted(
        (c[0]["content"], r[0]["content"], sc, sr)
        for c, r, sc, sr in got.select("chosen", "rejected", "score_chosen", "score_rejected").rows()
    )


# -- templates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "instruction", "input_", "want"),
    [
        (ALPACA, "Summarize.", "The cat sat.", "### Instruction:\nSummarize.\n\n### Input:\nThe cat sat.\n\n### Response:"),
        (ALPACA, "", "The cat sat.", "### Input:\nThe cat sat.\n\n### Response:"),  # not under "### Instruction:"
        (ALPACA, None, "The cat sat.", "### Input:\nThe cat sat.\n\n### Response:"),
        (ALPACA, "Summarize.", "  ", "### Instruction:\nSummarize.\n\n### Response:"),
        ("Below is a task.\n\n" + ALPACA, "", "The cat sat.", "Below is a task.\n\n### Input:\nThe cat sat.\n\n### Response:"),
        ("{instruction}\n\n{input}", "", "The cat sat.", "The cat sat."),
        ("{instruction}\n\n{input}", "Summarize.", "", "Summarize."),
        ("Question: {instruction}\nContext: {input}", "", "The cat sat.", "Context: The cat sat."),
        ("Question: {instruction}\nContext: {input}", "Why?", None, "Question: Why?"),
        ("{instruction}, {input}", "", "The cat sat.", "The cat sat."),
        ("Answer this.\n\n{instruction}", "Why?", "", "Answer this.\n\nWhy?"),
        (ALPACA, "", "", None),
        # text that is no label (it does not end with a colon) is a separator or a header, as before
        ("{instruction}: {input}", "", "The cat sat.", "The cat sat."),
        ("{instruction} - {input}", "", "The cat sat.", "The cat sat."),
        ("{instruction} vs {input}", "Why?", "", "Why?"),
        ("Answer the question.\n{instruction}\n\n{input}", "", "The cat sat.", "Answer the question.\nThe cat sat."),
        ("{instruction} Context: {input}", "", "The cat sat.", "Context: The cat sat."),
        ("{instruction} - Context: {input}", "", "The cat sat.", "Context: The cat sat."),
        # a first label the next field does not replace is a role marker: the input stays under it
        ("### Human: {instruction}\n{input}\n### Assistant:", "", "The cat sat.", "### Human: The cat sat.\n### Assistant:"),
        ("问题：{instruction}\n上下文：{input}", "", "猫坐着。", "上下文：猫坐着。"),  # full-width colons
        ("### Instruction:\r\n{instruction}\r\n\r\n### Input:\r\n{input}", "", "The cat sat.", "### Input:\r\nThe cat sat."),
        # a label starts after the last sentence end on its line: the sentence before it is a header and stays
        ("Rules: be nice. Question: {instruction}\nContext: {input}", "", "The cat sat.", "Rules: be nice. Context: The cat sat."),
        ("Rules: be nice. Question: {instruction}\nContext: {input}", "Why?", None, "Rules: be nice. Question: Why?"),
        ("规则：友善。问题：{instruction}\n上下文：{input}", "", "猫坐着。", "规则：友善。上下文：猫坐着。"),
        ("Input (e.g. a URL): {instruction}\nContext: {input}", "", "The cat sat.", "Context: The cat sat."),  # no sentence end
        ("Dr. Smith: {instruction}\n\nU.S. Answer: {input}", "", "Yes.", "U.S. Answer: Yes."),  # abbreviations end no sentence
        ("Q1. Answer: {instruction}\n\nNotes: {input}", "", "Yes.", "Notes: Yes."),
        # a full stop ends a sentence only after a lower-case word of two letters or more (prompt._SENTENCE_END)
        ("Rules: cite e.g. Question: {instruction}\nContext: {input}", "", "The cat sat.", "Context: The cat sat."),
        ("Pick option a. Question: {instruction}\nContext: {input}", "", "The cat sat.", "Context: The cat sat."),
        ("{instruction}\n\nRules: be nice. Question: {input}", "", "Why?", "Rules: be nice. Question: Why?"),  # between fields: the whole line
        # escaped braces are literal text where they stand
        ('Reply in JSON like {{"answer": 1}}.\n\n### Instruction:\n{instruction}', "Why?", None, 'Reply in JSON like {"answer": 1}.\n\n### Instruction:\nWhy?'),
        ("{{x}} {instruction}", "Why?", None, "{x} Why?"),
    ],
)
def test_an_empty_field_goes_with_its_label(template: str, instruction: str | None, input_: str | None, want: str | None) -> None:
    frame = pl.DataFrame({"instruction": [instruction], "input": [input_]}, schema={"instruction": pl.String, "input": pl.String})
    assert frame.rename(column_of).select(template_expr(template)).item() == want  # a batch's columns of raw fields


def test_an_alpaca_template_with_an_empty_instruction_builds_the_input_under_its_own_label(tmp_path: Path) -> None:
    raw = _jsonl(tmp_path / "raw" / "a.jsonl", [
        {"instruction": "", "input": "The cat sat on the mat.", "a": "A1", "b": "B1", "w": "a"},
        {"instruction": "Summarize.", "input": "", "a": "A2", "b": "B2", "w": "a"},
    ])
    config = {"sources": [{"shape": "pairwise", "columns": {"prompt_template": ALPACA, "response_a": "a", "response_b": "b", "winner": "w"}}]}
    prefdata.build(raw, tmp_path / "out", config=config, quiet=True)
    got = dict(pairs(tmp_path / "out").select(
        pl.col("chosen").list.first().struct.field("content").alias("chosen"),
        pl.col("prompt").list.first().struct.field("content").alias("prompt"),
    ).rows())
    assert got == {"A1": "### Input:\nThe cat sat on the mat.\n\n### Response:", "A2": "### Instruction:\nSummarize.\n\n### Response:"}


# -- a text listed twice in one record ----------------------------------------------------------------


@pytest.mark.parametrize("policy", ["all_pairs", "best_vs_worst", "best_vs_random"])
def test_a_text_scored_twice_is_one_completion_with_the_mean_score(tmp_path: Path, policy: str) -> None:
    raw = _jsonl(tmp_path / "r.jsonl", [
        # "Apple." at 5 and 1 would be above and below "A car." (3); as one completion (3) it ties
        {"p": "Name a fruit.", "c": [{"t": "Apple.", "s": 5}, {"t": "Apple. ", "s": 1}, {"t": "A car.", "s": 3}]},
        # "Pear." at 9 and 7 is one completion at 8, above "Rock." at 2
        {"p": "Another fruit?", "c": [{"t": "Pear.", "s": 9}, {"t": "Rock.", "s": 2}, {"t": "Pear.", "s": 7}]},
        # the same text only: one completion, too few to pair
        {"p": "A third?", "c": [{"t": "Fig.", "s": 9}, {"t": "Fig.", "s": 1}]},
    ])
    prefdata.build(raw, tmp_path / "out", config=_rated(policy), quiet=True)
    assert _texts(tmp_path / "out") == [("Pear.", "Rock.", 8.0, 2.0)]
    assert rejects(tmp_path / "out").sort("record").select("record", "reason").rows() == [(1, "below_margin"), (3, "too_few_completions")]
    assert_reconciled(tmp_path / "out")


def test_all_pairs_never_writes_a_pair_both_ways(tmp_path: Path) -> None:
    rows = [{"p": f"q{i}", "c": [{"t": t, "s": s} for t, s in zip("ABCAB", [5, 1, 3, 2, 4])]} for i in range(3)]
    prefdata.build(_jsonl(tmp_path / "r.jsonl", rows), tmp_path / "out", config=_rated("all_pairs"), quiet=True)
    got = pairs(tmp_path / "out").select(
        pl.col("prompt").list.first().struct.field("content").alias("p"),
        pl.col("chosen").list.first().struct.field("content").alias("c"),
        pl.col("rejected").list.first().struct.field("content").alias("r"),
    )
    both_ways = got.join(got, left_on=["p", "c", "r"], right_on=["p", "r", "c"])
    assert both_ways.height == 0
    assert sorted(got.filter(pl.col("p") == "q0").select("c", "r").rows()) == [("A", "B"), ("A", "C"), ("C", "B")]  # A 3.5, B 2.5, C 3


def test_all_pairs_max_pairs_keeps_the_widest_gaps(tmp_path: Path) -> None:
    """16 completions make 120 pairs per record; ``max_pairs`` keeps the widest score gaps, then the
    completions' order, and the same pairs whatever the order of the records."""
    rows = [{"p": f"q{i}", "c": [{"t": t, "s": s} for t, s in zip("VWXYZ", [1, 2, 3, 4, 5])]} for i in range(4)]
    for name, ordered in (("a", rows), ("b", rows[::-1])):
        prefdata.build(_jsonl(tmp_path / f"{name}.jsonl", ordered), tmp_path / name, config=_rated("all_pairs", max_pairs=3), quiet=True)
        got = pairs(tmp_path / name).select(
            pl.col("prompt").list.first().struct.field("content").alias("p"),
            pl.col("chosen").list.first().struct.field("content").alias("c"),
            pl.col("rejected").list.first().struct.field("content").alias("r"),
        )
        assert got.height == 12
        assert sorted(got.filter(pl.col("p") == "q0").select("c", "r").rows()) == [("Y", "V"), ("Z", "V"), ("Z", "W")]  # gaps 4, 3, 3
        assert_reconciled(tmp_path / name)
    with pytest.raises(ConfigError, match="max_pairs caps all_pairs"):
        prefdata.build(tmp_path / "a.jsonl", tmp_path / "c", config=_rated("best_vs_worst", max_pairs=3))


def test_all_pairs_max_pairs_ties_gaps_equal_within_the_margin_tolerance(tmp_path: Path) -> None:
    """0.5 - 0.3 = 0.2 outranked 0.3 - 0.1 = 0.19999999999999998, so scores 0.1/0.3/0.5 kept (C, B) where
    1/3/5 (an exact tie, broken by the completions' order) kept (B, A): scaling the scores moved pairs."""
    rows = lambda scale: [
        {"p": f"q{i}", "c": [{"t": t, "s": s * scale} for t, s in zip("ABCD", scores)]}
        for i, scores in enumerate([[0.1, 0.3, 0.5], [0.5, 0.3, 0.1], [0.7, 0.1, 0.3, 0.5], [2.5, 1.25, 0.0]])
    ]
    got = {}
    for scale in (1, 10):
        raw = _jsonl(tmp_path / f"x{scale}.jsonl", rows(scale) if scale == 1 else [
            {**r, "c": [{**c, "s": round(c["s"], 6)} for c in r["c"]]} for r in rows(scale)])
        prefdata.build(raw, tmp_path / f"x{scale}", config=_rated("all_pairs", max_pairs=2), quiet=True)
        got[scale] = sorted(pairs(tmp_path / f"x{scale}").select(
            pl.col("prompt").list.first().struct.field("content"),
            pl.col("chosen").list.first().struct.field("content").alias("c"),
            pl.col("rejected").list.first().struct.field("content").alias("r"),
        ).rows())
    assert got[1] == got[10]
    assert [(c, r) for p, c, r in got[1] if p == "q0"] == [("B", "A"), ("C", "A")]  # gap 0.4, then B-A before C-B
    assert [(c, r) for p, c, r in got[1] if p == "q2"] == [("A", "B"), ("A", "C")]  # gaps 0.6, 0.4 (A-C and D-B tie: A first)


# -- margins and float rounding ----------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["all_pairs", "best_vs_worst", "best_vs_random"])
def test_a_gap_equal_to_the_margin_meets_it_despite_float_rounding(tmp_path: Path, policy: str) -> None:
    raw = _jsonl(tmp_path / "r.jsonl", [
        {"p": "q1", "c": [{"t": "a", "s": 0.3}, {"t": "b", "s": 0.1}]},  # 0.3 - 0.1 = 0.19999999999999998
        {"p": "q2", "c": [{"t": "a", "s": 4.6}, {"t": "b", "s": 4.4}]},
        {"p": "q3", "c": [{"t": "a", "s": 0.29}, {"t": "b", "s": 0.1}]},  # below the margin
        {"p": "q4", "c": [{"t": "a", "s": 0.30000000000000004}, {"t": "b", "s": 0.3}]},  # 0.1 + 0.2 vs 0.3: a tie
    ])
    config = _rated(policy, **({"min_margin": 0.2} if policy == "all_pairs" else {}))
    prefdata.build(raw, tmp_path / "out", config=config, quiet=True)
    prompts = pairs(tmp_path / "out").select(pl.col("prompt").list.first().struct.field("content")).to_series().sort().to_list()
    assert prompts == (["q1", "q2"] if policy == "all_pairs" else ["q1", "q2", "q3"])
    reasons = dict(rejects(tmp_path / "out").select("record", "reason").rows())
    assert reasons == ({3: "below_margin", 4: "below_margin"} if policy == "all_pairs" else {4: "below_margin"})


# -- best_vs_random: a draw keyed on content ----------------------------------------------------------


def _random_rows(n: int) -> list[dict]:
    return [{"p": f"question {i}", "c": [{"t": f"best {i}", "s": 10}, *({"t": f"worse {i}.{k}", "s": k} for k in range(1, 6))]} for i in range(n)]


def test_best_vs_random_draws_the_same_pairs_however_the_log_is_split(tmp_path: Path) -> None:
    rows = _random_rows(24)
    one = _jsonl(tmp_path / "one" / "all.jsonl", rows)
    for j in range(4):
        _jsonl(tmp_path / "four" / f"part{j}.jsonl", rows[j::4])
    shuffled = _jsonl(tmp_path / "shuffled" / "all.jsonl", [{**r, "c": r["c"][::-1]} for r in reversed(rows)])
    config = _rated("best_vs_random", seed=7)
    results = []
    for raw in (one, tmp_path / "four", shuffled):
        out = tmp_path / f"out-{raw.name}"
        prefdata.build(raw, out, config=config, quiet=True)
        results.append(_texts(out))
    assert results[0] == results[1] == results[2]
    # records in the same place of their files do not draw the same slot: the draw follows content
    slots = [int(r.split(".")[1]) for _, r, _, _ in results[0]]
    assert len(set(slots)) >= 4
    prefdata.build(one, tmp_path / "other-seed", config=_rated("best_vs_random", seed=8), quiet=True)
    assert _texts(tmp_path / "other-seed") != results[0]


def test_best_vs_random_draws_by_the_prompt_too(tmp_path: Path) -> None:
    """README rated: the best_vs_random draw "hashes the prompt and completion text": forty prompts with
    the same three worse completions do not all draw the same one (a draw keyed on the completions
    alone would; independent draws all alike have probability 3 * (1/3)**40)."""
    worse = [{"t": "Weak one.", "s": 1}, {"t": "Weak two.", "s": 2}, {"t": "Weak three.", "s": 3}]
    raw = _jsonl(tmp_path / "r.jsonl", [{"p": f"Question number {i}?", "c": [{"t": "Best answer.", "s": 9}, *worse]} for i in range(40)])
    prefdata.build(raw, tmp_path / "out", config=_rated("best_vs_random", seed=7), test_fraction=0, quiet=True)
    drawn = [r[0]["content"] for r in pairs(tmp_path / "out")["rejected"].to_list()]
    assert len(drawn) == 40
    assert len(set(drawn)) >= 2 and set(drawn) <= {"Weak one.", "Weak two.", "Weak three."}


# -- models_from -------------------------------------------------------------------------------------


def test_a_text_scored_twice_keeps_the_first_ones_model(tmp_path: Path) -> None:
    """README rated: the same text twice is one completion "scored by the mean of its scores, with the
    first one's model": Apple. (8 by m1, 6 by m3) is 7.0 by m1."""
    raw = _jsonl(tmp_path / "r.jsonl", [{"p": "Name a fruit.", "c": [{"t": "Apple.", "s": 8, "m": "m1"}, {"t": "A car.", "s": 1, "m": "m2"}, {"t": "Apple.", "s": 6, "m": "m3"}]}])
    config = {"sources": [{"shape": "rated", "columns": {"prompt": "p", "completions": "c", "text": "t", "score": "s", "model": "m"}}]}
    prefdata.build(raw, tmp_path / "out", config=config, quiet=True)
    assert pairs(tmp_path / "out").select("chosen_model", "score_chosen", "rejected_model", "score_rejected").rows() == [("m1", 7.0, "m2", 1.0)]


def test_a_gap_exactly_at_the_margin_less_its_tolerance_meets_it(tmp_path: Path) -> None:
    """README rated: a gap of at least min_margin "compared with a tolerance of 1e-9 of the larger score",
    the bound included: 1e9 and 1e9 - 2 have a tolerance of exactly 1.0 (both exact in binary), so their
    gap 2 meets a margin of 3 (2 >= 3 - 1), and misses a margin of 3.5."""
    raw = _jsonl(tmp_path / "r.jsonl", [{"p": "q", "c": [{"t": "big", "s": 1e9}, {"t": "less", "s": 1e9 - 2}]}])
    prefdata.build(raw, tmp_path / "out", config=_rated("all_pairs", min_margin=3), quiet=True)
    assert _texts(tmp_path / "out") == [("big", "less", 1e9, 1e9 - 2)]
    prefdata.build(raw, tmp_path / "wide", config=_rated("all_pairs", min_margin=3.5), quiet=True)
    assert rejects(tmp_path / "wide")["reason"].to_list() == ["below_margin"]


def test_the_winner_threshold_bounds_are_in_the_tie_band(tmp_path: Path) -> None:
    """README pairwise: A wins below ``a_below``, B above ``b_above``; between them, the bounds included,
    is a tie (the fixture covers only the b_above bound)."""
    ps = [0.39, 0.4, 0.5, 0.6, 0.61]
    raw = _jsonl(tmp_path / "t.jsonl", [{"q": f"q{i}", "a": f"A{i}", "b": f"B{i}", "p": p} for i, p in enumerate(ps)])
    config = {"sources": [{"shape": "pairwise", "columns": {"prompt": "q", "response_a": "a", "response_b": "b", "winner": "p"},
                           "winner_threshold": {"a_below": 0.4, "b_above": 0.6}}]}
    prefdata.build(raw, tmp_path / "out", config=config, quiet=True)
    got = pairs(tmp_path / "out").select(pl.col("prompt").list.first().struct.field("content"), "chosen_position").sort("content").rows()
    assert got == [("q0", "a"), ("q4", "b")]
    assert rejects(tmp_path / "out").sort("record").select("record", "reason").rows() == [(2, "tie"), (3, "tie"), (4, "tie")]


def test_models_from_names_both_models_or_neither(tmp_path: Path) -> None:
    keys = ["bloom-7b_llama-7b", "alpaca-7b_vicuna-13b_v1.1", "gpt_4_llama_2", "llama-7b", "_llama-7b", "llama-7b_ ", None]
    raw = _jsonl(tmp_path / "p.jsonl", [{"q": f"q{i}", "a": f"A{i}", "b": f"B{i}", "w": 1, "k": k} for i, k in enumerate(keys)])
    config = {"sources": [{"shape": "pairwise", "columns": {"prompt": "q", "response_a": "a", "response_b": "b", "winner": "w"},
                           "winner_values": {"a": [1], "b": [2]}, "models_from": {"field": "k", "separator": "_"}}]}
    prefdata.build(raw, tmp_path / "out", config=config, quiet=True)
    got = dict(
        pairs(tmp_path / "out").select(
            pl.col("prompt").list.first().struct.field("content").alias("q"), pl.struct("chosen_model", "rejected_model").alias("m")
        ).rows()
    )
    named = {q: (m["chosen_model"], m["rejected_model"]) for q, m in got.items()}
    assert named == {"q0": ("bloom-7b", "llama-7b"), **{f"q{i}": (None, None) for i in range(1, len(keys))}}


def test_a_majority_is_taken_over_the_votes_cast(tmp_path: Path) -> None:
    votes = [[2, None, None], [1, 2, None], [1, 1, 2], [None, None, None]]
    raw = _jsonl(tmp_path / "v.jsonl", [{"q": f"q{i}", "a": f"A{i}", "b": f"B{i}", "v1": v[0], "v2": v[1], "v3": v[2]} for i, v in enumerate(votes)])
    config = {"sources": [{"shape": "pairwise", "columns": {"prompt": "q", "response_a": "a", "response_b": "b", "annotators": ["v1", "v2", "v3"]},
                           "winner_values": {"a": [1], "b": [2]}}]}
    prefdata.build(raw, tmp_path / "out", config=config, quiet=True)
    got = pairs(tmp_path / "out").select(pl.col("prompt").list.first().struct.field("content"), "chosen_position").sort("content").rows()
    assert got == [("q0", "b"), ("q2", "a")]
    assert dict(rejects(tmp_path / "out").select("record", "reason").rows()) == {2: "no_majority", 4: "missing_field"}
    assert_reconciled(tmp_path / "out")


def test_the_annotator_details_list_a_missing_vote_as_null(tmp_path: Path) -> None:
    """README pairwise: a missing vote is not counted, so it is common; the no_majority and
    unknown_verdict details still list every vote, a missing one as ``null``."""
    votes = [(1, 2, None), (1, None, 7)]
    raw = _jsonl(tmp_path / "v.jsonl", [{"q": f"q{i}", "a": f"A{i}", "b": f"B{i}", "v1": v[0], "v2": v[1], "v3": v[2]} for i, v in enumerate(votes)])
    config = {"sources": [{"shape": "pairwise", "columns": {"prompt": "q", "response_a": "a", "response_b": "b", "annotators": ["v1", "v2", "v3"]},
                           "winner_values": {"a": [1], "b": [2], "tie": [0]}}]}
    prefdata.build(raw, tmp_path / "out", config=config, quiet=True)
    assert rejects(tmp_path / "out").sort("record").select("record", "reason", "detail").rows() == [
        (1, "no_majority", "votes [1, 2, null]: no label has a majority"),
        (2, "unknown_verdict", "votes [1, null, 7] hold a value that is none of the configured winner values")]


def test_the_margin_tolerance_is_relative_to_the_scores(tmp_path: Path) -> None:
    raw = _jsonl(tmp_path / "r.jsonl", [{"p": "q1", "c": [{"t": "a", "s": 3e-10}, {"t": "b", "s": 1e-10}]}])
    prefdata.build(raw, tmp_path / "out", config=_rated("best_vs_worst"), quiet=True)
    assert _texts(tmp_path / "out") == [("a", "b", 3e-10, 1e-10)]

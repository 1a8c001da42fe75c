"""Shapes on values that are legal JSON but odd: non-finite scores, verdicts written as 1 / 1.0 /
"1.0", blank CSV cells, unbalanced feedback votes, malformed or very deep trees, and custom
functions that fail. Each gives a reject with its reason or a clear config error; none crashes,
and none depends on what the other records of a batch look like."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml
from click.testing import CliRunner

import prefdata
from prefdata.cli import cli
from prefdata.config import parse_config
from prefdata.errors import ConfigError
from tests.support.dataset import assert_reconciled, pairs, rejects


def _jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _reasons(out: Path) -> list[tuple[int, str]]:
    return rejects(out).sort("record").select("record", "reason").rows()


@pytest.mark.parametrize("policy", ["best_vs_worst", "best_vs_random", "all_pairs"])
def test_non_finite_scores_are_not_numbers(tmp_path: Path, policy: str) -> None:
    raw = _jsonl(tmp_path / "r.jsonl", [
        {"p": "q1", "c": [{"t": "a", "s": "NaN"}, {"t": "b", "s": 1}]},
        {"p": "q2", "c": [{"t": "a", "s": "inf"}, {"t": "b", "s": 1}]},
        {"p": "q3", "c": [{"t": "a", "s": "8"}, {"t": "b", "s": 1}]},  # a number written as text is a number
    ])
    config = {"sources": [{"shape": "rated", "columns": {"prompt": "p", "completions": "c", "text": "t", "score": "s"}, "binarize": {"policy": policy}}]}
    prefdata.build(raw, tmp_path / "out", config=config)
    assert _reasons(tmp_path / "out") == [(1, "wrong_type"), (2, "wrong_type")]
    got = pairs(tmp_path / "out")
    assert got.select("score_chosen", "score_rejected").rows() == [(8.0, 1.0)]


@pytest.mark.parametrize("blank", ["", " "])
@pytest.mark.parametrize(("shape", "key", "parallel"), [
    ("rated", "score", False), ("ranked", "rank", False), ("rated", "scores", True), ("ranked", "ranks", True),
])
def test_a_blank_score_or_rank_is_a_missing_one_as_null_is(tmp_path: Path, shape: str, key: str, parallel: bool, blank: str) -> None:
    """README: a blank score (an empty CSV cell) is a missing one, as JSON null is: it leaves that
    completion out, and the record's other completions still pair (it was a wrong_type reject)."""
    def record(value: object) -> dict:
        texts, values = ["Apple.", "A car.", "Pear."], [1, 9, value] if shape == "ranked" else [9, 1, value]
        if parallel:
            return {"q": "Name a fruit.", "c": texts, "s": values}
        return {"q": "Name a fruit.", "c": [{"t": t, "s": v} for t, v in zip(texts, values)]}
    columns = {"prompt": "q", "completions": "c", "text": "$", key: "s"} if parallel else {"prompt": "q", "completions": "c", "text": "t", key: "s"}
    config = {"sources": [{"shape": shape, "columns": columns}]}
    built = {}
    for name, value in (("null", None), ("blank", blank)):
        prefdata.build(_jsonl(tmp_path / f"{name}.jsonl", [record(value)]), tmp_path / name, config=config)
        built[name] = pairs(tmp_path / name).select("chosen", "rejected").rows()
        assert _reasons(tmp_path / name) == []
    assert built["blank"] == built["null"] and len(built["null"]) == 1


@pytest.mark.parametrize("parallel", [False, True])
def test_a_blank_rated_model_name_is_a_missing_one(tmp_path: Path, parallel: bool) -> None:
    """fields.blank_as_null: an optional field (a model name) reads a blank value as missing, as null
    is, in a rated completion's ``model`` and in a parallel ``models`` list alike."""
    if parallel:
        record = {"q": "Name a fruit.", "c": ["Apple.", "A car."], "s": [9, 1], "m": ["", " "]}
        columns = {"prompt": "q", "completions": "c", "text": "$", "scores": "s", "models": "m"}
    else:
        record = {"q": "Name a fruit.", "c": [{"t": "Apple.", "s": 9, "m": ""}, {"t": "A car.", "s": 1, "m": "  "}]}
        columns = {"prompt": "q", "completions": "c", "text": "t", "score": "s", "model": "m"}
    prefdata.build(_jsonl(tmp_path / "r.jsonl", [record]), tmp_path / "out", config={"sources": [{"shape": "rated", "columns": columns}]})
    assert pairs(tmp_path / "out").select("chosen_model", "rejected_model").rows() == [(None, None)]


PAIRWISE = {"sources": [{"shape": "pairwise", "columns": {"prompt": "p", "response_a": "a", "response_b": "b", "winner": "w"},
                         "winner_values": {"a": [1], "b": [2], "tie": [0]}}]}


@pytest.mark.parametrize("neighbour", [None, {"p": "q2", "a": "x2", "b": "y2", "w": [1]}])
def test_a_verdict_does_not_depend_on_the_other_records_of_its_batch(tmp_path: Path, neighbour: dict | None) -> None:
    """1.0 is the configured 1 whether polars decodes the batch or one bad neighbour sends it to orjson."""
    rows = [{"p": "q1", "a": "x1", "b": "y1", "w": 1.0}] + ([neighbour] if neighbour else [])
    prefdata.build(_jsonl(tmp_path / "w.jsonl", rows), tmp_path / "out", config=PAIRWISE)
    got = pairs(tmp_path / "out")
    assert got.select("chosen_position").rows() == [("a",)]


def test_csv_verdicts_match_by_number_and_a_blank_cell_is_missing(tmp_path: Path) -> None:
    pl.DataFrame({"p": ["q1", "q2", "q3"], "a": ["x1", "x2", "x3"], "b": ["y1", "y2", "y3"], "w": [1.0, 2.0, None]}).write_csv(tmp_path / "w.csv")
    prefdata.build(tmp_path / "w.csv", tmp_path / "out", config=PAIRWISE)
    assert sorted(pairs(tmp_path / "out")["chosen_position"].to_list()) == ["a", "b"]
    assert _reasons(tmp_path / "out") == [(3, "missing_field")]


def test_winner_values_and_winner_threshold_together_are_a_config_error() -> None:
    source = {**PAIRWISE["sources"][0], "winner_threshold": {"a_below": 0.4, "b_above": 0.6}}
    with pytest.raises(ConfigError, match="winner_values .* or winner_threshold .* not both"):
        parse_config({"sources": [source]})


def test_the_pairwise_description_says_how_the_verdict_is_read() -> None:
    """README's detected line ends "(value map)" for winner_values; a winner_threshold source says
    "(threshold)", so the printed description does not call a threshold a value map."""
    from prefdata.shapes.pairwise import PairwiseShape

    threshold = {k: v for k, v in PAIRWISE["sources"][0].items() if k != "winner_values"}
    threshold["winner_threshold"] = {"a_below": 0.4, "b_above": 0.6}
    sample = [{"p": "q", "a": "x", "b": "y", "w": 0.1}]
    described = {name: PairwiseShape(parse_config({"sources": [source]}).sources[0], sample).describe()
                 for name, source in (("threshold", threshold), ("values", PAIRWISE["sources"][0]))}
    assert described == {"threshold": "pairwise: prompt 'p' (text), 'a' vs 'b', winner 'w' (threshold)",
                         "values": "pairwise: prompt 'p' (text), 'a' vs 'b', winner 'w' (value map)"}


@pytest.mark.parametrize("ups,downs,cap", [(10, 10, 8), (5, 2, 5), (2, 7, 7), (3, 3, 9)])
def test_feedback_uses_every_record_before_reusing_one(tmp_path: Path, ups: int, downs: int, cap: int) -> None:
    rows = [{"prompt": "P", "response": f"up{i}", "rating": "up"} for i in range(ups)]
    rows += [{"prompt": "P", "response": f"down{i}", "rating": "down"} for i in range(downs)]
    config = {"sources": [{"shape": "feedback", "columns": {"prompt": "prompt", "response": "response", "label": "rating"},
                           "labels": {"up": ["up"], "down": ["down"]}, "max_pairs_per_prompt": cap}]}
    prefdata.build(_jsonl(tmp_path / "fb.jsonl", rows), tmp_path / "out", config=config)
    got = pairs(tmp_path / "out")
    used = {entry["record"] for lineage in got["lineage"].to_list() for entry in lineage}
    n = min(cap, ups * downs)
    assert got.height == n
    assert len(used) == min(n, ups) + min(n, downs)  # the first max(ups, downs) pairs use every record
    texts = [(c[0]["content"], r[0]["content"]) for c, r in zip(got["chosen"].to_list(), got["rejected"].to_list())]
    assert len(set(texts)) == n  # no pair twice
    assert_reconciled(tmp_path / "out")


TREE = {"sources": [{"shape": "tree", "columns": {"root": "prompt"}}]}
GOOD_TREE = {"prompt": {"role": "prompter", "text": "Q", "replies": [
    {"role": "assistant", "text": "A", "rank": 0, "replies": []}, {"role": "assistant", "text": "B", "rank": 1, "replies": []}]}}


def test_tree_replies_that_are_not_a_list_are_wrong_type(tmp_path: Path) -> None:
    raw = _jsonl(tmp_path / "t.jsonl", [GOOD_TREE, {"prompt": {"role": "prompter", "text": "Q2", "replies": 5}}])
    prefdata.build(raw, tmp_path / "out", config=TREE)
    bad = rejects(tmp_path / "out")
    assert bad.select("record", "reason", "field").rows() == [(2, "wrong_type", "prompt.replies")]
    assert "expected a list of reply messages, got number" in bad["detail"][0]


def test_a_tree_too_deep_to_parse_rejects_only_itself(tmp_path: Path) -> None:
    node = '{"role": "prompter", "text": "end", "replies": []}'
    for i in range(600):  # JSON nested deeper than orjson's 1024 levels (written by hand: json.dumps recurses too)
        role = "assistant" if i % 2 == 0 else "prompter"
        node = f'{{"role": "{role}", "text": "t{i}", "replies": [{node}]}}'
    raw = tmp_path / "t.jsonl"
    raw.write_text('{"prompt": ' + node + "}\n" + json.dumps(GOOD_TREE) + "\n")
    prefdata.build(raw, tmp_path / "out", config=TREE)
    [bad] = rejects(tmp_path / "out").select("record", "reason", "detail").rows()
    # orjson refuses it (whether while decoding the batch or while walking the tree): valid JSON, too deep
    assert bad[0] == 1 and bad[1] in ("malformed_json", "malformed_record") and "depth limit exceeded" in bad[2]
    assert pairs(tmp_path / "out").height == 1


def test_tree_ranks_written_as_text_are_ranks_as_in_ranked(tmp_path: Path) -> None:
    """A rank of "1" was ignored (no_ranked_replies) while ``ranked`` reads it; true and "best" are no rank."""
    def tree(*ranks: object) -> dict:
        return {"prompt": {"role": "prompter", "text": "Q", "replies": [
            {"role": "assistant", "text": f"reply {i}", "rank": r, "replies": []} for i, r in enumerate(ranks)]}}

    # read as ranked reads them (prefdata.shapes.filters._number): " 1", "1_0" and "１" are no numbers there
    raw = _jsonl(tmp_path / "t.jsonl", [tree("1", "0"), tree(True, 0), tree("best", 0), tree(" 1", 0), tree("1_0", 0), tree("\uff11", 0)])
    prefdata.build(raw, tmp_path / "out", config=TREE)
    got = pairs(tmp_path / "out")
    assert [(c[0]["content"], r[0]["content"]) for c, r in zip(got["chosen"], got["rejected"])] == [("reply 1", "reply 0")]
    assert _reasons(tmp_path / "out") == [(r, "no_ranked_replies") for r in range(2, 7)]


def test_records_nested_deeper_than_orjson_writes_build_or_reject_only_themselves(tmp_path: Path) -> None:
    """orjson reads 1024 levels but writes 255: a 64-exchange tree (about 260 levels) among the records
    the plan samples, or a reply nested 300 lists deep, stopped the build with an internal error."""
    node: dict = GOOD_TREE["prompt"]
    for i in range(64):
        node = {"role": "prompter", "text": f"p{i}", "replies": [{"role": "assistant", "text": f"a{i}", "replies": [node]}]}
    raw = _jsonl(tmp_path / "t.jsonl", [GOOD_TREE, {"prompt": node}])
    prefdata.build(raw, tmp_path / "tree", config=TREE)
    assert pairs(tmp_path / "tree").height == 2
    assert_reconciled(tmp_path / "tree")

    deep: object = "x"
    for _ in range(300):
        deep = [deep]
    raw = _jsonl(tmp_path / "p.jsonl", [{"prompt": "hi", "chosen": "a", "rejected": "b"},
                                        {"prompt": "hi2", "chosen": {"role": "assistant", "content": deep}, "rejected": "b"},
                                        {"prompt": "hi3", "chosen": "c", "rejected": "d", "meta": deep}])
    prefdata.build(raw, tmp_path / "pref")
    assert rejects(tmp_path / "pref").select("record", "reason", "field").rows() == [(2, "non_text_content", "chosen")]
    assert pairs(tmp_path / "pref").height == 2
    assert_reconciled(tmp_path / "pref")



def test_records_nested_as_deep_as_orjson_reads_are_shown_rejected_or_read(tmp_path: Path) -> None:
    """orjson reads 1024 levels, deeper than Python recurses: such a valid record crashed (exit 3)
    inspect's example, the "which value means A wins" message of pairwise detection (and its
    ``value_key``), rated ``all_pairs``' size estimate, and a tree's role read by ``str()``."""
    deep = "[" * 1015 + "]" * 1015  # written by hand: json.dumps recurses too
    good = json.dumps({"prompt": "q", "response_a": "x", "response_b": "y", "winner": "a"})
    pairwise = tmp_path / "pairwise.jsonl"
    pairwise.write_text(good + "\n" + '{"prompt": "q2", "response_a": "x", "response_b": "y", "winner": ' + deep + "}\n")
    res = CliRunner().invoke(cli, ["inspect", str(pairwise)])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert 'example 2: {"prompt": "q2", "response_a": "x", "response_b": "y", "winner": [[[[[[[[...]]]]]]]]}' in res.stdout
    assert "looks pairwise, but the values of 'winner' (\"a\", [[[[[[[[[...]]]]]]]]]) do not say" in res.stdout
    res = CliRunner().invoke(cli, ["build", str(pairwise), str(tmp_path / "out_p")])
    assert res.exit_code == 2 and "looks pairwise, but the values of 'winner'" in res.output, res.output

    rated = tmp_path / "rated.jsonl"
    completions = json.dumps([{"response": "x", "score": 3}, {"response": "y", "score": 1}])
    rated.write_text(f'{{"q": "q1", "completions": {completions}}}\n{{"q": "q2", "meta": {deep}, "completions": {completions}}}\n')
    config = {"sources": [{"shape": "rated", "columns": {"prompt": "q", "completions": "completions", "text": "response", "score": "score"},
                           "binarize": {"policy": "all_pairs"}}]}
    assert prefdata.build(rated, tmp_path / "out_r", config=config, test_fraction=0).counts["pairs_written"] == 2

    tree = tmp_path / "tree.jsonl"
    tree.write_text(json.dumps(GOOD_TREE) + "\n" + json.dumps(GOOD_TREE).replace('"prompter"', deep, 1) + "\n")
    prefdata.build(tree, tmp_path / "out_t", config=TREE)
    assert rejects(tmp_path / "out_t").select("record", "reason", "field").rows() == [(2, "wrong_type", "prompt.role")]
    assert_reconciled(tmp_path / "out_t")


CUSTOM = '''
import polars as pl

def raises(lf):
    raise ValueError("boom")

def misspelt(lf):
    return lf.select("_record", pl.col("question").alias("prompt"), pl.col("g").alias("chosen"), pl.col("b").alias("rejected"))

def _bad(value):
    raise KeyError("votes")

def raises_when_collected(lf):
    return lf.select("_record", pl.col("q").map_elements(_bad, return_dtype=pl.String).alias("prompt"), pl.col("g").alias("chosen"), pl.col("b").alias("rejected"))

def invents_records(lf):
    return lf.select((pl.col("_record") + 100).alias("_record"), pl.col("q").alias("prompt"), pl.col("g").alias("chosen"), pl.col("b").alias("rejected"))

def base(lf):
    return lf.select("_record", pl.col("q").alias("prompt"), pl.col("g").alias("chosen"), pl.col("b").alias("rejected"))

def text_score(lf):
    return base(lf).with_columns(pl.lit("abc").alias("score_chosen"))

def list_score(lf):
    return base(lf).with_columns(pl.lit([1.0, 2.0]).alias("score_chosen"))

def prompt_without_role(lf):
    return base(lf).with_columns(pl.concat_list(pl.struct(pl.col("prompt").alias("text"))).alias("prompt"))

def text_record(lf):
    return base(lf).with_columns(pl.col("_record").cast(pl.String) + "x")

def null_record(lf):
    return base(lf).with_columns(pl.when(pl.col("_record") == 1).then(None).otherwise(pl.col("_record")).alias("_record"))

def exits(lf):
    import sys
    sys.exit(0)

def all_null_record(lf):
    return base(lf).with_columns(pl.lit(None).alias("_record"))

def null_and_invented_records(lf):
    return base(lf).with_columns(pl.when(pl.col("_record") == 1).then(None).otherwise(pl.col("_record") + 100).alias("_record"))

def integer_scores(lf):
    return base(lf).with_columns(pl.lit(8, pl.Int64).alias("score_chosen"), pl.lit(3, pl.Int32).alias("score_rejected"))

def odd_scores(lf):
    score = pl.col("prompt").replace_strict({"q1": 2.0, "q2": float("nan"), "q3": float("inf"), "q4": 1.0}, return_dtype=pl.Float64)
    return base(lf).with_columns(score.alias("score_chosen"), pl.lit(0.5).alias("score_rejected"))
'''


@pytest.mark.parametrize("function,message", [
    ("raises", "custom function 'edge_custom:raises' failed: ValueError: boom"),
    ("raises_when_collected", "custom function 'edge_custom:raises_when_collected' failed: KeyError"),
    ("invents_records", "returned rows whose _record is not a record it was given (e.g. 101)"),
    # a wrong type was a polars traceback deep in the build (exit 3), and a null _record wrote a pair
    # with no lineage while the record was also a dropped_by_function reject; sys.exit(0) was exit 0
    ("text_score", "custom function 'edge_custom:text_score': column 'score_chosen' must be a number, got String"),
    ("list_score", "column 'score_chosen' must be a number, got List(Float64)"),
    ("prompt_without_role", "column 'prompt' must be a string or a list of {role, content} (text each), got List(Struct({'text': String}))"),
    ("text_record", "column '_record' must be the integer _record of the input row, got String"),
    ("null_record", "returned rows whose _record is null: each output row must keep the _record of the input row"),
    # an all-null column (polars type Null) is null records, not a column of the wrong type; a null
    # among invented records is the one named, as the first problem
    ("all_null_record", "returned rows whose _record is null: each output row must keep the _record of the input row"),
    ("null_and_invented_records", "returned rows whose _record is null: each output row must keep the _record of the input row"),
    ("exits", "custom function 'edge_custom:exits' exited (SystemExit(0))"),
    # polars prints the query it could not resolve: from the names the function was given, never the
    # marked columns raw fields are kept in (decode.column_of), whose NUL bytes reached the terminal
    ("misspelt", ('custom function \'edge_custom:misspelt\' failed: ColumnNotFoundError: unable to find column "question"; '
                  'valid columns: ["_record", "_line", "b", "g", "q"]')),
])
def test_a_failing_custom_function_is_its_error_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, function: str, message: str) -> None:
    (tmp_path / "edge_custom.py").write_text(CUSTOM)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "edge_custom", raising=False)
    raw = _jsonl(tmp_path / "r.jsonl", [{"q": "q1", "g": "good", "b": "bad"}, {"q": "q2", "g": "good2", "b": "bad2"}])
    config = tmp_path / "c.yaml"
    config.write_text(f'sources:\n  - shape: custom\n    function: "edge_custom:{function}"\n')
    result = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out"), "--config", str(config), "-q"])
    assert result.exit_code == 2, result.output
    assert message in result.output and "\x00" not in result.output


@pytest.mark.parametrize(
    ("function", "problem"),
    [
        ("no_such_module:to_pairs", "cannot import module 'no_such_module'"),
        ("edge_custom:no_such_function", "module 'edge_custom' has no function 'no_such_function'"),
        ("edge_custom:raises", "custom function 'edge_custom:raises' failed: ValueError: boom"),
    ],
)
def test_a_custom_function_error_names_the_config_file_source_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, function: str, problem: str
) -> None:
    """As every config error does: the function is imported and run after the config was read, and
    its errors used to name neither the file nor the source."""
    (tmp_path / "edge_custom.py").write_text(CUSTOM)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "edge_custom", raising=False)
    raw = _jsonl(tmp_path / "r.jsonl", [{"q": "q1", "g": "good", "b": "bad"}])
    config = tmp_path / "build.yaml"
    config.write_text(f'sources:\n  - name: votes\n    shape: custom\n    function: "{function}"\n')
    result = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out"), "--config", str(config), "-q"])
    assert result.exit_code == 2, result.output
    assert f"error: {config}: sources[0] (name: votes).function: " in result.stderr and problem in result.stderr
    assert "Traceback" not in result.output


def test_a_module_that_exits_while_imported_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module that parses argv when imported and calls sys.exit() ended the build with that code
    (exit 0: no OUT, no message); its other exceptions were exit 3."""
    (tmp_path / "edge_exits.py").write_text("import sys\nsys.exit(0)\n")
    (tmp_path / "edge_raises.py").write_text("raise RuntimeError('no GPU')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    raw = _jsonl(tmp_path / "r.jsonl", [{"q": "q1", "g": "good", "b": "bad"}])
    for module, problem in (("edge_exits", "importing module 'edge_exits' exited (SystemExit(0))"),
                            ("edge_raises", "importing module 'edge_raises' failed: RuntimeError: no GPU")):
        monkeypatch.delitem(sys.modules, module, raising=False)
        config = tmp_path / "c.yaml"
        config.write_text(f'sources:\n  - shape: custom\n    function: "{module}:f"\n')
        result = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out"), "--config", str(config), "-q"])
        assert result.exit_code == 2 and f"sources[0].function: custom function '{module}:f': {problem}" in result.stderr, result.output


def test_non_finite_custom_scores_are_wrong_type_rejects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scores a custom function returns were cast, not read as every shape reads a score: NaN and
    infinity reached the dataset."""
    (tmp_path / "edge_custom.py").write_text(CUSTOM)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "edge_custom", raising=False)
    raw = _jsonl(tmp_path / "r.jsonl", [{"q": f"q{i}", "g": f"good{i}", "b": f"bad{i}"} for i in range(1, 5)])
    prefdata.build(raw, tmp_path / "out", config={"sources": [{"shape": "custom", "function": "edge_custom:odd_scores"}]}, test_fraction=0)
    assert sorted(pairs(tmp_path / "out").select("score_chosen", "score_rejected").rows()) == [(1.0, 0.5), (2.0, 0.5)]
    got = rejects(tmp_path / "out").sort("record").select("record", "reason", "field", "detail").rows()
    assert got == [(2, "wrong_type", "score_chosen", "score_chosen: score is not a number"),
                   (3, "wrong_type", "score_chosen", "score_chosen: score is not a number")]
    assert_reconciled(tmp_path / "out")


def test_integer_custom_scores_are_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """custom.py: the function may return score_chosen/score_rejected as numbers; an integer column
    (Int64, Int32) is one, read as the float it equals, not refused as "must be a number"."""
    (tmp_path / "edge_custom.py").write_text(CUSTOM)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "edge_custom", raising=False)
    raw = _jsonl(tmp_path / "r.jsonl", [{"q": f"q{i}", "g": f"good{i}", "b": f"bad{i}"} for i in range(1, 3)])
    prefdata.build(raw, tmp_path / "out", config={"sources": [{"shape": "custom", "function": "edge_custom:integer_scores"}]}, test_fraction=0)
    assert pairs(tmp_path / "out").select("score_chosen", "score_rejected").rows() == [(8.0, 3.0), (8.0, 3.0)]
    assert_reconciled(tmp_path / "out")


@pytest.mark.parametrize(("values", "expected"), [
    # null in most records, a list in most of the others: nulls are no type, so a list of texts
    ([None, None, None, None, ["a", "b"], ["c"], "d"], pl.List(pl.String)),
    # lists are the common kind, but of numbers, objects and lists: a list of single values read as text
    ([[1, 2], [{"k": 1}], [[1]], "d"], pl.List(pl.String)),
    (["x", None, None, [1]], pl.String),  # text the common kind: text
])
def test_a_custom_field_the_records_disagree_on_is_read_as_most_of_its_records_hold_it(values: list, expected: pl.DataType) -> None:
    """custom._sampled_types: where sampled records disagree on a field's type, it is "that field's type
    in most of its records" (the others are wrong_type rejects), and lists whose items disagree are
    "a list of single values ... read as text" (_field_type)."""
    from prefdata.config import CustomSource
    from prefdata.shapes.custom import CustomShape

    shape = CustomShape(CustomSource(shape="custom", function="json:dumps", name="s"), [{"q": "x", "tags": v} for v in values])
    assert shape.dtypes["tags"] == expected


def test_a_custom_source_reads_thousands_of_fields_in_linear_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the default ``fields`` (every field sampled), the field types took one DataFrame.schema
    per field and the decoder one ``struct.field`` per field, each quadratic: 3,000 fields took 22 s."""
    from polars.expr.struct import ExprStructNameSpace

    from prefdata.config import parse_config
    from prefdata.shapes.custom import CustomShape

    (tmp_path / "edge_custom.py").write_text(CUSTOM)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "edge_custom", raising=False)
    wide = {"q": "q1", "g": "good", "b": "bad", **{f"k{i}": i for i in range(3000)}}
    calls = {"schema": 0, "field": 0}
    schema, field = pl.DataFrame.schema, ExprStructNameSpace.field

    def counted_schema(self: pl.DataFrame) -> pl.Schema:
        calls["schema"] += 1
        return schema.fget(self)  # type: ignore[attr-defined]

    def counted_field(self: ExprStructNameSpace, *args: object, **kwargs: object) -> pl.Expr:
        calls["field"] += 1
        return field(self, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "schema", property(counted_schema))
    monkeypatch.setattr(ExprStructNameSpace, "field", counted_field)
    shape = CustomShape(parse_config({"sources": [{"shape": "custom", "function": "edge_custom:base"}]}).sources[0], [wide])
    assert len(shape.dtypes) == 3003 and calls["schema"] <= 2
    calls["field"] = 0
    prefdata.build(_jsonl(tmp_path / "k.jsonl", [{"q": "q0", "g": "a", "b": "b"}, wide]), tmp_path / "out",
                   config={"sources": [{"shape": "custom", "function": "edge_custom:base"}]})
    assert pairs(tmp_path / "out").height == 2 and calls["field"] < 100


FIELDS_SEEN = """
import polars as pl

def fields_seen(lf):
    # the prompt names each field the function was handed (other than q, g, b) and its value
    extra = sorted(c for c in lf.collect_schema() if not c.startswith("_") and c not in ("q", "g", "b"))
    seen = pl.concat_str([pl.lit(c + "=") + pl.col(c).cast(pl.String).fill_null("") for c in extra], separator=";") if extra else pl.lit("")
    return lf.select("_record", seen.alias("prompt"), pl.col("g").alias("chosen"), pl.col("b").alias("rejected"))
"""


@pytest.mark.parametrize(
    ("name", "data", "seen"),
    [
        ("export.csv", b"q,g,b,\nWhat is 2+2?,Four.,Five.,note\n", "=note"),  # a spreadsheet's trailing comma
        ("export2.csv", b"q,g,b,,\nWhat is 2+2?,Four.,Five.,,\n", "="),  # two of them: named twice, but by no config
        ("log.jsonl", b'{"q": "What is 2+2?", "g": "Four.", "b": "Five.", "": 3, "a.b": 1, "x[0]": 2}\n', "=3;a.b=1;x[0]=2"),
    ],
)
def test_a_custom_source_hands_over_fields_whose_names_are_no_field_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, data: bytes, seen: str
) -> None:
    """A custom function receives "one column per raw top-level field" (README, custom): its names are
    the record's own, not config field paths. A blank name (a CSV header's trailing comma, a JSON key
    "") failed the whole build with "invalid field path ''", which no config named, while a preference
    shape builds the same file; ``a.b`` was read as field ``a``'s ``b`` and the function's frame lacked
    the column. Two blank names are no reason to skip the file either (``named_twice``: nothing can
    name them)."""
    (tmp_path / "fields_seen.py").write_text(FIELDS_SEEN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fields_seen", raising=False)
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / name).write_bytes(data)
    result = prefdata.build(raw, tmp_path / "out", config={"sources": [{"shape": "custom", "function": "fields_seen:fields_seen"}]}, test_fraction=0)
    assert result.counts["pairs_written"] == 1 and result.warnings == []  # no field the records hold is "misspelt"
    assert pairs(tmp_path / "out").select("prompt", "chosen").rows() == [
        ([{"role": "user", "content": seen}], [{"role": "assistant", "content": "Four."}])
    ]
    assert_reconciled(tmp_path / "out")


def test_a_custom_sources_misspelt_field_is_named_under_fields(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A custom source's ``fields`` are names as the records spell them (``a.b`` is the key ``a.b``); one
    no sampled record holds is warned about under the key that gives it, ``fields`` (AbsentFields), not
    under ``columns``, which a custom source has not."""
    (tmp_path / "fields_seen.py").write_text(FIELDS_SEEN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fields_seen", raising=False)
    raw = _jsonl(tmp_path / "r.jsonl", [{"q": "What is 2+2?", "g": "Four.", "b": "Five.", "a.b": "x"}])
    config = {"sources": [{"shape": "custom", "function": "fields_seen:fields_seen", "fields": ["q", "g", "b", "a.b", "a.c"]}]}
    result = prefdata.build(raw, tmp_path / "out", config=config, test_fraction=0)
    assert result.warnings == ["config: sources[0].fields: field 'a.c' is in none of the 1 sampled record of 1 file; is it misspelt?"]
    assert pairs(tmp_path / "out")["prompt"].to_list() == [[{"role": "user", "content": "a.b=x;a.c="}]]


OWN_NAMES = """
import polars as pl

def own_names(lf):
    return lf.select("_record", pl.col("__prompt").alias("prompt"), pl.col("_line").str.len_chars().cast(pl.String).alias("chosen"),
                     pl.col("b").alias("rejected"), "_reason_given")
"""


def test_a_custom_source_is_handed_its_fields_under_their_own_names_but_never_prefdatas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A custom source's ``fields`` are handed over named as the records spell them (README "custom"),
    ``__prompt`` (a name prefdata's shapes use for their own columns) and ``_reason_given`` too, beside
    ``_record`` and ``_line``. A field named ``_record``, ``_line``, ``_reason``, ``_field`` or
    ``_detail`` cannot be: the frame holds its own ``_record`` and ``_line``, and a raw ``_reason``
    passed through would make the record a reject under that text; each is a config error naming ``fields``."""
    (tmp_path / "own_names.py").write_text(OWN_NAMES)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "own_names", raising=False)
    line = json.dumps({"__prompt": "What is 2+2?", "b": "Five.", "_reason_given": "a moderator's note"})
    (tmp_path / "r.jsonl").write_text(line + "\n")
    config = {"sources": [{"shape": "custom", "function": "own_names:own_names", "fields": ["__prompt", "b", "_reason_given"]}]}
    result = prefdata.build(tmp_path / "r.jsonl", tmp_path / "out", config=config, test_fraction=0)
    assert result.counts["pairs_written"] == 1
    assert pairs(tmp_path / "out").select("prompt", "chosen").rows() == [
        ([{"role": "user", "content": "What is 2+2?"}], [{"role": "assistant", "content": str(len(line))}])
    ]
    for own in ("_record", "_line", "_reason", "_field", "_detail"):
        config = {"sources": [{"shape": "custom", "function": "own_names:own_names", "fields": [own, "b"]}]}
        with pytest.raises(ConfigError, match=rf"sources\[0\]\.fields: field '{own}' cannot be handed to the function"):
            prefdata.build(tmp_path / "r.jsonl", tmp_path / "out2", config=config, test_fraction=0)


def test_feedback_spends_its_pair_cap_only_on_pairs_it_can_write(tmp_path: Path) -> None:
    """A canned reply down-voted eight times took all 8 slots of ``max_pairs_per_prompt`` with copies
    of one pair (7 then dropped as duplicates), and the prompt's two other down-votes went unpaired
    "over max_pairs_per_prompt". An up and a down of the same text took the only slot of a cap of 1."""
    rows = [{"prompt": "Cancel my order", "response": "Done, it is cancelled.", "rating": "up"}]
    rows += [{"prompt": "Cancel my order", "response": "I can't help with that.", "rating": "down"}] * 8
    rows += [{"prompt": "Cancel my order", "response": r, "rating": "down"} for r in ("Please call us.", "No.")]
    rows += [{"prompt": "Hi", "response": "Hello!", "rating": "up"}, {"prompt": "Hi", "response": " Hello! ", "rating": "down"},
             {"prompt": "Hi", "response": "Go away.", "rating": "down"}]
    config = {"sources": [{"shape": "feedback", "columns": {"prompt": "prompt", "response": "response", "label": "rating"},
                           "labels": {"up": ["up"], "down": ["down"]}}], "output": {"kto_export": True}}
    prefdata.build(_jsonl(tmp_path / "fb.jsonl", rows), tmp_path / "out", config=config)
    got = sorted(r[0]["content"] for r in pairs(tmp_path / "out")["rejected"].to_list())
    assert got == ["Go away.", "I can't help with that.", "No.", "Please call us."]
    assert _reasons(tmp_path / "out") == [(r, "duplicate_pair") for r in range(3, 10)] + [(13, "identical_responses")]
    assert pl.read_parquet(tmp_path / "out" / "kto" / "*.parquet").height == 0  # neither is a clean unpaired row
    assert_reconciled(tmp_path / "out")

    capped = {"sources": [{**config["sources"][0], "max_pairs_per_prompt": 1}]}
    prefdata.build(_jsonl(tmp_path / "hi.jsonl", rows[-3:]), tmp_path / "one", config=capped)
    assert [r[0]["content"] for r in pairs(tmp_path / "one")["rejected"].to_list()] == ["Go away."]


def test_feedback_repeats_follow_keep_duplicates_and_the_cap(tmp_path: Path) -> None:
    """``--keep-duplicates`` kept one of three copies of a canned-reply pair (the shape dropped repeats
    itself); and with a cap of 1, a copy of a pair the cap left out was called a duplicate of it."""
    config = {"sources": [{"shape": "feedback", "columns": {"prompt": "prompt", "response": "response", "label": "rating"},
                           "labels": {"up": ["up"], "down": ["down"]}}]}
    canned = [{"prompt": "P", "response": "A", "rating": "up"}] + [{"prompt": "P", "response": "C", "rating": "down"}] * 3
    prefdata.build(_jsonl(tmp_path / "c.jsonl", canned), tmp_path / "keep", config=config, dedup=False)
    assert pairs(tmp_path / "keep").height == 3
    capped = {"sources": [{**config["sources"][0], "max_pairs_per_prompt": 1}]}
    rows = [{"prompt": "P", "response": r, "rating": v} for r, v in (("A", "up"), ("X", "down"), ("C", "down"), ("C", "down"))]
    prefdata.build(_jsonl(tmp_path / "k.jsonl", rows), tmp_path / "cap", config=capped)
    assert rejects(tmp_path / "cap").sort("record").select("record", "reason", "detail").rows() == [
        (3, "unpaired", "over max_pairs_per_prompt (1) for this prompt"),
        (4, "duplicate_record", "same prompt, response and label as k.jsonl record 3, which is kept"),  # not a pair's copy
    ]


def test_only_a_repeat_of_an_unpaired_record_is_a_duplicate_record(tmp_path: Path) -> None:
    """README feedback: "An exact repeat of an unpaired record ... in the same source or another, is a
    duplicate_record reject, so kto/ holds it once". Source a's two votes on one text are
    identical_responses rejects, never exported; source b's lone record with that text and vote repeats
    no unpaired record, so it stays unpaired and is the one kto/ row."""
    raw = tmp_path / "raw"
    raw.mkdir()
    _jsonl(raw / "a.jsonl", [{"prompt": "Is it sunny?", "response": "Yes.", "label": v} for v in ("up", "down")])
    _jsonl(raw / "b.jsonl", [{"prompt": "Is it sunny?", "response": "Yes.", "label": "up"}])
    source = {"shape": "feedback", "columns": {"prompt": "prompt", "response": "response", "label": "label"},
              "labels": {"up": ["up"], "down": ["down"]}}
    config = {"sources": [{**source, "name": "a", "path": "a.jsonl"}, {**source, "name": "b", "path": "b.jsonl"}],
              "output": {"kto_export": True}}
    prefdata.build(raw, tmp_path / "out", config=config)
    assert rejects(tmp_path / "out").sort("file", "record").select("file", "record", "reason").rows() == [
        ("a.jsonl", 1, "identical_responses"), ("a.jsonl", 2, "identical_responses"), ("b.jsonl", 1, "unpaired")]
    kto = pl.read_parquet(tmp_path / "out" / "kto" / "*.parquet")
    assert [(c[0]["content"], label) for c, label in kto.select("completion", "label").rows()] == [("Yes.", True)]


def test_feedback_leftovers_name_the_response_field_and_unpaired_the_label(tmp_path: Path) -> None:
    """README feedback: a record whose only opposite votes are the same text is identical_responses, and
    a copy of a written pair is duplicate_pair; both are about the response and name its raw field (as
    every reject names its raw field), while unpaired (no opposite vote) names the label field."""
    rows = [{"q": "Same text both ways?", "completion": "Yes.", "vote": "up"},
            {"q": "Same text both ways?", "completion": " Yes. ", "vote": "down"},
            {"q": "A real pair?", "completion": "Good.", "vote": "up"},
            {"q": "A real pair?", "completion": "Bad.", "vote": "down"},
            {"q": "A real pair?", "completion": "Bad.", "vote": "down"},
            {"q": "Lonely?", "completion": "Alone.", "vote": "up"}]
    config = {"sources": [{"shape": "feedback", "columns": {"prompt": "q", "response": "completion", "label": "vote"},
                           "labels": {"up": ["up"], "down": ["down"]}}]}
    prefdata.build(_jsonl(tmp_path / "fb.jsonl", rows), tmp_path / "out", config=config)
    assert rejects(tmp_path / "out").sort("record").select("record", "reason", "field").rows() == [
        (1, "identical_responses", "completion"), (2, "identical_responses", "completion"),
        (5, "duplicate_pair", "completion"), (6, "unpaired", "vote")]


def test_a_blank_feedback_label_cell_is_a_missing_label(tmp_path: Path) -> None:
    """A blank CSV cell is a missing value (CSV has no null; fields.value_text), as the pairwise verdict
    test pins for ``winner``: an empty or blank label cell is missing_field on the label, not
    unknown_verdict."""
    raw = tmp_path / "fb.csv"
    raw.write_text('prompt,response,rating\nHi?,Hello.,up\nHi?,Go away.,down\nBye?,See you.,\nBye?,Later.,"  "\n')
    config = {"sources": [{"shape": "feedback", "columns": {"prompt": "prompt", "response": "response", "label": "rating"},
                           "labels": {"up": ["up"], "down": ["down"]}}]}
    prefdata.build(raw, tmp_path / "out", config=config)
    assert rejects(tmp_path / "out").sort("record").select("record", "reason", "field", "detail").rows() == [
        (3, "missing_field", "rating", "rating is missing"), (4, "missing_field", "rating", "rating is missing")]


@pytest.mark.parametrize("neighbour", [None, {"prompt": "Q2", "response": "r", "rating": [1]}])
def test_a_feedback_label_does_not_depend_on_the_other_records_of_its_batch(tmp_path: Path, neighbour: dict | None) -> None:
    rows = [{"prompt": "P", "response": "good", "rating": 1.0}, {"prompt": "P", "response": "bad", "rating": 0.0}]
    config = {"sources": [{"shape": "feedback", "columns": {"prompt": "prompt", "response": "response", "label": "rating"},
                           "labels": {"up": [1], "down": [0]}}]}
    prefdata.build(_jsonl(tmp_path / "fb.jsonl", rows + ([neighbour] if neighbour else [])), tmp_path / "out", config=config)
    got = pairs(tmp_path / "out")
    assert [(c[0]["content"], r[0]["content"]) for c, r in zip(got["chosen"].to_list(), got["rejected"].to_list())] == [("good", "bad")]


def test_a_transcript_without_chosen_names_chosen(tmp_path: Path) -> None:
    dialogue = "\n\nHuman: hi\n\nAssistant: {}"
    raw = _jsonl(tmp_path / "t.jsonl", [
        {"chosen": dialogue.format("good"), "rejected": dialogue.format("bad")},
        {"chosen": None, "rejected": dialogue.format("bad")},
        {"chosen": dialogue.format("good")},
    ])
    prefdata.build(raw, tmp_path / "out", config={"sources": [{"shape": "transcript"}]})
    got = rejects(tmp_path / "out").sort("record").select("record", "reason", "field").rows()
    assert got == [(2, "missing_field", "chosen"), (3, "missing_field", "rejected")]


def test_a_blank_feedback_response_does_not_take_its_partner_down(tmp_path: Path) -> None:
    rows = [
        {"prompt": "P", "response": "   ", "rating": "up"},  # blank: rejected on its own
        {"prompt": "P", "response": "a real answer", "rating": "down"},  # valid: unpaired, kept for KTO
    ]
    config = {"sources": [{"shape": "feedback", "columns": {"prompt": "prompt", "response": "response", "label": "rating"},
                           "labels": {"up": ["up"], "down": ["down"]}}], "output": {"kto_export": True}}
    prefdata.build(_jsonl(tmp_path / "fb.jsonl", rows), tmp_path / "out", config=config)
    assert _reasons(tmp_path / "out") == [(1, "empty_field"), (2, "unpaired")]
    kto = pl.read_parquet(tmp_path / "out" / "kto" / "*.parquet")
    assert [c[0]["content"] for c in kto["completion"].to_list()] == ["a real answer"]


def _filled(value: object, **parts: str) -> object:
    """``value`` with ``{text}``/``{model}`` filled in, however deep in it they are."""
    if isinstance(value, dict):
        return {k: _filled(v, **parts) for k, v in value.items()}
    return value.format(**parts) if isinstance(value, str) else value


def _votes(up: dict, down: dict) -> list[object]:
    """An up-voted record ("good", by m1) and a down-voted one ("bad", by m2)."""
    return [_filled(up, text="good", model="m1"), _filled(down, text="bad", model="m2")]


@pytest.mark.parametrize(
    ("columns", "up", "down"),
    [
        (
            {"prompt": "prompt.text", "response": "r", "label": "l", "model": "m"},
            {"prompt": {"text": "Q"}, "r": "{text}", "l": "up", "m": "{model}"},
            {"prompt": {"text": "Q"}, "r": "{text}", "l": "down", "m": "{model}"},
        ),
        (
            {"prompt": "q", "response": "r", "label": "label.value", "model": "m"},
            {"q": "Q", "r": "{text}", "label": {"value": "up"}, "m": "{model}"},
            {"q": "Q", "r": "{text}", "label": {"value": "down"}, "m": "{model}"},
        ),
        (
            {"prompt": "q", "response": "r", "label": "l", "model": "prompt.name"},
            {"q": "Q", "r": "{text}", "l": "up", "prompt": {"name": "{model}"}},
            {"q": "Q", "r": "{text}", "l": "down", "prompt": {"name": "{model}"}},
        ),
    ],
)
def test_feedback_reads_paths_under_fields_named_like_its_columns(tmp_path: Path, columns: dict, up: dict, down: dict) -> None:
    """A raw field named ``prompt`` or ``label`` is the raw field, not the half-pair made from it:
    ``prompt.text`` or ``label.value`` used to crash the build (a Rust panic or an internal error)."""
    config = {"sources": [{"shape": "feedback", "columns": columns, "labels": {"up": ["up"], "down": ["down"]}}]}
    prefdata.build(_jsonl(tmp_path / "fb.jsonl", _votes(up, down)), tmp_path / "out", config=config)
    got = pairs(tmp_path / "out")
    texts = [(p[0]["content"], c[0]["content"], r[0]["content"]) for p, c, r in got.select("prompt", "chosen", "rejected").rows()]
    assert texts == [("Q", "good", "bad")]
    assert got.select("chosen_model", "rejected_model").rows() == [("m1", "m2")]


@pytest.mark.parametrize("field", ["rating", "label"])
def test_an_unmapped_feedback_label_is_an_unknown_verdict_whatever_the_field_is_named(tmp_path: Path, field: str) -> None:
    """``label`` (the default field name) used to be read back after the mapped up/down label had
    replaced it, so an unmapped 5 was reported as a missing label."""
    rows = [{"prompt": "Q", "response": "fine", field: 5}, {"prompt": "Q", "response": "great", field: "up"}]
    config = {"sources": [{"shape": "feedback", "columns": {"prompt": "prompt", "response": "response", "label": field}}]}
    prefdata.build(_jsonl(tmp_path / "fb.jsonl", rows), tmp_path / "out", config=config)
    got = rejects(tmp_path / "out").sort("record").select("record", "reason", "field", "detail").rows()
    assert got == [
        (1, "unknown_verdict", field, f"{field} = 5 is none of the configured up/down labels"),
        (2, "unpaired", field, "no down-voted response to the same prompt"),
    ]


@pytest.mark.parametrize("text", ["lang === 'en'", "score >== 3", "lang == !en", "lang == "])
def test_a_mistyped_filter_operator_is_a_config_error_not_an_empty_build(text: str) -> None:
    from prefdata.shapes.filters import parse_filter

    with pytest.raises(ConfigError, match="a mistyped operator|expected '<field> <op> <value>'"):
        parse_filter(text)  # a blank value used to compare with null and drop every record
    assert parse_filter("lang == '=en'").value == "=en"  # quoted, the value may start with it


#: Raw values of a filtered field (the last record has none) and the operands a filter may compare them with.
#: U+0661 is an Arabic-Indic 1, no number to polars; a list is no text to the decoder, so it reads as null.
FILTERED = [{"tier": v} for v in (1, 1.0, "1", "1.0", "01", True, None, "abc", "ABC", 2, "\u0661", [1])] + [{}, {"tier": ""}, {"tier": " \t"}]
OPERANDS = ["1", "1.0", "'1'", "'1.0'", "'01'", "true", "null", "abc"]


def _kept(text: str) -> tuple[set[int], set[int]]:
    """Indexes of the :data:`FILTERED` records a filter keeps: as a build decodes and filters them
    (polars), and as a tree's message filter reads them (Python)."""
    from prefdata.io.decode import DecodeSpec, decode
    from prefdata.shapes.fields import Leaf, field_specs
    from prefdata.shapes.filters import parse_filter

    flt = parse_filter(text)
    lines = pl.DataFrame(
        {"_record": range(len(FILTERED)), "_line": [json.dumps(r) for r in FILTERED]},
        schema={"_record": pl.Int64, "_line": pl.String},
    )
    decoded = decode(lines, DecodeSpec(field_specs([Leaf(flt.path, pl.String)])))
    by_polars = set(decoded.filter(flt.expr()).get_column("_record").to_list())
    return by_polars, {i for i, r in enumerate(FILTERED) if flt.matches(r)}


def test_filter_operators_agree_on_what_equals_a_value() -> None:
    """``x in [a, b]`` is ``x == a or x == b``, ``!=`` and ``not in`` their negations, for numbers,
    number-like text, booleans, null and text alike: ``in`` used to compare text (``"1.0"`` was not in
    ``[1]`` but was ``== 1``) and read ``null`` in a list as the text ``None``."""
    every = set(range(len(FILTERED)))
    assert _kept("tier == 1") == ({0, 1, 2, 3, 4},) * 2
    assert _kept("tier == null") == ({6, 11, 12, 13, 14},) * 2  # a blank value is missing, as the shapes read it
    for a in OPERANDS:
        equal = _kept(f"tier == {a}")
        assert _kept(f"tier != {a}") == tuple(every - e for e in equal), a
        for b in OPERANDS:
            either = tuple(x | y for x, y in zip(equal, _kept(f"tier == {b}")))
            assert _kept(f"tier in [{a}, {b}]") == either, (a, b)
            assert _kept(f"tier not in [{a}, {b}]") == tuple(every - e for e in either), (a, b)


@pytest.mark.parametrize(
    ("text", "kept"), [("tier == 1", ["Q1", "Q2"]), ("tier in [1, 2]", ["Q1", "Q2"]), ("tier not in [1]", ["Q3", "Q4"])]
)
def test_a_number_written_as_text_is_in_a_list_of_numbers(tmp_path: Path, text: str, kept: list[str]) -> None:
    """A CSV cell ``1.0`` is 1 to ``in`` and ``not in`` as it is to ``==``."""
    (tmp_path / "r.csv").write_text("question,good,bad,tier\nQ1,g1,b1,1.0\nQ2,g2,b2,1\nQ3,g3,b3,3\nQ4,g4,b4,\n")
    columns = {"prompt": "question", "chosen": "good", "rejected": "bad"}
    config = {"sources": [{"shape": "preference", "columns": columns, "filters": [text]}]}
    prefdata.build(tmp_path / "r.csv", tmp_path / "out", config=config)
    assert sorted(p[0]["content"] for p in pairs(tmp_path / "out").get_column("prompt").to_list()) == kept


@pytest.mark.parametrize(
    ("text", "kept"),
    [("chosen_model != null", ["P1"]), ("chosen_model == null", ["P2", "P3"]), ("score_chosen == null", ["P2", "P3"]), ("score_chosen != null", ["P1"])],
)
def test_a_null_filter_sees_a_blank_cell_as_the_shape_does(tmp_path: Path, text: str, kept: list[str]) -> None:
    """A shape reads a blank CSV cell (and JSON "") in an optional field as null, but a filter compared
    the text "": ``chosen_model != null`` kept the CSV row with an empty model cell and wrote it with
    chosen_model = null, and ``score_chosen == null`` kept none of the CSV rows with a blank score,
    where the same table as JSON lines was filtered as meant."""
    rows = [("P1", "m1", 5.0), ("P2", None, None), ("P3", "", "")]
    (tmp_path / "c").mkdir()
    (tmp_path / "j").mkdir()
    (tmp_path / "c" / "t.csv").write_text("prompt,chosen,rejected,chosen_model,score_chosen\n" + "".join(
        f"{p},c,r,{m or ''},{s if s is not None else ''}\n" for p, m, s in rows))
    (tmp_path / "j" / "t.jsonl").write_text("".join(
        json.dumps({"prompt": p, "chosen": "c", "rejected": "r", "chosen_model": m, "score_chosen": s}) + "\n" for p, m, s in rows))
    columns = {name: name for name in ("prompt", "chosen", "rejected", "chosen_model", "score_chosen")}
    for kind in ("c", "j"):
        prefdata.build(tmp_path / kind, tmp_path / f"out-{kind}", config={"sources": [{"shape": "preference", "columns": columns, "filters": [text]}]})
        assert sorted(p[0]["content"] for p in pairs(tmp_path / f"out-{kind}").get_column("prompt").to_list()) == kept, kind


@pytest.mark.parametrize(
    ("text", "kept"),
    [("deleted != true", ["Q1", "Q3", "Q5"]), ("deleted == false", ["Q1", "Q3"]), ("deleted in [no]", ["Q1", "Q3"]), ("deleted not in [true]", ["Q1", "Q3", "Q5"])],
)
def test_a_boolean_filter_matches_csv_booleans_in_any_case(tmp_path: Path, text: str, kept: list[str]) -> None:
    """pandas writes a boolean into a CSV as ``True``/``False`` and Excel as ``TRUE``/``FALSE``: filters
    compared them with the text ``true`` case-sensitively, so ``deleted != true`` kept the deleted rows
    of the CSV and ``deleted == false`` dropped every row, where the same table as JSON lines was
    filtered as meant. A tree's message filter (Python) agrees."""
    from prefdata.shapes.filters import parse_filter

    (tmp_path / "r.csv").write_text("question,good,bad,deleted\nQ1,g1,b1,False\nQ2,g2,b2,True\nQ3,g3,b3,FALSE\nQ4,g4,b4,TRUE\nQ5,g5,b5,\n")
    columns = {"prompt": "question", "chosen": "good", "rejected": "bad"}
    config = {"sources": [{"shape": "preference", "columns": columns, "filters": [text]}]}
    prefdata.build(tmp_path / "r.csv", tmp_path / "out", config=config)
    assert sorted(p[0]["content"] for p in pairs(tmp_path / "out").get_column("prompt").to_list()) == kept
    flt = parse_filter(text)
    cells = {"Q1": "False", "Q2": "True", "Q3": "FALSE", "Q4": "TRUE", "Q5": None}
    assert sorted(q for q, cell in cells.items() if flt.matches({"deleted": cell})) == kept
    assert [flt.matches({"deleted": b}) for b in (False, True)] == ["Q1" in kept, "Q2" in kept]  # JSON booleans as before


@pytest.mark.parametrize("op", ["==", "in", "not in"])
def test_long_integer_ids_are_compared_exactly(tmp_path: Path, op: str) -> None:
    """1234567890123456789 and ...790 are one float64: an allow-list of ids must not mix them up."""
    from prefdata.shapes.filters import parse_filter

    ids = [1234567890123456789, 1234567890123456790, 1234567890123456700, "1234567890123456789"]
    if op == "in":  # beyond 64 bits too: 2**64 - 1 and 2**64 - 2 are one float64 as well
        ids[2] = 2**64 - 2
    rows = [{"q": f"Q{i}", "c": "good", "r": "bad", "uid": uid} for i, uid in enumerate(ids)]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    value = {"==": "1234567890123456789", "in": f"[1234567890123456789, {2**64 - 1}]", "not in": "[1234567890123456789]"}[op]
    config = {"sources": [{"shape": "preference", "columns": {"prompt": "q", "chosen": "c", "rejected": "r"}, "filters": [f"uid {op} {value}"]}]}
    prefdata.build(tmp_path / "r.jsonl", tmp_path / "out", config=config)
    kept = sorted(p[0]["content"] for p in pairs(tmp_path / "out").get_column("prompt").to_list())
    assert kept == (["Q1", "Q2"] if op == "not in" else ["Q0", "Q3"])
    tree_filter = parse_filter(f"uid {op} {value}")
    assert [tree_filter.matches(r) for r in rows] == [op != "not in", op == "not in", op == "not in", op != "not in"]


def test_values_that_match_alike_cannot_be_listed_under_two_labels() -> None:
    """Shapes match 1, 1.0 and "1.0" as one value, so the config must not give them different labels."""
    pairwise = {**PAIRWISE["sources"][0], "winner_values": {"a": [1], "b": [1.0]}}
    with pytest.raises(ConfigError, match="listed under both 'a' and 'b'"):
        parse_config({"sources": [pairwise]})
    feedback = {"shape": "feedback", "columns": {"prompt": "p", "response": "r", "label": "l"}, "labels": {"up": [1], "down": ["1.0"]}}
    with pytest.raises(ConfigError, match="values listed as both up and down"):
        parse_config({"sources": [feedback]})


def test_feedback_pairs_across_the_files_of_one_source_not_across_sources(tmp_path: Path) -> None:
    """As the README says: records pair within one source. A source whose path selects a folder
    pairs an up-vote in one file with a down-vote in another; without a config each file is its own
    source, and the same records stay unpaired."""
    raw = tmp_path / "raw" / "fb"
    raw.mkdir(parents=True)
    (raw / "day1.jsonl").write_text(json.dumps({"prompt": "Reset my password?", "response": "Use the link.", "rating": "up"}) + "\n")
    (raw / "day2.jsonl").write_text(json.dumps({"prompt": "reset my  password?", "response": "No.", "rating": "down"}) + "\n")
    config = {"sources": [{"name": "fb", "path": "fb", "shape": "feedback", "labels": {"up": ["up"], "down": ["down"]},
                           "columns": {"prompt": "prompt", "response": "response", "label": "rating"}}]}
    one_source = prefdata.build(tmp_path / "raw", tmp_path / "one", config=config, partitions=3)
    assert one_source.counts["pairs_written"] == 1
    assert {(r["file"], r["record"]) for r in pairs(tmp_path / "one").get_column("lineage").explode()} == {("fb/day1.jsonl", 1), ("fb/day2.jsonl", 1)}
    per_file = prefdata.build(tmp_path / "raw", tmp_path / "per-file")
    assert per_file.counts["pairs_written"] == 0
    assert per_file.counts["rejected_by_reason"] == {"unpaired": 2}
    assert_reconciled(tmp_path / "one")


def test_feedback_pairs_prompts_with_the_same_roles_and_turns_only(tmp_path: Path) -> None:
    """A system turn and a user turn are not the one user turn holding the same words: the down-vote
    on the merged prompt answers another prompt and stays unpaired, while the one on the same turns
    written in other case and spacing is paired."""
    def record(label: str, answer: str, *turns: tuple[str, str]) -> dict:
        return {"messages": [*({"role": r, "content": c} for r, c in turns), {"role": "assistant", "content": answer}], "label": label}

    rows = [record("up", "Arr, ahoy!", ("system", "be a pirate"), ("user", "say hello")),
            record("down", "Hello.", ("user", "be a pirate say hello")),
            record("down", "Hi.", ("system", "Be a  pirate"), ("user", "Say hello")),
            record("down", "Hey.", ("user", "be a pirate"), ("user", "say hello"))]
    config = {"sources": [{"shape": "feedback", "columns": {"conversation": "messages", "label": "label"},
                           "labels": {"up": ["up"], "down": ["down"]}}]}
    result = prefdata.build(_jsonl(tmp_path / "fb.jsonl", rows), tmp_path / "out", config=config)
    assert result.counts["pairs_written"] == 1
    assert [e["record"] for e in pairs(tmp_path / "out").get_column("lineage").item()] == [1, 3]
    assert _reasons(tmp_path / "out") == [(2, "unpaired"), (4, "unpaired")]
    assert_reconciled(tmp_path / "out")


def test_a_detected_ranked_file_says_which_rank_is_best(tmp_path: Path) -> None:
    """DESIGN: ranked is "as rated, with rank direction explicit"; a detected file was paired as rank 1
    best while neither the detection line nor the printed config said so (a log whose rank 5 is best
    would be swapped silently)."""
    rows = [{"query": f"q{i}", "candidates": [{"text": f"a{i}", "rank": 1}, {"text": f"b{i}", "rank": 2}]} for i in range(3)]
    raw = _jsonl(tmp_path / "r.jsonl", rows)
    result = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "completions 'candidates' (text) (lower rank is better)" in result.output
    assert "lower_rank_is_better: true" in result.output  # the printed config, to edit when 5 is best
    (report,) = prefdata.inspect(raw).files
    assert "(lower rank is better)" in report.description and "lower_rank_is_better: true" in report.config_yaml
    printed = parse_config(yaml.safe_load(report.config_yaml)).sources[0]
    assert printed.shape == "ranked" and printed.lower_rank_is_better is True


def _both_paths(text: str, values: list) -> tuple[list[bool], list[bool]]:
    """What a filter keeps of records ``{"x": v}``: as a build decodes and filters them (polars, the
    record filter) and as a tree's message filter reads them (Python ``matches``)."""
    from prefdata.io.decode import DecodeSpec, decode
    from prefdata.shapes.fields import Leaf, field_specs
    from prefdata.shapes.filters import parse_filter

    flt = parse_filter(text)
    lines = pl.DataFrame({"_record": range(len(values)), "_line": [json.dumps({"x": v}) for v in values]},
                         schema={"_record": pl.Int64, "_line": pl.String})
    decoded = decode(lines, DecodeSpec(field_specs([Leaf(flt.path, pl.String)])))
    return decoded.select(flt.expr().alias("m"))["m"].to_list(), [flt.matches({"x": v}) for v in values]


@pytest.mark.parametrize(("text", "values", "expected"), [
    # "a number matches a raw value that reads as that number": int() reads a plus sign
    ("x == 1", ["+1", "+01", "1", "2", "-0", "+0"], [True, True, True, False, False, False]),
    ("x in [1, 3]", ["+1", "+01", "1", "2", "-0", "+0"], [True, True, True, False, False, False]),
    ("x not in [1]", ["+1", "+01", "1", "2", "-0", "+0"], [False, False, False, True, True, True]),
    ("x == 0", ["+1", "+01", "1", "2", "-0", "+0"], [False, False, False, False, True, True]),
    # a boolean matches in any case, blanks around it aside (a CSV cell " True")
    ("x == true", [" True", "true ", " FALSE ", "x"], [True, True, False, False]),
    # a YAML 1.1 word means its boolean in any case (YAML 1.1 reads No, NO and no alike)
    ("x == No", ["false", "true", "False", "TRUE", False, True], [True, False, True, False, True, False]),
    ("x == OFF", ["false", "true", "False", "TRUE", False, True], [True, False, True, False, True, False]),
    ("x == Yes", ["false", "true", "False", "TRUE", False, True], [False, True, False, True, False, True]),
    ("x == oN", ["false", "true", "False", "TRUE", False, True], [False, True, False, True, False, True]),
    # text compares with the value as the decoder shows it: JSON 3.0 is "3"
    ('x == "3"', [3.0, 3, "3", 2.5, "3.0"], [True, True, True, False, False]),
    ('x in ["3", "a"]', [3.0, 3, "3", 2.5, "3.0"], [True, True, True, False, False]),
    ('x != "3"', [3.0, 3, "3", 2.5, "3.0"], [False, False, False, True, True]),
])
def test_the_record_filter_and_the_message_filter_read_a_value_alike(text: str, values: list, expected: list[bool]) -> None:
    """filters.py: both paths share one table of semantics (module docstring, README "filters")."""
    assert _both_paths(text, values) == (expected, expected)


def test_a_negative_index_in_a_filter_is_python_indexing_in_both_paths() -> None:
    """``tags[-1]`` is the last item, of a one-item list too (polars ``list.get(-1)``, Python indexing)."""
    tags = [["en"], ["de", "en"], [], ["de"]]
    assert _both_paths("x[-1] == en", tags) == ([True, True, False, False],) * 2
    assert _both_paths("x[-2] == de", tags) == ([False, True, False, False],) * 2


def test_an_order_filter_rejects_a_record_without_a_number_there(tmp_path: Path) -> None:
    """filters.Filter.expr: "a missing field fails every operator but !=/not in": under
    ``meta.score >= 3`` a record without the field (or with no number in it) is a filtered_out reject,
    not kept (a null comparison kept it) and not lost."""
    rows = [{"prompt": f"q{i}", "chosen": f"good {i}", "rejected": f"bad {i}", "meta": m}
            for i, m in enumerate([{"score": 5}, {}, {"score": "4"}, {"score": None}, {"score": "n/a"}, {"score": 2}])]
    columns = {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"}
    out = tmp_path / "out"
    prefdata.build(_jsonl(tmp_path / "r.jsonl", rows), out, config={"sources": [{"shape": "preference", "columns": columns, "filters": ["meta.score >= 3"]}]})
    assert sorted(p[0]["content"] for p in pairs(out)["prompt"].to_list()) == ["q0", "q2"]
    assert _reasons(out) == [(2, "filtered_out"), (4, "filtered_out"), (5, "filtered_out"), (6, "filtered_out")]
    assert_reconciled(out)


def test_a_record_failing_several_filters_is_filtered_out_by_the_first_in_config_order(tmp_path: Path) -> None:
    """README: records failing a source's `filters` are `filtered_out` rejects, with the field and a detail
    (README "Nothing is lost": each reject has its reason, field and detail). A record failing two
    filters names the first of them as the config lists them (``lang == en``, then ``score > 3``)."""
    records = [{"prompt": f"Q{i}?", "chosen": "Good.", "rejected": "Bad.", "lang": "de", "score": 1} for i in range(3)]
    records.append({"prompt": "Q9?", "chosen": "Good.", "rejected": "Bad.", "lang": "en", "score": 5})
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    config = {"sources": [{"shape": "preference", "columns": {"prompt": "prompt"}, "filters": ["lang == en", "score > 3"]}], "split": {"test_fraction": 0.0}}
    prefdata.build(tmp_path / "r.jsonl", tmp_path / "out", config=config)
    assert rejects(tmp_path / "out").sort("record").select("record", "reason", "field", "detail").rows() == [
        (i, "filtered_out", "lang", "filter `lang == en` is false") for i in (1, 2, 3)
    ]
    assert pairs(tmp_path / "out").get_column("prompt").to_list() == [[{"role": "user", "content": "Q9?"}]]

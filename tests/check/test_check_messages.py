"""The counts the count checks' statistics and messages give, on small hand-made datasets: a message names
the problems found (not every kind with 0), and its nouns count what they say (shards, clusters,
response pairs, copies). README "Checks" and docs/contracts.md: the message is the line a user reads."""

from __future__ import annotations

import polars as pl

from prefdata.check import check
from prefdata.schema import CANONICAL_SCHEMA
from tests.check.rows import write_rows

OTHERS = [{"prompt": f"question {i}", "chosen": f"good answer {i}", "rejected": f"bad answer {i}"} for i in range(4)]


def _check(tmp_path, rows, check_id):
    return check(write_rows(tmp_path / "d", rows), write=False).check(check_id)


def test_a_response_turn_with_a_null_role_is_not_an_assistant_turn(tmp_path):
    """role_structure (README): chosen and rejected are non-empty lists of assistant turns; a chosen turn
    whose role is null is none (``response_not_assistant``), besides being an unknown role."""
    rows = [{"prompt": "say hi", "chosen": [{"role": None, "content": "hi there"}], "rejected": "go away"}, *OTHERS]
    outcome = _check(tmp_path, rows, "role_structure")
    assert not outcome.passed and outcome.offending_count == 1
    assert outcome.statistic["response_not_assistant"] == 1


def test_role_structure_names_only_the_problems_it_found(tmp_path):
    rows = [{"prompt": "say hi", "chosen": "   ", "rejected": "go away"}, *OTHERS]  # blank content
    assert _check(tmp_path, rows, "role_structure").message == "1 pair with broken turn structure: 1 empty content"


def test_the_schema_message_counts_shards_with_problems(tmp_path):
    """One shard whose prompt and chosen are plain strings: 2 schema problems in 1 shard of 3 pairs."""
    schema = {**CANONICAL_SCHEMA, "prompt": pl.String, "chosen": pl.String}
    rows = [{"id": f"x{i}", "prompt": f"question {i}", "chosen": f"answer {i}", "rejected": [{"role": "assistant", "content": f"bad {i}"}],
             "source": "s", "score_chosen": None, "score_rejected": None, "chosen_model": None, "rejected_model": None,
             "chosen_position": None, "lineage": [{"file": "r.jsonl", "record": i + 1}]} for i in range(3)]
    (tmp_path / "d" / "data").mkdir(parents=True)
    pl.DataFrame(rows, schema=schema).write_parquet(tmp_path / "d" / "data" / "train-00000-of-00001.parquet")
    outcome = check(tmp_path / "d", write=False).check("schema")
    assert len(outcome.statistic["problems"]) == 2
    assert outcome.message.startswith("2 schema problems in 1 shard (3 pairs): ")


def test_a_contradiction_counts_response_pairs_then_pairs(tmp_path):
    """A>B and B>A for one prompt: 1 response pair preferred both ways, written as 2 pairs."""
    rows = [{"prompt": "pick one", "chosen": "answer A", "rejected": "answer B"},
            {"prompt": "pick one", "chosen": "answer B", "rejected": "answer A"}, *OTHERS]
    outcome = _check(tmp_path, rows, "contradictory_pairs")
    assert outcome.statistic["contradicting_groups"] == 1
    assert outcome.message == "1 response pair preferred both ways for the same prompt (2 pairs)"


def test_extra_copies_agree_with_their_number(tmp_path):
    """One pair written 3 times: 2 extra copies (plural) of 1 pair."""
    rows = [{"prompt": "same q", "chosen": "same a", "rejected": "same b"}] * 3 + OTHERS
    assert _check(tmp_path, rows, "exact_duplicates").message == "2 extra copies of 1 pair"

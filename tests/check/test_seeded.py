"""Acceptance 1: on the seeded-defect fixture every check reports exactly the planted pairs, and on
the clean part of the fixture nothing at all."""

from __future__ import annotations

import polars as pl
import pytest

from prefdata.check import CHECK_IDS, check
from tests.check import seeded
from tests.check.conftest import BENCHMARK, CONFIG, MAX_LENGTH


@pytest.fixture(scope="module")
def seeded_result(seeded_dataset, tokenizer_dir):
    return check(seeded_dataset, config=CONFIG, tokenizer=tokenizer_dir, max_length=MAX_LENGTH,
                 benchmark_prompts=BENCHMARK, write=False)


@pytest.fixture(scope="module")
def clean_result(clean_dataset, tokenizer_dir):
    return check(clean_dataset, config=CONFIG, tokenizer=tokenizer_dir, max_length=MAX_LENGTH,
                 benchmark_prompts=BENCHMARK, write=False)


def test_fixture_plants_every_check():
    assert set(seeded.planted()) == set(CHECK_IDS)
    keys = {r["key"] for r in seeded.rows()}
    assert {k for names in seeded.planted().values() for k in names} <= keys


def test_fixture_ids_are_content_hashes_except_the_planted_bad_one():
    from prefdata.schema import pair_id

    def msgs(value, role):
        return [{"role": role, "content": value}] if isinstance(value, str) else [{"role": m["role"], "content": m["content"]} for m in value]

    wrong = {r["key"] for r in seeded.rows() if r["id"] != pair_id(msgs(r["prompt"], "user"), msgs(r["chosen"], "assistant"), msgs(r["rejected"], "assistant"))}
    assert wrong == {"bad-id"}


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_each_check_reports_exactly_the_planted_pairs(seeded_result, check_id):
    outcome = seeded_result.check(check_id)
    names = {v: k for k, v in seeded.ids_by_key().items()}
    found = sorted(names.get(i, i) for i in outcome.offending_ids)
    assert found == sorted(seeded.planted()[check_id]), outcome.message
    assert outcome.skipped is None
    assert outcome.passed is False
    assert outcome.offending_count == len(outcome.offending_ids)


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_clean_fixture_reports_nothing(clean_result, check_id):
    outcome = clean_result.check(check_id)
    assert outcome.skipped is None, outcome.message
    assert outcome.passed, outcome.message
    assert outcome.offending_ids == []


def test_clean_fixture_passes_the_suite_and_strict(clean_result):
    assert [e.expectation_type for e in clean_result.expectations if not e.success] == []
    assert clean_result.passed
    assert clean_result.summary["failed"] == 0


def test_seeded_fixture_fails_and_counts_by_severity(seeded_result):
    assert not seeded_result.passed
    s = seeded_result.summary
    failed_checks = [c for c in seeded_result.checks if not c.passed]
    failed_exps = [e for e in seeded_result.expectations if not e.success]
    assert s["failed"] == len(failed_checks) + len(failed_exps)
    assert s["error"] == sum(x.severity == "error" for x in failed_checks + failed_exps)
    assert s["checks"] == len(CHECK_IDS)


def test_statistics_measure_the_planted_bias(seeded_result):
    length = seeded_result.check("length_bias")
    assert length.statistic["by_source"]["verbose"]["share_chosen_longer"] == 1.0
    assert length.statistic["failing"] == {"overall": False, "sources": ["verbose"]}
    assert 0.35 <= length.statistic["share_chosen_longer"] <= 0.65
    position = seeded_result.check("position_bias")
    assert position.statistic["by_source"]["judge"]["share_a_wins"] == 1.0
    assert position.statistic["by_source"]["arena"]["share_a_wins"] == 0.5
    pii = seeded_result.check("pii").statistic
    assert {k: pii[f"pairs_with_{k}"] for k in ("email", "phone", "secret", "card")} == {"email": 1, "phone": 1, "secret": 1, "card": 1}
    dropped = seeded_result.check("truncation_dropped").statistic
    assert dropped["max_length"] == MAX_LENGTH and dropped["max_prompt_tokens"] >= MAX_LENGTH
    hist = dropped["length_histogram"]
    assert MAX_LENGTH in hist["bin_edges"] and sum(hist["chosen"]) == dropped["pairs_tokenized"]


def test_tokenizer_has_the_merge_the_roundtrip_plant_relies_on(tokenizer_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    assert tok.tokenize(":::")[0] != ":"  # "::" is one token, so "Assistant:" + "::" re-tokenizes
    assert tok("<s>x", add_special_tokens=False)["input_ids"][0] == tok.bos_token_id


def test_tiny_streaming_morsels_change_nothing(seeded_dataset, tokenizer_dir, seeded_result):
    """Morsels of 3 rows (a morsel size the user set wins over prefdata's own sizing) cut the single
    pass and the similarity pass into many pieces: every verdict, statistic and offending id must come
    out as with one morsel."""
    with pl.Config(streaming_chunk_size=3):
        small = check(seeded_dataset, config=CONFIG, tokenizer=tokenizer_dir, max_length=MAX_LENGTH,
                      benchmark_prompts=BENCHMARK, write=False)
    assert [c.to_dict() for c in small.checks] == [c.to_dict() for c in seeded_result.checks]
    assert [e.result for e in small.expectations] == [e.result for e in seeded_result.expectations]


def test_similarity_in_many_small_batches_changes_nothing(seeded_dataset, tokenizer_dir, seeded_result, monkeypatch):
    """Batches of 3 rows, signed on several threads and collected in order: the near-duplicate,
    near-identical and leakage findings must be those of one batch."""
    import sys

    similarity = sys.modules["prefdata.check.similarity"]
    monkeypatch.setattr(similarity, "BATCH_ROWS", 3)
    monkeypatch.setattr(similarity, "SIGNATURE_THREADS", 3)
    small = check(seeded_dataset, config=CONFIG, tokenizer=tokenizer_dir, max_length=MAX_LENGTH,
                  benchmark_prompts=BENCHMARK, write=False)
    assert [c.to_dict() for c in small.checks] == [c.to_dict() for c in seeded_result.checks]

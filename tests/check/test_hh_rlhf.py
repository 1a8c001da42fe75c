"""Acceptance 3: ``check`` runs every check on the build of the real HH-RLHF harmless test set.

Builds ``../shared/data/hh-rlhf-harmless-test/test.jsonl`` with ``prefdata.build`` (skipped when the
data or the build stage is absent), trains a tokenizer on it, and runs the suite and all checks with
``--tokenizer``, ``--max-length`` and a benchmark prompts file, so nothing is skipped. The findings
themselves are data, not invariants, so only their shape and a few known facts are asserted.
"""

from __future__ import annotations

import pytest

from prefdata.check import CHECK_IDS, check
from tests.check.conftest import BENCHMARK
from tests.support.tiny_model import train_tokenizer

MAX_LENGTH = 512


@pytest.fixture(scope="module")
def hh(shared_data, tmp_path_factory):
    raw = shared_data / "hh-rlhf-harmless-test" / "test.jsonl"
    import prefdata

    out = tmp_path_factory.mktemp("hh") / "out"
    prefdata.build(raw, out, quiet=True)
    return out


@pytest.fixture(scope="module")
def hh_tokenizer(hh, tmp_path_factory):
    import polars as pl

    texts = (
        pl.scan_parquet(hh / "data" / "*.parquet")
        .select(pl.col("chosen").list.first().struct.field("content"))
        .head(500).collect().to_series().to_list()
    )
    tok = train_tokenizer(texts)
    path = tmp_path_factory.mktemp("hh-tokenizer")
    tok.save_pretrained(path)
    return path


def test_every_check_runs_on_hh_rlhf(hh, hh_tokenizer):
    result = check(hh, tokenizer=hh_tokenizer, max_length=MAX_LENGTH, benchmark_prompts=BENCHMARK)
    assert [c.id for c in result.checks] == list(CHECK_IDS)
    assert [c.id for c in result.checks if c.skipped] == ["position_bias"]  # transcripts record no position
    assert result.rows == 2303
    assert all(e.success for e in result.expectations if e.severity == "error")
    length = result.check("length_bias").statistic
    assert 0 < length["share_chosen_longer"] < 1 and length["by_source"].keys() == {"test"}
    assert result.check("exact_duplicates").passed  # build deduplicates
    assert result.check("prompt_leakage_exact").passed  # build splits by prompt
    assert result.check("schema").passed and result.check("id_integrity").passed and result.check("trl_traps").passed
    assert (hh / "checks.json").is_file()

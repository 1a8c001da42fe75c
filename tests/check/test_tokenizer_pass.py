"""The tokenizer checks tokenize each distinct conversation once, with the same ids as one call per pair."""

from __future__ import annotations

import importlib
from pathlib import Path

import prefdata
from tests.check.conftest import MAX_LENGTH

tokenizer_checks = importlib.import_module("prefdata.check.checks.tokenizer")


class Counting:
    """A tokenizer that records how many conversations each ``apply_chat_template`` call got."""

    def __init__(self, tok) -> None:
        self.tok = tok
        self.calls: list[int] = []

    def apply_chat_template(self, conversations, **kwargs):
        self.calls.append(len(conversations))
        return self.tok.apply_chat_template(conversations, **kwargs)


def test_repeated_conversations_are_tokenized_once(tokenizer_dir: Path) -> None:
    tok = tokenizer_checks.load_tokenizer(tokenizer_dir)
    prompt = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a fruit."}]
    chosen = [*prompt, {"role": "assistant", "content": "Apple."}]
    rejected = [*prompt, {"role": "assistant", "content": "A car."}]
    same_role_other_text = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a car."}]
    conversations = [prompt, chosen, [dict(m) for m in prompt], rejected, chosen, same_role_other_text, prompt]
    for kwargs in ({}, {"add_generation_prompt": True}):
        counting = Counting(tok)
        got = tokenizer_checks.templated_ids(counting, conversations, **kwargs)
        assert got == tok.apply_chat_template(conversations, tokenize=True, return_dict=True, **kwargs)["input_ids"]
        assert counting.calls == [4]


def test_multi_pair_data_gets_the_same_verdicts_with_fewer_tokenizations(tmp_path: Path, tokenizer_dir: Path, monkeypatch) -> None:
    raw = tmp_path / "rated.jsonl"
    raw.write_text(
        '{"instruction": "Name a fruit.", "completions": [{"response": "Apple.", "overall_score": 9}, {"response": "A car.", "overall_score": 2}, {"response": "Banana!", "overall_score": 7}]}\n'
        '{"instruction": "Say yes.", "completions": [{"response": "Yes.", "overall_score": 5}, {"response": "No.", "overall_score": 1}, {"response": "Maybe.", "overall_score": 3}]}\n'
    )
    source = {"shape": "rated", "binarize": {"policy": "all_pairs"},
              "columns": {"prompt": "instruction", "completions": "completions", "text": "response", "score": "overall_score"}}
    prefdata.build(raw, tmp_path / "out", config={"sources": [source]}, test_fraction=0.0)

    seen: list[int] = []
    original = tokenizer_checks.templated_ids

    def counted(tok, conversations, **kwargs):
        ids = original(tok, conversations, **kwargs)
        seen.append(len({str(c) for c in conversations}))
        return ids

    def every(tok, conversations, **kwargs):
        return tok.apply_chat_template(conversations, tokenize=True, return_dict=True, **kwargs)["input_ids"]

    def verdicts(result):
        return [(c.id, c.passed, c.offending_ids, c.statistic) for c in result.checks if c.id in tokenizer_checks.CHECK_IDS]

    monkeypatch.setattr(tokenizer_checks, "templated_ids", counted)
    deduplicated = prefdata.check(tmp_path / "out", tokenizer=tokenizer_dir, max_length=MAX_LENGTH, write=False)
    monkeypatch.setattr(tokenizer_checks, "templated_ids", every)
    every_pair = prefdata.check(tmp_path / "out", tokenizer=tokenizer_dir, max_length=MAX_LENGTH, write=False)
    assert deduplicated.rows == 6  # 3 pairs per prompt
    assert sum(seen) == 2 + 6  # 2 prompts, then each prompt + each of its 3 responses: 8 instead of 18
    assert verdicts(deduplicated) == verdicts(every_pair)


def test_tokenizer_benchmark_smoke(tokenizer_dir: Path) -> None:
    """benchmarks/tokenizer_checks.py runs end to end at toy size, so it cannot rot."""
    import subprocess
    import sys

    from tests.conftest import REPO

    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "tokenizer_checks.py"), "--prompts", "40", "--repeats", "1", "--tokenizer", str(tokenizer_dir)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "40 prompts x 4 scored responses -> 240 pairs" in proc.stdout, proc.stdout
    assert "same verdicts: True" in proc.stdout, proc.stdout


class CharTokenizer:
    """One token per character; a message is its role's first letter then its content, and the
    generation prompt is "a" (the assistant's letter), so a prompt is a token prefix of prompt+response."""

    bos_token_id = None
    chat_template = "x"

    def _ids(self, conversation, add_generation_prompt=False):
        return [ord(c) for c in "".join(m["role"][0] + m["content"] for m in conversation) + ("a" if add_generation_prompt else "")]

    def apply_chat_template(self, conversations, tokenize=True, return_dict=True, add_generation_prompt=False):
        if conversations and isinstance(conversations[0], dict):
            return {"input_ids": self._ids(conversations, add_generation_prompt)}
        return {"input_ids": [self._ids(c, add_generation_prompt) for c in conversations]}


def test_a_prompt_of_max_length_tokens_is_dropped_and_a_sequence_of_max_length_is_whole(tmp_path: Path, monkeypatch) -> None:
    """README: truncation_dropped counts the pairs TRL drops "because the prompt alone reaches
    max_length" (prompt_len >= max_length); ``pairs_truncated`` the pairs whose longest templated
    prompt+response is longer than max_length. Here the prompt "hi" is u,h,i + the generation prompt a
    = 4 tokens, the chosen sequence u,h,i,a,a,b,c = 7 and the rejected one u,h,i,a,x,y = 6."""
    from prefdata.check import check
    from tests.check.rows import write_rows

    monkeypatch.setattr(tokenizer_checks, "load_tokenizer", lambda path: CharTokenizer())
    data = write_rows(tmp_path / "ds", [{"prompt": "hi", "chosen": "abc", "rejected": "xy"}])
    (tmp_path / "tok").mkdir()

    def dropped_and_truncated(max_length: int) -> tuple[int, int]:
        outcome = check(data, write=False, tokenizer=tmp_path / "tok", max_length=max_length).check("truncation_dropped")
        assert outcome.statistic["pairs_tokenized"] == 1
        return outcome.offending_count, outcome.statistic["pairs_truncated"]

    assert dropped_and_truncated(4) == (1, 1)  # the prompt reaches 4
    assert dropped_and_truncated(5) == (0, 1)
    assert dropped_and_truncated(6) == (0, 1)
    assert dropped_and_truncated(7) == (0, 0)  # the longest sequence is exactly 7: kept whole


def _verdicts(rows: list[dict], max_length: int) -> list[dict]:
    """``analyse`` on hand-written token ids (no tokenizer needed)."""
    import polars as pl

    frame = pl.DataFrame([{"_row": i, "same": False, **r} for i, r in enumerate(rows)], schema=tokenizer_checks.TOKENIZED)
    return tokenizer_checks.analyse(frame, max_length, None).to_dicts()


def test_the_templated_prompt_must_be_a_prefix_of_both_sequences() -> None:
    """chat_template_roundtrip (tokenizer.py): the templated prompt is a token prefix of templated
    prompt+chosen AND of prompt+rejected; a pair where only one side merges across the boundary is broken."""
    got = _verdicts([
        {"p": [1, 2, 3], "pc": [1, 2, 3, 7], "pr": [1, 2, 9, 8]},  # rejected diverges inside the prompt
        {"p": [1, 2, 3], "pc": [1, 2, 9, 7], "pr": [1, 2, 3, 8]},  # chosen does
        {"p": [1, 2, 3], "pc": [1, 2, 3, 7], "pr": [1, 2, 3, 8]},  # both keep it
    ], max_length=100)
    assert [r["roundtrip_broken"] for r in got] == [True, True, False]


def test_a_dropped_pair_is_not_also_identical_after_truncation() -> None:
    """README: truncation_dropped counts the pairs TRL drops because the prompt alone reaches max_length;
    truncation_identical (tokenizer.py) those whose chosen and rejected tokens are identical after the
    cut. A dropped pair has no completion tokens left, which is truncation_dropped's, not an "identical" finding."""
    got = _verdicts([
        {"p": [1, 2, 3, 4], "pc": [1, 2, 3, 4, 7], "pr": [1, 2, 3, 4, 8]},  # prompt of 4 = max_length: dropped
        {"p": [1, 2], "pc": [1, 2, 7, 7, 7], "pr": [1, 2, 7, 7, 8]},  # kept: 7,7 and 7,7 after the cut at 4
    ], max_length=4)
    assert [(r["dropped"], r["identical_truncated"]) for r in got] == [(True, False), (False, True)]

"""The TRL checks with chat templates that change or refuse what they render, compared with what TRL 1.x
does with the same tokenizer: a template that erases the difference between chosen and rejected, a
template that raises on some pairs, and a ``max_length`` meaning "no limit"."""

from __future__ import annotations

import sys

import pyarrow as pa
import pytest

from prefdata.check import check
from prefdata.schema import pair_id
from tests.check.test_bad_datasets import SCHEMA, checks_doc, pairs, run, write
from tests.support.tiny_model import train_tokenizer

#: DeepSeek-R1 style: an assistant turn's reasoning before ``</think>`` is not rendered.
DROPS_REASONING = (
    "{{ bos_token }}{% for m in messages %}{% set c = m['content'] %}"
    "{% if m['role'] == 'assistant' and '</think>' in c %}{% set c = c.split('</think>')[-1] | trim %}{% endif %}"
    "{{ '<|user|>' if m['role'] == 'user' else '<|assistant|>' }}{{ c + '<|end|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)
#: Mistral / Llama-2 style: roles must alternate, starting with the user.
ALTERNATING = (
    "{% for m in messages %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{{ '<|' + m['role'] + '|>' + m['content'] + '<|end|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)


def _tokenizer(tmp_path, template: str):
    tok = train_tokenizer(["question answer think reasoning yes no hello"] * 20)
    tok.chat_template = template
    tok.save_pretrained(tmp_path / "tok")
    return tok, tmp_path / "tok"


def _pair(prompt: list[dict], chosen: str, rejected: str) -> dict:
    row = dict(pairs(1)[0])
    c, r = [{"role": "assistant", "content": chosen}], [{"role": "assistant", "content": rejected}]
    row.update(prompt=prompt, chosen=c, rejected=r, id=pair_id(prompt, c, r))
    return row


def _trl_sequences(tok, row: dict) -> tuple[list[int], list[int]]:
    """Chosen and rejected input ids as TRL's DPO collator builds them (max_length far away)."""
    from trl.data_utils import _tokenize, common_prefix_length

    p = _tokenize(tok, row["prompt"], add_generation_prompt=True)["input_ids"]
    pc, pr = (_tokenize(tok, row["prompt"] + row[side])["input_ids"] for side in ("chosen", "rejected"))
    n = min(common_prefix_length(p, pc), common_prefix_length(p, pr))
    return p[:n] + pc[n:], p[:n] + pr[n:]


def test_a_pair_the_template_renders_identically_is_a_truncation_finding(tmp_path):
    tok, tok_dir = _tokenizer(tmp_path, DROPS_REASONING)
    user = [{"role": "user", "content": "question"}]
    erased = _pair(user, "<think>reasoning yes</think>yes", "<think>no</think>yes")
    same = _pair(user, "yes", "yes")  # identical_responses' finding, not counted twice
    kept = _pair(user, "<think>reasoning</think>yes", "<think>reasoning</think>no")
    chosen, rejected = _trl_sequences(tok, erased)
    assert chosen == rejected  # TRL trains on two identical sequences: no signal
    root = write(tmp_path / "d", pa.Table.from_pylist([erased, same, kept], schema=SCHEMA))
    result = check(root, tokenizer=tok_dir, max_length=10_000, write=False)
    assert result.check("truncation_identical").offending_ids == [erased["id"]]
    assert result.check("identical_responses").offending_ids == [same["id"]]
    # the same text to identical_responses (a blank end trimmed), cut alike by truncation: counted once
    long = "yes " * 40
    alike = _pair(user, long.strip(), long)
    result = check(write(tmp_path / "e", pa.Table.from_pylist([alike], schema=SCHEMA)), tokenizer=tok_dir, max_length=30, write=False)
    assert result.check("identical_responses").offending_ids == [alike["id"]]
    assert result.check("truncation_identical").offending_count == 0


def test_pairs_the_template_raises_on_are_named_and_the_rest_is_checked(tmp_path):
    _, tok_dir = _tokenizer(tmp_path, ALTERNATING)
    good = _pair([{"role": "user", "content": "hello"}], "yes answer", "no")
    ends_with_assistant = [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "question?"}]
    refused = _pair(ends_with_assistant, "yes answer", "no")
    root = write(tmp_path / "d", pa.Table.from_pylist([good, refused], schema=SCHEMA))
    result = run(root, "--quiet", "--tokenizer", tok_dir, "--max-length", 64)
    assert result.exit_code == 1, result.output  # a finding, not "the dataset cannot be used" (exit 2)
    doc = checks_doc(root)
    assert doc["role_structure"]["offending_ids"] == [refused["id"]]
    roundtrip = doc["chat_template_roundtrip"]
    assert roundtrip["offending_ids"] == [refused["id"]] and roundtrip["statistic"]["pairs_template_error"] == 1
    assert roundtrip["message"] == "1 pair the chat template raises on (first: Conversation roles must alternate user/assistant/user/assistant/...)"
    dropped = doc["truncation_dropped"]
    assert dropped["statistic"]["pairs_tokenized"] == 1 and dropped["statistic"]["pairs_not_tokenized"] == 0
    assert dropped["message"].endswith("(1 pair the chat template raises on: see chat_template_roundtrip)")


def test_a_template_error_with_braces_is_quoted_as_it_is(tmp_path):
    _, tok_dir = _tokenizer(tmp_path, "{{ raise_exception('no {system} role') }}")
    root = write(tmp_path / "d", pa.Table.from_pylist(pairs(2), schema=SCHEMA))
    roundtrip = check(root, tokenizer=tok_dir, max_length=64, write=False).check("chat_template_roundtrip")
    assert roundtrip.message == "2 pairs the chat template raises on (first: no {system} role)"


@pytest.mark.parametrize("max_length", [2**31, sys.maxsize])
def test_a_max_length_meaning_no_limit_is_checked(tmp_path, tokenizer_dir, max_length):
    root = write(tmp_path / "d", pa.Table.from_pylist(pairs(3), schema=SCHEMA))
    result = check(root, tokenizer=tokenizer_dir, max_length=max_length, write=False)
    dropped = result.check("truncation_dropped")
    assert dropped.passed and dropped.statistic["max_length"] == max_length and dropped.statistic["pairs_truncated"] == 0
    histogram = dropped.statistic["length_histogram"]
    assert sum(histogram["chosen"]) == 3
    # bins of the data, then one up to the cut (edges of the cut's quarters put every pair in the first)
    assert histogram["bin_edges"][-1] == max_length and all(e < 1_000 for e in histogram["bin_edges"][:-1])

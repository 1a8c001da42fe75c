"""Acceptance 2: the refusals fire, say why and how to fix it, and fire before any model loads.

"Before any model loads" is proven, not assumed: ``no_model_loads`` makes every model-loading entry
point (prefdata's and transformers') raise, so a refusal that came after a load would surface as that
error instead of the expected one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from prefdata.train import DataError, RecipeError, StageError, train_dpo, train_sft
from prefdata.train.recipe import PrefdataTrainWarning, load_recipe, trl_loss_types
from tests.support.fast_training import DPO_FAST
from tests.support.model_loads import ModelLoaded

TRAIN_PACKAGE = Path(__file__).resolve().parents[2] / "prefdata" / "train"


# --- SFT before DPO --------------------------------------------------------------------------------------------


def test_dpo_refuses_a_model_without_sft_record(task_data, tiny_model, tmp_path, no_model_loads):
    with pytest.raises(StageError) as info:
        train_dpo(task_data, str(tiny_model), tmp_path / "out", overrides=DPO_FAST, no_check=True)
    message = str(info.value)
    assert "no SFT record" in message  # why
    assert "prefdata train sft --data OUT" in message  # how: run stage 1
    assert "--from-instruct" in message  # or: vouch for an instruct model
    assert not (tmp_path / "out").exists()


def test_dpo_refuses_builtin_instruct_model_without_flag_and_says_so(task_data, tmp_path, no_model_loads):
    with pytest.raises(StageError, match=r"instruct model: add --from-instruct"):
        train_dpo(task_data, "smollm2-135m-instruct", tmp_path / "out", no_check=True)


def test_from_instruct_gets_past_the_stage_check(task_data, tiny_model, tmp_path, no_model_loads):
    # With --from-instruct the run proceeds to loading, which the fixture turns into ModelLoaded.
    with pytest.raises(ModelLoaded):
        train_dpo(task_data, str(tiny_model), tmp_path / "out", overrides=DPO_FAST, from_instruct=True, no_check=True)


def test_sft_output_is_accepted_by_dpo(task_data, sft_model, tmp_path, no_model_loads):
    with pytest.raises(ModelLoaded):
        train_dpo(task_data, str(sft_model), tmp_path / "out", overrides=DPO_FAST, no_check=True)


# --- beta and loss type, before any model loads -------------------------------------------------------------------


@pytest.mark.parametrize("beta", [0, 0.0, -0.1])
def test_nonpositive_beta_is_refused_before_loading(task_data, sft_model, tmp_path, no_model_loads, beta):
    with pytest.raises(RecipeError, match=r"trl\.beta.*must be > 0.*--beta 0\.1"):
        train_dpo(task_data, str(sft_model), tmp_path / "out", overrides={**DPO_FAST, "trl.beta": beta}, no_check=True)


def test_missing_beta_in_a_user_recipe_is_refused(tmp_path):
    recipe = tmp_path / "dpo.yaml"
    recipe.write_text("trl:\n  learning_rate: 1.0e-5\n")  # a recipe file replaces the default: no hidden beta
    with pytest.raises(RecipeError, match=r"trl\.beta.*not set.*--beta"):
        load_recipe("dpo", recipe)


def test_wild_beta_warns_but_runs_validation(tmp_path):
    with pytest.warns(PrefdataTrainWarning, match=r"outside the usual range"):
        recipe = load_recipe("dpo", overrides={"trl.beta": 5})
    assert recipe.trl["beta"] == 5.0
    with pytest.warns(PrefdataTrainWarning):
        load_recipe("dpo", overrides={"trl.beta": 0.001})


def test_beta_at_the_ends_of_the_usual_range_does_not_warn():
    """recipe.py: beta is warned about *outside* [0.01, 1], a closed range: its ends are usual values."""
    import warnings

    for beta in (0.01, 1.0):
        with warnings.catch_warnings():
            warnings.simplefilter("error", PrefdataTrainWarning)
            assert load_recipe("dpo", overrides={"trl.beta": beta}).trl["beta"] == beta
    for beta in (0.0099, 1.01):
        with pytest.warns(PrefdataTrainWarning, match=rf"trl\.beta = {beta} is outside the usual range \[0\.01, 1"):
            load_recipe("dpo", overrides={"trl.beta": beta})


def test_unknown_loss_type_is_refused_before_loading(task_data, sft_model, tmp_path, no_model_loads):
    with pytest.raises(RecipeError, match=r"trl\.loss_type.*\['sigmoidd'\] unknown.*'sigmoid'"):
        train_dpo(
            task_data,
            str(sft_model),
            tmp_path / "out",
            overrides={**DPO_FAST, "trl.loss_type": ["sigmoidd"]},
            no_check=True,
        )


def test_loss_types_are_trls_own_list():
    """Read from DPOTrainer's dispatch; it must match what DPOConfig documents and include the classics."""
    from trl import DPOConfig

    documented = re.findall(r"`'([a-z0-9_]+)'`", DPOConfig.__dataclass_fields__["loss_type"].metadata["help"])
    assert set(trl_loss_types()) == set(documented)
    assert {"sigmoid", "ipo", "hinge"} <= set(trl_loss_types())


def test_combined_loss_types_are_accepted():
    recipe = load_recipe("dpo", overrides={"trl.loss_type": ["sigmoid", "sft"], "trl.loss_weights": [1.0, 0.2]})
    assert recipe.trl["loss_type"] == ["sigmoid", "sft"]


# --- current TRL names only ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "fix"),
    [
        ("max_seq_length", "max_length"),
        ("max_prompt_length", "max_length"),
        ("tokenizer", "processing_class"),
        ("warmup_ratio", "warmup_steps"),
        ("evaluation_strategy", "eval_strategy"),
    ],
)
def test_outdated_trl_names_are_refused_with_the_current_name(field, fix):
    with pytest.raises(RecipeError, match=rf"trl\.{field}.*{fix}"):
        load_recipe("dpo", overrides={f"trl.{field}": 128})


def test_fields_prefdata_owns_are_refused_with_where_to_set_them():
    with pytest.raises(RecipeError, match=r"trl\.bf16.*precision"):
        load_recipe("sft", overrides={"trl.bf16": True})
    with pytest.raises(RecipeError, match=r"trl\.gradient_checkpointing.*activation_checkpointing"):
        load_recipe("sft", overrides={"trl.gradient_checkpointing": True})


def test_unknown_trl_field_is_refused():
    with pytest.raises(RecipeError, match=r"trl\.learnin_rate.*not a field of trl\.SFTConfig"):
        load_recipe("sft", overrides={"trl.learnin_rate": 1e-4})


def _trainer_calls() -> list[ast.Call]:
    calls = []
    for path in TRAIN_PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in {"SFTTrainer", "DPOTrainer"}:
                calls.append(node)
    return calls


def test_trainers_get_processing_class_never_tokenizer():
    calls = _trainer_calls()
    assert {c.func.id for c in calls} == {"SFTTrainer", "DPOTrainer"}
    for call in calls:
        keywords = {k.arg for k in call.keywords}
        assert "processing_class" in keywords, call.func.id
        assert "tokenizer" not in keywords, call.func.id


def test_trainer_receives_current_names_at_runtime(task_data, sft_model, tmp_path, monkeypatch):
    """Intercept DPOTrainer: it gets processing_class= and a DPOConfig whose max_length is the recipe's."""
    import trl

    seen = {}

    class Captured(Exception):
        pass

    def fake_init(self, *args, **kwargs):
        seen.update(kwargs)
        raise Captured

    monkeypatch.setattr(trl.DPOTrainer, "__init__", fake_init)
    with pytest.raises(Captured):
        train_dpo(
            task_data, str(sft_model), tmp_path / "out", overrides={**DPO_FAST, "trl.max_length": 48}, no_check=True
        )
    assert seen["processing_class"] is not None and "tokenizer" not in seen
    assert seen["args"].max_length == 48
    assert seen["peft_config"] is not None and seen["ref_model"] is None  # LoRA: no second model
    assert seen["args"].beta == 0.1


def test_sources_use_no_outdated_trl_argument_names():
    """No keyword argument or attribute access with a name TRL 1.x removed, anywhere in prefdata/train."""
    outdated = {"max_seq_length", "max_prompt_length", "max_completion_length", "warmup_ratio", "evaluation_strategy"}
    for path in TRAIN_PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg in outdated:
                pytest.fail(f"{path.name}: keyword {node.arg}=")
            if isinstance(node, ast.Attribute) and node.attr in outdated:
                pytest.fail(f"{path.name}: attribute .{node.attr}")


# --- flags, recipes, precision --------------------------------------------------------------------------------------


def test_flags_override_recipe_and_user_recipe_replaces_default(tmp_path):
    recipe = tmp_path / "sft.yaml"
    recipe.write_text("model: some/model\nlora: null\ntrl:\n  learning_rate: 1e-5\n  max_length: 256\n")
    loaded = load_recipe("sft", recipe, overrides={"trl.max_length": 128, "seed": 7})
    assert loaded.lora is None  # full fine-tuning, from the file
    assert loaded.trl == {"learning_rate": 1e-5, "max_length": 128}  # YAML's "1e-5" string coerced to float
    assert loaded.seed == 7 and loaded.model == "some/model"


def test_errors_say_whether_the_file_or_a_flag_is_wrong(tmp_path):
    recipe = tmp_path / "dpo.yaml"
    recipe.write_text("trl:\n  beta: 0.1\n  max_seq_length: 10\n")
    with pytest.raises(RecipeError, match=re.escape(str(recipe))):
        load_recipe("dpo", recipe)
    with pytest.raises(RecipeError, match=r"set by a flag"):
        load_recipe("dpo", overrides={"trl.beta": -1})


def test_stage_mismatch_and_lora_flag_on_full(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("stage: dpo\ntrl: {beta: 0.1}\n")
    with pytest.raises(RecipeError, match=r"`dpo` recipe.*train sft"):
        load_recipe("sft", recipe)
    with pytest.raises(RecipeError, match=r"LoRA is off"):
        load_recipe("sft", overrides={"lora": None, "lora.r": 4})


def test_a_lora_flag_on_a_recipe_file_with_lora_null_is_refused(tmp_path):
    """`lora: null` in a recipe file means full fine-tuning, as --full does (recipe.py): a LoRA flag on it is
    refused ("LoRA is off"), not turned into a LoRA run with every other LoRA field at its default."""
    recipe = tmp_path / "sft.yaml"
    recipe.write_text("stage: sft\nlora: null\ntrl:\n  max_length: 512\n")
    assert load_recipe("sft", recipe).lora is None
    with pytest.raises(RecipeError, match=r"cannot set lora\.r: LoRA is off \(lora: null / --full\)"):
        load_recipe("sft", recipe, overrides={"lora.r": 8})


def test_default_recipes_load_from_package_resources():
    from prefdata.resources import resource_path

    for stage in ("sft", "dpo"):
        assert resource_path("recipes", f"{stage}.yaml").is_file()
        recipe = load_recipe(stage)
        assert recipe.lora is not None and recipe.precision == "auto"
    for name in ("single_gpu", "multi_gpu", "fsdp", "deepspeed_zero3"):
        assert resource_path("recipes", "accelerate", f"{name}.yaml").is_file()


def test_precision_from_hardware_on_cpu():
    from prefdata.train.hardware import choose_precision

    p = choose_precision("auto")
    assert (p.name, p.device) == ("fp32", "cpu")
    assert p.trl_args() == {"bf16": False, "fp16": False, "use_cpu": True}
    with pytest.raises(RecipeError, match="fp16 mixed precision needs a CUDA GPU"):
        choose_precision("fp16")


def _on_a_gpu(monkeypatch, *, bf16: bool, total_memory: int = 2**30):
    """Stand-ins for the CUDA queries hardware.py makes, so the GPU branches run on a CPU."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a, **k: "Fake GPU")
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda *a, **k: SimpleNamespace(total_memory=total_memory))


def test_precision_from_hardware_on_a_gpu(monkeypatch):
    """hardware.py: auto is bf16 where the GPU supports it, else fp16 on a GPU; an explicit bf16 on a GPU
    without it is refused naming the GPU."""
    from prefdata.train.hardware import choose_precision

    _on_a_gpu(monkeypatch, bf16=True)
    p = choose_precision("auto")
    assert (p.name, p.device, p.device_name) == ("bf16", "cuda", "Fake GPU")
    assert p.trl_args() == {"bf16": True, "fp16": False, "use_cpu": False}
    _on_a_gpu(monkeypatch, bf16=False)
    p = choose_precision("auto")
    assert (p.name, p.device) == ("fp16", "cuda")
    assert p.trl_args() == {"bf16": False, "fp16": True, "use_cpu": False}
    with pytest.raises(RecipeError, match=r"^precision: bf16 is not supported by Fake GPU; use `precision: auto` \(fp16 there\)"):
        choose_precision("bf16")


def test_lora_loads_weights_in_the_compute_dtype_and_full_fine_tuning_in_fp32():
    """Precision.weight_dtype: with LoRA the frozen base weights are held in the compute dtype; full
    fine-tuning keeps fp32 master weights and trains under autocast."""
    import torch

    from prefdata.train.hardware import Precision

    want = {("bf16", True): torch.bfloat16, ("fp16", True): torch.float16, ("fp32", True): torch.float32,
            ("bf16", False): torch.float32, ("fp16", False): torch.float32, ("fp32", False): torch.float32}  # fmt: skip
    got = {(name, lora): Precision(name, "cuda", "GPU").weight_dtype(lora=lora) for name, lora in want}
    assert got == want


def test_checkpointing_goes_on_only_when_the_step_exceeds_the_budget():
    """hardware.py: activation checkpointing is on only when the estimate *exceeds* the GPU's budget, never
    on CPU (no budget); ``auto`` follows the estimate, true and false are honoured."""
    from prefdata.train.hardware import MemoryEstimate, decide_checkpointing

    assert not MemoryEstimate(60, 40, 100).needs_checkpointing  # fits exactly
    assert MemoryEstimate(60, 41, 100).needs_checkpointing
    assert not MemoryEstimate(10**15, 10**15, None).needs_checkpointing  # CPU
    assert decide_checkpointing("auto", MemoryEstimate(60, 41, 100)) is True
    assert decide_checkpointing("auto", MemoryEstimate(1, 1, 100)) is False
    assert decide_checkpointing(True, MemoryEstimate(1, 1, 100)) is True
    assert decide_checkpointing(False, MemoryEstimate(100, 100, 1)) is False


def test_step_memory_estimate_doubles_activations_in_fp32(monkeypatch):
    """estimate_step_memory: ~34 * hidden bytes per token and layer in 16-bit, doubled in fp32, plus fp32
    logits; static = the weights as loaded + 12 bytes (fp32 gradient, two AdamW states) per trainable
    parameter; the budget is 85% of the GPU's memory."""
    import torch

    from prefdata.train.hardware import Precision, estimate_step_memory

    model = torch.nn.Linear(4, 4, bias=False)  # 16 trainable fp32 parameters: 64 bytes
    text = SimpleNamespace(hidden_size=8, num_hidden_layers=2, vocab_size=10)
    model.config = SimpleNamespace(get_text_config=lambda: text)
    logits = 5 * 10 * 4  # 5 tokens x vocab 10, fp32
    for name, activations in (("bf16", 2 * 5 * 34 * 8 + logits), ("fp16", 2 * 5 * 34 * 8 + logits), ("fp32", 2 * 5 * 34 * 8 * 2 + logits)):
        est = estimate_step_memory(model, tokens_per_micro_batch=5, precision=Precision(name, "cpu", "CPU"))
        assert (est.static_bytes, est.activation_bytes, est.budget_bytes) == (64 + 16 * 12, activations, None), name
    _on_a_gpu(monkeypatch, bf16=True, total_memory=1000)
    est = estimate_step_memory(model, tokens_per_micro_batch=5, precision=Precision("bf16", "cuda", "Fake GPU"), trainable_params=2)
    assert (est.static_bytes, est.budget_bytes) == (64 + 2 * 12, 850)


@pytest.mark.parametrize(("sequences_per_pair", "max_length", "tokens"), [(1, 64, 4 * 64), (2, 64, 4 * 64 * 2), (2, None, 4 * 2048 * 2)])
def test_the_memory_estimate_counts_every_sequence_of_a_micro_batch(monkeypatch, sequences_per_pair, max_length, tokens):
    """prepare.py load_for_training: activation checkpointing is decided from one micro-batch's tokens, batch size x
    max_length (the model's max_position_embeddings when unset) x the sequences each pair puts through the model
    (SFT 1; DPO 2, chosen and rejected): at half, `auto` could leave checkpointing off for a DPO step that does not
    fit. Stand-ins for the tokenizer, the model and the estimate: nothing loads."""
    from prefdata.train import hardware, models, prepare

    seen = {}
    monkeypatch.setattr(hardware, "estimate_step_memory", lambda model, **kw: seen.update(kw) or SimpleNamespace(describe=lambda: "-"))
    monkeypatch.setattr(hardware, "decide_checkpointing", lambda setting, estimate: False)
    monkeypatch.setattr(models, "load_tokenizer", lambda model: object())
    monkeypatch.setattr(models, "load_model", lambda model, **kw: SimpleNamespace(config=SimpleNamespace(max_position_embeddings=2048)))
    monkeypatch.setattr(prepare, "check_lora_targets", lambda *a: None)
    inputs = SimpleNamespace(
        model=None,
        recipe=SimpleNamespace(seed=0, lora=None, model_kwargs={}, activation_checkpointing="auto"),
        precision=SimpleNamespace(weight_dtype=lambda lora: "float32"),
        args=SimpleNamespace(max_length=max_length, per_device_train_batch_size=4),
    )
    prepare.load_for_training(inputs, sequences_per_pair=sequences_per_pair, progress=lambda line: None)
    assert seen["tokens_per_micro_batch"] == tokens


def test_sft_refuses_non_empty_output_without_overwrite(task_data, tiny_model, tmp_path, no_model_loads):
    from prefdata.train import OutputDirError

    out = tmp_path / "out"
    out.mkdir()
    (out / "something").write_text("x")
    with pytest.raises(OutputDirError, match="--overwrite"):
        train_sft(task_data, str(tiny_model), out, no_check=True)


def test_trl_config_is_built_without_deprecation_warnings(tmp_path):
    """transformers 5 deprecates `gradient_checkpointing`; prefdata passes `activation_checkpointing`."""
    import warnings

    from prefdata.train.hardware import choose_precision
    from prefdata.train.trl_config import build_trl_config

    for stage in ("sft", "dpo"):
        recipe = load_recipe(stage)
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)
            args = build_trl_config(recipe, tmp_path, choose_precision("auto"))
        assert args.gradient_checkpointing is False  # off until the memory estimate asks for it
        assert args.max_length == 1024


# --- numbers that cannot train, before any model loads -----------------------------------------------------------


@pytest.mark.parametrize(
    "field,value,problem",
    [
        ("learning_rate", float("nan"), "must be a finite number"),
        ("learning_rate", float("inf"), "must be a finite number"),  # trained NaN weights and exited 0
        ("learning_rate", -1.0, "must be > 0"),
        ("num_train_epochs", 0, "must be > 0"),  # saved the untrained model as an SFT result
        ("num_train_epochs", float("nan"), "must be a finite number"),
        ("per_device_train_batch_size", 0, "must be at least 1"),
        ("gradient_accumulation_steps", 0, "must be at least 1"),
        ("warmup_steps", -1, "must be >= 0"),
    ],
)
def test_numbers_that_cannot_train_are_refused_before_loading(task_data, tiny_model, tmp_path, no_model_loads, field, value, problem):
    with pytest.raises(RecipeError, match=rf"trl\.{field} \(set by a flag\): {problem}"):
        train_sft(task_data, str(tiny_model), tmp_path / "out", overrides={f"trl.{field}": value}, no_check=True)


def test_an_infinite_beta_is_refused(tmp_path):
    with pytest.raises(RecipeError, match=r"trl\.beta \(set by a flag\): must be a finite number, got inf"):
        load_recipe("dpo", overrides={"trl.beta": float("inf")})


# --- empty splits: build writes a 0-row shard for a split with no pairs ----------------------------------------


def test_a_train_split_with_no_pairs_is_refused_before_loading(task_splits, tiny_model, tmp_path, no_model_loads):
    from tests.support.canonical_data import write_canonical

    data = write_canonical(tmp_path / "out", {"train": [], "test": task_splits["test"]})
    with pytest.raises(DataError, match="the train split has no pairs"):
        train_sft(data, str(tiny_model), tmp_path / "run", no_check=True)


def test_an_empty_test_split_skips_the_eval_like_a_missing_one(task_splits, sft_model, tmp_path):
    from tests.support.canonical_data import write_canonical

    data = write_canonical(tmp_path / "out", {"train": task_splits["train"][:16], "test": []})
    said: list[str] = []
    result = train_dpo(data, str(sft_model), tmp_path / "run", overrides={**DPO_FAST, "trl.max_steps": 1}, no_check=True, progress=said.append)
    assert f"eval: skipped, {data} has no test pairs and no validation pairs (splits: test 0, train 16)" in said
    assert result.eval_after is None


def test_hidden_files_in_data_are_not_training_shards(task_splits, tmp_path):
    """As check, report and the Hugging Face loader: hidden ``.x`` files are not shards; ``_x`` files are
    (the loader reads them), so an unreadable one is a clear error naming it."""
    from prefdata.train.data import open_training_data
    from prefdata.train.errors import DataError
    from tests.support.canonical_data import write_canonical

    data = write_canonical(tmp_path / "out", {"train": task_splits["train"][:8], "test": task_splits["test"][:4]})
    (data / "data" / ".train-00001.parquet").write_bytes(b"editor swap")
    opened = open_training_data(data)
    assert [f.name for f in opened.shards["train"]] == ["train-00000-of-00001.parquet"]
    assert opened.rows == {"train": 8, "test": 4}
    (data / "data" / "_train-partial.parquet").write_bytes(b"half an upload")
    with pytest.raises(DataError, match="_train-partial.parquet: cannot read Parquet"):
        open_training_data(data)

"""What a stage writes and how it names what it trained on.

- The shards must be the ones ``manifest.json`` lists, or the record's dataset hash would name other data.
- ``--output`` is written through a staging directory and swapped in at the end: a failed run leaves
  the previous output whole, ``--overwrite`` leaves nothing of the previous model behind, and the
  dataset (or a folder of other files) is never written into or replaced.
- The DPO record names its models by absolute path and carries its SFT model's lineage.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from prefdata.cli import cli
from prefdata.train import DataError, ModelError, OutputDirError, RecipeError, train_dpo, train_sft
from prefdata.train.recipe import load_recipe
from tests.support.fast_training import DPO_FAST, SFT_FAST, full

ONE_STEP = {**SFT_FAST, "trl.max_steps": 1, "trl.num_train_epochs": 1}


def _copy(task_data: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(task_data, tmp_path / "data"))


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- the shards are the ones the manifest lists ---------------------------------------------------------------


@pytest.mark.parametrize("change", ["fewer rows", "added shard", "removed shard"])
def test_shards_that_differ_from_the_manifest_are_refused_before_any_model_loads(task_data, tiny_model, tmp_path, no_model_loads, change):
    data = _copy(task_data, tmp_path)
    shard = data / "data" / "train-00000-of-00001.parquet"
    if change == "fewer rows":  # ids stay valid: only the manifest comparison notices
        pl.read_parquet(shard).head(10).write_parquet(shard)
        expected = "train-00000-of-00001.parquet is not the shard manifest.json lists"
    elif change == "added shard":
        shutil.copy(shard, data / "data" / "train-00001-of-00001.parquet")
        expected = "train-00001-of-00001.parquet is not listed in manifest.json"
    else:
        (data / "data" / "test-00000-of-00001.parquet").unlink()
        expected = "test-00000-of-00001.parquet, listed in manifest.json, is missing"
    with pytest.raises(DataError, match=expected) as err:
        train_sft(data, str(tiny_model), tmp_path / "out", no_check=True)
    assert str(err.value).startswith(f"{data}: data/")  # which OUT to rebuild: train reads three directories
    assert "delete manifest.json to train on the shards as they are" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_the_gate_hashes_shards_only_when_training_has_not(task_data, tmp_path):
    from prefdata.train.errors import CheckFailedError
    from prefdata.train.gate import run_check_gate

    data = _copy(task_data, tmp_path)
    shard = data / "data" / "train-00000-of-00001.parquet"
    pl.read_parquet(shard).head(10).write_parquet(shard)
    with pytest.raises(CheckFailedError, match="shard_integrity"):
        run_check_gate(data)
    assert run_check_gate(data, shards_verified=True)["passed"]  # verify_shards, which runs first, refuses it


def test_without_a_manifest_the_shards_are_trained_on_and_each_is_hashed(task_data, tiny_model, tmp_path):
    data = _copy(task_data, tmp_path)
    (data / "manifest.json").unlink()
    result = train_sft(data, str(tiny_model), tmp_path / "out", overrides=ONE_STEP, no_check=True)
    shards = result.record["dataset"]["shards"]
    assert result.record["dataset"]["manifest_sha256"] is None
    assert {s["path"] for s in shards} == {"data/train-00000-of-00001.parquet", "data/test-00000-of-00001.parquet"}


# --- where the output may go ------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["the dataset", "inside the dataset", "around the dataset"])
def test_output_overlapping_the_dataset_is_refused(task_data, tiny_model, tmp_path, no_model_loads, where):
    data = _copy(task_data, tmp_path / "outer")
    output = {"the dataset": data, "inside the dataset": data / "data", "around the dataset": tmp_path / "outer"}[where]
    before = _digest(data)
    # the refusal's own words: a bare "overlap" also matched pytest's tmp_path (test_output_overlapping_...) in any refusal
    with pytest.raises(OutputDirError, match=r"and --data .* overlap; write the model outside the dataset$"):
        train_sft(data, str(tiny_model), output, no_check=True, overwrite=True)
    assert _digest(data) == before


def test_an_old_model_folder_holding_the_dataset_is_refused_as_an_overlap(tmp_path):
    """output_dir.py: --overwrite replaces a model directory, never the dataset: an --output that *holds* the
    dataset is refused, even when it is a previous model (a training record) that --overwrite would replace."""
    from prefdata.train.models import RECORD_FILE
    from prefdata.train.output_dir import check_output

    out = tmp_path / "old_model"
    (out / "data").mkdir(parents=True)
    (out / RECORD_FILE).write_text("{}")
    (out / "data" / "manifest.json").write_text("{}")
    with pytest.raises(OutputDirError, match=r"^--output .*old_model and --data .*data overlap; write the model outside the dataset$"):
        check_output(out, data=out / "data", models=[], overwrite=True)


def test_overwrite_replaces_a_plain_transformers_model_folder(tmp_path):
    """output_dir.py: --overwrite replaces a directory that holds a model, "a training record or a config.json":
    a transformers model (config.json and weights, no prefdata record) is one; a folder of other files is not."""
    from prefdata.train.output_dir import check_output

    (tmp_path / "data").mkdir()
    model = tmp_path / "hf_model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"x")
    check_output(model, data=tmp_path / "data", models=[], overwrite=True)  # no refusal
    (model / "config.json").unlink()
    with pytest.raises(OutputDirError, match=r"holds no model \(prefdata_train\.json or config\.json\) but other files"):
        check_output(model, data=tmp_path / "data", models=[], overwrite=True)


@pytest.mark.parametrize("model", ["runs", "runs/sft"])
def test_an_output_holding_the_input_model_is_refused(tmp_path, model):
    """output_dir.py: replacing --output must not delete the model the run reads, whether the model is the
    output folder itself or a folder inside it."""
    from prefdata.train.output_dir import check_output

    (tmp_path / "data").mkdir()
    (tmp_path / "runs" / "sft").mkdir(parents=True)
    (tmp_path / "runs" / "sft" / "config.json").write_text("{}")
    spec = str(tmp_path / model)
    with pytest.raises(OutputDirError, match=r"^--output .*runs holds the input model " + re.escape(spec) + "; write the new model elsewhere$"):
        check_output(tmp_path / "runs", data=tmp_path / "data", models=[spec], overwrite=True)


def test_an_output_holding_the_reference_model_is_refused(task_data, tiny_model, tmp_path, no_model_loads):
    """README: --output may not be or hold "the input model"; with --ref-model the reference is one too: replacing
    the output would delete the weights the run trains against. Refused by train_dpo before anything loads."""
    out = tmp_path / "dpo"
    out.mkdir()
    (out / "config.json").write_text("{}")  # an old model folder, which --overwrite may replace ...
    ref = out / "ref"  # ... holding the reference model
    ref.mkdir()
    (ref / "config.json").write_text("{}")
    with pytest.raises(OutputDirError, match=r"^--output " + re.escape(str(out)) + r" holds the input model "
                       + re.escape(str(ref)) + "; write the new model elsewhere$"):  # fmt: skip
        train_dpo(task_data, str(tiny_model), out, overrides=full(DPO_FAST), ref_model=str(ref), from_instruct=True,
                  no_check=True, overwrite=True)  # fmt: skip
    assert (ref / "config.json").exists()


def test_overwrite_refuses_a_folder_that_holds_no_model(task_data, tiny_model, tmp_path, no_model_loads):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "thesis.tex").write_text("months of work")
    with pytest.raises(OutputDirError, match="holds no model"):
        train_sft(task_data, str(tiny_model), out, no_check=True, overwrite=True)
    assert (out / "thesis.tex").read_text() == "months of work"


def test_a_missing_ref_model_is_refused_early_and_named(task_data, sft_model, tmp_path, no_model_loads):
    with pytest.raises(ModelError, match=r"^--ref-model \./no_such_ref: no such directory"):
        train_dpo(task_data, str(sft_model), tmp_path / "out", overrides=full(DPO_FAST), ref_model="./no_such_ref", no_check=True)


def test_a_ref_model_that_does_not_load_is_named_by_its_flag(task_data, sft_model, tmp_path):
    """A directory that exists but holds no model failed as "--model ref: could not be loaded"."""
    (tmp_path / "ref").mkdir()
    (tmp_path / "ref" / "config.json").write_text('{"model_type": "llama"}')  # no weights
    with pytest.raises(ModelError, match=r"^--ref-model .*ref.*: could not be loaded"):
        train_dpo(task_data, str(sft_model), tmp_path / "out", overrides=full(DPO_FAST), ref_model=str(tmp_path / "ref"), no_check=True)


# --- replacing a previous output --------------------------------------------------------------------------------


def test_overwrite_leaves_nothing_of_the_previous_model(task_data, tiny_model, tmp_path):
    out = tmp_path / "out"
    train_sft(task_data, str(tiny_model), out, overrides=ONE_STEP, no_check=True)
    (out / "eval.json").write_text('{"reward_accuracy": 0.99}')  # what an earlier DPO run would have left
    (out / "checkpoint-7").mkdir()
    train_sft(task_data, str(tiny_model), out, overrides=full(ONE_STEP), no_check=True, overwrite=True)
    names = {p.name for p in out.iterdir()}
    assert "eval.json" not in names and "checkpoint-7" not in names and "adapter" not in names
    assert json.loads((out / "prefdata_train.json").read_text())["recipe"]["lora"] is None
    assert not any(p.name.endswith((".prefdata-partial", ".prefdata-replaced")) for p in tmp_path.iterdir())


def test_a_run_that_fails_before_its_record_leaves_the_previous_output_whole(task_data, tiny_model, tmp_path, monkeypatch):
    from prefdata.train import sft

    out = tmp_path / "out"
    train_sft(task_data, str(tiny_model), out, overrides=ONE_STEP, no_check=True)
    before = _digest(out)

    def dies(*args, **kwargs):  # the weights are written, the record is not: a kill or a full disk here
        raise OSError("No space left on device")

    monkeypatch.setattr(sft, "write_provenance", dies)
    with pytest.raises(OSError, match="No space left"):
        train_sft(task_data, str(tiny_model), out, overrides={**ONE_STEP, "trl.learning_rate": 0.5}, no_check=True, overwrite=True)
    assert _digest(out) == before
    monkeypatch.undo()
    # the next run starts from a clean staging directory, whatever the failed one left there
    train_sft(task_data, str(tiny_model), out, overrides=ONE_STEP, no_check=True, overwrite=True)
    assert (out / "prefdata_train.json").is_file()


# --- the record -------------------------------------------------------------------------------------------------


def test_dpo_record_names_models_absolutely_and_carries_the_sft_lineage(task_data, sft_model, tmp_path, monkeypatch):
    monkeypatch.chdir(sft_model.parent)
    out = tmp_path / "dpo"
    args = ["train", "dpo", "--data", str(task_data), "--model", sft_model.name, "--output", str(out), "--no-check",
            "--max-steps", "1", "--set", "eval.enabled=false"]
    args += [a for k, v in DPO_FAST.items() for a in ("--set", f"{k}={v}")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}/ (model, recipe.yaml, prefdata_train.json)" in result.output  # no eval.json: eval was off
    record = json.loads((out / "prefdata_train.json").read_text())
    sft_record_path = sft_model / "prefdata_train.json"
    sft_record = json.loads(sft_record_path.read_text())
    assert record["base_model"]["path"] == str(sft_model.resolve())
    assert record["sft"]["record_sha256"] == hashlib.sha256(sft_record_path.read_bytes()).hexdigest()
    assert record["sft"]["dataset"] == sft_record["dataset"] and record["sft"]["base_model"] == sft_record["base_model"]
    assert record["trl_config"]["output_dir"] == str(out.resolve())


def test_a_refusal_after_the_model_loads_leaves_no_output_and_no_staging(task_data, tiny_model, tmp_path):
    from prefdata.train import RecipeError

    with pytest.raises(RecipeError, match="lora.target_modules"):
        train_sft(task_data, str(tiny_model), tmp_path / "out", overrides={**ONE_STEP, "lora.target_modules": ["q_projj"]}, no_check=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("spec", ["./no_such_sft", "~/no_such_sft"])
def test_dpo_from_a_model_path_that_does_not_exist_says_so(task_data, tmp_path, no_model_loads, monkeypatch, spec):
    """prepare.py: a model spec written as a path (`./sft`, `/models/x`, `~/m`; a hub id never starts with `~`) must
    exist, refused naming its flag, not reported as a model without an SFT record nor tried as a hub id."""
    monkeypatch.setenv("HOME", str(tmp_path))  # ~ is tmp_path, which holds no no_such_sft
    with pytest.raises(ModelError, match=r"^--model " + re.escape(spec) + ": no such directory$"):
        train_dpo(task_data, spec, tmp_path / "out", overrides=DPO_FAST, no_check=True)


def test_a_linked_output_keeps_its_link_and_gets_the_new_model(task_data, tiny_model, tmp_path):
    models = tmp_path / "models"
    train_sft(task_data, str(tiny_model), models / "v1", overrides=ONE_STEP, no_check=True)
    link = tmp_path / "current"
    link.symlink_to(models / "v1")
    for _ in range(2):  # the second run replaces what the first published through the same link
        result = train_sft(task_data, str(tiny_model), link, overrides=full(ONE_STEP), no_check=True, overwrite=True)
        assert link.is_symlink() and link.resolve() == (models / "v1").resolve()
        assert json.loads((models / "v1" / "prefdata_train.json").read_text())["recipe"]["lora"] is None
        assert result.record["trl_config"]["output_dir"] == str(link)
    assert sorted(p.name for p in models.iterdir()) == ["v1"] and sorted(p.name for p in tmp_path.iterdir()) == ["current", "models"]


def test_the_current_directory_is_refused_as_output(task_data, tiny_model, tmp_path, monkeypatch, no_model_loads):
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    monkeypatch.chdir(work / "sub")
    for output in (".", ".."):
        with pytest.raises(OutputDirError, match="current directory"):
            train_sft(task_data, str(tiny_model), output, no_check=True, overwrite=True)


def test_the_published_model_card_is_named_after_the_output(task_data, tiny_model, tmp_path):
    """With checkpoints on, TRL writes a model card named after the directory it saves into."""
    out = tmp_path / "sft_model"
    overrides = {**ONE_STEP, "trl.max_steps": 2, "trl.save_strategy": "steps", "trl.save_steps": 1}
    train_sft(task_data, str(tiny_model), out, overrides=overrides, no_check=True)
    card = (out / "README.md").read_text()
    assert "sft_model" in card and "prefdata-partial" not in card


@pytest.mark.parametrize("test_fraction", ["0.2", "0"])
def test_a_build_in_partitions_with_empty_shards_passes_the_manifest_check(tmp_path, test_fraction):
    """A small build in 4 partitions writes empty shards; training leaves them out but must not then
    call them missing from the manifest that lists them."""
    from prefdata.train.data import open_training_data
    from prefdata.train.integrity import verify_shards

    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps({"prompt": f"q{i}", "chosen": f"good {i}", "rejected": f"bad {i}"}) + "\n" for i in range(6)))
    result = CliRunner().invoke(cli, ["build", str(raw), str(tmp_path / "out"), "-q", "--partitions", "4", "--test-fraction", test_fraction])
    assert result.exit_code == 0, result.output
    shards = sorted((tmp_path / "out" / "data").glob("*.parquet"))
    assert any(pl.read_parquet(f).height == 0 for f in shards)  # the case: an empty shard the manifest lists
    verify_shards(open_training_data(tmp_path / "out"))


def test_the_record_names_the_shards_each_split_read(task_data, tmp_path):
    """A card that maps the test shard to train and the train shard to test trained on other pairs under
    the same manifest hash and row counts (equal splits); the record now says which shards were which."""
    from prefdata.train.data import open_training_data
    from prefdata.train.provenance import dataset_fingerprint

    train, test = "data/train-00000-of-00001.parquet", "data/test-00000-of-00001.parquet"
    assert dataset_fingerprint(open_training_data(task_data))["splits"] == {"train": [train], "test": [test]}
    data = _copy(task_data, tmp_path)
    (data / "README.md").write_text(
        f"---\nconfigs:\n- config_name: default\n  data_files:\n  - {{split: train, path: {test}}}\n  - {{split: test, path: {train}}}\n---\n"
    )
    swapped = dataset_fingerprint(open_training_data(data))
    assert swapped["splits"] == {"train": [test], "test": [train]}
    assert swapped["manifest_sha256"] == dataset_fingerprint(open_training_data(task_data))["manifest_sha256"]


def test_the_adapter_and_the_recipe_name_the_base_model_by_absolute_path(task_data, tiny_model, tmp_path, monkeypatch):
    """With ``--model`` given relative to the current directory, adapter_config.json and recipe.yaml named
    the base "model", so PEFT's AutoPeftModelForCausalLM (or a rerun with --recipe) found it from that
    directory only."""
    monkeypatch.chdir(tiny_model.parent)
    result = train_sft(task_data, tiny_model.name, tmp_path / "out", overrides=ONE_STEP, no_check=True)
    adapter = json.loads((result.output / "adapter" / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == result.record["base_model"]["path"] == str(tiny_model.resolve())
    import yaml  # recipe.yaml, rerun with --recipe from another directory, names the same model

    assert yaml.safe_load((result.output / "recipe.yaml").read_text())["model"] == str(tiny_model.resolve())


def test_recipe_yaml_names_the_check_gates_files_absolutely(task_data, tiny_model, tmp_path, monkeypatch, no_model_loads):
    """prepare.py: the check gate's files the recipe names (`check.config`, `check.suite`, `check.benchmark_prompts`)
    are made absolute, so that recipe.yaml reruns with --recipe from any directory and reads the same files."""
    import yaml

    from prefdata.train.prepare import prepare_inputs
    from prefdata.train.recipe import dump_recipe

    monkeypatch.chdir(tmp_path)
    (tmp_path / "team.yaml").write_text("checks: {}\n")
    (tmp_path / "suite.yaml").write_text("expect: {}\n")
    (tmp_path / "prompts.txt").write_text("What is 2+2?\n")
    names = {"config": "team.yaml", "suite": "suite.yaml", "benchmark_prompts": "prompts.txt"}
    inputs = prepare_inputs("sft", data=task_data, model=str(tiny_model), output=tmp_path / "sft", no_check=True,
                            overrides={f"check.{key}": name for key, name in names.items()})  # fmt: skip
    want = {key: str(tmp_path / name) for key, name in names.items()}
    assert {key: getattr(inputs.recipe.check, key) for key in names} == want
    assert {key: yaml.safe_load(dump_recipe(inputs.recipe))["check"][key] for key in names} == want


def test_recipe_yaml_keeps_the_reference_model_and_from_instruct(task_data, tiny_model, tmp_path, monkeypatch, no_model_loads):
    """recipe.yaml left out --ref-model (and --from-instruct), so a rerun with --recipe trained a full-fine-tuning DPO
    run against the policy's own starting weights instead of the reference the first run used, without a word."""
    from prefdata.train.prepare import prepare_inputs
    from prefdata.train.recipe import dump_recipe

    monkeypatch.chdir(tiny_model.parent)
    first = prepare_inputs("dpo", data=task_data, model=tiny_model.name, output=tmp_path / "one", no_check=True,
                           overrides={"lora": None}, from_instruct=True, ref_model=f"./{tiny_model.name}")  # fmt: skip
    assert first.ref.location == first.recipe.ref_model == str(tiny_model.resolve())
    (tmp_path / "recipe.yaml").write_text(dump_recipe(first.recipe))
    monkeypatch.chdir(tmp_path)  # a rerun from anywhere
    again = prepare_inputs("dpo", data=task_data, model=None, output=tmp_path / "two", recipe=tmp_path / "recipe.yaml",
                           no_check=True)  # fmt: skip
    assert again.ref is not None and again.ref.location == str(tiny_model.resolve())
    assert again.from_instruct is True
    with pytest.raises(RecipeError, match=r"ref_model is given twice"):
        prepare_inputs("dpo", data=task_data, model=None, output=tmp_path / "three", recipe=tmp_path / "recipe.yaml",
                       no_check=True, ref_model="/elsewhere", overrides={"ref_model": "/other"})  # fmt: skip
    result = CliRunner().invoke(cli, ["train", "dpo", "--data", str(task_data), "--model", "m", "--output", "o",
                                      "--ref-model", "r", "--set", "ref_model=s"])  # fmt: skip
    assert result.exit_code == 2 and "ref_model is also given by --ref-model" in result.output
    with pytest.raises(RecipeError, match=r"ref_model \(set by a flag\): is a setting of `prefdata train dpo`"):
        load_recipe("sft", overrides={"ref_model": "/elsewhere"})
    assert "ref_model" not in dump_recipe(load_recipe("sft"))  # DPO's keys stay out of an SFT recipe.yaml

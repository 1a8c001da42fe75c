"""Prove that a refusal fires before any model loads: every model-loading entry point raises instead.

A refusal that came after a load would surface as :class:`ModelLoaded` instead of the expected error.
"""

from __future__ import annotations


class ModelLoaded(Exception):
    pass


def forbid_model_loads(monkeypatch) -> None:
    """Make prefdata's and transformers' model and tokenizer loaders raise :class:`ModelLoaded`."""
    import transformers

    from prefdata.train import models

    def boom(*args, **kwargs):
        raise ModelLoaded("a model load was attempted")

    monkeypatch.setattr(models, "load_model", boom)
    monkeypatch.setattr(models, "ensure_builtin", boom)
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", boom)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", boom)

"""Settings whose package may not be installed: a tracker (``report_to``), an optimizer (``optim``), Liger
kernels (``use_liger_kernel``). transformers imports them only once the trainer is built (the optimizer at
the first step), after the model has loaded; :mod:`prefdata.train.recipe` checks them before anything loads."""

from __future__ import annotations

from typing import Any

from prefdata.train.recipe import FieldError, strategy_name

#: ``report_to`` names whose ``transformers.integrations.is_<check>_available`` is not ``is_<name>_available``, and
#: the pip packages that differ from the name. Kubeflow is left out: it is "available" by an environment variable.
_TRACKER_CHECKS = {"azure_ml": "azureml", "comet_ml": "comet", "flyte": "flytekit"}
_TRACKER_PACKAGES = {"azure_ml": "azureml-core", "comet_ml": "comet-ml", "flyte": "flytekit"}
def _importable(module: str) -> bool:
    """Whether ``module`` is installed. transformers' check says no to an installed comet_ml without an API
    key, which its offline mode does not need; for every other tracker its check is the one to follow
    (dagshub needs mlflow, ``DISABLE_MLFLOW_INTEGRATION`` turns mlflow off)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _optimizer_package(optim: str) -> tuple[str, str] | None:
    """``(availability function in transformers.utils, pip package)`` of a ``trl.optim`` that needs one
    (transformers' ``trainer_optimizer`` checks the same ones, but only at the first training step)."""
    for names, check, package in (
        (("galore_",), "is_galore_torch_available", "galore-torch"),
        (("apollo_",), "is_apollo_torch_available", "apollo-torch"),
        (("lomo", "adalomo"), "is_lomo_available", "lomo-optim"),
        (("grokadamw",), "is_grokadamw_available", "grokadamw"),
        (("adamw_torch_4bit", "adamw_torch_8bit"), "is_torchao_available", "torchao"),
        (("schedule_free_",), "is_schedulefree_available", "schedulefree"),
        (("stable_adamw",), "is_torch_optimi_available", "torch-optimi"),
        (("adamw_bnb", "adamw_8bit", "ademamix", "lion_", "paged_", "rmsprop_bnb"), "is_bitsandbytes_available",
         "bitsandbytes"),
        (("adamw_anyprecision",), "is_torchdistx_available", "torchdistx"),
        (("adamw_torch_xla",), "is_torch_xla_available", "torch_xla"),
        (("adamw_torch_npu_fused",), "is_torch_npu_available", "torch_npu"),
    ):  # fmt: skip
        if optim.startswith(names):  # the names of transformers' OptimizerNames, by prefix
            return check, package
    return None


def check_optional_packages(trl: dict[str, Any]) -> None:
    """Refuse a tracker (``report_to``), an optimizer (``optim``) or Liger kernels (``use_liger_kernel``) whose
    package is not installed, naming it: transformers imports them only once the trainer is built (the
    optimizer at the first step), so ``report_to: wandb`` without wandb crashed after loading (exit 3)."""
    import transformers.utils
    from transformers.integrations import integration_utils

    report_to = trl.get("report_to")
    names = [report_to] if isinstance(report_to, str) else list(report_to or [])
    if len(names) > 1 and (alone := next((n for n in names if n in ("none", "all")), None)) is not None:
        raise FieldError("trl.report_to", f"{alone!r} stands alone (transformers refuses it in a list, after the model "
                                          f"loaded): give {alone} or a list of trackers")  # fmt: skip
    for name in names:
        if name in ("none", "all"):  # `all`: the trackers that are installed
            continue
        if name not in integration_utils.INTEGRATION_TO_CALLBACK:
            known = ", ".join(["none", "all", *integration_utils.INTEGRATION_TO_CALLBACK])
            raise FieldError("trl.report_to", f"{name!r} is not a tracker transformers knows; choose from {known}")
        available = getattr(integration_utils, f"is_{_TRACKER_CHECKS.get(name, name)}_available", None)
        if name != "kubeflow" and available is not None and not available() and not (name == "comet_ml" and _importable("comet_ml")):
            package = _TRACKER_PACKAGES.get(name, name)
            raise FieldError("trl.report_to", f"{name!r} needs {package}, which is not installed: pip install {package} "
                                              "(or report_to: none)")  # fmt: skip
    optim = strategy_name(trl.get("optim", ""))
    if (needs := _optimizer_package(optim)) and not getattr(transformers.utils, needs[0], lambda: True)():
        raise FieldError("trl.optim", f"{optim!r} needs {needs[1]}, which is not installed: pip install {needs[1]} "
                                      "(or optim: adamw_torch)")  # fmt: skip
    if optim.startswith("galore_") and optim.endswith("8bit") and not transformers.utils.is_bitsandbytes_available():
        raise FieldError("trl.optim", f"{optim!r} also needs bitsandbytes, which is not installed: pip install bitsandbytes")
    if trl.get("use_liger_kernel") and not transformers.utils.is_liger_kernel_available():
        raise FieldError("trl.use_liger_kernel", "needs liger-kernel, which is not installed: pip install liger-kernel "
                                                 "(or use_liger_kernel: false)")  # fmt: skip

"""Lazy package attributes (PEP 562) and the public names both framework sides export.

:data:`MODULES` and :data:`NAMES` are the mirror: ``kdlib.torch`` and ``kdlib.tf`` export exactly
these (``kdlib.tf`` adds the Keras ``Distiller``), each name from the module of the same name
on its side.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

#: modules every side has
MODULES = ("lm", "losses", "methods", "models", "predict", "train")
#: public name -> the module (of each side) that defines it
NAMES = {
    "CNN1D": "models",
    "Ensemble": "methods",
    "History": "train",
    "KDLoss": "losses",
    "MLP": "models",
    "build_model": "models",
    "cross_entropy": "losses",
    "distill": "train",
    "distillation_loss": "losses",
    "dkd_loss": "methods",
    "born_again": "methods",
    "ensemble_logits": "methods",
    "evaluate": "predict",
    "fit": "train",
    "fitnets_hint_loss": "methods",
    "kd_loss": "losses",
    "model_names": "models",
    "predict_logits": "predict",
    "set_seed": "predict",
    "soft_targets": "losses",
    # chapter 12: language-model distillation
    "TinyLM": "lm",
    "build_lm": "lm",
    "distill_lm": "lm",
    "lm_log_probs": "lm",
    "sample_lm": "lm",
    "token_kl": "lm",
    "topk_cache": "lm",
    "topk_kl": "lm",
    "train_lm": "lm",
}


def attributes(package: str, modules: tuple[str, ...], names: dict[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__``: submodules by name, and each name of ``names`` from its submodule.

    ``from kdlib.torch import build_model`` then imports models.py only, so a graded notebook can
    use the models while the module that grades it (e.g. train) is hidden.
    """

    def __getattr__(name: str):
        if name in modules:
            return importlib.import_module(f"{package}.{name}")
        if name in names:
            return getattr(importlib.import_module(f"{package}.{names[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__

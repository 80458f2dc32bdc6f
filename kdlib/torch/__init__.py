"""PyTorch side of kdlib: ``losses``, ``models``, ``predict``, ``train``, ``methods`` (same names as ``kdlib.tf``)."""

from kdlib._lazy import attributes

_MODULES = ("losses", "methods", "models", "predict", "train")

_NAMES = {
    "History": "train",
    "KDLoss": "losses",
    "CNN1D": "models",
    "MLP": "models",
    "build_model": "models",
    "cross_entropy": "losses",
    "distill": "train",
    "distillation_loss": "losses",
    "dkd_loss": "methods",
    "evaluate": "predict",
    "fit": "train",
    "fitnets_hint_loss": "methods",
    "kd_loss": "losses",
    "model_names": "models",
    "predict_logits": "predict",
    "set_seed": "predict",
    "soft_targets": "losses",
}
__all__ = sorted([*_NAMES, *_MODULES])

__getattr__ = attributes("kdlib.torch", _MODULES, _NAMES)

"""TensorFlow / Keras 3 side of kdlib: ``losses``, ``methods``, ``models``, ``predict``, ``distiller``, ``train``.

Same names as ``kdlib.torch`` plus :class:`Distiller` (a ``keras.Model``). Needs the
TensorFlow backend of Keras 3 (the default; ``KERAS_BACKEND=tensorflow``).
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        "kdlib.tf needs Keras' TensorFlow backend, got "
        f"{keras.backend.backend()!r}: set KERAS_BACKEND=tensorflow before importing keras"
    )

from kdlib._lazy import attributes  # noqa: E402

_MODULES = ("distiller", "losses", "methods", "models", "predict", "train")

_NAMES = {
    "Distiller": "distiller",
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

__getattr__ = attributes("kdlib.tf", _MODULES, _NAMES)

"""TensorFlow / Keras 3 side of kdlib: ``losses``, ``models``, ``distiller``, ``train``.

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

from kdlib.tf import distiller, losses, models, train  # noqa: E402
from kdlib.tf.distiller import Distiller  # noqa: E402
from kdlib.tf.losses import KDLoss, distillation_loss, kd_loss, soft_targets  # noqa: E402
from kdlib.tf.models import build_model, model_names  # noqa: E402
from kdlib.tf.train import History, distill, evaluate, fit, predict_logits, set_seed  # noqa: E402

__all__ = [
    "Distiller",
    "History",
    "KDLoss",
    "build_model",
    "distill",
    "distillation_loss",
    "distiller",
    "evaluate",
    "fit",
    "kd_loss",
    "losses",
    "model_names",
    "models",
    "predict_logits",
    "set_seed",
    "soft_targets",
    "train",
]

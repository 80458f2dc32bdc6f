"""Inference helpers of the TensorFlow side: seeding, logits, accuracy (same names in kdlib.torch.predict).

Kept apart from :mod:`kdlib.tf.train` so that a notebook grading the training loops can hide
``train`` (its answer key) and still evaluate models.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from kdlib import _validate as v

__all__ = ["evaluate", "predict_logits", "set_seed"]


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow (``keras.utils.set_random_seed``)."""
    keras.utils.set_random_seed(seed)


def _array(x, dtype=np.float32) -> np.ndarray:
    return np.asarray(x.numpy() if tf.is_tensor(x) else x, dtype=dtype)


def _check_xy(x, y, name_x: str = "x", name_y: str = "y") -> tuple[np.ndarray, np.ndarray | None]:
    xa = _array(x)
    ya = None if y is None else _array(y, np.int64)
    v.check_xy_shapes(xa.shape, None if ya is None else ya.shape, name_x, name_y)
    return xa, ya


def predict_logits(model: keras.Model, x, batch_size: int = 4096) -> np.ndarray:
    """Logits (N, C) float32 of ``model`` in inference mode (``training=False``)."""
    xa = _array(x)
    out = [model(xa[i : i + batch_size], training=False) for i in range(0, len(xa), batch_size)]
    return np.concatenate([np.asarray(o, dtype=np.float32) for o in out])


def evaluate(model: keras.Model, x, y) -> float:
    """Accuracy of ``model`` on (x, y), in [0, 1]."""
    logits = predict_logits(model, x)
    return float((logits.argmax(1) == _array(y, np.int64)).mean())

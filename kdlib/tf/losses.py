"""Distillation losses in TensorFlow (the contract of docs/architecture.md; mirrors kdlib.torch.losses).

Shapes: logits (B, C) float; labels (B,) integer class indices. Every function accepts NumPy
arrays or tf tensors, float32 or float64, and returns a scalar tensor of the input's dtype.

Argument checks raise the same ``ValueError`` messages as NumPy and PyTorch. In eager mode all
checks run; inside a ``tf.function`` (e.g. Keras' traced ``train_step``) the values are
symbolic, so the data-dependent checks (finite logits, label range) are skipped while the
shape, temperature and alpha checks still run at trace time.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from kdlib import _validate as v

__all__ = ["KDLoss", "cross_entropy", "distillation_loss", "kd_loss", "soft_targets"]

Shape = tuple[int | None, ...]


def _shape(x: tf.Tensor) -> Shape:
    """Static shape as a tuple; unknown dimensions (graph mode) are ``None``."""
    return tuple(x.shape.as_list()) if x.shape.rank is not None else ()


def _merge(a: Shape, b: Shape) -> tuple[Shape, Shape]:
    """Fill each unknown dimension from the other shape, so that only known dims are compared."""
    if len(a) != len(b):
        return a, b
    a2 = tuple(j if i is None else i for i, j in zip(a, b, strict=True))
    b2 = tuple(i if j is None else j for i, j in zip(a, b, strict=True))
    return a2, b2


def _check_logits(name: str, x, dtype: tf.DType | None = None) -> tf.Tensor:
    """Convert to a float tensor (ints -> float32, or ``dtype``) and check it is finite 2-D."""
    if not isinstance(x, (tf.Tensor, tf.Variable)):
        x = tf.convert_to_tensor(np.asarray(x) if not tf.is_tensor(x) else x)
    if dtype is not None:
        x = tf.cast(x, dtype)
    elif not x.dtype.is_floating:
        x = tf.cast(x, tf.float32)
    v.check_logits_shape(name, _shape(x))
    if tf.executing_eagerly():
        v.check_finite(name, bool(tf.reduce_all(tf.math.is_finite(x))))
    return x


def _check_labels(labels, logits: tf.Tensor, ignore_index: int | None = None) -> tf.Tensor:
    """Labels (B,) integer in [0, C) (or ``ignore_index``); range checked in eager mode only. Returns int64."""
    ignore_index = v.check_ignore_index(ignore_index)
    if not tf.is_tensor(labels):
        labels = tf.convert_to_tensor(np.asarray(labels))
    dt = labels.dtype
    is_int = dt.is_integer and dt != tf.bool
    ls, ss = _merge(_shape(labels), _shape(logits)[:1])
    batch, num_classes = ss[0], _shape(logits)[1]
    if tf.executing_eagerly():
        kept = tf.boolean_mask(labels, labels != ignore_index) if is_int and ignore_index is not None else labels
        n = int(tf.size(kept))
        lo = int(tf.reduce_min(kept)) if is_int and n else None
        hi = int(tf.reduce_max(kept)) if is_int and n else None
    else:  # symbolic values: keep the shape and dtype checks, skip the range check
        lo, hi, num_classes = 0, 0, num_classes or 1
    v.check_labels(ls, is_int, lo, hi, batch, num_classes, ignore_index)
    return tf.cast(labels, tf.int64)


def soft_targets(logits, temperature: float) -> tf.Tensor:
    """softmax(logits / T) along the class axis: (B, C) -> (B, C)."""
    t = v.check_temperature(temperature)
    z = _check_logits("logits", logits)
    return tf.nn.softmax(z / tf.constant(t, z.dtype), axis=-1)


def distillation_loss(student_logits, teacher_logits, temperature: float) -> tf.Tensor:
    """T² · (1/B) Σ_b KL(softmax(t_b/T) ‖ softmax(s_b/T)); teacher first, batch mean. () scalar.

    Computed from log-softmax of both sides, so logits of ±1e4 stay finite. The teacher
    logits are fixed targets (``tf.stop_gradient``): no gradient flows into the teacher.
    """
    t = v.check_temperature(temperature)
    s = _check_logits("student_logits", student_logits)
    te = _check_logits("teacher_logits", teacher_logits)
    v.check_pair(*_merge(_shape(s), _shape(te)))
    te = tf.stop_gradient(tf.cast(te, s.dtype))
    tt = tf.constant(t, s.dtype)  # not tf.cast: a Python float would pass float32
    log_q = tf.nn.log_softmax(s / tt, axis=-1)  # student
    log_p = tf.nn.log_softmax(te / tt, axis=-1)  # teacher
    kl = tf.reduce_sum(tf.exp(log_p) * (log_p - log_q), axis=-1)  # (B,) KL(p ‖ q)
    return tf.reduce_mean(kl) * (tt * tt)


def cross_entropy(student_logits, labels, ignore_index: int | None = None) -> tf.Tensor:
    """Mean cross-entropy at T = 1 of logits (B, C) against integer labels (B,). () scalar.

    Rows whose label is ``ignore_index`` are left out; the mean is over the others (0 if none).
    """
    s = _check_logits("student_logits", student_logits)
    y = _check_labels(labels, s, ignore_index)
    if ignore_index is None:
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=s))
    keep = tf.cast(y != ignore_index, s.dtype)  # (B,)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.maximum(y, 0), logits=s)
    return tf.math.divide_no_nan(tf.reduce_sum(ce * keep), tf.reduce_sum(keep))


def kd_loss(
    student_logits,
    teacher_logits,
    labels,
    temperature: float = 4.0,
    alpha: float = 0.9,
    ignore_index: int | None = None,
) -> tf.Tensor:
    """The contract's kd_loss (``kdlib.reference.kd_loss``): alpha · soft + (1 − alpha) · hard, () scalar.

    Logits (B, C), labels (B,); ``alpha`` weighs the soft term (keras.io's example: the hard one);
    ``ignore_index=-1`` leaves unlabelled rows out of the hard term, as ``distill`` does.
    """
    a = v.check_alpha(alpha)
    s = _check_logits("student_logits", student_logits)
    soft = distillation_loss(s, teacher_logits, temperature)
    hard = cross_entropy(s, labels, ignore_index)
    return tf.constant(a, s.dtype) * soft + tf.constant(1.0 - a, s.dtype) * hard


class KDLoss:
    """Callable wrapper of :func:`kd_loss`: ``KDLoss(T, alpha)(student, teacher, labels)``.

    A plain class (not a ``keras.losses.Loss``, whose ``(y_true, y_pred)`` signature has no
    room for the teacher logits). Returns a scalar tensor.
    """

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9) -> None:
        self.temperature = v.check_temperature(temperature)
        self.alpha = v.check_alpha(alpha)

    def __call__(self, student_logits, teacher_logits, labels) -> tf.Tensor:
        return kd_loss(student_logits, teacher_logits, labels, self.temperature, self.alpha)

    def __repr__(self) -> str:
        return f"KDLoss(temperature={self.temperature}, alpha={self.alpha})"

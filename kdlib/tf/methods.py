"""Distillation methods beyond Hinton's logit matching, in TensorFlow (mirrors kdlib.torch.methods).

    fitnets_hint_loss(student_feat, teacher_feat, regressor)     FitNets (Romero et al. 2015)
    dkd_loss(student_logits, teacher_logits, labels, ...)         Decoupled KD (Zhao et al. 2022)
    ensemble_logits(logits_list, space="logit"|"prob")            averaged teachers, as logits
    Ensemble(models, space)                                       K models as one teacher (keras.Model)
    born_again(build, x, y, generations, ...)                     born-again networks (Furlanello et al. 2018)

Shapes: features (B, D) float, logits (B, C) float, labels (B,) integer class indices. The
teacher side is always wrapped in ``tf.stop_gradient``: no gradient reaches the teacher. Same
values as kdlib.reference (tests/library/test_methods_contract.py); bad input raises the same ValueError.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from kdlib import _validate as v
from kdlib.tf.losses import _check_labels, _check_logits

__all__ = ["Ensemble", "born_again", "dkd_loss", "ensemble_logits", "fitnets_hint_loss"]


def _check_feat(name: str, x) -> tf.Tensor:
    x = tf.convert_to_tensor(x if tf.is_tensor(x) else np.asarray(x))
    if not x.dtype.is_floating:
        x = tf.cast(x, tf.float32)
    finite = bool(tf.reduce_all(tf.math.is_finite(x))) if tf.executing_eagerly() else True
    v.check_features(name, tuple(x.shape), finite)
    return x


def fitnets_hint_loss(student_feat, teacher_feat, regressor) -> tf.Tensor:
    """FitNets hint: mean over batch and teacher features of (regressor(student_feat) − teacher_feat)².

    ``regressor`` (typically ``keras.layers.Dense(D_teacher)``) is learned with the student; it maps
    the student's hidden features (B, D_s) into the teacher's feature space (B, D_t). () scalar.
    """
    s = _check_feat("student_feat", student_feat)
    t = _check_feat("teacher_feat", teacher_feat)
    if s.shape[0] is not None and t.shape[0] is not None and s.shape[0] != t.shape[0]:
        raise ValueError(
            f"student_feat and teacher_feat must have the same batch size, got {s.shape[0]} and {t.shape[0]}"
        )
    if not callable(regressor):
        raise ValueError(f"regressor must be a layer mapping student to teacher features, got {regressor!r}")
    r = regressor(s)
    if tuple(r.shape) != tuple(t.shape):
        raise ValueError(
            f"regressor(student_feat) must have the teacher_feat shape {tuple(t.shape)}, got {tuple(r.shape)}"
        )
    return tf.reduce_mean(tf.square(r - tf.cast(tf.stop_gradient(t), r.dtype)))


def dkd_loss(
    student_logits,
    teacher_logits,
    labels,
    alpha: float = 1.0,
    beta: float = 8.0,
    temperature: float = 4.0,
) -> tf.Tensor:
    """Decoupled KD: alpha · TCKD + beta · NCKD (Zhao et al., CVPR 2022), each × T², batch mean.

    With p = softmax(z / T) and g the label of each row:
      TCKD = KL([p_t,g, 1 − p_t,g] ‖ [p_s,g, 1 − p_s,g])      (target vs all others, binary)
      NCKD = KL(p̂_t ‖ p̂_s), p̂ = softmax over the C − 1 non-target classes only.
    Computed in log space (logsumexp), so logits of ±1e4 stay finite. Needs C ≥ 2. () scalar.
    """
    t = v.check_temperature(temperature)
    a, b = v.check_weight("alpha", alpha), v.check_weight("beta", beta)
    s = _check_logits("student_logits", student_logits)
    te = _check_logits("teacher_logits", teacher_logits)
    v.check_pair(tuple(s.shape), tuple(te.shape))
    y = _check_labels(labels, s)
    c = s.shape[1]
    if c is not None and c < 2:
        raise ValueError(f"dkd_loss needs at least 2 classes, got logits with {c} column")
    zs, zt = s / t, tf.stop_gradient(tf.cast(te, s.dtype)) / t
    mask = tf.one_hot(y, c, on_value=True, off_value=False)  # (B, C)

    def parts(z: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        lse = tf.reduce_logsumexp(z, axis=1)
        rest = tf.reshape(tf.boolean_mask(z, ~mask), [-1, c - 1])  # non-target logits (B, C-1)
        binary = tf.stack([tf.boolean_mask(z, mask) - lse, tf.reduce_logsumexp(rest, axis=1) - lse], axis=1)
        return binary, tf.nn.log_softmax(rest, axis=1)

    def kl(log_p: tf.Tensor, log_q: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(tf.reduce_sum(tf.exp(log_p) * (log_p - log_q), axis=1)) * (t * t)

    bin_s, nt_s = parts(zs)
    bin_t, nt_t = parts(zt)
    return tf.constant(a, s.dtype) * kl(bin_t, bin_s) + tf.constant(b, s.dtype) * kl(nt_t, nt_s)


# --- ensembles and born-again networks (chapter 13)


def ensemble_logits(logits_list: Sequence, space: str = "logit") -> tf.Tensor:
    """The averaged output of K teachers, as logits: K × (B, C) -> (B, C) (``kdlib.reference``).

    ``space="logit"``: mean of the logits. ``space="prob"``: log of the mean softmax, i.e.
    logsumexp_k log_softmax(z_k) − log K (its softmax is the averaged distribution). At T = 1.
    """
    if space not in ("logit", "prob"):
        raise ValueError(f"space must be 'logit' or 'prob', got {space!r}")
    if tf.is_tensor(logits_list) or not isinstance(logits_list, (list, tuple)) or not logits_list:
        raise ValueError("logits_list must be a non-empty list of 2-D logits (batch, num_classes)")
    zs = [_check_logits("logits_list", z) for z in logits_list]
    for z in zs[1:]:
        if tuple(z.shape) != tuple(zs[0].shape):
            raise ValueError(
                "logits_list must hold logits of one shape (batch, num_classes), "
                f"got {tuple(zs[0].shape)} and {tuple(z.shape)}"
            )
    z = tf.stack([tf.cast(z, zs[0].dtype) for z in zs])  # (K, B, C)
    if space == "logit":
        return tf.reduce_mean(z, axis=0)
    return tf.reduce_logsumexp(tf.nn.log_softmax(z, axis=-1), axis=0) - tf.constant(math.log(len(zs)), z.dtype)


class Ensemble(keras.Model):
    """K models as one teacher: ``call(x)`` = ``ensemble_logits([m(x) for m in models], space)``.

    Pass it to ``distill`` as the teacher (it is frozen there like any teacher). (B, F) -> (B, C).
    """

    def __init__(self, models: Sequence[keras.Model], space: str = "logit", **kwargs) -> None:
        super().__init__(**kwargs)
        if not models:
            raise ValueError("models must be a non-empty list of models")
        if space not in ("logit", "prob"):
            raise ValueError(f"space must be 'logit' or 'prob', got {space!r}")
        self.members = list(models)
        self.space = space

    def call(self, x, training: bool = False):
        return ensemble_logits([m(x, training=training) for m in self.members], self.space)


def born_again(build: Callable[[int], keras.Model], x, y, generations: int = 2, **options) -> list[keras.Model]:
    """Born-again networks ``[gen 0, ..., gen G]`` with this side's ``fit``/``distill``: ``options``
    (temperature, alpha, epochs, lr, batch_size, seed, progress) as in :func:`kdlib.born_again.born_again`."""
    from kdlib.born_again import born_again as generations_loop
    from kdlib.tf.train import distill, fit  # lazy: methods must import where train is hidden

    return generations_loop(build, x, y, generations, fit=fit, distill=distill, **options)

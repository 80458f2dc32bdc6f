"""NumPy float64 reference maths: the single source of truth for tests and notebook checks.

Shapes: logits are ``(B, C)`` (batch, classes); labels ``(B,)`` integer class indices.

    soft_targets(z, T)        = softmax(z / T)                       (B, C)
    distillation_loss(s, t, T)= T² · (1/B) Σ_b KL(softmax(t_b/T) ‖ softmax(s_b/T))   scalar
    kd_loss(s, t, y, T, a)    = a · distillation_loss + (1 − a) · mean CE(s, y)       scalar

``alpha`` weighs the *soft* (teacher) term. The Keras KD example weighs the other way round.
"""

from __future__ import annotations

import numpy as np

from kdlib import _validate as v


def _as_logits(name: str, x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    v.check_logits_shape(name, x.shape)
    v.check_finite(name, bool(np.isfinite(x).all()))
    return x


def log_softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Stable log(softmax(logits / T)) along the last axis, float64. (B, C) -> (B, C)."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def soft_targets(logits, temperature: float) -> np.ndarray:
    """softmax(logits / T) along the class axis. (B, C) -> (B, C), rows sum to 1."""
    t = v.check_temperature(temperature)
    z = _as_logits("logits", logits)
    return np.exp(log_softmax(z, t))


def distillation_loss(student_logits, teacher_logits, temperature: float) -> float:
    """T² · batch-mean KL(teacher ‖ student) of the temperature-softened distributions."""
    t = v.check_temperature(temperature)
    s = _as_logits("student_logits", student_logits)
    te = _as_logits("teacher_logits", teacher_logits)
    v.check_pair(s.shape, te.shape)
    log_p = log_softmax(te, t)  # teacher
    log_q = log_softmax(s, t)  # student
    kl = (np.exp(log_p) * (log_p - log_q)).sum(axis=-1)  # (B,)
    return float(t * t * kl.mean())


def cross_entropy(logits, labels, ignore_index: int | None = None) -> float:
    """Mean cross-entropy of ``logits`` (B, C) against integer ``labels`` (B,) at T = 1.

    Rows whose label is ``ignore_index`` are left out; the mean is over the others (0.0 if none).
    """
    z = _as_logits("student_logits", logits)
    y = _as_labels(labels, z.shape, ignore_index)
    keep = y != ignore_index if ignore_index is not None else np.ones(len(y), bool)
    if not keep.any():
        return 0.0
    return float(-log_softmax(z[keep])[np.arange(int(keep.sum())), y[keep]].mean())


def _as_labels(labels, logits_shape, ignore_index: int | None = None) -> np.ndarray:
    ignore_index = v.check_ignore_index(ignore_index)
    y = np.asarray(labels)
    is_int = np.issubdtype(y.dtype, np.integer)
    kept = y[y != ignore_index] if is_int and ignore_index is not None else y
    lo = int(kept.min()) if is_int and kept.size else None
    hi = int(kept.max()) if is_int and kept.size else None
    v.check_labels(y.shape, is_int, lo, hi, logits_shape[0], logits_shape[1], ignore_index)
    return y.astype(np.int64)


def kd_loss(
    student_logits,
    teacher_logits,
    labels,
    temperature: float = 4.0,
    alpha: float = 0.9,
    ignore_index: int | None = None,
) -> float:
    """alpha · distillation_loss + (1 − alpha) · cross-entropy(student_logits, labels).

    The soft term covers every row; with ``ignore_index`` (kdlib's loops use -1 for unlabelled
    transfer inputs) the hard term is the mean over the labelled rows only, 0 if there are none.
    This is the loss ``distill`` optimises on both frameworks.
    """
    a = v.check_alpha(alpha)
    soft = distillation_loss(student_logits, teacher_logits, temperature)
    hard = cross_entropy(student_logits, labels, ignore_index)
    return a * soft + (1.0 - a) * hard


def distillation_grad(student_logits, teacher_logits, temperature: float) -> np.ndarray:
    """Closed-form gradient of distillation_loss w.r.t. the student logits.

    d/ds [T² · mean_b KL(p_t ‖ p_s)] = T · (softmax(s/T) − softmax(t/T)) / B     (B, C)
    """
    t = v.check_temperature(temperature)
    s = _as_logits("student_logits", student_logits)
    te = _as_logits("teacher_logits", teacher_logits)
    v.check_pair(s.shape, te.shape)
    return t * (np.exp(log_softmax(s, t)) - np.exp(log_softmax(te, t))) / s.shape[0]

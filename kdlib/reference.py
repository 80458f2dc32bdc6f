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


def fitnets_hint_loss(student_feat, teacher_feat, regressor) -> float:
    """FitNets hint: mean over batch and features of (regressor(student_feat) − teacher_feat)².

    Shapes: student_feat (B, D_s), teacher_feat (B, D_t); ``regressor`` maps (B, D_s) -> (B, D_t)
    (here any NumPy callable, e.g. ``lambda h: h @ W + b``).
    """
    s = np.asarray(student_feat, dtype=np.float64)
    t = np.asarray(teacher_feat, dtype=np.float64)
    v.check_features("student_feat", s.shape, bool(np.isfinite(s).all()))
    v.check_features("teacher_feat", t.shape, bool(np.isfinite(t).all()))
    if s.shape[0] != t.shape[0]:
        raise ValueError(
            f"student_feat and teacher_feat must have the same batch size, got {s.shape[0]} and {t.shape[0]}"
        )
    if not callable(regressor):
        raise ValueError(f"regressor must be a callable mapping student to teacher features, got {regressor!r}")
    r = np.asarray(regressor(s), dtype=np.float64)
    if r.shape != t.shape:
        raise ValueError(f"regressor(student_feat) must have the teacher_feat shape {t.shape}, got {r.shape}")
    return float(((r - t) ** 2).mean())


def _logsumexp(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=-1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))[..., 0]


def dkd_loss(
    student_logits, teacher_logits, labels, alpha: float = 1.0, beta: float = 8.0, temperature: float = 4.0
) -> float:
    """Decoupled KD (Zhao et al., CVPR 2022): alpha · TCKD + beta · NCKD, each × T², batch mean.

    With p = softmax(z / T) and g the label of each row (logits (B, C), labels (B,)):
    TCKD = KL([p_t,g, 1 − p_t,g] ‖ [p_s,g, 1 − p_s,g]); NCKD = KL(p̂_t ‖ p̂_s) over the C − 1
    non-target classes. Classic KD = TCKD + (1 − p_t,g) · NCKD. Needs C ≥ 2.
    """
    t = v.check_temperature(temperature)
    a, b_ = v.check_weight("alpha", alpha), v.check_weight("beta", beta)
    s = _as_logits("student_logits", student_logits)
    te = _as_logits("teacher_logits", teacher_logits)
    v.check_pair(s.shape, te.shape)
    y = _as_labels(labels, s.shape)
    n, c = s.shape
    if c < 2:
        raise ValueError(f"dkd_loss needs at least 2 classes, got logits with {c} column")
    mask = np.zeros((n, c), bool)
    mask[np.arange(n), y] = True

    def parts(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lse = _logsumexp(z)
        rest = z[~mask].reshape(n, c - 1)
        binary = np.stack([z[mask] - lse, _logsumexp(rest) - lse], axis=1)  # log [p_g, 1 − p_g]
        return binary, rest - _logsumexp(rest)[:, None]  # log p̂ over the non-target classes

    bin_s, nt_s = parts(s / t)
    bin_t, nt_t = parts(te / t)
    tckd = (np.exp(bin_t) * (bin_t - bin_s)).sum(axis=1).mean() * t * t
    nckd = (np.exp(nt_t) * (nt_t - nt_s)).sum(axis=1).mean() * t * t
    return float(a * tckd + b_ * nckd)

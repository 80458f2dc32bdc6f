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


# --- ensembles (chapter 13)

ENSEMBLE_SPACES = ("logit", "prob")


def ensemble_logits(logits_list, space: str = "logit") -> np.ndarray:
    """The averaged output of K teachers, as logits. K × (B, C) -> (B, C), float64.

    ``space="logit"``: the mean of the logits, (1/K) Σ_k z_k.
    ``space="prob"``:  log of the mean softmax, log((1/K) Σ_k softmax(z_k)) (a log-probability,
    valid logits: softmax of it is the averaged distribution). Both at T = 1; soften afterwards.
    """
    if space not in ENSEMBLE_SPACES:
        raise ValueError(f"space must be 'logit' or 'prob', got {space!r}")
    if isinstance(logits_list, np.ndarray) or not isinstance(logits_list, (list, tuple)) or not logits_list:
        raise ValueError("logits_list must be a non-empty list of 2-D logits (batch, num_classes)")
    zs = [_as_logits("logits_list", z) for z in logits_list]
    for z in zs[1:]:
        if z.shape != zs[0].shape:
            raise ValueError(
                f"logits_list must hold logits of one shape (batch, num_classes), got {zs[0].shape} and {z.shape}"
            )
    z = np.stack(zs)  # (K, B, C)
    if space == "logit":
        return z.mean(axis=0)
    log_p = log_softmax(z)  # (K, B, C)
    m = log_p.max(axis=0)
    return m + np.log(np.exp(log_p - m).mean(axis=0))


def label_smoothing_cross_entropy(logits, labels, label_smoothing: float = 0.0) -> float:
    """Mean cross-entropy against smoothed targets (1 − ε)·onehot(y) + ε/C, at T = 1. scalar.

    The same loss as ``torch.nn.CrossEntropyLoss(label_smoothing=ε)`` and Keras'
    ``CategoricalCrossentropy(label_smoothing=ε)``: (1 − ε)·CE(z, y) + ε · mean_c(−log softmax(z)_c).
    """
    eps = float(label_smoothing) if isinstance(label_smoothing, (int, float)) else float("nan")
    if isinstance(label_smoothing, bool) or not (0.0 <= eps <= 1.0):
        raise ValueError(f"label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    z = _as_logits("logits", logits)
    y = _as_labels(labels, z.shape)
    log_q = log_softmax(z)
    nll = -log_q[np.arange(len(y)), y]
    uniform = -log_q.mean(axis=1)
    return float(((1.0 - eps) * nll + eps * uniform).mean())


# --- language-model distillation (chapter 12) ----------------------------------------------------
#
# Logits of a causal LM are (B, L, V): batch, positions, vocabulary; a mask (B, L) is True/1 where
# the target is a real token (kdlib.grammar pads with PAD = 0 after EOS). With p = softmax(t / T)
# (teacher) and q = softmax(s / T) (student) at each position, and m the mask:
#
#   token_kl(s, t, m, "forward", T) = T² · Σ_bl m_bl KL(p_bl ‖ q_bl) / Σ_bl m_bl   (mode-covering)
#   token_kl(s, t, m, "reverse", T) = T² · Σ_bl m_bl KL(q_bl ‖ p_bl) / Σ_bl m_bl   (mode-seeking)
#   topk_kl(s, vals, idx, m, T)     = T² · masked mean of KL(p̃ ‖ q), p̃ = softmax(vals / T) over the
#                                     k cached teacher tokens idx (the tail renormalised away)
#
# T² keeps the gradient's scale independent of T (d/ds of the forward term is T · (q − p) · m / Σm),
# as in distillation_loss above.

#: size name -> (embedding dim, GRU hidden units) of kdlib's tiny language models (both frameworks)
LM_SIZES = {"teacher": (32, 64), "student": (8, 16), "student-tiny": (4, 6)}
#: token-level KL directions
KL_KINDS = ("forward", "reverse")


def _check_lm_size(size: str, vocab_size: int) -> tuple[int, int]:
    if size not in LM_SIZES:
        raise ValueError(f"size must be one of {sorted(LM_SIZES)}, got {size!r}")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 2:
        raise ValueError(f"vocab_size must be an integer >= 2, got {vocab_size!r}")
    return LM_SIZES[size]


def _check_tokens(tokens) -> np.ndarray:
    x = np.asarray(tokens)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] < 2 or not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"tokens must be a 2-D integer array (N, L) with N >= 1 and L >= 2, got {x.dtype} {x.shape}")
    if (x < 0).any():
        raise ValueError("tokens must be token ids >= 0")
    return x.astype(np.int64)


def _check_lm_logits_shape(name: str, shape) -> None:
    shape = tuple(shape)
    if len(shape) != 3 or shape[2] < 1:
        raise ValueError(f"{name} must be 3-D with shape (batch, length, vocab), got shape {shape}")


def _check_lm_pair(student_shape, teacher_shape) -> None:
    if tuple(student_shape) != tuple(teacher_shape):
        raise ValueError(
            "student_logits and teacher_logits must have the same shape (batch, length, vocab), "
            f"got {tuple(student_shape)} and {tuple(teacher_shape)}"
        )


def _check_mask(mask_shape, expected: tuple[int, int], any_kept: bool) -> None:
    if tuple(mask_shape) != tuple(expected):
        raise ValueError(f"mask must have shape (batch, length) = {tuple(expected)}, got {tuple(mask_shape)}")
    if not any_kept:
        raise ValueError("mask must keep at least one position (it is all False / 0)")


def _check_kind(kind: str) -> str:
    if kind not in KL_KINDS:
        raise ValueError(
            f"kind must be 'forward' (KL(teacher‖student)) or 'reverse' (KL(student‖teacher)), got {kind!r}"
        )
    return kind


def _check_k(k: int, vocab: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= vocab:
        raise ValueError(f"k must be an integer in [1, {vocab}] (the vocabulary size), got {k!r}")
    return int(k)


def _check_topk(student_shape, values_shape, indices_shape, idx_range) -> None:
    is_int, lo, hi = idx_range
    _check_lm_logits_shape("topk_values", values_shape)
    if tuple(values_shape[:2]) != tuple(student_shape[:2]) or values_shape[2] > student_shape[2]:
        raise ValueError(
            f"topk_values must have shape (batch, length, k) = {tuple(student_shape[:2])} + (k <= "
            f"{student_shape[2]},), got {tuple(values_shape)}"
        )
    if tuple(indices_shape) != tuple(values_shape):
        raise ValueError(
            f"topk_indices must have the shape of topk_values {tuple(values_shape)}, got {tuple(indices_shape)}"
        )
    if not is_int:
        raise ValueError("topk_indices must hold integer token ids")
    if lo is not None and (lo < 0 or hi >= student_shape[2]):
        raise ValueError(f"topk_indices must lie in [0, {student_shape[2]}), got values from {lo} to {hi}")


def _lm_inputs(student_logits, teacher_logits, mask, temperature):
    t = v.check_temperature(temperature)
    s = np.asarray(student_logits, dtype=np.float64)
    te = np.asarray(teacher_logits, dtype=np.float64)
    _check_lm_logits_shape("student_logits", s.shape)
    v.check_finite("student_logits", bool(np.isfinite(s).all()))
    _check_lm_logits_shape("teacher_logits", te.shape)
    v.check_finite("teacher_logits", bool(np.isfinite(te).all()))
    m = _lm_mask(mask, s.shape[:2])
    return t, s, te, m


def _lm_mask(mask, shape) -> np.ndarray:
    if mask is None:
        return np.ones(shape)
    m = np.asarray(mask)
    _check_mask(m.shape, shape, bool((m != 0).any()))
    return (m != 0).astype(np.float64)


def token_kl(student_logits, teacher_logits, mask=None, kind: str = "forward", temperature: float = 1.0) -> float:
    """T² · masked mean over positions of KL(p_t ‖ p_s) ("forward") or KL(p_s ‖ p_t) ("reverse").

    Logits (B, L, V); ``mask`` (B, L) or None (every position). scalar.
    """
    kind = _check_kind(kind)
    t, s, te, m = _lm_inputs(student_logits, teacher_logits, mask, temperature)
    _check_lm_pair(s.shape, te.shape)
    log_q, log_p = log_softmax(s, t), log_softmax(te, t)
    a, b = (log_p, log_q) if kind == "forward" else (log_q, log_p)
    kl = (np.exp(a) * (a - b)).sum(-1)  # (B, L)
    return float(t * t * (kl * m).sum() / m.sum())


def token_kl_grad(student_logits, teacher_logits, mask=None, kind: str = "forward", temperature: float = 1.0):
    """Closed-form d token_kl / d student_logits, (B, L, V); the teacher gets none (detached).

    forward: T · w · (q − p);  reverse: T · w · q ⊙ (log q − log p − KL(q ‖ p)),  w = m / Σm.
    """
    kind = _check_kind(kind)
    t, s, te, m = _lm_inputs(student_logits, teacher_logits, mask, temperature)
    _check_lm_pair(s.shape, te.shape)
    log_q, log_p = log_softmax(s, t), log_softmax(te, t)
    q, w = np.exp(log_q), (m / m.sum())[..., None]
    if kind == "forward":
        return t * w * (q - np.exp(log_p))
    d = log_q - log_p
    return t * w * q * (d - (q * d).sum(-1, keepdims=True))


def topk_kl(student_logits, topk_values, topk_indices, mask=None, temperature: float = 1.0) -> float:
    """T² · masked mean of KL(p̃_t ‖ p_s): p̃_t = softmax(topk_values / T) over the cached tokens
    ``topk_indices`` (B, L, k), p_s = softmax(student_logits / T) over the whole vocabulary. scalar."""
    t, s, vals, m = _lm_inputs(student_logits, topk_values, mask, temperature)
    idx = np.asarray(topk_indices)
    is_int = np.issubdtype(idx.dtype, np.integer)
    rng = (is_int, int(idx.min()), int(idx.max())) if is_int and idx.size else (is_int, None, None)
    _check_topk(s.shape, vals.shape, idx.shape, rng)
    log_q = np.take_along_axis(log_softmax(s, t), idx.astype(np.int64), -1)
    log_p = log_softmax(vals, t)
    kl = (np.exp(log_p) * (log_p - log_q)).sum(-1)
    return float(t * t * (kl * m).sum() / m.sum())


def topk_kl_grad(student_logits, topk_values, topk_indices, mask=None, temperature: float = 1.0):
    """d topk_kl / d student_logits = T · w · (q − p̃ scattered onto the vocabulary), (B, L, V)."""
    t, s, vals, m = _lm_inputs(student_logits, topk_values, mask, temperature)
    idx = np.asarray(topk_indices).astype(np.int64)
    p = np.zeros_like(s)
    np.put_along_axis(p, idx, np.exp(log_softmax(vals, t)), -1)
    return t * (m / m.sum())[..., None] * (np.exp(log_softmax(s, t)) - p)


def next_tokens(logits, temperature: float = 1.0, greedy: bool = False, rng=None) -> np.ndarray:
    """One next token per row of ``logits`` (B, V): a draw from softmax(logits / T), or the argmax.

    Token 0 (PAD) is never chosen. ``rng``: a ``np.random.Generator`` (both frameworks' sample_lm
    draw here, so the same logits and seed give the same tokens).
    """
    z = np.asarray(logits, dtype=np.float64).copy()
    z[:, 0] = -np.inf
    if greedy:
        return z.argmax(-1)
    p = np.exp(log_softmax(z, v.check_temperature(temperature)))
    u = (rng if rng is not None else np.random.default_rng()).random(len(z))[:, None]
    return np.minimum((p.cumsum(-1) < u * p.sum(-1, keepdims=True)).sum(-1), z.shape[1] - 1)

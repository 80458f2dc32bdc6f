"""Distillation losses in PyTorch (the contract of docs/architecture.md; mirrors kdlib.tf.losses).

Shapes: logits (B, C) float; labels (B,) integer class indices. Every function accepts
float32 or float64 tensors and returns a scalar tensor of the same dtype.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kdlib import _validate as v


def _check_logits(name: str, x: Tensor) -> Tensor:
    if not isinstance(x, Tensor):
        x = torch.as_tensor(x)
    if not x.is_floating_point():
        x = x.float()
    v.check_logits_shape(name, tuple(x.shape))
    v.check_finite(name, bool(torch.isfinite(x).all()))
    return x


def _check_labels(labels: Tensor, logits: Tensor, ignore_index: int | None = None) -> Tensor:
    ignore_index = v.check_ignore_index(ignore_index)
    if not isinstance(labels, Tensor):
        labels = torch.as_tensor(labels)
    is_int = not labels.is_floating_point() and not labels.is_complex() and labels.dtype != torch.bool
    kept = labels[labels != ignore_index] if is_int and ignore_index is not None else labels
    lo = int(kept.min()) if is_int and kept.numel() else None
    hi = int(kept.max()) if is_int and kept.numel() else None
    v.check_labels(tuple(labels.shape), is_int, lo, hi, logits.shape[0], logits.shape[1], ignore_index)
    return labels.long()


def soft_targets(logits: Tensor, temperature: float) -> Tensor:
    """softmax(logits / T) along the class axis: (B, C) -> (B, C)."""
    t = v.check_temperature(temperature)
    z = _check_logits("logits", logits)
    return F.softmax(z / t, dim=-1)


def distillation_loss(student_logits: Tensor, teacher_logits: Tensor, temperature: float) -> Tensor:
    """T² · (1/B) Σ_b KL(softmax(t_b/T) ‖ softmax(s_b/T)); teacher first, batch mean.

    Computed from log-softmax of both sides, so logits of ±1e4 stay finite. The teacher
    logits are treated as fixed targets (detached): no gradient flows into the teacher.
    """
    t = v.check_temperature(temperature)
    s = _check_logits("student_logits", student_logits)
    te = _check_logits("teacher_logits", teacher_logits)
    v.check_pair(tuple(s.shape), tuple(te.shape))
    log_q = F.log_softmax(s / t, dim=-1)  # student
    log_p = F.log_softmax(te.detach().to(s.dtype) / t, dim=-1)  # teacher
    # kl_div(input=log q, target=log p, log_target=True) = Σ p (log p − log q) = KL(p ‖ q)
    return F.kl_div(log_q, log_p, reduction="batchmean", log_target=True) * (t * t)


def cross_entropy(student_logits: Tensor, labels: Tensor, ignore_index: int | None = None) -> Tensor:
    """Mean cross-entropy at T = 1 of logits (B, C) against integer labels (B,). () scalar.

    Rows whose label is ``ignore_index`` are left out; the mean is over the others (0 if none).
    """
    s = _check_logits("student_logits", student_logits)
    y = _check_labels(labels, s, ignore_index)
    if ignore_index is None:
        return F.cross_entropy(s, y)
    keep = y != ignore_index
    if not bool(keep.any()):
        return s.sum() * 0.0  # zero, still connected to the graph
    return F.cross_entropy(s[keep], y[keep])


def kd_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    labels: Tensor,
    temperature: float = 4.0,
    alpha: float = 0.9,
    ignore_index: int | None = None,
) -> Tensor:
    """The contract's kd_loss (``kdlib.reference.kd_loss``): alpha · soft + (1 − alpha) · hard, () scalar.

    Logits (B, C), labels (B,); ``alpha`` weighs the soft term (keras.io's example: the hard one);
    ``ignore_index=-1`` leaves unlabelled rows out of the hard term, as ``distill`` does.
    """
    a = v.check_alpha(alpha)
    s = _check_logits("student_logits", student_logits)
    soft = distillation_loss(s, teacher_logits, temperature)
    hard = cross_entropy(s, labels, ignore_index)
    return a * soft + (1.0 - a) * hard


class KDLoss(nn.Module):
    """``nn.Module`` wrapper of :func:`kd_loss`: ``KDLoss(T, alpha)(student, teacher, labels)``."""

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9) -> None:
        super().__init__()
        self.temperature = v.check_temperature(temperature)
        self.alpha = v.check_alpha(alpha)

    def forward(self, student_logits: Tensor, teacher_logits: Tensor, labels: Tensor) -> Tensor:
        return kd_loss(student_logits, teacher_logits, labels, self.temperature, self.alpha)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, alpha={self.alpha}"

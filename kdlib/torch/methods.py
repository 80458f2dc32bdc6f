"""Distillation methods beyond Hinton's logit matching, in PyTorch.

    fitnets_hint_loss(student_feat, teacher_feat, regressor)     FitNets (Romero et al. 2015)
    dkd_loss(student_logits, teacher_logits, labels, ...)         Decoupled KD (Zhao et al. 2022)
    ensemble_logits(logits_list, space="logit"|"prob")            averaged teachers, as logits
    Ensemble(models, space)                                       K models as one teacher module
    born_again(build, x, y, generations, ...)                     born-again networks (Furlanello et al. 2018)

Shapes: features (B, D) float, logits (B, C) float, labels (B,) integer class indices. The
teacher side is always detached: no gradient reaches the teacher. Bad input raises ValueError
naming the argument, as in kdlib.torch.losses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kdlib import _validate as v
from kdlib.torch.losses import _check_labels, _check_logits

__all__ = ["Ensemble", "born_again", "dkd_loss", "ensemble_logits", "fitnets_hint_loss"]


def _check_feat(name: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        x = torch.as_tensor(x)
    if not x.is_floating_point():
        x = x.float()
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D (batch, features), got shape {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return x


def fitnets_hint_loss(student_feat: Tensor, teacher_feat: Tensor, regressor: nn.Module) -> Tensor:
    """FitNets hint: mean over batch and teacher features of (regressor(student_feat) − teacher_feat)².

    ``regressor`` (typically ``nn.Linear(D_student, D_teacher)``) is learned together with the
    student; it maps the student's hidden features into the teacher's feature space. The mean
    (``F.mse_loss``) rather than FitNets' ½·sum keeps the scale independent of B and D.
    """
    s = _check_feat("student_feat", student_feat)
    t = _check_feat("teacher_feat", teacher_feat)
    if s.shape[0] != t.shape[0]:
        raise ValueError(
            f"student_feat and teacher_feat must have the same batch size, got {s.shape[0]} and {t.shape[0]}"
        )
    if not callable(regressor):
        raise ValueError(f"regressor must be a module mapping student to teacher features, got {regressor!r}")
    r = regressor(s)
    if r.shape != t.shape:
        raise ValueError(
            f"regressor(student_feat) must have the teacher_feat shape {tuple(t.shape)}, got {tuple(r.shape)}"
        )
    return F.mse_loss(r, t.detach().to(r.dtype))


def dkd_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    labels: Tensor,
    alpha: float = 1.0,
    beta: float = 8.0,
    temperature: float = 4.0,
) -> Tensor:
    """Decoupled KD: alpha · TCKD + beta · NCKD (Zhao et al., CVPR 2022), each × T², batch mean.

    With p = softmax(z / T) and g the label of each row:
      TCKD = KL([p_t,g, 1 − p_t,g] ‖ [p_s,g, 1 − p_s,g])      (target vs all others, binary)
      NCKD = KL(p̂_t ‖ p̂_s), p̂ = softmax over the C − 1 non-target classes only.
    Classic KD = TCKD + (1 − p_t,g) · NCKD: DKD frees NCKD from the (1 − p_t,g) weight.
    Computed in log space (logsumexp), so logits of ±1e4 stay finite. Needs C ≥ 2.
    """
    t = v.check_temperature(temperature)
    for name, val in (("alpha", alpha), ("beta", beta)):
        if not isinstance(val, (int, float)) or isinstance(val, bool) or not math.isfinite(val) or val < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {val!r}")
    s = _check_logits("student_logits", student_logits)
    te = _check_logits("teacher_logits", teacher_logits)
    v.check_pair(tuple(s.shape), tuple(te.shape))
    y = _check_labels(labels, s)
    b, c = s.shape
    if c < 2:
        raise ValueError(f"dkd_loss needs at least 2 classes, got logits with {c} column")
    zs, zt = s / t, te.detach().to(s.dtype) / t
    mask = F.one_hot(y, c).bool()

    def parts(z):
        lse = torch.logsumexp(z, 1)
        log_target = z[mask] - lse  # log p_g
        rest = z[~mask].view(b, c - 1)  # non-target logits
        log_other = torch.logsumexp(rest, 1) - lse  # log (1 − p_g)
        return torch.stack([log_target, log_other], 1), F.log_softmax(rest, 1)

    bin_s, nt_s = parts(zs)
    bin_t, nt_t = parts(zt)
    tckd = F.kl_div(bin_s, bin_t, reduction="batchmean", log_target=True) * (t * t)
    nckd = F.kl_div(nt_s, nt_t, reduction="batchmean", log_target=True) * (t * t)
    return alpha * tckd + beta * nckd


# --- ensembles and born-again networks (chapter 13)


def ensemble_logits(logits_list: Sequence[Tensor], space: str = "logit") -> Tensor:
    """The averaged output of K teachers, as logits: K × (B, C) -> (B, C) (``kdlib.reference``).

    ``space="logit"``: mean of the logits. ``space="prob"``: log of the mean softmax, i.e.
    logsumexp_k log_softmax(z_k) − log K (its softmax is the averaged distribution). At T = 1:
    distillation softens the result afterwards.
    """
    if space not in ("logit", "prob"):
        raise ValueError(f"space must be 'logit' or 'prob', got {space!r}")
    if isinstance(logits_list, Tensor) or not isinstance(logits_list, (list, tuple)) or not logits_list:
        raise ValueError("logits_list must be a non-empty list of 2-D logits (batch, num_classes)")
    zs = [_check_logits("logits_list", z) for z in logits_list]
    for z in zs[1:]:
        if z.shape != zs[0].shape:
            raise ValueError(
                "logits_list must hold logits of one shape (batch, num_classes), "
                f"got {tuple(zs[0].shape)} and {tuple(z.shape)}"
            )
    z = torch.stack([z.to(zs[0].dtype) for z in zs])  # (K, B, C)
    if space == "logit":
        return z.mean(0)
    return torch.logsumexp(F.log_softmax(z, dim=-1), dim=0) - math.log(len(zs))


class Ensemble(nn.Module):
    """K models as one teacher: ``forward(x)`` = ``ensemble_logits([m(x) for m in models], space)``.

    Pass it to ``distill`` as the teacher (it is frozen there like any teacher). (B, F) -> (B, C).
    """

    def __init__(self, models: Sequence[nn.Module], space: str = "logit") -> None:
        super().__init__()
        if not models:
            raise ValueError("models must be a non-empty list of models")
        if space not in ("logit", "prob"):
            raise ValueError(f"space must be 'logit' or 'prob', got {space!r}")
        self.members = nn.ModuleList(models)
        self.space = space

    def forward(self, x: Tensor) -> Tensor:
        return ensemble_logits([m(x) for m in self.members], self.space)

    def extra_repr(self) -> str:
        return f"space={self.space!r}"


def born_again(build: Callable[[int], nn.Module], x, y, generations: int = 2, **options) -> list[nn.Module]:
    """Born-again networks ``[gen 0, ..., gen G]`` with this side's ``fit``/``distill``: ``options``
    (temperature, alpha, epochs, lr, batch_size, seed, progress) as in :func:`kdlib.born_again.born_again`."""
    from kdlib.born_again import born_again as generations_loop
    from kdlib.torch.train import distill, fit  # lazy: methods must import where train is hidden

    return generations_loop(build, x, y, generations, fit=fit, distill=distill, **options)

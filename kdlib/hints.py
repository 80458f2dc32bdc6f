"""Hints for the loss notebooks' visible tests (03 PyTorch, 04 TensorFlow): name the mistake.

A wrong ``distillation_loss`` value has a handful of usual causes: T² missing or T instead of
T², the KL summed over the batch or averaged over all B·C elements (``F.kl_div``'s default
``reduction='mean'``), a (B, C) or (B,) tensor instead of a scalar (``reduction='none'``), the
KL reversed, the temperature on one side only, probabilities where ``F.kl_div`` wants
log-probabilities, ``log_target`` misused, the log of a (clipped) softmax. :class:`LossHints`
rules them out one by one and says which one it found, before it falls back to "got X,
expected Y". The hidden checks (``kdlib.grading.loss_checks``) use the same words.

This module holds no correct loss: every expected value, and every wrong variant built from
one, comes from the ``reference`` module the caller passes (the visible tests pass
``kdlib.reference``, which is hidden while a notebook is graded). What it computes itself are
only the wrong variants no reference call can produce (probabilities given as log-probabilities
and the like).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["EXTREME", "LossHints", "Messages", "isclose"]

#: |logits / T| above this counts as extreme: a probability there underflows (exp(-100) ≈ 4e-44)
EXTREME = 100.0


def isclose(a: float, b: float) -> bool:
    """np.isclose with its defaults (rtol 1e-5, atol 1e-8); NaN is close to nothing."""
    return bool(np.isclose(a, b))


def _numpy(x: Any) -> np.ndarray:
    """A tensor (PyTorch or TensorFlow) or array as a NumPy array, detached from any graph."""
    if hasattr(x, "detach"):
        x = x.detach()
    if hasattr(x, "numpy"):
        x = x.numpy()
    return np.asarray(x)


def _log_softmax(z: np.ndarray, T: float) -> np.ndarray:
    z = np.asarray(z, np.float64) / T
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class Messages:
    """What each usual mistake is called, in the words of one framework ("torch" or "tf")."""

    t2 = "the soft term is not scaled by T²: multiply the batch-mean KL by temperature ** 2"
    by_t = "the soft term is scaled by T, not by T²"
    teacher_t = "the temperature is not applied to the teacher: use softmax(teacher_logits / T)"
    student_t = "the temperature is not applied to the student: use log_softmax(student_logits / T)"

    def __init__(self, framework: str = "torch") -> None:
        if framework not in ("torch", "tf"):
            raise ValueError(f"framework must be 'torch' or 'tf', got {framework!r}")
        self.framework = framework

    @property
    def torch(self) -> bool:
        return self.framework == "torch"

    @property
    def reversed(self) -> str:
        where = (
            "F.kl_div(input, target) takes the STUDENT's log-probabilities as input (first) and the teacher's "
            "distribution as target (second)"
            if self.torch
            else "keras.losses.KLDivergence()(y_true, y_pred) takes the TEACHER's probabilities first"
        )
        return (
            "the KL is reversed: compute KL(teacher ‖ student) = Σ p_teacher · (log p_teacher − log p_student); "
            + where
        )

    @property
    def summed(self) -> str:
        how = (
            "F.kl_div's reduction='sum' does this"
            if self.torch
            else "keras.losses.KLDivergence(reduction='sum') does this"
        )
        return f"the KL is summed over the batch ({how}): average it over the batch instead (divide by B)"

    @property
    def all_elements(self) -> str:
        if self.torch:
            return (
                "the KL is averaged over all B·C elements (F.kl_div's default reduction='mean' does this): sum "
                "over the classes, then average over the batch (reduction='batchmean')"
            )
        return (
            "the KL is averaged over all B·C elements (tf.reduce_mean without axis does this): sum over the "
            "classes (tf.reduce_sum(..., axis=-1)), then average over the batch"
        )

    @property
    def per_element(self) -> str:
        how = "F.kl_div with reduction='none' gives this" if self.torch else "a reduce_sum/reduce_mean is missing"
        return (
            f"one KL term per example and class ({how}): sum over the classes, average over the batch and "
            "multiply by T², so that the loss is a scalar"
        )

    @property
    def per_example(self) -> str:
        how = (
            "F.kl_div(..., reduction='none').sum(dim=-1) gives this"
            if self.torch
            else "keras.losses.KLDivergence(reduction=None), or tf.reduce_sum(..., axis=-1) alone, gives this"
        )
        return f"one KL per example ({how}): average it over the batch, so that the loss is a scalar"

    @property
    def probs_input(self) -> str:
        if self.torch:
            return (
                "F.kl_div's input (first argument) must be the student's LOG-probabilities, "
                "F.log_softmax(student_logits / T, dim=-1); it got probabilities (F.softmax)"
            )
        return (
            "the student's side enters as probabilities where log-probabilities belong: KL = Σ p · (log p − log q) "
            "with log q = tf.nn.log_softmax(student_logits / T)"
        )

    log_target_probs = (
        "F.kl_div got the teacher's PROBABILITIES with log_target=True, which reads them as log-probabilities: "
        "pass F.log_softmax(teacher_logits / T, dim=-1) as the target, or drop log_target=True"
    )
    log_target_missing = (
        "F.kl_div got the teacher's LOG-probabilities as target without log_target=True: it takes their log "
        "again, and the log of a negative number is nan; pass log_target=True (or the probabilities)"
    )

    @property
    def log_softmax(self) -> str:
        if self.torch:
            return "use F.log_softmax, not torch.log(F.softmax(...))"
        return "use tf.nn.log_softmax, not tf.math.log(tf.nn.softmax(...))"

    @property
    def nan_ordinary(self) -> str:
        if self.torch:
            return f"a log of something that is not a probability; {self.log_target_missing}"
        return (
            "a log of something that is not a probability (a log-probability is ≤ 0): take tf.nn.log_softmax of "
            "the T-scaled logits, and exponentiate it only where you need p itself"
        )

    @property
    def not_scalar(self) -> str:
        how = "F.kl_div with reduction='none'" if self.torch else "a missing reduce_sum/reduce_mean"
        return (
            f"distillation_loss must return a scalar (0-d) tensor, not one value per example or class ({how} "
            "gives those): sum the KL over the classes, average it over the batch"
        )

    @property
    def clipped(self) -> str:
        how = (
            "torch.clamp before torch.log"
            if self.torch
            else "tf.clip_by_value, or keras.losses.KLDivergence, which clips at 1e-7"
        )
        fix = "F.log_softmax" if self.torch else "tf.nn.log_softmax"
        return (
            f"the probabilities are clipped before the log ({how}), which changes the value at extreme logits: "
            f"use {fix}"
        )

    keras_logits = (
        "the KL is taken of the T-scaled logits themselves, not of their softmax "
        "(keras.distillation.LogitsDistillation's default loss='kl_divergence' does this, and drops T² too): use "
        "tf.nn.log_softmax(logits / T) for both and multiply the batch-mean KL by T²"
    )
    kd_from_dl = "kd_loss combines the two terms correctly, but your distillation_loss is wrong (see the tests above)"
    ce_at_t = "the cross-entropy is computed at temperature T: use the raw student logits (T = 1) for the hard term"

    @property
    def alpha_swapped(self) -> str:
        keras = (
            " (the Keras example's convention, alpha · student_loss + (1 − alpha) · distillation_loss)"
            if not self.torch
            else ""
        )
        return (
            f"alpha weighs the wrong term{keras}: alpha multiplies the soft (teacher) term, 1 − alpha the cross-entropy"
        )


def _kl_clipped(p: np.ndarray, q: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """keras.losses.kl_divergence: Σ p·log(p/q) over the last axis, both clipped to [eps, 1]."""
    p, q = np.clip(p, eps, 1.0), np.clip(q, eps, 1.0)
    return (p * np.log(p / q)).sum(axis=-1)


class LossHints(Messages):
    """The visible tests' checks with named mistakes: ``LossHints("torch", kdlib.reference)``.

    ``reference`` is a module with ``distillation_loss(s, t, T)``, ``cross_entropy(s, y)`` and
    ``kd_loss(s, t, y, T, alpha)`` on NumPy arrays (kdlib.reference). Methods raise
    ``AssertionError`` with the message a learner reads.
    """

    def __init__(self, framework: str, reference: ModuleType) -> None:
        super().__init__(framework)
        self.ref = reference

    def fail(self, message: str) -> None:
        """Raise the failure a learner reads (the graders raise their own kind)."""
        raise AssertionError(message)

    # -- wrong variants of distillation_loss, each paired with what it is called --------------
    def variants(self, s: np.ndarray, t: np.ndarray, T: float) -> list[tuple[float, str]]:
        """Wrong values of distillation_loss(s, t, T) and their names, most common first.

        Plain rescalings of the right value first (T², T, B, C), then the structural mistakes,
        each alone and combined with one rescaling (e.g. reversed and averaged over B·C).
        """
        want = self.ref.distillation_loss(s, t, T)
        B, C = s.shape
        scalings = []
        if T != 1:
            scalings += [(1 / T**2, self.t2), (1 / T, self.by_t)]
        if B > 1:
            scalings.append((float(B), self.summed))
        if C > 1:
            scalings.append((1 / C, self.all_elements))
        found = [(want * f, msg) for f, msg in scalings]
        log_p, log_q = _log_softmax(t, T), _log_softmax(s, T)
        p, q = np.exp(log_p), np.exp(log_q)
        structural = [
            (self.ref.distillation_loss(t, s, T), self.reversed),
            (self.ref.distillation_loss(s, T * t, T), self.teacher_t),
            (self.ref.distillation_loss(T * s, t, T), self.student_t),
            (T * T * float((p * (log_p - q)).sum(-1).mean()), self.probs_input),
        ]
        if self.torch:
            structural.append((T * T * float((np.exp(p) * (p - log_q)).sum(-1).mean()), self.log_target_probs))
        elif max(np.abs(s).max(), np.abs(t).max()) / T <= EXTREME:  # at ±1e4 it equals clipped probabilities
            keras = float(_kl_clipped(t / T, s / T).mean())
            structural += [(keras, self.keras_logits), (T * T * keras, self.keras_logits)]
        for value, msg in structural:
            if isclose(value, want):
                continue
            found.append((value, msg))
            found += [(value * f, f"{msg}; also, {extra}") for f, extra in scalings]
        return found

    def diagnose(self, got: float, s: Any, t: Any, T: float) -> str | None:
        """The usual mistake that explains the wrong value ``got`` of distillation_loss(s, t, T), if one does."""
        s, t, T = _numpy(s).astype(np.float64), _numpy(t).astype(np.float64), float(T)
        if isclose(got, self.ref.distillation_loss(s, t, T)):
            return None
        matches = [msg for value, msg in self.variants(s, t, T) if isclose(got, value)]
        found = list({msg.split("; also, ")[0]: msg for msg in reversed(matches)}.values())[::-1]
        if len(found) > 1:  # two mistakes give this very value (it happens at extreme logits): say both
            return f"{found[0]} (or, just as likely for this value: {found[1]})"
        return found[0] if found else None

    # -- checks ---------------------------------------------------------------------------------
    def value(self, got: Any, s: Any, what: str, T: float = 1.0) -> float:
        """``got`` as a float: a scalar tensor with a finite value, or an AssertionError naming why not."""
        arr = _numpy(got)
        B, C = _numpy(s).shape
        if arr.shape != ():
            if arr.shape == (B, C) and C > 1:
                why = self.per_element
            elif arr.shape == (B,):
                why = self.per_example
            else:
                why = "return a scalar (0-d) tensor"
            self.fail(f"{what} returned a tensor of shape {tuple(arr.shape)}, not a scalar: {why}")
        value = float(arr)
        if not np.isfinite(value):
            extreme = float(np.abs(_numpy(s)).max()) / float(T) > EXTREME
            why = self.log_softmax if extreme else self.nan_ordinary
            self.fail(f"{what}: the loss is {value}: {why}")
        return value

    def check(self, got: Any, s: Any, t: Any, T: float, what: str, rtol: float = 1e-6, atol: float = 1e-9) -> float:
        """distillation_loss(s, t, T) returned ``got``: pass if it is right, else name the likely mistake."""
        value = self.value(got, s, what, T)
        s, t = _numpy(s).astype(np.float64), _numpy(t).astype(np.float64)
        want = self.ref.distillation_loss(s, t, float(T))
        if np.isclose(value, want, rtol=rtol, atol=atol):
            return value
        why = self.diagnose(value, s, t, T)
        if why is None and max(np.abs(s).max(), np.abs(t).max()) / float(T) > EXTREME:
            why = f"got {value:.8g}, expected {want:.8g}; no usual mistake explains it, so probably {self.clipped}"
        self.fail(f"{what}: {why}" if why else f"{what}: got {value:.8g}, expected {want:.8g}")
        return value

    def check_kd(self, got: Any, own_soft: Any, s: Any, t: Any, y: Any, T: float, alpha: float, what: str) -> float:
        """kd_loss(s, t, y, T, alpha) returned ``got`` (``own_soft``: your distillation_loss(s, t, T))."""
        value = self.value(got, s, what, T)
        s, t, y = _numpy(s).astype(np.float64), _numpy(t).astype(np.float64), _numpy(y)
        T, a = float(T), float(alpha)
        ref = self.ref
        want = ref.kd_loss(s, t, y, T, a)
        if np.isclose(value, want, rtol=1e-6, atol=1e-9):
            return value
        soft, hard = ref.distillation_loss(s, t, T), ref.cross_entropy(s, y)
        own = float(_numpy(own_soft))
        if not isclose(own, soft) and isclose(value, a * own + (1 - a) * hard):
            self.fail(f"{what}: {self.kd_from_dl}")
        if a != 0.5 and isclose(value, (1 - a) * soft + a * hard):
            self.fail(f"{what}: {self.alpha_swapped}")
        if isclose(value, a * soft + (1 - a) * ref.cross_entropy(s / T, y)):
            self.fail(f"{what}: {self.ce_at_t}")
        self.fail(f"{what}: got {value:.8g}, expected {want:.8g}")
        return value

"""Shared by the judges of the loss notebooks (03 PyTorch, 04 TensorFlow): inputs and diagnoses.

Trusted side only (hidden from graded kernels like the judges themselves). :class:`LossChecks`
names, for a wrong ``distillation_loss`` value, the usual mistake that explains it — T² missing,
the KL summed or averaged over the wrong axis, reversed, the temperature on one side only,
clipped probabilities, Keras's KL of logits — in the words of the learner's framework.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kdlib import reference as ref
from kdlib.grading.judge import as_float, close, expect, expect_close

__all__ = ["LossChecks", "isclose", "labels", "logits"]


def logits(batch: int = 4, classes: int = 5, seed: int = 0, scale: float = 3.0) -> np.ndarray:
    """The notebooks' random_logits as a NumPy float64 array, shape (batch, classes)."""
    return np.random.default_rng(seed).normal(0.0, scale, size=(batch, classes))


def labels(batch: int = 4, classes: int = 5, seed: int = 0) -> np.ndarray:
    """The notebooks' random_labels: int64 class indices, shape (batch,)."""
    return np.random.default_rng(seed).integers(0, classes, size=batch)


def isclose(a, b) -> bool:
    """np.isclose's defaults (rtol 1e-5, atol 1e-8), as the visible tests use them."""
    return close(a, b, rtol=1e-5, atol=1e-8)


def _kl_clipped(p: np.ndarray, q: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """keras.losses.kl_divergence: Σ p·log(p/q) over the last axis, both clipped to [eps, 1]."""
    p, q = np.clip(p, eps, 1.0), np.clip(q, eps, 1.0)
    return (p * np.log(p / q)).sum(axis=-1)


def clipped_loss(s: np.ndarray, t: np.ndarray, T: float) -> float:
    """T² · batch-mean KL of softmax probabilities clipped at 1e-7 (the log-of-clipped-softmax mistake)."""
    p, q = np.exp(ref.log_softmax(t, T)), np.exp(ref.log_softmax(s, T))
    return float(T * T * _kl_clipped(p, q).mean())


def keras_logits_loss(s: np.ndarray, t: np.ndarray, T: float) -> float:
    """keras.losses.kl_divergence(t / T, s / T), batch mean: the LogitsDistillation default-loss pitfall."""
    return float(_kl_clipped(t / T, s / T).mean())


@dataclass(frozen=True)
class LossChecks:
    """Messages and diagnoses for one framework: ``LossChecks("torch")`` or ``LossChecks("tf")``."""

    framework: str

    @property
    def _torch(self) -> bool:
        return self.framework == "torch"

    @property
    def log_softmax(self) -> str:
        if self._torch:
            return "use F.log_softmax, not torch.log(F.softmax(...))"
        return "use tf.nn.log_softmax, not tf.math.log(tf.nn.softmax(...))"

    t2 = "the soft term is not scaled by T²: multiply the batch-mean KL by temperature ** 2"
    by_t = "the soft term is scaled by T, not by T²"
    reversed = "the KL is reversed: compute KL(teacher ‖ student) = Σ p_teacher · (log p_teacher − log p_student)"
    summed = "the KL is summed over the batch: average it over the batch instead (divide by B)"
    teacher_t = "the temperature is not applied to the teacher: use softmax(teacher_logits / T)"
    student_t = "the temperature is not applied to the student: use log_softmax(student_logits / T)"

    @property
    def all_elements(self) -> str:
        if self._torch:
            return (
                "the KL is averaged over all B·C elements (F.kl_div's default reduction='mean' does this): sum "
                "over the classes, then average over the batch (reduction='batchmean')"
            )
        return (
            "the KL is averaged over all B·C elements (tf.reduce_mean without axis does this): sum over the "
            "classes (tf.reduce_sum(..., axis=-1)), then average over the batch"
        )

    @property
    def clipped(self) -> str:
        how = (
            "torch.clamp before torch.log"
            if self._torch
            else ("tf.clip_by_value, or keras.losses.KLDivergence, which clips at 1e-7")
        )
        fix = "F.log_softmax" if self._torch else "tf.nn.log_softmax"
        return (
            f"the probabilities are clipped before the log ({how}), which changes the value at extreme logits: "
            f"use {fix}"
        )

    keras_logits = (
        "the KL is taken of the T-scaled logits themselves, not of their softmax "
        "(keras.distillation.LogitsDistillation's default loss='kl_divergence' does this, and drops T² too): use "
        "tf.nn.log_softmax(logits / T) for both and multiply the batch-mean KL by T²"
    )

    @property
    def float32(self) -> str:
        tail = "" if self._torch else ", e.g. not through a Keras loss object, which casts to float32"
        return f"the loss is right only to float32 precision: compute it in the inputs' dtype (float64 here){tail}"

    def diagnose(self, got: float, s: np.ndarray, t: np.ndarray, T: float) -> str | None:
        """The usual mistake that explains a wrong distillation_loss value, if one does."""
        want = ref.distillation_loss(s, t, T)
        B, C = s.shape
        if T != 1 and isclose(got, want / T**2):
            return self.t2
        if T != 1 and isclose(got, want / T):
            return self.by_t
        if B > 1 and isclose(got, want * B):
            return self.summed
        if C > 1 and isclose(got, want / C):
            return self.all_elements
        if not isclose(want, ref.distillation_loss(t, s, T)) and isclose(got, ref.distillation_loss(t, s, T)):
            return self.reversed
        if isclose(got, ref.distillation_loss(s, T * t, T)):
            return self.teacher_t
        if isclose(got, ref.distillation_loss(T * s, t, T)):
            return self.student_t
        clipped = clipped_loss(s, t, T)  # first: at ±1e4 it can equal the Keras value below
        if not close(want, clipped, rtol=1e-4, atol=1e-7) and close(got, clipped, rtol=1e-4, atol=1e-7):
            return self.clipped
        if not self._torch:
            keras = keras_logits_loss(s, t, T)
            if close(got, keras, rtol=1e-4, atol=1e-7) or close(got, T * T * keras, rtol=1e-4, atol=1e-7):
                return self.keras_logits
        if close(got, want, rtol=1e-4, atol=1e-6):
            return self.float32
        return None

    def expect_loss(self, got, s, t, T, what: str, rtol: float = 1e-6, atol: float = 1e-9) -> None:
        """distillation_loss value ``got`` must match the reference; name the mistake if it does not."""
        value = as_float(got, what)
        if not close(value, ref.distillation_loss(s, t, T), rtol, atol):
            expect(np.isfinite(value), f"{what}: the loss is {value} (not finite): {self.log_softmax}")
            why = self.diagnose(value, s, t, T)
            expect(why is None, f"{what}: {why}")
        expect_close(value, ref.distillation_loss(s, t, T), what, rtol, atol)

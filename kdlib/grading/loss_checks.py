"""Shared by the judges of the loss notebooks (03 PyTorch, 04 TensorFlow): inputs and diagnoses.

Trusted side only (hidden from graded kernels like the judges themselves). :class:`LossChecks`
names, for a wrong ``distillation_loss`` value, the usual mistake that explains it — T² missing,
the KL summed or averaged over the wrong axis, a (B, C) or (B,) tensor instead of a scalar,
reversed, the temperature on one side only, probabilities where log-probabilities belong,
``log_target`` misused, clipped probabilities, Keras's KL of logits — in the words of the
learner's framework. The common causes and their wording come from :mod:`kdlib.hints`, which
the visible tests use too, so a notebook's visible test and its hidden check say the same thing;
only the trusted side adds the causes that need a near-correct loss to recognise (clipping,
float32 precision).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kdlib import reference as ref
from kdlib.grading.judge import Failed, as_float, close, expect, expect_close
from kdlib.hints import LossHints

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


class LossChecks(LossHints):
    """Messages and diagnoses for one framework: ``LossChecks("torch")`` or ``LossChecks("tf")``."""

    def __init__(self, framework: str) -> None:
        super().__init__(framework, ref)

    def fail(self, message: str) -> None:
        raise Failed(message)

    @property
    def float32(self) -> str:
        tail = "" if self.torch else ", e.g. not through a Keras loss object, which casts to float32"
        return f"the loss is right only to float32 precision: compute it in the inputs' dtype (float64 here){tail}"

    def diagnose(self, got: float, s: np.ndarray, t: np.ndarray, T: float) -> str | None:
        """The usual mistake that explains a wrong distillation_loss value, if one does."""
        want = ref.distillation_loss(s, t, T)
        why = super().diagnose(got, s, t, T)
        if why is not None:
            return why
        clipped = clipped_loss(s, t, T)
        if not close(want, clipped, rtol=1e-4, atol=1e-7) and close(got, clipped, rtol=1e-4, atol=1e-7):
            return self.clipped
        if close(got, want, rtol=1e-4, atol=1e-6) and not close(got, want):
            return self.float32
        return None

    def as_loss(self, got: Any, s: np.ndarray, what: str) -> float:
        """A distillation_loss result as a float; a (B, C) or (B,) array is named (reduction='none')."""
        shape = tuple(getattr(got, "shape", ()) or ())
        B, C = s.shape
        if shape == (B, C) and B * C > 1:
            raise Failed(f"{what} returned an array of shape {shape}, not a scalar: {self.per_element}")
        if shape == (B,) and B > 1:
            raise Failed(f"{what} returned an array of shape {shape}, not a scalar: {self.per_example}")
        return as_float(got, what)

    def raised(self, error: str | None, name: str = "distillation_loss") -> str:
        """The message for a call that raised ``error``; a gradient of a non-scalar is named."""
        if error and ("only for scalar outputs" in error or "must be a scalar" in error):
            return f"calling {name} with a gradient raised {error}: {self.not_scalar}"
        return f"calling {name} raised {error}"

    def expect_loss(self, got, s, t, T, what: str, rtol: float = 1e-6, atol: float = 1e-9) -> None:
        """distillation_loss value ``got`` must match the reference; name the mistake if it does not."""
        value = self.as_loss(got, s, what)
        if not close(value, ref.distillation_loss(s, t, T), rtol, atol):
            if not np.isfinite(value):
                extreme = max(np.abs(s).max(), np.abs(t).max()) / T > 100
                expect(
                    False,
                    f"{what}: the loss is {value} (not finite): "
                    + (self.log_softmax if extreme else self.nan_ordinary),
                )
            why = self.diagnose(value, s, t, T)
            expect(why is None, f"{what}: {why}")
        expect_close(value, ref.distillation_loss(s, t, T), what, rtol, atol)

"""Batch augmentations for the "patient, consistent teacher" (function matching, Beyer et al. 2022).

Framework-neutral: every augmentation is a callable ``augment(x, rng)`` on a NumPy batch
x (B, F) float32 with a ``numpy.random.Generator`` rng, returning either the augmented batch
(B, F) or a :class:`View` (the batch plus the mixup pairing). ``kdlib.torch.fit`` /
``kdlib.tf.fit`` and ``kdlib.torch.distill`` / ``kdlib.tf.distill`` accept the same callables as
``augment=``: each batch is augmented once, and in ``distill`` the teacher and the student both
see that one view (the consistent teacher), so the teacher runs on every batch and its logits
cannot be cached.

Shapes: MNIST-1D rows are 1-D signals of 40 samples (use ``shift``/``scale``/``noise``/``mixup``);
digits rows are 8×8 images flattened to 64 (``shift(shape=(8, 8))`` shifts them in 2-D).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Augment",
    "View",
    "apply",
    "check_augment",
    "compose",
    "for_dataset",
    "mixup",
    "noise",
    "scale",
    "shift",
]


@dataclass(frozen=True)
class View:
    """One augmented batch: features x (B, F) float32 and, after mixup, its pairing.

    Row b of ``x`` is ``lam · x_b + (1 − lam) · x_partner[b]`` (one ``lam`` per batch, as in
    Zhang et al. 2018): its hard-label loss is ``lam · CE(y_b) + (1 − lam) · CE(y_partner[b])``.
    ``partner=None`` (no mixup) means ``lam = 1``.
    """

    x: np.ndarray
    partner: np.ndarray | None = None
    lam: float = 1.0


#: an augmentation: ``augment(x (B, F) float32, rng) -> (B, F) array or View``
Augment = Callable[[np.ndarray, np.random.Generator], "np.ndarray | View"]


def _check_positive(name: str, value: float, allow_zero: bool = False) -> float:
    value = float(value)
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return value


def check_augment(augment) -> Augment | None:
    """``augment`` if it is None or callable, else ValueError naming ``augment``."""
    if augment is not None and not callable(augment):
        raise ValueError(f"augment must be a callable augment(x, rng) or None, got {type(augment).__name__}")
    return augment


def apply(augment: Augment, x: np.ndarray, rng: np.random.Generator) -> View:
    """Run ``augment`` on batch x (B, F) and check what it returns; always a :class:`View`."""
    out = augment(x, rng)
    view = out if isinstance(out, View) else View(np.asarray(out))
    xa = np.asarray(view.x, dtype=np.float32)
    if xa.shape != x.shape:
        raise ValueError(f"augment must return a batch of shape {x.shape}, got {xa.shape}")
    if view.partner is not None:
        p = np.asarray(view.partner, dtype=np.int64)
        if p.shape != (len(x),) or (len(p) and (p.min() < 0 or p.max() >= len(x))):
            raise ValueError(f"augment's View.partner must be {len(x)} row indices of the batch")
        if not 0.0 <= float(view.lam) <= 1.0:
            raise ValueError(f"augment's View.lam must be in [0, 1], got {view.lam!r}")
        return View(xa, p, float(view.lam))
    return View(xa)


def shift(max_shift: int = 3, *, shape: tuple[int, int] | None = None) -> Augment:
    """Shift every row by an integer drawn uniformly from [-max_shift, max_shift].

    1-D signals (``shape=None``): a circular roll along the F samples (MNIST-1D signals are
    already padded). Images (``shape=(H, W)`` with H·W = F): an independent shift along each
    axis, zero-filled (digits are dark on a zero background).
    """
    if int(max_shift) != max_shift or max_shift < 0:
        raise ValueError(f"max_shift must be an integer >= 0, got {max_shift!r}")
    k = int(max_shift)

    def _shift(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        b, f = x.shape
        if shape is None:
            s = rng.integers(-k, k + 1, size=b)
            idx = (np.arange(f)[None, :] - s[:, None]) % f
            return np.take_along_axis(x, idx, axis=1)
        h, w = shape
        if h * w != f:
            raise ValueError(f"shape {shape} does not match {f} features")
        img = x.reshape(b, h, w)
        pad = np.pad(img, ((0, 0), (k, k), (k, k)))
        dy, dx = rng.integers(-k, k + 1, size=b), rng.integers(-k, k + 1, size=b)
        out = np.empty_like(img)
        for i in range(b):
            out[i] = pad[i, k - dy[i] : k - dy[i] + h, k - dx[i] : k - dx[i] + w]
        return out.reshape(b, f)

    return _shift


def scale(low: float = 0.8, high: float = 1.2) -> Augment:
    """Multiply every row by a factor drawn uniformly from [low, high] (amplitude scaling)."""
    lo, hi = _check_positive("low", low), _check_positive("high", high)
    if hi < lo:
        raise ValueError(f"high must be >= low, got low={lo}, high={hi}")

    def _scale(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return x * rng.uniform(lo, hi, size=(len(x), 1)).astype(np.float32)

    return _scale


def noise(std: float = 0.1) -> Augment:
    """Add Gaussian noise N(0, std²) to every feature (std in the data's own units)."""
    s = _check_positive("std", std, allow_zero=True)

    def _noise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return x + rng.normal(0.0, s, size=x.shape).astype(np.float32)

    return _noise


def mixup(alpha: float = 0.4) -> Augment:
    """Mix each row with a random partner of the batch: lam ~ Beta(alpha, alpha), one per batch.

    Returns a :class:`View` whose ``partner`` and ``lam`` tell the training loop how to mix the
    labels; a teacher simply sees the mixed input (function matching needs no labels).
    """
    a = _check_positive("alpha", alpha)

    def _mixup(x: np.ndarray, rng: np.random.Generator) -> View:
        lam = float(rng.beta(a, a))
        partner = rng.permutation(len(x))
        return View((lam * x + (1.0 - lam) * x[partner]).astype(np.float32), partner, lam)

    return _mixup


def compose(*augments: Augment) -> Augment:
    """Apply ``augments`` in order; at most one of them may mix (return a partner)."""
    for a in augments:
        check_augment(a)

    def _compose(x: np.ndarray, rng: np.random.Generator) -> View:
        partner, lam = None, 1.0
        for a in augments:
            view = apply(a, x, rng)
            if view.partner is not None:
                if partner is not None:
                    raise ValueError("compose: at most one augmentation may mix rows (mixup)")
                partner, lam = view.partner, view.lam
            x = view.x
        return View(x, partner, lam)

    return _compose


def for_dataset(dataset: str, *, mix: bool = True) -> Augment:
    """The course's function-matching augmentation: mixup (optional) + shift + scale + noise.

    ``"mnist1d"``: roll by up to 3 samples, amplitude × U(0.9, 1.1), noise std 0.1 (the features
    have std ≈ 1); ``"digits"``: 2-D shift by up to 1 pixel, noise std 0.05 (std ≈ 0.4).
    """
    if dataset == "mnist1d":
        parts = [shift(3), scale(0.9, 1.1), noise(0.1)]
    elif dataset == "digits":
        parts = [shift(1, shape=(8, 8)), noise(0.05)]
    else:
        raise ValueError(f"dataset must be 'mnist1d' or 'digits', got {dataset!r}")
    return compose(*([mixup(0.4)] if mix else []), *parts)

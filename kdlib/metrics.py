"""Framework-neutral metrics: accuracy, agreement, calibration, model size and latency.

Logits / probabilities are NumPy arrays of shape (N, C); labels (N,) integers. Size helpers
accept a torch ``nn.Module`` or a Keras model (duck-typed, so neither framework is imported).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

__all__ = [
    "accuracy",
    "agreement",
    "expected_calibration_error",
    "latency",
    "num_parameters",
    "reliability",
    "size_bytes",
]


def _2d(name: str, a) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, C), got shape {a.shape}")
    return a


def accuracy(logits, labels) -> float:
    """Share of rows whose argmax equals the label. logits (N, C), labels (N,)."""
    z = _2d("logits", logits)
    y = np.asarray(labels)
    if y.shape != (len(z),):
        raise ValueError(f"labels must have shape ({len(z)},), got {y.shape}")
    return float((z.argmax(1) == y).mean())


def agreement(student_logits, teacher_logits) -> float:
    """Share of rows where student and teacher predict the same class (top-1 fidelity)."""
    s, t = _2d("student_logits", student_logits), _2d("teacher_logits", teacher_logits)
    if s.shape != t.shape:
        raise ValueError(f"student_logits and teacher_logits must match, got {s.shape} and {t.shape}")
    return float((s.argmax(1) == t.argmax(1)).mean())


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def reliability(logits, labels, n_bins: int = 15) -> dict[str, np.ndarray]:
    """Per-bin mean confidence, accuracy and count over equal-width confidence bins."""
    if not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    p = _softmax(_2d("logits", logits).astype(np.float64))
    y = np.asarray(labels)
    conf, pred = p.max(1), p.argmax(1)
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(bins, conf, n_bins) / count
        acc = np.bincount(bins, (pred == y).astype(float), n_bins) / count
    edges = np.linspace(0, 1, n_bins + 1)
    return {"confidence": mean_conf, "accuracy": acc, "count": count, "edges": edges}


def expected_calibration_error(logits, labels, n_bins: int = 15) -> float:
    """ECE = Σ_bins (n_bin / N) · |accuracy_bin − confidence_bin| (Guo et al. 2017)."""
    r = reliability(logits, labels, n_bins)
    m = r["count"] > 0
    return float((r["count"][m] / r["count"].sum() * np.abs(r["accuracy"][m] - r["confidence"][m])).sum())


def _weights(model) -> list[np.ndarray]:
    if hasattr(model, "state_dict"):  # torch: parameters and buffers, as saved
        return [t.detach().cpu().numpy() for t in model.state_dict().values() if hasattr(t, "numpy")]
    if hasattr(model, "weights"):  # keras
        return [np.asarray(w) for w in model.weights]
    raise ValueError(f"model must be a torch nn.Module or a Keras model, got {type(model).__name__}")


def num_parameters(model) -> int:
    """Number of trainable parameters of a torch or Keras model."""
    if hasattr(model, "parameters") and callable(model.parameters):
        return int(sum(p.numel() for p in model.parameters() if p.requires_grad))
    if hasattr(model, "trainable_weights"):
        return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
    raise ValueError(f"model must be a torch nn.Module or a Keras model, got {type(model).__name__}")


def size_bytes(model) -> int:
    """Bytes needed to store the model's weights (parameters and buffers) as they are typed."""
    return int(sum(w.nbytes for w in _weights(model)))


def latency(predict: Callable[[np.ndarray], object], x, repeats: int = 20, warmup: int = 3) -> dict[str, float]:
    """Median wall time of ``predict(x)`` over ``repeats`` calls, in ms per batch and per sample."""
    if not callable(predict):
        raise ValueError(f"predict must be callable, got {type(predict).__name__}")
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    for _ in range(warmup):
        predict(x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        predict(x)
        times.append(time.perf_counter() - t0)
    ms = float(np.median(times) * 1e3)
    return {"ms_per_batch": ms, "ms_per_sample": ms / max(len(x), 1), "batch_size": len(x)}

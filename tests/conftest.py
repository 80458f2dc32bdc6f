"""Shared fixtures. Environment set before any framework is imported."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("KERAS_HOME", str(ROOT / ".cache" / "keras"))
os.environ.setdefault("MPLCONFIGDIR", str(ROOT / ".cache" / "matplotlib"))
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402

try:  # tiny models: one intra-op thread is faster than two on a busy 2-core machine
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    pass
import pytest  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def rel_error(a, b) -> float:
    """CS231n-style relative error max |a−b| / max(|a|, |b|, tiny)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-12, np.maximum(np.abs(a), np.abs(b)))))

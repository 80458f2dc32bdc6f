"""Inference helpers of the PyTorch side: seeding, logits, accuracy (same names in kdlib.tf.predict).

Kept apart from :mod:`kdlib.torch.train` so that a notebook grading the training loops can
hide ``train`` (its answer key) and still evaluate models.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from kdlib import _validate as v

__all__ = ["evaluate", "predict_logits", "set_seed"]


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _tensor(x, dtype=torch.float32) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x, dtype=dtype)


def _check_xy(x, y, name_x: str = "x", name_y: str = "y") -> tuple[torch.Tensor, torch.Tensor | None]:
    xt = _tensor(x)
    yt = None if y is None else _tensor(y, torch.int64)
    v.check_xy_shapes(xt.shape, None if yt is None else yt.shape, name_x, name_y)
    return xt, yt


@contextlib.contextmanager
def _frozen(teacher: nn.Module) -> Iterator[nn.Module]:
    """The teacher in eval mode with gradients off for the ``with`` block, then as it was (distill's teacher)."""
    state = teacher.training
    grads = [p.requires_grad for p in teacher.parameters()]
    teacher.eval()
    teacher.requires_grad_(False)
    try:
        yield teacher
    finally:
        teacher.train(state)
        for p, g in zip(teacher.parameters(), grads, strict=True):
            p.requires_grad_(g)


@torch.no_grad()
def predict_logits(model: nn.Module, x, batch_size: int = 4096) -> np.ndarray:
    """Logits (N, C) float32 of ``model`` in eval mode, without gradients."""
    was_training = model.training
    model.eval()
    xt = _tensor(x)
    out = torch.cat([model(xt[i : i + batch_size]) for i in range(0, len(xt), batch_size)])
    model.train(was_training)
    return out.numpy()


def evaluate(model: nn.Module, x, y) -> float:
    """Accuracy of ``model`` on (x, y), in [0, 1]."""
    logits = predict_logits(model, x)
    return float((logits.argmax(1) == np.asarray(y)).mean())

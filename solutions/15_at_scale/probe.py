"""Observations for the hidden checks of 15_at_scale (run in the student's kernel).

The judge sends the inputs (a linear student's weights, each rank's rows); ``ddp`` builds the
student, calls the learner's ``ddp_gradients`` and returns what came back and what happened to the
student. No expected values here.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def _function(ns, name):
    if name not in ns:
        raise NameError(f"{name} is not defined: run the cell that defines it (and keep its name)")
    return ns[name]


def _array(value) -> np.ndarray:
    if torch.is_tensor(value):
        value = value.detach().cpu()
    return np.asarray(value, dtype=np.float64)


def ddp(ns, weight, bias, shards, temperature, alpha):
    """ddp_gradients on an nn.Linear (float64) with ``shards`` = [(x, teacher_logits, labels), ...]."""
    fn = _function(ns, "ddp_gradients")
    w = np.asarray(weight, dtype=np.float64)
    student = nn.Linear(w.shape[1], w.shape[0]).double()
    with torch.no_grad():
        student.weight.copy_(torch.from_numpy(w))
        student.bias.copy_(torch.from_numpy(np.asarray(bias, dtype=np.float64)))
    before = [p.detach().clone() for p in student.parameters()]
    pieces = [
        (
            torch.from_numpy(np.asarray(x, dtype=np.float64)),
            torch.from_numpy(np.asarray(t, dtype=np.float64)),
            torch.from_numpy(np.asarray(y, dtype=np.int64)),
        )
        for x, t, y in shards
    ]
    out = fn(student, pieces, temperature=temperature, alpha=alpha)
    seen = {"type": type(out).__name__}
    if not isinstance(out, (list, tuple)):
        return seen
    seen["grads"] = [_array(g) if g is not None else None for g in out]
    seen["changed"] = not all(torch.equal(a, b) for a, b in zip(before, student.parameters(), strict=True))
    seen["left_grads"] = any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in student.parameters())
    return seen

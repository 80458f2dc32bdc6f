"""Observations for the hidden checks of 09_beyond_logits (run in the student's kernel).

The judge sends the inputs (features, regressor weights, logits); these scenarios build the
torch objects the learner's functions need, call them and return what came back, with the
gradients and whether the inputs were modified. No expected values here.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def _function(ns, name):
    if name not in ns:
        raise NameError(f"{name} is not defined: run the cell that defines it (and keep its name)")
    return ns[name]


def _regressor(weight, bias):
    weight = np.asarray(weight, dtype=np.float32)
    reg = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        reg.weight.copy_(torch.from_numpy(weight))
        if bias is not None:
            reg.bias.copy_(torch.from_numpy(np.asarray(bias, dtype=np.float32)))
    return reg


def _loss(out) -> dict:
    is_tensor = torch.is_tensor(out)
    return {
        "is_tensor": is_tensor,
        "ndim": int(out.ndim) if is_tensor else None,
        "value": float(out.detach().reshape(-1)[0])
        if is_tensor and out.numel() >= 1
        else (float(out) if isinstance(out, (int, float)) else None),
        "type": type(out).__name__,
    }


def hint_value(ns, student, teacher, weight, bias=None):
    """fitnets_hint_loss(student, teacher, Linear(weight, bias)) without gradients."""
    fn = _function(ns, "fitnets_hint_loss")
    s, t = torch.from_numpy(np.asarray(student, np.float32)), torch.from_numpy(np.asarray(teacher, np.float32))
    return _loss(fn(s, t, _regressor(weight, bias)))


def hint_backward(ns, student, teacher, weight, bias):
    """The loss, then .backward(): which inputs got a gradient, and the gradients."""
    fn = _function(ns, "fitnets_hint_loss")
    s = torch.tensor(np.asarray(student, np.float32), requires_grad=True)
    t = torch.tensor(np.asarray(teacher, np.float32), requires_grad=True)
    reg = _regressor(weight, bias)
    out = fn(s, t, reg)
    seen = _loss(out)
    out.backward()
    seen.update(
        teacher_grad=None if t.grad is None else t.grad.numpy(),
        student_grad=None if s.grad is None else s.grad.numpy(),
        weight_grad=None if reg.weight.grad is None else reg.weight.grad.numpy(),
    )
    return seen


def bias_calls(ns, cases):
    """bias_shift_for_share(z, cls, share) for each case: the value, whether it is a Python float,
    and whether z was changed in place."""
    fn = _function(ns, "bias_shift_for_share")
    out = []
    for z, cls, share in cases:
        z = np.array(z, dtype=np.float64)
        before = z.copy()
        try:
            b = fn(z, cls, share)
        except Exception as err:  # noqa: BLE001 - the learner's error is a result
            out.append({"error": f"{type(err).__name__}: {err}"[:500]})
            continue
        try:
            value = float(b)
        except (TypeError, ValueError):
            value = None
        out.append(
            {
                "value": value,
                "is_float": isinstance(b, float),
                "type": type(b).__name__,
                "modified": not np.array_equal(z, before),
            }
        )
    return out

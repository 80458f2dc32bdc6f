"""Observations for the hidden checks of 14_patient_teacher (run in the student's kernel).

The judge sends the inputs (arrays, linear weights, seeds); these scenarios call the learner's
functions and return what came back: the outputs, whether the inputs were modified, what the
teacher and the student were called on, the loss and which parameters got a gradient. No
expected values here.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def _function(ns, name):
    if name not in ns:
        raise NameError(f"{name} is not defined: run the cell that defines it (and keep its name)")
    return ns[name]


def mixup(ns, x, y, lam, partner, num_classes):
    """mixup_batch(...) on copies; the outputs and whether x was modified in place."""
    fn = _function(ns, "mixup_batch")
    xa = np.array(x, dtype=np.float32)
    before = xa.copy()
    out = fn(xa, np.array(y), float(lam), np.array(partner), int(num_classes))
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        return {"pair": False, "type": type(out).__name__}
    x_mix, targets = (np.asarray(o.detach() if torch.is_tensor(o) else o, dtype=np.float64) for o in out)
    return {"pair": True, "x_mix": x_mix, "targets": targets, "modified": bool(not np.array_equal(xa, before))}


class _Recorder(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net, self.seen = net, []

    def forward(self, x):
        self.seen.append(x.detach().clone().numpy().astype(np.float64))
        return self.net(x)


def _linear(weight, bias) -> nn.Linear:
    w = np.asarray(weight, dtype=np.float32)
    lin = nn.Linear(w.shape[1], w.shape[0])
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(w))
        lin.bias.copy_(torch.from_numpy(np.asarray(bias, dtype=np.float32)))
    return lin


def _roll_noise(shift: int, std: float):
    """The augmentation the judge replays: roll by a drawn 0..shift, then Gaussian noise."""

    def augment(a, rng):
        k = int(rng.integers(0, shift + 1))
        return (np.roll(a, k, axis=1) + rng.normal(0.0, std, a.shape)).astype(np.float32)

    return augment


def consistent(ns, x, ws, bs, wt, bt, seed, temperature, shift=2, std=0.5):
    """consistent_step with recording linear models; inputs seen, loss, gradients."""
    fn = _function(ns, "consistent_step")
    student, teacher = _Recorder(_linear(ws, bs)), _Recorder(_linear(wt, bt))
    xb = torch.from_numpy(np.asarray(x, dtype=np.float32))
    loss = fn(student, teacher, xb, _roll_noise(shift, std), np.random.default_rng(seed), temperature=temperature)
    seen = {
        "student_seen": student.seen,
        "teacher_seen": teacher.seen,
        "is_tensor": bool(torch.is_tensor(loss)),
        "ndim": int(loss.ndim) if torch.is_tensor(loss) else None,
        "type": type(loss).__name__,
    }
    if not (torch.is_tensor(loss) and loss.numel() == 1):
        return seen
    seen["loss"] = float(loss.detach().reshape(-1)[0])
    if loss.requires_grad:
        loss.reshape(()).backward()
    seen["teacher_grad"] = teacher.net.weight.grad is not None and bool(teacher.net.weight.grad.abs().sum() > 0)
    seen["student_grad"] = student.net.weight.grad is not None and bool(student.net.weight.grad.abs().sum() > 0)
    return seen

"""Observations for the hidden checks of 13_self_ensemble (run in the student's kernel).

The judge sends the inputs (logits, labels, training data); these scenarios build the torch
objects the learner's functions need, call them and return what came back (values, shapes,
gradients, the logits of each born-again generation). No expected values here.
"""

from __future__ import annotations

import numpy as np
import torch


def _function(ns, name):
    if name not in ns:
        raise NameError(f"{name} is not defined: run the cell that defines it (and keep its name)")
    return ns[name]


def _error(err: Exception) -> dict:
    return {"error": f"{type(err).__name__}: {err}"[:500]}


def _tensor_out(out) -> dict:
    if not torch.is_tensor(out):
        return {"is_tensor": False, "type": type(out).__name__}
    return {"is_tensor": True, "shape": list(out.shape), "value": out.detach().double().numpy()}


def average_calls(ns, cases):
    """average_logits(list of float64 tensors, space) for each (logits list, space) case."""
    fn = _function(ns, "average_logits")
    out = []
    for zs, space in cases:
        tensors = [torch.tensor(np.asarray(z, dtype=np.float64)) for z in zs]
        try:
            out.append(_tensor_out(fn(tensors, space)))
        except Exception as err:  # noqa: BLE001 - the learner's error is a result
            out.append(_error(err))
    return out


def smoothing_calls(ns, cases):
    """smoothed_cross_entropy(z, y, eps) for each case, with the gradient w.r.t. z."""
    fn = _function(ns, "smoothed_cross_entropy")
    out = []
    for z, y, eps in cases:
        zt = torch.tensor(np.asarray(z, dtype=np.float64), requires_grad=True)
        yt = torch.tensor(np.asarray(y, dtype=np.int64))
        try:
            loss = fn(zt, yt, eps)
        except Exception as err:  # noqa: BLE001
            out.append(_error(err))
            continue
        seen = _tensor_out(loss)
        seen["grad"] = None
        if seen["is_tensor"] and loss.ndim == 0 and loss.requires_grad:
            loss.backward()
            seen["grad"] = None if zt.grad is None else zt.grad.numpy()
        out.append(seen)
    return out


def born_again_run(ns, x, y, generations, epochs, lr, batch_size, seed, num_classes, arch="student-small"):
    """born_again(build, x, y, ...) with build(s) = kd.build_model(arch, F, C, seed=s); the logits
    of every returned network on x, and whether they are distinct objects."""
    from kdlib.torch import build_model, predict_logits

    fn = _function(ns, "born_again")
    x, y = np.asarray(x, np.float32), np.asarray(y, np.int64)
    f, c = x.shape[1], int(num_classes)

    def build(s):
        return build_model(arch, f, c, seed=s)

    models = fn(build, x, y, generations, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    if not isinstance(models, (list, tuple)):
        return {"is_list": False, "type": type(models).__name__}
    logits = []
    for m in models:
        try:
            logits.append(predict_logits(m, x))
        except Exception as err:  # noqa: BLE001 - not a model
            return {"is_list": True, "n": len(models), "error": f"{type(err).__name__}: {err}"[:300]}
    return {"is_list": True, "n": len(models), "distinct": len({id(m) for m in models}), "logits": logits}

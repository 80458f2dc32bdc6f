"""Observations for the hidden checks of 07_compression (run in the student's kernel).

Each scenario builds the small models of its test cell, calls the notebook's ``measure`` /
``compare`` on them and returns what came back (plain data). No expected values here: the
judge computes them itself from the same models.
"""

from __future__ import annotations

import copy
import time

import torch
from torch import nn

KEYS = ("accuracy", "nonzero_params", "size_bytes", "ms_batch1", "ms_per_sample")


def _known():
    known = nn.Linear(2, 2)
    with torch.no_grad():
        known.weight.copy_(torch.tensor([[1.0, 0.0], [0.5, 1.0]]))
        known.bias.copy_(torch.tensor([0.25, -0.5]))
    return known


def _observe(fn, *args, **kwargs):
    """What one call returned: its dict's keys, values and which values are Python floats."""
    try:
        out = fn(*args, **kwargs)
    except Exception as err:  # noqa: BLE001 - the learner's error is a result
        return {"error": f"{type(err).__name__}: {err}"[:500]}
    if not isinstance(out, dict):
        return {"type": type(out).__name__}
    values = {}
    for k in KEYS:
        if k in out:
            v = out[k]
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                values[k] = v
            elif hasattr(v, "item") and getattr(v, "ndim", 1) == 0:
                values[k] = v.item()
            else:
                values[k] = type(v).__name__
    return {
        "type": "dict",
        "keys": [str(k) for k in out],
        "values": values,
        "is_float": {k: isinstance(out[k], float) for k in KEYS if k in out},
        "is_int": {k: isinstance(out[k], int) and not isinstance(out[k], bool) for k in KEYS if k in out},
    }


class Slow(nn.Module):
    """Every call takes 20 ms, whatever the batch size."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)

    def forward(self, x):
        time.sleep(0.02)
        return self.lin(x)


def measure_cases(ns):
    """measure on: the hand-made Linear, a dropout model left in training mode, its quantized
    copy, a model with BatchNorm buffers, and a 20 ms-per-call model."""
    from torch.ao.quantization import quantize_dynamic

    measure = ns["measure"]
    torch.manual_seed(0)
    known = _known()
    xk = torch.tensor([[3.0, 1.0], [0.0, 2.0], [1.0, 1.2], [2.0, 0.0]])
    yk = torch.tensor([0, 1, 1, 1])
    out = {"known": _observe(measure, known, xk, yk)}
    torch.manual_seed(7)
    drop = nn.Sequential(nn.Dropout(0.9), nn.Linear(2, 2))
    with torch.no_grad():
        drop[1].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        drop[1].bias.zero_()
    xd = torch.rand(400, 2) + torch.tensor([[0.0, 0.05]])
    yd = xd.argmax(1)
    drop.train()
    out["dropout"] = _observe(measure, drop, xd, yd)
    q = quantize_dynamic(copy.deepcopy(_known()), {nn.Linear}, dtype=torch.qint8)
    out["quantized"] = _observe(measure, q, xk, yk)
    torch.manual_seed(0)
    bn = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    out["batchnorm"] = _observe(measure, bn, xk, yk)
    torch.manual_seed(0)
    out["slow"] = _observe(measure, Slow(), torch.rand(10, 2), torch.zeros(10, dtype=torch.long))
    return out


def compare_calls(ns, results, calls):
    """compare(results, **kw) for each kw in calls (on one shared input), then the input as it is after."""
    compare = ns["compare"]
    got = []
    for kw in calls:
        try:
            got.append({"ok": compare(results, **kw)})
        except Exception as err:  # noqa: BLE001
            got.append({"error": f"{type(err).__name__}: {err}"[:500]})
    return {"calls": got, "results_after": results}

"""Sandbox-side observations for 02_soft_targets (see kdlib.grading.kernel.probe).

Runs in the student's kernel with the notebook's namespace ``ns``; returns plain data only and
holds no expected values.
"""

from __future__ import annotations

import numpy as np


def input_after_call(ns, logits, T):
    """Call softmax_with_temperature(logits, T) on a fresh array; return that array afterwards.

    The judge compares it with what it sent, to see whether the function changed its input.
    """
    fn = ns.get("softmax_with_temperature")
    if fn is None:
        return None  # the judge's own call of the function reports the missing name
    z = np.array(logits, dtype=np.float64)
    fn(z, T)
    return z

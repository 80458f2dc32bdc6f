"""Born-again networks (Furlanello et al. 2018), once for both frameworks.

Framework-neutral: the generations loop calls the framework's own ``fit`` and ``distill``
(``kdlib.torch.train`` / ``kdlib.tf.train``), which ``kdlib.torch.methods.born_again`` and
``kdlib.tf.methods.born_again`` pass in. Part of notebook 13's answer key (hidden while it is graded).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kdlib import options

__all__ = ["born_again"]


@options.takes("temperature", "alpha", "epochs", "lr", "batch_size", "seed", "progress", epochs=60, lr=3e-3)
def born_again(
    build: Callable[[int], Any],
    x,
    y,
    generations: int,
    *,
    fit: Callable[..., Any],
    distill: Callable[..., Any],
    opts: options.Options,
) -> list:
    """``[gen 0, gen 1, ..., gen G]``: gen 0 ``fit`` on the labels, gen g ≥ 1 ``distill``-ed from gen g − 1.

    ``temperature`` and ``alpha`` are the kd_loss's; ``epochs``, ``lr``, ``batch_size`` and
    ``progress`` go to every ``fit``/``distill``. Every generation is ``build(seed + g)`` (a fresh
    network of the same architecture) trained ``epochs`` epochs on the same x (N, F), y (N,); the
    fair control is one network trained ``(generations + 1) · epochs`` epochs from the labels.
    """
    if not isinstance(generations, int) or isinstance(generations, bool) or generations < 0:
        raise ValueError(f"generations must be an integer >= 0, got {generations!r}")
    if not callable(build):
        raise ValueError(f"build must be a callable seed -> model, got {build!r}")
    common = {"epochs": opts.epochs, "lr": opts.lr, "batch_size": opts.batch_size, "progress": opts.progress}
    kd = {"temperature": opts.temperature, "alpha": opts.alpha}
    seed = opts.seed
    model = build(seed)
    fit(model, x, y, seed=seed, desc="born-again gen 0", **common)
    out = [model]
    for g in range(1, generations + 1):
        model = build(seed + g)
        distill(model, out[-1], x, y, seed=seed + g, desc=f"born-again gen {g}", **kd, **common)
        out.append(model)
    return out

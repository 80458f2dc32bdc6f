"""Training loops in PyTorch: train from labels, distil from a frozen teacher, evaluate.

Mirrors kdlib.tf.train (same function and argument names). Inputs are NumPy arrays or
tensors: features x (N, F) float32, labels y (N,) int64. Loops are plain PyTorch (no
DataLoader: the data sets fit in memory and index-slicing is several times faster here).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kdlib import _validate as v
from kdlib import augment as aug
from kdlib import loops
from kdlib.history import History
from kdlib.torch.predict import _check_xy, evaluate, predict_logits, set_seed

__all__ = ["History", "distill", "evaluate", "fit", "predict_logits", "set_seed"]


def fit(
    model: nn.Module,
    x,
    y,
    *,
    epochs: int = 30,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
    x_val=None,
    y_val=None,
    progress: bool | None = None,
    desc: str = "fit",
    label_smoothing: float = 0.0,
    augment: aug.Augment | None = None,
) -> History:
    """Train ``model`` on labels with cross-entropy and Adam; returns the per-epoch History.

    ``label_smoothing`` ε: the targets are (1 − ε)·onehot(y) + ε/C (``F.cross_entropy``'s own).

    ``augment`` (a :mod:`kdlib.augment` callable): every batch is augmented once, drawn from
    ``numpy.random.default_rng(seed)`` (batch order too); after mixup the loss is
    lam · CE(y) + (1 − lam) · CE(y_partner). The fair control for ``distill(..., augment=)``.
    """
    v.check_loop_args(epochs, batch_size, lr)
    aug.check_augment(augment)
    xt, yt = _check_xy(x, y)
    ok = isinstance(label_smoothing, (int, float)) and not isinstance(label_smoothing, bool)
    if not (ok and 0 <= label_smoothing <= 1):
        raise ValueError(f"label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    set_seed(seed)
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    hist = History()
    with loops.epoch_bar(epochs, desc, progress) as bar:
        for _ in range(epochs):
            t0 = time.perf_counter()
            model.train()
            total, n = 0.0, 0
            for idx, xb, yp, lam in _batches(xt, batch_size, gen, augment, rng):
                out = model(xb)
                loss = F.cross_entropy(out, yt[idx], label_smoothing=label_smoothing)
                if yp is not None:  # mixup: the labels are mixed like the inputs
                    loss = lam * loss + (1.0 - lam) * F.cross_entropy(out, yt[idx][yp], label_smoothing=label_smoothing)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
                n += len(idx)
            _end_epoch(hist, model, total / n, t0, x_val, y_val, bar)
    return hist


def _batches(xt: torch.Tensor, batch_size: int, gen, augment, rng):
    """Yield (idx, x batch, mixup partner or None, lam) for one epoch.

    Without ``augment``: torch.randperm(generator=gen) order, clean batches. With it: the order
    is ``rng.permutation`` and each batch is augmented once with the same ``rng`` (reproducible
    from the seed, and the same draws on both frameworks).
    """
    if augment is None:
        for idx in torch.randperm(len(xt), generator=gen).split(batch_size):
            yield idx, xt[idx], None, 1.0
        return
    order = torch.from_numpy(rng.permutation(len(xt)))
    for idx in order.split(batch_size):
        view = aug.apply(augment, xt[idx].numpy(), rng)
        partner = None if view.partner is None else torch.from_numpy(view.partner)
        yield idx, torch.from_numpy(view.x), partner, view.lam


def _end_epoch(hist: History, model, loss: float, t0: float, x_val, y_val, bar) -> None:
    val = evaluate(model, x_val, y_val) if x_val is not None else None
    loops.record_epoch(hist, bar, loss, time.perf_counter() - t0, val)


def distill(
    student: nn.Module,
    teacher: nn.Module,
    x,
    y=None,
    *,
    x_unlabeled=None,
    temperature: float = 4.0,
    alpha: float = 0.9,
    epochs: int = 30,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
    cache_teacher: bool = True,
    x_val=None,
    y_val=None,
    progress: bool | None = None,
    desc: str = "distill",
    augment: aug.Augment | None = None,
) -> History:
    """Distil ``student`` from a frozen ``teacher`` on the transfer set x (+ x_unlabeled).

    Loss per batch = ``kd_loss(student, teacher, labels, T, alpha, ignore_index=-1)`` (the loss
    contract): alpha · distillation_loss(all inputs) + (1 − alpha) · CE(labeled inputs).
    With ``y=None`` every input is unlabeled and the loss is the soft term alone.
    The teacher stays in eval mode with gradients off and is never stepped; its logits are
    computed once for the whole transfer set when ``cache_teacher`` (the default), else every
    batch (same result for a deterministic teacher, slower).

    ``augment`` (a :mod:`kdlib.augment` callable) makes it function matching (Beyer et al. 2022):
    each batch is augmented once and the teacher and the student see the SAME view, so the
    teacher runs on every batch and ``cache_teacher`` is ignored (no cache can hold logits of
    views drawn afresh every epoch: ≈ one teacher forward pass per student step more).
    After mixup the hard term is lam · CE(y) + (1 − lam) · CE(y_partner) (unlabeled rows, -1,
    drop out of each CE); the soft term needs no labels.
    """
    # imported here, not at the top: fit() must work in a graded notebook that hides the losses
    from kdlib.torch.losses import kd_loss

    v.check_loop_args(epochs, batch_size, lr)
    t = v.check_temperature(temperature)
    a = v.check_alpha(alpha)
    aug.check_augment(augment)
    xa, ya = loops.transfer_set(x, y, x_unlabeled)
    xt, yt = torch.from_numpy(xa), torch.from_numpy(ya)
    if augment is not None:
        cache_teacher = False  # a fresh view every batch: the teacher must see it (no cache)
    rng = np.random.default_rng(seed)

    set_seed(seed)
    teacher_state = teacher.training
    teacher.eval()
    grads = [p.requires_grad for p in teacher.parameters()]
    teacher.requires_grad_(False)
    teacher_logits = torch.from_numpy(predict_logits(teacher, xt)) if cache_teacher else None
    opt = torch.optim.Adam(student.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    hist = History()
    try:
        with loops.epoch_bar(epochs, desc, progress) as bar:
            for _ in range(epochs):
                t0 = time.perf_counter()
                student.train()
                total, n = 0.0, 0
                for idx, xb, yp, lam in _batches(xt, batch_size, gen, augment, rng):
                    if teacher_logits is not None:
                        tl = teacher_logits[idx]
                    else:
                        with torch.no_grad():
                            tl = teacher(xb)
                    s = student(xb)
                    loss = kd_loss(s, tl, yt[idx], t, a, ignore_index=loops.UNLABELLED)  # the contract's masked loss
                    if yp is not None:  # mixup: same soft term, hard term on the partners' labels
                        lp = kd_loss(s, tl, yt[idx][yp], t, a, ignore_index=loops.UNLABELLED)
                        loss = lam * loss + (1.0 - lam) * lp
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    total += loss.item() * len(idx)
                    n += len(idx)
                _end_epoch(hist, student, total / n, t0, x_val, y_val, bar)
    finally:
        teacher.train(teacher_state)
        for p, g in zip(teacher.parameters(), grads, strict=True):
            p.requires_grad_(g)
    return hist

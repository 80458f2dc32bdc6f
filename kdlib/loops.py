"""The framework-neutral pieces of kdlib's training loops (as Keras keeps ``backend/common/``).

``kdlib.torch.train`` and ``kdlib.tf.train`` differ only in how they step a model; what is the
same on both sides lives here: the progress bar, the transfer set of ``distill`` (labelled rows,
then unlabelled ones marked -1, with one error message), and the end-of-epoch bookkeeping.
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from kdlib import _validate as v
from kdlib.history import History

__all__ = ["UNLABELLED", "epoch_bar", "record_epoch", "transfer_set"]

#: the label of an unlabelled transfer input: ``kd_loss(..., ignore_index=UNLABELLED)``
UNLABELLED = -1


def epoch_bar(total: int, desc: str, progress: bool | None) -> tqdm:
    """A tqdm.auto bar over epochs; ``progress=None`` lets tqdm hide it off a terminal or notebook."""
    return tqdm(total=total, desc=desc, unit="epoch", leave=False, disable=None if progress is None else not progress)


def _numpy(a, dtype) -> np.ndarray:
    """A NumPy copy of an array, a torch tensor or a tf tensor."""
    if hasattr(a, "detach"):
        a = a.detach()
    if hasattr(a, "numpy") and not isinstance(a, np.ndarray):
        a = a.numpy()
    return np.asarray(a, dtype=dtype)


def transfer_set(x, y, x_unlabeled) -> tuple[np.ndarray, np.ndarray]:
    """``distill``'s inputs as one set: features (N, F) float32 and labels (N,) int64, -1 = unlabelled.

    ``y=None`` marks every row of ``x`` unlabelled; ``x_unlabeled`` (M, F) rows come after x's.
    """
    xa = _numpy(x, np.float32)
    ya = None if y is None else _numpy(y, np.int64)
    v.check_xy_shapes(xa.shape, None if ya is None else ya.shape)
    if ya is None:
        ya = np.full(len(xa), UNLABELLED, dtype=np.int64)
    if x_unlabeled is not None and len(x_unlabeled):
        xu = _numpy(x_unlabeled, np.float32)
        v.check_xy_shapes(xu.shape, None, "x_unlabeled")
        if xu.shape[1] != xa.shape[1]:
            raise ValueError(f"x_unlabeled must have {xa.shape[1]} features like x, got {xu.shape[1]}")
        xa = np.concatenate([xa, xu])
        ya = np.concatenate([ya, np.full(len(xu), UNLABELLED, dtype=np.int64)])
    return xa, ya


def record_epoch(hist: History, bar: tqdm, loss: float, seconds: float, val_accuracy: float | None = None) -> None:
    """Append one epoch to ``hist`` and show its loss (and validation accuracy) on ``bar``."""
    hist.loss.append(float(loss))
    hist.seconds.append(seconds)
    post = {"loss": f"{loss:.3f}"}
    if val_accuracy is not None:
        hist.val_accuracy.append(val_accuracy)
        post["val_acc"] = f"{val_accuracy:.3f}"
    bar.set_postfix(post)
    bar.update()

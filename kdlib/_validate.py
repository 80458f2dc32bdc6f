"""Argument checks shared by every implementation of the loss contract.

The checks work on shapes and plain Python values so that NumPy, PyTorch and TensorFlow
raise the *same* ``ValueError`` messages. Each framework computes the few facts that need the
data (is every value finite? smallest and largest label?) and passes them in.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence


def check_temperature(temperature: float) -> float:
    """Return ``temperature`` as a float; it must be a finite number > 0."""
    try:
        t = float(temperature)
    except (TypeError, ValueError):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}") from None
    if not math.isfinite(t) or t <= 0:
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    return t


def check_alpha(alpha: float) -> float:
    """Return ``alpha`` as a float; it must lie in [0, 1]."""
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}") from None
    if not (0.0 <= a <= 1.0):  # also rejects NaN
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")
    return a


def check_logits_shape(name: str, shape: Sequence[int]) -> None:
    """Logits must be 2-D: (batch, num_classes) with at least one class."""
    shape = tuple(shape)
    if len(shape) != 2:
        raise ValueError(f"{name} must be 2-D with shape (batch, num_classes), got shape {shape}")
    if shape[1] is not None and shape[1] < 1:
        raise ValueError(f"{name} must have at least one class, got shape {shape}")


def check_pair(student_shape: Sequence[int], teacher_shape: Sequence[int]) -> None:
    """Student and teacher logits: both 2-D and of the same shape."""
    check_logits_shape("student_logits", student_shape)
    check_logits_shape("teacher_logits", teacher_shape)
    if tuple(student_shape) != tuple(teacher_shape):
        raise ValueError(
            "student_logits and teacher_logits must have the same shape (batch, num_classes), "
            f"got {tuple(student_shape)} and {tuple(teacher_shape)}"
        )


def check_finite(name: str, all_finite: bool) -> None:
    """Raise if ``name`` holds NaN or infinity."""
    if not all_finite:
        raise ValueError(f"{name} must be finite (no NaN or inf)")


def check_labels(
    labels_shape: Sequence[int],
    is_integer: bool,
    min_label: int | None,
    max_label: int | None,
    batch: int,
    num_classes: int,
    ignore_index: int | None = None,
) -> None:
    """Labels: 1-D integer class indices, one per row of the logits, in [0, num_classes).

    With ``ignore_index`` (e.g. -1 for unlabelled rows), that value is allowed too; the range
    check then covers the other labels (callers pass min/max over the non-ignored ones).
    """
    labels_shape = tuple(labels_shape)
    if len(labels_shape) != 1 or labels_shape[0] != batch:
        raise ValueError(
            f"labels must be a 1-D array of {batch} class indices (one per row of the logits), got shape {labels_shape}"
        )
    if not is_integer:
        raise ValueError("labels must hold integer class indices, got a non-integer dtype")
    if min_label is not None and max_label is not None and (min_label < 0 or max_label >= num_classes):
        also = f" (or {ignore_index} for an unlabelled row)" if ignore_index is not None else ""
        raise ValueError(
            f"labels must lie in [0, {num_classes}) for {num_classes} classes{also}, "
            f"got values from {min_label} to {max_label}"
        )


def check_weight(name: str, value) -> float:
    """A loss weight such as DKD's alpha and beta: a finite number >= 0."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_features(name: str, shape: Sequence[int], finite: bool) -> None:
    """Hidden features for feature distillation: 2-D (batch, features), finite."""
    if len(tuple(shape)) != 2:
        raise ValueError(f"{name} must be 2-D (batch, features), got shape {tuple(shape)}")
    if not finite:
        raise ValueError(f"{name} must be finite (no NaN or inf)")


def check_ignore_index(ignore_index) -> int | None:
    """``ignore_index``: None or a negative int (a class index would silently drop a class)."""
    if ignore_index is None:
        return None
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int) or ignore_index >= 0:
        raise ValueError(f"ignore_index must be None or a negative integer such as -1, got {ignore_index!r}")
    return ignore_index


def check_loop_args(epochs: int, batch_size: int, lr: float) -> None:
    """Training-loop arguments shared by kdlib.torch.train and kdlib.tf.train."""
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a number > 0, got {lr!r}")


def check_seed(seed) -> int:
    """A random seed: an integer >= 0 (NumPy's generators take no other), returned as an int."""
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_cache_teacher(cache_teacher) -> bool:
    """``distill``'s ``cache_teacher``: True or False."""
    if not isinstance(cache_teacher, bool):
        raise ValueError(f"cache_teacher must be True or False, got {cache_teacher!r}")
    return cache_teacher


def check_label_smoothing(label_smoothing) -> float:
    """``fit``'s ``label_smoothing`` ε: a number in [0, 1], returned as a float."""
    ok = isinstance(label_smoothing, numbers.Real) and not isinstance(label_smoothing, bool)
    if not (ok and 0 <= label_smoothing <= 1):
        raise ValueError(f"label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    return float(label_smoothing)


def check_top_k(top_k, kind: str, loss_fn) -> None:
    """``distill_lm``'s ``top_k`` (a top-k cache) goes with the forward KL only, and no ``loss_fn``."""
    if top_k is not None and (loss_fn is not None or kind != "forward"):
        raise ValueError("top_k works with the forward KL only (kind='forward', no loss_fn)")


def check_xy_shapes(
    x_shape: Sequence[int], y_shape: Sequence[int] | None, name_x: str = "x", name_y: str = "y"
) -> None:
    """Features (N, F) with N > 0; labels, if given, (N,)."""
    x_shape = tuple(x_shape)
    if len(x_shape) != 2 or x_shape[0] == 0:
        raise ValueError(f"{name_x} must be a non-empty 2-D array (N, F), got shape {x_shape}")
    if y_shape is not None and tuple(y_shape) != (x_shape[0],):
        raise ValueError(f"{name_y} must have shape ({x_shape[0]},) to match {name_x}, got {tuple(y_shape)}")

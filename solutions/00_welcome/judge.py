"""Hidden check of 00_welcome, decided outside the student's kernel (see kdlib.grading.judge).

The warm-up ``default_num_classes()`` is called once in the sandbox; the expected number of
classes is counted here from kdlib's default data set. Nothing in kdlib implements the
exercise itself (it uses ``kdlib.load_dataset``, which the notebook needs), so the answer key
is empty.
"""

from __future__ import annotations

import numpy as np

from kdlib import load_dataset
from kdlib.grading.judge import Judge, expect

judge = Judge("00_welcome", answer_key=[], demos=["picture", "env-check", "torch-check", "data-check", "data-plot"])


def _type_name(value) -> str:
    if getattr(value, "kind", None) == "numpy":
        return f"numpy.{value.dtype}" if value.shape == () else f"a NumPy array of shape {value.shape}"
    if getattr(value, "kind", None) in ("torch", "tf"):
        return f"a {value.kind} tensor"
    return type(value).__name__


@judge.check("test_default_num_classes")
def default_num_classes(ask):
    (n,) = yield [ask.call("default_num_classes")]
    expect(n is not None, "default_num_classes() returned None: did you forget the return statement?")
    python_int = isinstance(n, int) and not isinstance(n, bool)  # a NumPy integer arrives as a 0-d array
    expect(
        python_int,
        f"default_num_classes() must return a Python int, got {_type_name(n)}: wrap the result in int(...)",
    )
    expect(n > 1, f"a classification data set has at least 2 classes, got {n}")
    ds = load_dataset()  # the default data set, loaded here on the trusted side
    want = len(np.unique(ds.y_train))
    num_examples, largest_label = len(ds.y_train), int(ds.y_train.max())
    expect(
        n != num_examples,
        f"default_num_classes() returned {n}, the number of training examples: count the distinct labels "
        "(np.unique), not the labels",
    )
    expect(
        n != largest_label,
        f"default_num_classes() returned {n}, the largest label: the labels start at 0, so count the distinct "
        "labels (np.unique) instead",
    )
    expect(
        n == want,
        f"default_num_classes() returned {n}, but the training labels of the default data set hold "
        f"{want} distinct classes",
    )
    expect(n == ds.num_classes, f"default_num_classes() returned {n}, expected {ds.num_classes}")

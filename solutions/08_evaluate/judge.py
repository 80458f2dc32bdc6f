"""Hidden checks of 08_evaluate, decided outside the student's kernel (see kdlib.grading.judge).

``evaluate_student`` and ``confusion_matrix`` are plain functions of NumPy arrays: each check
sends the arrays of its test cell (and fresh ones), and compares what comes back with
``kdlib.metrics`` (accuracy, agreement, ECE) and a direct count computed here. The learner is
told to use ``kdlib.metrics`` and nothing in kdlib implements ``confusion_matrix``, so the answer
key is empty.
"""

from __future__ import annotations

import numpy as np

from kdlib import metrics
from kdlib.grading.judge import Judge, expect

judge = Judge(
    "08_evaluate", answer_key=[], demos=["data", "train", "eval-table", "reliability", "cm-plot", "sweep", "heatmap"]
)

KEYS = {"accuracy", "agreement", "ece"}


def _is_float(v) -> bool:
    """A Python float, or a NumPy float64 scalar (a float subclass in the kernel)."""
    if isinstance(v, float):
        return True
    return (
        isinstance(v, np.ndarray) and getattr(v, "kind", "numpy") == "numpy" and v.shape == () and v.dtype == np.float64
    )


def _out(out) -> dict:
    expect(
        isinstance(out, dict) and set(out) == KEYS,
        f"evaluate_student must return a dict with exactly the keys accuracy, agreement, ece; got {out!r}"[:600],
    )
    return out


def _num(out: dict, key: str) -> float:
    v = out[key]
    try:
        return float(np.asarray(v, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        expect(False, f"{key} must be a number, got {type(v).__name__}")
    return float("nan")


def _agreement_hint(got: float, s, t, y) -> str:
    if abs(got - metrics.accuracy(s, y)) < 1e-12 and abs(got - metrics.agreement(s, t)) > 1e-12:
        return ": agreement is computed against the labels; compare the student's argmax with the teacher's"
    return ": agreement compares the student with the teacher, not with the labels"


@judge.check("test_evaluate_hand")
def evaluate_hand(ask):
    s, t = np.zeros((4, 3)), np.zeros((4, 3))  # the visible test's hand-made case
    s[[0, 1, 2, 3], [0, 1, 1, 2]] = 5.0  # predicts 0, 1, 1, 2
    t[[0, 1, 2, 3], [0, 0, 1, 1]] = 5.0  # predicts 0, 0, 1, 1
    y = np.array([0, 1, 2, 2])
    (out,) = yield [ask.call("evaluate_student", s, t, y)]
    out = _out(out)
    acc, agr = _num(out, "accuracy"), _num(out, "agreement")
    expect(abs(acc - 0.75) < 1e-9, f"accuracy should be 3/4 (rows 0, 1 and 3 are right), got {acc}")
    expect(
        abs(agr - 0.5) < 1e-9,
        f"agreement should be 2/4 (student and teacher argmax match on rows 0 and 2), "
        f"got {agr}{_agreement_hint(agr, s, t, y)}",
    )


@judge.check("test_evaluate_reference")
def evaluate_reference(ask):
    gen = np.random.default_rng(1)  # the visible test's random case
    s = gen.normal(0, 2, (200, 10))
    t = gen.normal(0, 2, (200, 10))
    y = gen.integers(0, 10, 200)
    s2 = s * 5  # sharper logits: same predictions, different calibration
    rng = np.random.default_rng(81)
    s3, t3 = rng.normal(0, 3, (300, 7)), rng.normal(0, 3, (300, 7))
    y3 = rng.integers(0, 7, 300)
    got = yield [
        ask.call("evaluate_student", s, t, y),
        ask.call("evaluate_student", s2, t, y),
        ask.call("evaluate_student", s3, t3, y3),
    ]
    out = _out(got[0])
    for key in ("accuracy", "agreement", "ece"):
        expect(
            _is_float(out[key]),
            f"{key} must be a Python float, got {getattr(out[key], 'dtype', None) or type(out[key]).__name__}",
        )
    ece = metrics.expected_calibration_error(s, y)
    expect(
        abs(_num(out, "ece") - ece) < 1e-9,
        f"ece {_num(out, 'ece'):.4f} differs from expected_calibration_error(student_logits, labels) = {ece:.4f}: "
        "use the student's logits, the labels and 15 bins",
    )
    for (a, b, c), o in [((s, t, y), out), ((s2, t, y), _out(got[1])), ((s3, t3, y3), _out(got[2]))]:
        acc, agr = _num(o, "accuracy"), _num(o, "agreement")
        expect(
            abs(acc - metrics.accuracy(a, c)) < 1e-12,
            f"accuracy {acc:.4f} differs from kdlib.metrics.accuracy = {metrics.accuracy(a, c):.4f}",
        )
        expect(
            abs(agr - metrics.agreement(a, b)) < 1e-12,
            f"agreement {agr:.4f} differs from kdlib.metrics.agreement = {metrics.agreement(a, b):.4f}"
            + _agreement_hint(agr, a, b, c),
        )
        want = metrics.expected_calibration_error(a, c)
        expect(
            abs(_num(o, "ece") - want) < 1e-9,
            f"ece {_num(o, 'ece'):.4f} differs from "
            f"expected_calibration_error(student_logits, labels) = {want:.4f}: ece must use the student logits",
        )
    expect(
        abs(_num(_out(got[1]), "accuracy") - _num(out, "accuracy")) < 1e-12,
        "sharper logits (×5) predict the same classes: the accuracy must not change",
    )


def _count(pred, labels, num_classes) -> np.ndarray:
    m = np.zeros((num_classes, num_classes), np.int64)
    for a, b in zip(labels, pred, strict=True):
        m[a, b] += 1
    return m


def _matrix(got, want: np.ndarray, what: str) -> np.ndarray:
    try:
        m = np.asarray(got)
    except (TypeError, ValueError):
        m = np.asarray(None)
    expect(m.shape == want.shape, f"{what}: shape must be (num_classes, num_classes) = {want.shape}, got {m.shape}")
    expect(
        not np.array_equal(m, want.T) or np.array_equal(m, want),
        f"{what}: the matrix is transposed: rows must be the true class, columns the predicted class",
    )
    return m


@judge.check("test_confusion_hand")
def confusion_hand(ask):
    predicted, labels = np.array([0, 1, 1, 2, 2, 2]), np.array([0, 0, 1, 2, 2, 1])
    (got,) = yield [ask.call("confusion_matrix", predicted, labels, 3)]
    expected = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 2]])
    m = _matrix(got, expected, "the hand-made case")
    expect(np.array_equal(m, expected), f"expected\n{expected}\ngot\n{m}")
    expect(np.issubdtype(m.dtype, np.integer), f"counts must be integers, got dtype {m.dtype}")


@judge.check("test_confusion_reference")
def confusion_reference(ask):
    rng = np.random.default_rng(7)
    p, t = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
    rng = np.random.default_rng(71)
    p2, t2 = rng.integers(0, 4, 60), rng.integers(1, 6, 60)  # class 0 never true, 4-5 never predicted
    one, big, skew = yield [
        ask.call("confusion_matrix", np.array([1, 1]), np.array([1, 1]), 4),
        ask.call("confusion_matrix", p, t, 10),
        ask.call("confusion_matrix", p2, t2, 6),
    ]
    m = np.asarray(one)
    expect(
        m.shape == (4, 4) and m[1, 1] == 2 and m.sum() == 2,
        f"with num_classes=4 and only class 1 present the matrix must still be 4x4 with M[1, 1] = 2, got\n{m}",
    )
    for got, (a, b, n), what in [
        (big, (p, t, 10), "random 10-class case"),
        (skew, (p2, t2, 6), "6 classes, some never true or never predicted"),
    ]:
        want = _count(a, b, n)
        m = _matrix(got, want, what)
        expect(np.array_equal(m, want), f"{what}: differs from a direct count (M[true, predicted] += 1 per example)")
    m = np.asarray(big)
    expect(m.sum() == 500 and np.trace(m) == (p == t).sum(), "the counts must add up to the number of examples")

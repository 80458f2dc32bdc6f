"""Hidden checks of 01_concepts, decided outside the student's kernel (see kdlib.grading.judge).

Every graded answer of this notebook is a value (a letter, an order, a number, a dict): each
check reads it with ``ask.value``, repeats the visible format check of its test cell and then
compares it with the key, :data:`QUIZ`. The notebook's visible tests hold only salted hashes of
that key (``kdlib.quiz``: instant "correct / not yet" feedback); tests/library/test_quiz.py checks that
they match it. The drill bank (``kdlib/questions.yaml``,
read by ``kdlib.drill``) holds several of the same answers, so both are the answer key.
The written answers (m1, m2, m3) are marked by hand and have no check.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from kdlib.grading.judge import Judge, close, expect

judge = Judge("01_concepts", answer_key=["questions.yaml", "kdlib.drill"], demos=["t-plot", "trad-demo", "trad-plot"])


def _shown(value) -> str:
    """A short, safe description of a student's value for a message."""
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type(value) -> str:
    if isinstance(value, np.ndarray):
        return f"numpy.{value.dtype}" if value.shape == () else f"ndarray of shape {value.shape}"
    return type(value).__name__


def choice(name: str, value, options: list[str]) -> str:
    """The notebook's check_choice: ``value`` is one of the option letters; returns it normalised."""
    expect(value is not None, f"{name} is None: set it to one of {options}")
    expect(
        isinstance(value, str), f"{name} must be a string such as {options[0]!r}, got {_type(value)} {_shown(value)}"
    )
    answer = value.strip().lower()
    expect(answer in options, f"{name} must be one of {options}, got {_shown(value)}")
    return answer


def number(name: str, value, low: float = -math.inf, high: float = math.inf, hint: str = "") -> float:
    """The notebook's check_number: a finite real number (not a bool) in [low, high]."""
    scalar = isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf"
    expect(
        (isinstance(value, Real) and not isinstance(value, bool)) or scalar,
        f"{name} must be a number, got {_type(value)} {_shown(value)}",
    )
    x = float(value)
    expect(math.isfinite(x), f"{name} must be finite, got {x}")
    expect(low <= x <= high, f"{name} = {x:g} is outside [{low:g}, {high:g}]. {hint}".rstrip())
    return x


def isclose(a: float, b: float, rtol: float) -> bool:
    """np.isclose(a, b, rtol=rtol) with its default atol 1e-8, as the visible tests used it."""
    return close(a, b, rtol=rtol, atol=1e-8)


def softmax(z: np.ndarray, T: float) -> np.ndarray:
    e = np.exp((z - z.max()) / T)
    return e / e.sum()


def entropy(p: np.ndarray) -> float:
    return float(-(p * np.log(p)).sum())


Q5_KEY = {"a": True, "b": False, "c": True, "d": False, "e": True, "f": False, "g": False, "h": False}

#: The answer key. The visible test cells hold salted hashes of these answers (kdlib.quiz) for
#: instant feedback; tests/library/test_quiz.py checks that every stored hash matches this key and that
#: every answer rounding like a key is accepted by the check below.
QUIZ = {
    "01/q1": "c",
    "01/q2": "BADCE",
    "01/q3_choice": "d",
    "01/q3_entropy": entropy(softmax(np.array([2.0, 1.0, 0.0]), 2.0)),
    "01/q3_entropy_limit": math.log(10),
    "01/q3_scale": 400.0,
    "01/q4_choice": "a",
    "01/q4_gap": (146 - 74) / (146 - 67),
    "01/q5": Q5_KEY,
    "01/q6": (25e6 * 4) / (2.5e6 * 1),
}


@judge.check("test_q1")
def q1(ask):
    (value,) = yield [ask.value("q1_answer")]
    answer = choice("q1_answer", value, ["a", "b", "c", "d"])
    expect(
        answer == QUIZ["01/q1"],
        "q1_answer is not the best description: (a) is pruning, (d) is not what KD saves, and "
        "(b) is not its goal (see section 4)",
    )


@judge.check("test_q2")
def q2(ask):
    (value,) = yield [ask.value("q2_order")]
    expect(isinstance(value, str), f"q2_order must be a string such as 'EDCBA', got {_type(value)}")
    letters = value.replace(" ", "").replace(",", "").upper()
    expect(
        sorted(letters) == list("ABCDE"),
        f"q2_order must use each of the letters A, B, C, D, E exactly once, got {_shown(value)}",
    )
    expect(letters[0] == "B", "the teacher must be trained before it can produce useful soft labels")
    expect(letters[-1] == "E", "the student is deployed after it has been trained")
    expect(
        letters == QUIZ["01/q2"],
        "the soft labels are needed before the loss can be computed, and the loss before the gradient step",
    )


@judge.check("test_q3_choice")
def q3_choice(ask):
    (value,) = yield [ask.value("q3_answer")]
    answer = choice("q3_answer", value, ["a", "b", "c", "d"])
    expect(
        answer == QUIZ["01/q3_choice"],
        "q3_answer is wrong: dividing the logits by T > 1 keeps their order and flattens the distribution",
    )


@judge.check("test_q3_entropy")
def q3_entropy(ask):
    (value,) = yield [ask.value("q3_entropy")]
    h = number("q3_entropy", value)
    z = np.array([2.0, 1.0, 0.0])
    want = entropy(softmax(z, 2.0))  # = QUIZ["01/q3_entropy"]
    expect(
        not isclose(h, want / math.log(2), 1e-3),
        "q3_entropy looks like it is in bits: use the natural logarithm (np.log)",
    )
    number(
        "q3_entropy",
        h,
        0.0,
        math.log(3),
        "The entropy of a distribution over 3 classes lies between 0 and log 3 ≈ 1.0986.",
    )
    expect(
        not isclose(h, entropy(softmax(z, 1.0)), 1e-3),
        "q3_entropy is the entropy at T = 1: divide the logits by T = 2 first",
    )
    expect(
        not isclose(h, entropy(softmax(z, 0.5)), 1e-3),
        "q3_entropy is the entropy of softmax(z · T): divide the logits by T = 2, do not multiply",
    )
    expect(isclose(h, want, 1e-3), f"q3_entropy = {h:.5g} is not the entropy of softmax([2, 1, 0] / 2)")


@judge.check("test_q3_entropy_limit")
def q3_entropy_limit(ask):
    (value,) = yield [ask.value("q3_entropy_limit")]
    h = number("q3_entropy_limit", value, 0.0, 10.0)
    expect(not isclose(h, math.log2(10), 1e-3), "q3_entropy_limit looks like it is in bits: use the natural logarithm")
    expect(
        isclose(h, QUIZ["01/q3_entropy_limit"], 1e-3),
        "q3_entropy_limit is wrong: as T → ∞ softmax(z / T) tends to the uniform "
        "distribution over the 10 classes; what is its entropy?",
    )


@judge.check("test_q3_scale")
def q3_scale(ask):
    (value,) = yield [ask.value("q3_scale")]
    k = number("q3_scale", value, 1.0, 1e4, "The gradients get smaller, so the factor is > 1.")
    expect(
        not isclose(k, 20, 0.02) and not isclose(k, 2, 0.02),
        "q3_scale is wrong: the gradients without the factor shrink like 1/T², not 1/T",
    )
    expect(
        not isclose(k, 4, 0.02),
        "q3_scale is wrong: with the T² factor the gradient size does not depend on T, so "
        "compare 'with the factor' (at any large T) with 'without it at T = 20'",
    )
    expect(
        not isclose(k, 100, 0.02),
        "q3_scale is wrong: the tuned run had the T² factor, so its gradient size does "
        "not depend on T; the factor missing at T = 20 is 20², not 10²",
    )
    expect(isclose(k, QUIZ["01/q3_scale"], 0.02), f"q3_scale = {k:g} is wrong")


@judge.check("test_q4_choice")
def q4_choice(ask):
    (value,) = yield [ask.value("q4_answer")]
    answer = choice("q4_answer", value, ["a", "b", "c", "d"])
    expect(
        answer == QUIZ["01/q4_choice"],
        "q4_answer is wrong: look again at the MNIST table (teacher 67, small net 146, distilled 74 errors)",
    )


@judge.check("test_q4_gap")
def q4_gap(ask):
    (value,) = yield [ask.value("q4_gap_closed")]
    x = number("q4_gap_closed", value, 0.0, 1.0, "Give a fraction between 0 and 1, not a percentage.")
    expect(
        not isclose(x, (74 - 67) / (146 - 67), 0.02),
        "q4_gap_closed is the part of the gap that remains, not the part that was closed",
    )
    expect(
        isclose(x, QUIZ["01/q4_gap"], 0.01),
        f"q4_gap_closed = {x:.4g} is wrong: the gap is 146 − 67 errors; how many of them did distillation remove?",
    )


def _is_bool(v) -> bool:
    return isinstance(v, bool) or (isinstance(v, np.ndarray) and v.shape == () and v.dtype == np.bool_)


@judge.check("test_q5")
def q5(ask):
    (value,) = yield [ask.value("q5_answers")]
    expect(isinstance(value, dict), f"q5_answers must be a dict, got {_type(value)}")
    expect(
        sorted(value) == list("abcdefgh"),
        f"q5_answers must have exactly the keys 'a' to 'h', got {_shown(sorted(value))}",
    )
    bad = [k for k, v in value.items() if not _is_bool(v)]
    expect(not bad, f"every value of q5_answers must be True or False; not so for {bad}")
    wrong = sum(bool(value[k]) != v for k, v in Q5_KEY.items())
    expect(wrong == 0, f"{wrong} of the 8 statements in q5_answers are answered wrongly")


@judge.check("test_q6")
def q6(ask):
    (value,) = yield [ask.value("q6_ratio")]
    x = number("q6_ratio", value, 1.0, 1e6, "The student is smaller, so the ratio is > 1.")
    expect(
        not isclose(x, 10, 0.01),
        "q6_ratio counts only the parameters: the quantised student also uses 1 byte per weight instead of 4",
    )
    expect(
        not isclose(x, 4, 0.01), "q6_ratio counts only the quantisation: the student also has 10 times fewer parameters"
    )
    expect(isclose(x, QUIZ["01/q6"], 0.01), f"q6_ratio = {x:g} is wrong: compare bytes with bytes")

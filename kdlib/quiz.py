"""Instant feedback on quiz answers without the answer key in the notebook: salted hashes.

A visible test cell stores, for each concept question, a hash of the normalised correct answer,
salted with the question's id (``"01/q1"``), and compares the learner's answer with it::

    from kdlib import quiz
    quiz.check("01/q1", q1_answer, "9c0e5d5a1f3b7e21", hint="reread section 1")

prints ``q1: correct`` or ``q1: not yet — reread section 1``. The key itself never appears in
the notebook; the salt makes equal answers to different questions hash differently. With four
options a learner can still try each one: the feedback is formative, and grading stays with the
hidden checks (``solutions/NN_slug/judge.py``), which keep their own keys (``QUIZ``) and messages.

Answers are normalised before hashing (:func:`normalise`): strings lower-cased without spaces or
commas, booleans as ``true``/``false``, numbers rounded to ``digits`` significant digits, arrays
and sequences element by element with their shape, dicts key by key. Choose ``digits`` so that
every answer that rounds like the key is accepted by the judge's tolerance
(tests/library/test_quiz.py checks this for every stored hash).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from numbers import Real
from typing import Any

import numpy as np

__all__ = ["DIGITS", "check", "check_each", "digest", "matches", "normalise"]

#: significant digits kept when a number is normalised (per question: the ``digits`` argument)
DIGITS = 3
#: course-wide part of every salt
_PEPPER = "kd-course quiz v1"
#: hex characters of the SHA-256 digest kept (64 bits)
_LENGTH = 16


def _number(x: float, digits: int) -> str:
    if not math.isfinite(x):
        raise ValueError(f"the answer must be finite, got {x}")
    text = f"{x:.{digits}g}"
    return "0" if float(text) == 0 else text  # -0 and 0 alike


def normalise(answer: Any, digits: int = DIGITS) -> str:
    """The canonical text of ``answer`` that is hashed.

    Raises TypeError for a value that is not a string, bool, number, array, sequence or dict.
    """
    if not isinstance(digits, int) or isinstance(digits, bool) or digits < 1:
        raise ValueError(f"digits must be a positive integer, got {digits!r}")
    if isinstance(answer, str):
        return "".join(ch for ch in answer.lower() if not ch.isspace() and ch != ",")
    if isinstance(answer, (bool, np.bool_)):
        return "true" if answer else "false"
    if isinstance(answer, Mapping):
        items = sorted((str(k), normalise(v, digits)) for k, v in answer.items())
        return "{" + ";".join(f"{k}={v}" for k, v in items) + "}"
    if isinstance(answer, Real):
        return _number(float(answer), digits)
    if isinstance(answer, (np.ndarray, list, tuple)) or hasattr(answer, "__array__"):
        try:
            a = np.asarray(answer, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(f"cannot read the answer as numbers: {err}") from None
        if a.ndim == 0:
            return _number(float(a), digits)
        shape = "x".join(str(n) for n in a.shape)
        return f"[{shape}:" + ",".join(_number(float(x), digits) for x in a.ravel()) + "]"
    raise TypeError(f"cannot read an answer of type {type(answer).__name__}")


def digest(question: str, answer: Any, digits: int = DIGITS) -> str:
    """The salted hash of ``answer`` to ``question`` (16 hex characters)."""
    text = f"{_PEPPER}|{question}|{normalise(answer, digits)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_LENGTH]


def matches(question: str, answer: Any, expected: str, digits: int = DIGITS) -> bool:
    """True if ``answer`` hashes to ``expected``; False also when it cannot be read."""
    try:
        return digest(question, answer, digits) == expected
    except (TypeError, ValueError):
        return False


def _label(question: str) -> str:
    return question.rsplit("/", 1)[-1]


def _is_numeric(answer: Any) -> bool:
    if isinstance(answer, (str, bool, np.bool_, Mapping)):
        return False
    return isinstance(answer, (Real, np.ndarray, list, tuple))


def check(question: str, answer: Any, expected: str, *, hint: str = "", digits: int = DIGITS) -> None:
    """Print ``<label>: correct`` or ``<label>: not yet — <hint>`` (label: the id after its "/").

    Never raises and returns nothing (a test cell ending in a value would give nbgrader partial
    credit); the format of the answer is the test cell's own assertions' business.
    """
    label = _label(question)
    if matches(question, answer, expected, digits):
        print(f"{label}: correct")
        return
    why = [hint.strip()] if hint.strip() else []
    if _is_numeric(answer):
        try:
            shown = normalise(answer, digits)
        except (TypeError, ValueError):
            shown = None
        if shown is not None:
            why.append(f"numbers are compared to {digits} significant digits; yours reads {shown}")
    print(f"{label}: not yet" + (" — " + "; ".join(why) if why else ""))


def check_each(
    question: str, answers: Mapping[str, Any], expected: Mapping[str, str], *, hint: str = "", digits: int = DIGITS
) -> None:
    """Several answers at once (e.g. true/false statements): prints how many are right, not which.

    Each answer ``answers[key]`` is hashed as question ``f"{question}.{key}"``.
    """
    label = _label(question)
    right = sum(
        isinstance(answers, Mapping) and key in answers and matches(f"{question}.{key}", answers[key], want, digits)
        for key, want in expected.items()
    )
    total = len(expected)
    if right == total:
        print(f"{label}: correct ({total} of {total})")
        return
    print(f"{label}: not yet — {right} of {total} right" + (f"; {hint.strip()}" if hint.strip() else ""))

"""argparse ``type=`` converters shared by the ``kd`` sub-commands.

Each raises ``argparse.ArgumentTypeError`` with what was expected and what was given, which
argparse prints as ``argument --NAME: expected ..., got '...'``.
"""

from __future__ import annotations

import argparse
import math


def _number(text: str, cast, ok, expected: str):
    try:
        x = cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if not ok(x):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return x


def positive_int(text: str) -> int:
    return _number(text, int, lambda n: n >= 1, "a positive integer")


def non_negative_int(text: str) -> int:
    return _number(text, int, lambda n: n >= 0, "an integer >= 0")


def positive_float(text: str) -> float:
    return _number(text, float, lambda x: x > 0 and math.isfinite(x), "a finite number > 0")


def unit_float(text: str) -> float:
    return _number(text, float, lambda x: 0 <= x <= 1, "a number in [0, 1]")


def seconds(text: str) -> float:
    return _number(text, float, lambda x: x > 0 and math.isfinite(x), "a number of seconds > 0")

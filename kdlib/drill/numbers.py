"""Numeric answers: a safe evaluator for what a learner types (``0.5``, ``1/3``, ``e**-2``, ``ln(2)``)."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any


def _is_number(x: Any) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


_BINOPS: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_FUNCS: dict[str, Callable[[float], float]] = {
    "ln": math.log,
    "log": math.log,
    "log2": math.log2,
    "log10": math.log10,
    "exp": math.exp,
    "sqrt": math.sqrt,
}
_CONSTS = {"e": math.e, "pi": math.pi}


def _eval_number(text: str) -> float:
    """A number or a small arithmetic expression: ``0.25``, ``72/79``, ``ln(10)``, ``4**2``."""
    text = text.strip().replace("×", "*").replace("−", "-").replace("^", "**")
    if not text:
        raise ValueError("expected a number")

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and _is_number(node.value):
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            v = ev(node.operand)
            return v if isinstance(node.op, ast.UAdd) else -v
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Pow) and abs(right) > 64:
                raise ValueError("exponent too large")
            return _BINOPS[type(node.op)](left, right)
        if isinstance(node, ast.Name) and node.id in _CONSTS:
            return _CONSTS[node.id]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCS
            and len(node.args) == 1
            and not node.keywords
        ):
            return _FUNCS[node.func.id](ev(node.args[0]))
        raise ValueError("expected a number")

    try:
        return float(ev(ast.parse(text, mode="eval").body))
    except (SyntaxError, ZeroDivisionError, OverflowError, TypeError):
        raise ValueError("expected a number") from None
    except ValueError as err:  # math domain errors, our own messages
        raise ValueError(str(err) if "expected" in str(err) else "expected a number") from None

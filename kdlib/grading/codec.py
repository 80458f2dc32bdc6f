"""Plain data across the sandbox wall: what a probe may send, and how the judge reads it.

The probe (in the student's kernel) :func:`encode` s Python values into JSON-safe objects; the
judge (trusted) :func:`decode` s them back under hard limits. Only data crosses: ``None``,
booleans, numbers, strings, lists, tuples, string-keyed dicts and arrays (NumPy arrays and
PyTorch/TensorFlow tensors, sent as their raw bytes). Anything else arrives as
:class:`Opaque` (its type name only). Every JSON object of an encoded value is a one-key tag
(``{"__nd__": ...}``, ``{"__dict__": ...}``, ...), so a student's dict cannot pose as an array.

Decoding is linear in the payload's size and refuses payloads that are too deep, too many
nodes or arrays whose bytes do not match their shape: :class:`CodecError` says which.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Array", "CodecError", "Limits", "Opaque", "decode", "encode"]

#: dtypes an array may have on the wire (no object arrays, no structured dtypes)
DTYPES = frozenset(
    {
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "complex64",
        "complex128",
    }
)


class CodecError(ValueError):
    """A payload that is not plain data within the limits."""


@dataclass(frozen=True)
class Limits:
    """How much one decoded payload may hold."""

    depth: int = 32
    nodes: int = 200_000
    array_bytes: int = 64_000_000
    string_chars: int = 100_000


class Array(np.ndarray):
    """A decoded array that remembers what it was in the kernel.

    ``kind`` is ``"numpy"`` (an ndarray or NumPy scalar), ``"torch"`` or ``"tf"``;
    ``requires_grad`` is the PyTorch flag (False elsewhere).
    """

    kind: str = "numpy"
    requires_grad: bool = False

    def __array_finalize__(self, obj: Any) -> None:
        self.kind = getattr(obj, "kind", "numpy")
        self.requires_grad = getattr(obj, "requires_grad", False)

    @property
    def plain(self) -> np.ndarray:
        """The same data as a plain ndarray."""
        return np.asarray(self).view(np.ndarray)


@dataclass(frozen=True)
class Opaque:
    """A value that is not plain data (a model, a function, ...): only its type is sent."""

    type: str


# --- kernel side ----------------------------------------------------------------------------


def _array(arr: np.ndarray, kind: str, requires_grad: bool = False) -> dict:
    arr = np.asarray(arr, order="C")  # (ascontiguousarray would turn a 0-d array into 1-d)
    if arr.dtype.name not in DTYPES:
        return {"__obj__": f"ndarray[{arr.dtype}]"}
    data = base64.b64encode(arr.tobytes()).decode("ascii")
    return {
        "__nd__": {
            "dtype": arr.dtype.name,
            "shape": list(arr.shape),
            "data": data,
            "kind": kind,
            "grad": bool(requires_grad),
        }
    }


def _tensor(obj: Any) -> dict | None:
    """A torch or TensorFlow tensor as an array tag; None if ``obj`` is neither."""
    module = type(obj).__module__ or ""
    if module.startswith("torch") and hasattr(obj, "detach"):
        return _array(obj.detach().cpu().numpy(), "torch", bool(getattr(obj, "requires_grad", False)))
    if module.startswith(("tensorflow", "keras", "tf_keras")) and hasattr(obj, "numpy"):
        value = obj.numpy()
        return _array(np.asarray(value), "tf")
    return None


def encode(obj: Any, depth: int = 0) -> Any:
    """``obj`` as JSON-safe tagged data (runs in the kernel; never raises for odd values)."""
    if depth > 30:
        return {"__obj__": "too deep"}
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return obj if abs(obj) < 2**53 else {"__int__": str(obj)}
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"__float__": repr(obj)}
    if isinstance(obj, np.ndarray):
        return _array(obj, "numpy")
    if isinstance(obj, np.generic):
        return _array(np.asarray(obj), "numpy")
    tensor = _tensor(obj)
    if tensor is not None:
        return tensor
    if isinstance(obj, list):
        return [encode(x, depth + 1) for x in obj]
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(x, depth + 1) for x in obj]}
    if isinstance(obj, dict) and all(isinstance(k, str) for k in obj):
        return {"__dict__": {k: encode(v, depth + 1) for k, v in obj.items()}}
    return {"__obj__": f"{type(obj).__module__}.{type(obj).__qualname__}"}


# --- judge side -----------------------------------------------------------------------------


def decode(data: Any, limits: Limits = Limits()) -> Any:
    """The value :func:`encode` made, checked against ``limits``; :class:`CodecError` if it is not."""
    count = [0]
    return _decode(data, limits, 0, count)


def _decode(data: Any, limits: Limits, depth: int, count: list[int]) -> Any:
    count[0] += 1
    if count[0] > limits.nodes:
        raise CodecError(f"more than {limits.nodes} values")
    if depth > limits.depth:
        raise CodecError(f"nested deeper than {limits.depth}")
    if data is None or isinstance(data, bool):
        return data
    if isinstance(data, (int, float)):
        return data
    if isinstance(data, str):
        if len(data) > limits.string_chars:
            raise CodecError(f"a string longer than {limits.string_chars} characters")
        return data
    if isinstance(data, list):
        return [_decode(x, limits, depth + 1, count) for x in data]
    if not isinstance(data, dict) or len(data) != 1:
        raise CodecError("an untagged object")
    ((tag, body),) = data.items()
    if tag == "__tuple__" and isinstance(body, list):
        return tuple(_decode(x, limits, depth + 1, count) for x in body)
    if tag == "__dict__" and isinstance(body, dict):
        return {str(k)[: limits.string_chars]: _decode(v, limits, depth + 1, count) for k, v in body.items()}
    if tag == "__float__" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "__int__" and isinstance(body, str) and len(body) <= 400:
        try:
            return int(body)
        except ValueError as err:
            raise CodecError("a malformed big integer") from err
    if tag == "__obj__" and isinstance(body, str):
        return Opaque(body[:200])
    if tag == "__nd__" and isinstance(body, dict):
        return _decode_array(body, limits)
    raise CodecError(f"an unknown tag {str(tag)[:40]!r}")


def _decode_array(body: dict, limits: Limits) -> Array:
    dtype, shape, data = body.get("dtype"), body.get("shape"), body.get("data")
    if dtype not in DTYPES:
        raise CodecError(f"an array of dtype {str(dtype)[:40]!r}")
    if not (isinstance(shape, list) and len(shape) <= 32 and all(isinstance(n, int) and 0 <= n for n in shape)):
        raise CodecError("an array with a malformed shape")
    if not isinstance(data, str) or len(data) > limits.array_bytes * 4 // 3 + 8:
        raise CodecError(f"an array over {limits.array_bytes} bytes")
    raw = base64.b64decode(data.encode("ascii"), validate=True)
    itemsize = np.dtype(dtype).itemsize
    size = math.prod(shape)
    if size * itemsize != len(raw):
        raise CodecError(f"an array whose {len(raw)} bytes do not fit shape {shape} of {dtype}")
    arr = np.frombuffer(raw, dtype=dtype).reshape(shape).copy().view(Array)
    arr.kind = body.get("kind") if body.get("kind") in ("numpy", "torch", "tf") else "numpy"
    arr.requires_grad = bool(body.get("grad", False))
    return arr

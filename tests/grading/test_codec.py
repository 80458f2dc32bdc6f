"""kdlib.grading.codec: plain data crosses the sandbox wall intact; anything else is refused or made opaque."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from kdlib.grading import codec


def roundtrip(value):
    return codec.decode(json.loads(json.dumps(codec.encode(value), allow_nan=False)))


def test_plain_values_survive_json():
    value = {"a": [1, 2.5, "x", None, True], "b": (3, -4.0), "big": 2**70, "nan": float("nan"), "inf": float("-inf")}
    back = roundtrip(value)
    assert back["a"] == [1, 2.5, "x", None, True]
    assert back["b"] == (3, -4.0) and isinstance(back["b"], tuple)
    assert back["big"] == 2**70
    assert np.isnan(back["nan"]) and back["inf"] == float("-inf")


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "bool"])
def test_arrays_keep_dtype_shape_and_bits(dtype):
    arr = (np.arange(24).reshape(2, 3, 4) * 1.37).astype(dtype)
    back = roundtrip(arr)
    assert back.dtype == arr.dtype and back.shape == arr.shape and np.array_equal(back, arr)
    assert back.kind == "numpy"


def test_zero_d_tensor_stays_zero_d_and_remembers_torch():
    t = torch.tensor(1.5, dtype=torch.float64, requires_grad=True) * 2
    back = roundtrip(t)
    assert back.shape == () and back.kind == "torch" and back.requires_grad and float(back) == 3.0
    assert roundtrip(np.float32(2.0)).shape == ()


def test_objects_become_opaque_type_names():
    back = roundtrip({"model": torch.nn.Linear(2, 2), "fn": len})
    assert isinstance(back["model"], codec.Opaque) and back["model"].type.endswith("Linear")
    assert isinstance(back["fn"], codec.Opaque)


def test_a_students_dict_cannot_pose_as_an_array():
    fake = {"__nd__": {"dtype": "float64", "shape": [1], "data": "AAAAAAAA8D8=", "kind": "torch"}}
    back = roundtrip(fake)  # encoded as a dict holding a dict, not as an array
    assert isinstance(back, dict) and isinstance(back["__nd__"], dict)


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ({"__nd__": {"dtype": "object", "shape": [1], "data": ""}}, "dtype"),
        ({"__nd__": {"dtype": "float64", "shape": [3], "data": "AAAAAAAA8D8="}}, "do not fit shape"),
        ({"__nd__": {"dtype": "float64", "shape": [-1], "data": ""}}, "malformed shape"),
        ({"a": 1, "b": 2}, "untagged"),
        ({"__evil__": 1}, "unknown tag"),
    ],
)
def test_malformed_payloads_are_refused(payload, says):
    with pytest.raises(codec.CodecError, match=says):
        codec.decode(payload)


def test_limits_on_depth_nodes_and_strings():
    deep: list = []
    for _ in range(50):
        deep = [deep]
    with pytest.raises(codec.CodecError, match="deeper"):
        codec.decode(deep)
    with pytest.raises(codec.CodecError, match="more than"):
        codec.decode(list(range(300_000)))
    with pytest.raises(codec.CodecError, match="string longer"):
        codec.decode("x" * 200_000)
    with pytest.raises(codec.CodecError, match="bytes"):
        codec.decode({"__nd__": {"dtype": "uint8", "shape": [10], "data": "A" * 10**6}}, codec.Limits(array_bytes=1000))

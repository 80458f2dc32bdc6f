"""Observations for the hidden checks of 10_deploy (run in the student's kernel).

The learner's ``export_onnx`` writes into a temporary folder of the sandbox; the scenario then
opens the file with onnxruntime and returns what the judge needs: the input/output names and
shapes, the ONNX model's outputs on the judge's inputs (or the error), whether the model's mode
was restored. ``check_onnx`` gets an ONNX file the judge exported (sent as bytes) and a model
built here from the same seed. Models: kdlib's ``student-small`` MLP, or a Linear-ReLU-Dropout-
Linear net. No expected values here: the judge builds the same models and computes them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn


def _function(ns, name):
    if name not in ns:
        raise NameError(f"{name} is not defined: run the cell that defines it (and keep its name)")
    return ns[name]


def build(kind, seed, num_features, num_classes):
    """The judge's models: ("student-small", seed) via kdlib, or ("dropout", seed)."""
    if kind == "dropout":
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(num_features, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, num_classes))
    from kdlib.torch import build_model

    return build_model(kind, num_features, num_classes, seed=seed)


def _error(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"[:500]


def export_case(ns, kind, seed, num_features, num_classes, train, inputs):
    """export_onnx(model, tmp/model.onnx, num_features), then the file run on each of inputs."""
    import onnxruntime as ort

    export_onnx = _function(ns, "export_onnx")
    model = build(kind, seed, num_features, num_classes)
    model.train(train)
    folder = Path(tempfile.mkdtemp(prefix="kd-judge-onnx-"))
    path = folder / "model.onnx"
    out = {}
    try:
        returned = export_onnx(model, path, num_features)
    except Exception as err:  # noqa: BLE001 - the learner's error is a result
        return {"error": _error(err)}
    out["returned_path"] = str(returned) == str(path)
    out["returned"] = repr(returned)[:200]
    out["training_after"] = bool(model.training)
    out["file"] = path.is_file()
    if not out["file"]:
        return out
    try:
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as err:  # noqa: BLE001
        out["load_error"] = _error(err)
        return out
    out["inputs"] = [i.name for i in sess.get_inputs()]
    out["outputs"] = [o.name for o in sess.get_outputs()]
    out["input_shape"] = [d if isinstance(d, int) else str(d) for d in sess.get_inputs()[0].shape]
    runs = []
    name = sess.get_inputs()[0].name
    for x in inputs:
        try:
            runs.append({"ok": np.asarray(sess.run(None, {name: np.asarray(x, dtype=np.float32)})[0])})
        except Exception as err:  # noqa: BLE001
            runs.append({"error": _error(err)})
    out["runs"] = runs
    return out


def check_case(ns, onnx_bytes, kind, seed, num_features, num_classes, train, inputs):
    """check_onnx(path of the judge's ONNX file, model, x) for each x of inputs."""
    check_onnx = _function(ns, "check_onnx")
    folder = Path(tempfile.mkdtemp(prefix="kd-judge-onnx-"))
    path = folder / "given.onnx"
    path.write_bytes(np.asarray(onnx_bytes, dtype=np.uint8).tobytes())
    model = build(kind, seed, num_features, num_classes)
    model.train(train)
    out = []
    for x in inputs:
        try:
            d = check_onnx(path, model, np.asarray(x, dtype=np.float32))
        except Exception as err:  # noqa: BLE001
            out.append({"error": _error(err)})
            continue
        try:
            value = float(d)
        except (TypeError, ValueError):
            value = None
        out.append({"value": value, "is_float": isinstance(d, float), "type": type(d).__name__})
    return out

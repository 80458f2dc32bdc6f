"""Hidden checks of 10_deploy, decided outside the student's kernel (see kdlib.grading.judge).

``export_onnx`` runs in the sandbox on models ``probe.py`` builds from a seed (kdlib's
``student-small`` MLP, or a Linear-ReLU-Dropout-Linear net left in training mode) and writes to
a temporary file there; the probe returns the file's input names and shape and its outputs on
the judge's inputs (onnxruntime). The judge builds the same models here and compares with their
eval-mode logits. ``check_onnx`` gets ONNX files exported here with kdlib's own exporter (sent as
bytes) and a model built in the sandbox from the same seed; its answer is compared with the
max |difference| computed here. The answer key is ``kdlib.deploy`` (export_onnx, run_onnx, ...):
the visible tests and the demo cells that use it are locked and skipped when graded.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from kdlib.grading.judge import Judge, expect

judge = Judge(
    "10_deploy", answer_key=["kdlib.deploy"], demos=["train-models", "export-student-code", "tflite", "benchmark"]
)

DYNAMIC = "pass dynamic_axes={'x': {0: 'batch'}, 'logits': {0: 'batch'}} so the batch size is not fixed"


def _model(kind: str, seed: int, num_features: int, num_classes: int):
    """The model the probe builds for (kind, seed), built here the same way."""
    import torch
    from torch import nn

    if kind == "dropout":
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(num_features, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, num_classes))
    from kdlib.torch import build_model

    return build_model(kind, num_features, num_classes, seed=seed)


def _logits(model, x: np.ndarray) -> np.ndarray:
    """Eval-mode logits, as predict_logits gives them."""
    import torch

    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(np.asarray(x, dtype=np.float32))).numpy()


def _onnx_bytes(model, num_features: int) -> np.ndarray:
    """The model exported with kdlib's exporter, as a uint8 array."""
    from kdlib.deploy import export_onnx

    with tempfile.TemporaryDirectory(prefix="kd-judge-") as folder:
        path = export_onnx(model, Path(folder) / "ref.onnx", num_features)
        return np.frombuffer(path.read_bytes(), dtype=np.uint8).copy()


def _rows(n: int, features: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, features)).astype(np.float32)


def _export(seen: dict, what: str) -> dict:
    expect("error" not in seen, f"calling export_onnx on {what} raised {seen.get('error')}")
    expect(seen["file"], "export_onnx wrote no file at the path it was given")
    expect(seen["returned_path"], f"export_onnx should return the path, got {seen['returned']}")
    expect("load_error" not in seen, f"onnxruntime cannot load the exported file: {seen.get('load_error')}")
    return seen


def _run(seen: dict, i: int, n: int) -> np.ndarray:
    run = seen["runs"][i]
    expect("error" not in run, f"a batch of {n} was rejected: {DYNAMIC} ({run.get('error', '')[:120]})")
    return run["ok"]


@judge.check("test_export_onnx")
def export_onnx(ask):
    xb, xb2 = _rows(7, 40, 0), _rows(256, 40, 1)
    small, drop, wide = yield [
        ask.scenario(
            "export_case", kind="student-small", seed=3, num_features=40, num_classes=10, train=True, inputs=[xb]
        ),
        ask.scenario(
            "export_case", kind="dropout", seed=5, num_features=40, num_classes=10, train=True, inputs=[xb2, xb2[:1]]
        ),
        ask.scenario(
            "export_case",
            kind="student-small",
            seed=1,
            num_features=64,
            num_classes=3,
            train=False,
            inputs=[_rows(5, 64, 2)],
        ),
    ]
    seen = _export(small, "a student-small model")
    expect(seen["training_after"], "the model was left in eval mode: restore its mode with model.train(was_training)")
    expect(seen["inputs"] == ["x"], f"name the input 'x' (input_names=['x']), got {seen['inputs']}")
    out = _run(seen, 0, 7)
    want = _logits(_model("student-small", 3, 40, 10), xb)
    diff = float(np.abs(out - want).max()) if out.shape == want.shape else float("inf")
    expect(
        diff < 1e-4 and out.shape == (7, 10),
        f"the ONNX model's logits differ from torch's by {diff:.2g}"
        + ("" if out.shape == (7, 10) else f" (output shape {out.shape}, expected (7, 10))"),
    )
    seen = _export(drop, "a dropout model in training mode")
    expect(seen["training_after"], "restore the model's training mode after export (model.train(was_training))")
    out = _run(seen, 0, 256)
    want = _logits(_model("dropout", 5, 40, 10), xb2)
    d2 = float(np.abs(out - want).max()) if out.shape == want.shape else float("inf")
    expect(d2 < 1e-4, f"the exported dropout model differs by {d2:.2g} from eval mode: call model.eval() before export")
    expect(_run(seen, 1, 1).shape == (1, 10), "batch 1 must work too")
    seen = _export(wide, "a 64-feature model")
    shape = seen["input_shape"]
    expect(
        len(shape) == 2 and shape[1] == 64,
        f"the example input must have num_features columns: a 64-feature model's file expects {shape}",
    )
    out = _run(seen, 0, 5)
    want = _logits(_model("student-small", 1, 64, 3), _rows(5, 64, 2))
    expect(
        out.shape == want.shape and float(np.abs(out - want).max()) < 1e-4,
        "the ONNX file of a 64-feature, 3-class model differs from the model",
    )


def _diff(seen: dict, what: str) -> float:
    expect("error" not in seen, f"calling check_onnx on {what} raised {seen.get('error')}")
    expect(seen["is_float"], f"check_onnx must return a Python float, got {seen['type']}")
    return seen["value"]


@judge.check("test_check_onnx")
def check_onnx(ask):
    a = _model("student-small", 11, 40, 10).eval()
    drop = _model("dropout", 6, 40, 10).eval()
    pa, pd = _onnx_bytes(a, 40), _onnx_bytes(drop, 40)
    xc, xd = _rows(100, 40, 11), _rows(64, 40, 12)
    same, other, dropped = yield [
        ask.scenario(
            "check_case",
            onnx_bytes=pa,
            kind="student-small",
            seed=11,
            num_features=40,
            num_classes=10,
            train=False,
            inputs=[xc],
        ),
        ask.scenario(
            "check_case",
            onnx_bytes=pa,
            kind="student-small",
            seed=12,
            num_features=40,
            num_classes=10,
            train=False,
            inputs=[xc],
        ),
        ask.scenario(
            "check_case",
            onnx_bytes=pd,
            kind="dropout",
            seed=6,
            num_features=40,
            num_classes=10,
            train=True,
            inputs=[xd, xd[:1]],
        ),
    ]
    d = _diff(same[0], "a correct export")
    expect(0 <= d < 1e-4, f"a correct export should differ by < 1e-4, check_onnx says {d!r}")
    want = float(np.abs(_logits(a, xc) - _logits(_model("student-small", 12, 40, 10), xc)).max())
    got = _diff(other[0], "the file of another model")
    expect(
        abs(got - want) < 1e-4,
        f"comparing the file of model a with model b should give max |a - b| = {want:.4f}, got {got!r}: "
        "return the max absolute difference between the ONNX logits and the model's",
    )
    d = _diff(dropped[0], "a dropout model left in training mode")
    expect(d < 1e-4, f"check_onnx reports {d:.2g} for a correct export of a dropout model: run the model in eval mode")
    d1 = _diff(dropped[1], "a batch of 1")
    expect(d1 < 1e-4, f"check_onnx must work on a batch of 1: it reports {d1:.2g} for a correct export")

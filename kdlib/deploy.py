"""Export a trained model for deployment and run the exported file: ONNX and TensorFlow Lite.

    export_onnx(torch_model, "student.onnx", num_features=40)   # torch -> ONNX
    logits = run_onnx("student.onnx", x)                        # onnxruntime, CPU
    export_tflite(keras_model, "student.tflite")                # Keras -> TFLite flatbuffer
    logits = run_tflite("student.tflite", x)                    # TFLite interpreter

Every exported model has a dynamic batch axis: input ``x`` (B, F) float32, output (B, C)
logits. ``run_*`` accept a path or an already built session / interpreter (build it once with
:func:`onnx_session` / :func:`tflite_interpreter` when timing: building is the slow part).
Frameworks are imported inside the functions, so ``import kdlib.deploy`` stays cheap.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from pathlib import Path

import numpy as np

__all__ = [
    "export_onnx",
    "export_tflite",
    "file_size",
    "max_abs_diff",
    "onnx_session",
    "run_onnx",
    "run_tflite",
    "tflite_interpreter",
]


def _path(path, suffix: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"path must be a str or os.PathLike ending in {suffix}, got {type(path).__name__}")
    p = Path(path)
    if p.suffix != suffix:
        raise ValueError(f"path must end in {suffix}, got {str(p)!r}")
    return p


def _existing(path, suffix: str) -> Path:
    p = _path(path, suffix)
    if not p.is_file():
        raise ValueError(f"no {suffix} file at {str(p)!r}: export the model first")
    return p


def _x(x, num_features: int | None = None) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 2 or len(a) == 0:
        raise ValueError(f"x must be a non-empty 2-D array (N, F), got shape {a.shape}")
    if num_features is not None and a.shape[1] != num_features:
        raise ValueError(f"x must have {num_features} features (the model's input), got {a.shape[1]}")
    return np.ascontiguousarray(a, dtype=np.float32)


def file_size(path) -> int:
    """Size of a file in bytes (an ONNX model's external ``.data`` file included, if any)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"no file at {str(p)!r}")
    extra = Path(str(p) + ".data")
    return p.stat().st_size + (extra.stat().st_size if extra.is_file() else 0)


def max_abs_diff(a, b) -> float:
    """max |a − b| over two arrays of the same shape (the tolerance check of an export)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"outputs must have the same shape, got {a.shape} and {b.shape}")
    return float(np.abs(a - b).max())


# ---------------------------------------------------------------------------------------- ONNX


def export_onnx(model, path, num_features: int, opset: int = 17) -> Path:
    """Write the torch ``model`` to ``path`` (.onnx): input "x" (B, num_features), output "logits".

    Uses the TorchScript exporter (``dynamo=False``): it needs no extra package and takes well
    under a second here; the newer ``dynamo=True`` exporter (needs ``onnxscript``) takes ≈10 s
    and writes the weights of small models to a separate ``.data`` file. The model is traced in
    eval mode; its mode is restored afterwards.
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(num_features, int) or isinstance(num_features, bool) or num_features < 1:
        raise ValueError(f"num_features must be a positive integer, got {num_features!r}")
    p = _path(path, ".onnx")
    p.parent.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model.eval()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter is deprecated, still works
            torch.onnx.export(
                model,
                (torch.zeros(2, num_features),),
                str(p),
                input_names=["x"],
                output_names=["logits"],
                dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
                opset_version=opset,
                dynamo=False,
            )
    finally:
        model.train(was_training)
    return p


def onnx_session(path):
    """An onnxruntime InferenceSession on one CPU thread (build once, run many times)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(_existing(path, ".onnx")), opts, providers=["CPUExecutionProvider"])


def run_onnx(model, x) -> np.ndarray:
    """Logits (N, C) float32 of an ONNX model (a path or an InferenceSession) on x (N, F)."""
    sess = model if hasattr(model, "run") and hasattr(model, "get_inputs") else onnx_session(model)
    inp = sess.get_inputs()[0]
    width = inp.shape[1] if isinstance(inp.shape[1], int) else None
    return np.asarray(sess.run(None, {inp.name: _x(x, width)})[0])


# -------------------------------------------------------------------------------------- TFLite


def export_tflite(model, path, quantize: bool = False) -> Path:
    """Convert the Keras ``model`` to a TensorFlow Lite flatbuffer at ``path`` (.tflite).

    Float32 by default. ``quantize=True`` sets ``tf.lite.Optimize.DEFAULT``: dynamic-range
    quantization, weights stored as int8 (about 4 times smaller), outputs no longer within
    1e-4 of the Keras model's.
    """
    import keras
    import tensorflow as tf

    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a Keras model, got {type(model).__name__}")
    if not isinstance(quantize, bool):
        raise ValueError(f"quantize must be True or False, got {quantize!r}")
    p = _path(path, ".tflite")
    p.parent.mkdir(parents=True, exist_ok=True)
    tf_logger = logging.getLogger("tensorflow")  # "Assets written to ..." on stderr
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if quantize:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        try:
            flatbuffer = converter.convert()
        finally:
            tf_logger.setLevel(level)
    p.write_bytes(flatbuffer)
    return p


def tflite_interpreter(path):
    """A TFLite interpreter on ``path``, tensors allocated, one thread.

    ``ai_edge_litert``'s (LiteRT, the successor) if installed, else ``tf.lite``'s (deprecated,
    still shipped with TensorFlow 2.21). Either prints an INFO line about XNNPACK on stderr.
    """
    p = str(_existing(path, ".tflite"))
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tf.lite.Interpreter is deprecated in favour of LiteRT
            it = tf.lite.Interpreter(model_path=p, num_threads=1)
    else:
        it = Interpreter(model_path=p, num_threads=1)
    it.allocate_tensors()
    return it


def run_tflite(model, x) -> np.ndarray:
    """Logits (N, C) float32 of a TFLite model (a path or an Interpreter) on x (N, F).

    The input is resized to the batch when it changes (the model has a dynamic batch axis).
    """
    it = model if hasattr(model, "invoke") else tflite_interpreter(model)
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    xa = _x(x, int(inp["shape"][1]))
    if tuple(inp["shape"]) != xa.shape:
        it.resize_tensor_input(inp["index"], list(xa.shape))
        it.allocate_tensors()
    it.set_tensor(inp["index"], xa)
    it.invoke()
    return np.array(it.get_tensor(out["index"]))

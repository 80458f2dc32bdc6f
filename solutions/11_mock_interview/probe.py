"""Sandbox side of 11_mock_interview's part-4 checks: run ``fixed_sample`` and watch its ``fit`` calls.

:func:`sample_run` calls the learner's ``fixed_sample`` on MNIST-1D with every
``keras.Model.fit`` call recorded, then reports what it saw as plain data: for each fit call
which model it trained (numbered by first appearance), fingerprints of the rows of its inputs
and validation inputs, its targets' shape (and the targets themselves for the last call), the
model's ``temperature`` attribute if it has one; and the predictions of the first model fitted
(the teacher) and of the last one (the student). It holds no expected values: the judge
computes the fingerprints of x_train / x_test, the accuracies and the soft labels itself.

A run is made once per graded kernel and kept (``ns["_kd_fixed_sample_runs"]``), so the four
test cells of part 4 inspect the same run, as the visible tests do.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import numpy as np

_CACHE = "_kd_fixed_sample_runs"
#: rows of x_train whose raw teacher outputs are sent (logits vs probabilities)
_HEAD = 200


def fingerprints(a) -> np.ndarray:
    """One int64 per row: a hash of the row's float32 bytes (the judge hashes x_train/x_test alike)."""
    a = np.ascontiguousarray(np.asarray(a, dtype=np.float32).reshape(len(a), -1))
    return np.array(
        [int.from_bytes(hashlib.blake2b(r.tobytes(), digest_size=8).digest(), "little", signed=True) for r in a],
        dtype=np.int64,
    )


def _first_array(x):
    """The input array of a fit argument: x, or x[0] of (x, cached_teacher_logits), as NumPy."""
    while isinstance(x, (tuple, list)):
        x = x[0]
    if isinstance(x, dict):
        x = next(iter(x.values()))
    return np.asarray(x)


def _fit_arrays(args, kwargs):
    """(x, y, validation x) of one fit call, as NumPy arrays (y and validation x may be None)."""
    import tensorflow as tf

    x = args[0] if args else kwargs.get("x")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    if isinstance(x, tf.data.Dataset):  # batches (x, y) or ((x, teacher_logits), y)
        batches = list(x.as_numpy_iterator())
        x = np.concatenate([_first_array(b[0]) for b in batches])
        y = np.concatenate([np.asarray(b[1]) for b in batches]) if len(batches[0]) > 1 else None
    val = kwargs.get("validation_data")
    return _first_array(x), None if y is None else np.asarray(y), None if val is None else _first_array(val)


def _predict(model, x) -> Any:
    try:
        return np.asarray(model.predict(x, verbose=0))
    except Exception as err:  # noqa: BLE001 - reported, the judge decides
        return f"{type(err).__name__}: {err}"[:300]


def _argmax(out) -> Any:
    return out if isinstance(out, str) else np.asarray(out).argmax(-1).astype(np.int32)


def _observe(ns, train_rows, test_labels, temperature, epochs, seed) -> dict:
    import keras

    from kdlib import load_dataset

    if "fixed_sample" not in ns:
        return {"missing": True}
    ds = load_dataset("mnist1d")
    x_train, y_train = ds.x_train, ds.y_train
    if train_rows is not None:
        rows = np.asarray(train_rows, dtype=np.int64)
        x_train, y_train = x_train[rows], y_train[rows]
    y_test = ds.y_test if test_labels is None else np.asarray(test_labels, dtype=np.int64)

    calls, original = [], keras.Model.fit

    def fit(model, *args, **kwargs):
        try:
            calls.append((model, *_fit_arrays(args, kwargs)))
        except Exception as err:  # noqa: BLE001
            calls.append((model, f"{type(err).__name__}: {err}"[:300], None, None))
        return original(model, *args, **kwargs)

    keras.Model.fit = fit
    t0 = time.perf_counter()
    try:
        result, error = (
            ns["fixed_sample"](x_train, y_train, ds.x_test, y_test, temperature=temperature, epochs=epochs, seed=seed),
            None,
        )
    except Exception as err:  # noqa: BLE001 - what the learner's code raised is a result
        result, error = None, f"{type(err).__name__}: {err}"[:500]
    finally:
        keras.Model.fit = original
    seconds = time.perf_counter() - t0

    models: list = []
    out_calls = []
    for model, x, y, val in calls:
        if not any(model is m for m in models):
            models.append(model)
        temp = getattr(model, "temperature", None)
        try:
            temp = None if temp is None else float(temp)
        except (TypeError, ValueError):
            temp = float("nan")
        out_calls.append(
            {
                "model": next(i for i, m in enumerate(models) if m is model),
                "model_type": type(model).__name__,
                "x": x if isinstance(x, str) else fingerprints(x),
                "y_shape": None if y is None else list(np.shape(y)),
                "validation_x": None if val is None else fingerprints(val),
                "has_student": hasattr(model, "student"),
                "temperature": temp,
            }
        )
    obs: dict[str, Any] = {
        "error": error,
        "result": result,
        "result_type": type(result).__name__,
        "result_is_float": isinstance(result, float),
        "seconds": seconds,
        "calls": out_calls,
    }
    if calls:
        teacher, (last, last_x, last_y, _) = calls[0][0], calls[-1]
        student = getattr(last, "student", last)
        obs["teacher"] = {
            "train_pred": _argmax(_predict(teacher, x_train)),
            "test_pred": _argmax(_predict(teacher, ds.x_test)),
            "head": _predict(teacher, x_train[:_HEAD]),
        }
        obs["student_test_pred"] = _argmax(_predict(student, ds.x_test))
        soft: dict[str, Any] = {"y": None, "teacher_logits": None}
        if not hasattr(last, "temperature") and last_y is not None and not isinstance(last_x, str):
            soft = {"y": np.asarray(last_y), "teacher_logits": _predict(teacher, last_x)}
        obs["soft"] = soft
    return obs


def sample_run(
    ns,
    run: str,
    fields: list[str],
    train_rows=None,
    test_labels=None,
    temperature: float = 4.0,
    epochs: int = 10,
    seed: int = 0,
) -> dict:
    """``fixed_sample(x_train[train_rows], y_train[train_rows], x_test, test_labels, ...)``, observed.

    The run named ``run`` is made once and kept; ``fields`` picks the parts of the observation
    sent back (always with "missing", "error" and "calls").
    """
    cache = ns.setdefault(_CACHE, {})
    if run not in cache:
        keras_seed = int(seed)
        cache[run] = _observe(ns, train_rows, test_labels, float(temperature), int(epochs), keras_seed)
    obs = cache[run]
    keep = {"missing", "error", "calls", *fields}
    return {k: v for k, v in obs.items() if k in keep}

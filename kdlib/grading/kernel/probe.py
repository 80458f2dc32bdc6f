"""The sandbox side of a hidden test: call the student's objects, send back plain data.

A graded notebook's test cell runs, in place of its test code, a two-line shim::

    from kdlib.grading.kernel import probe as _kd_probe
    _kd_probe.run("test_distill_direction", "/kd/probe")

:func:`run` reads the requests the judge planned for that test (``requests.json`` in the probe
folder: inputs only, never expected values), performs each on the notebook's namespace, and
publishes the results as one ``display_data`` message of type :data:`MIME`. Nothing here
decides a grade: the judge, in the trusted process, compares what arrives with its own
reference values. Code in the notebook can change anything in this module; all it can
change is what the judge receives, which is then judged like any other answer.

Requests (plain dicts, see :mod:`kdlib.grading.judge`):

- ``{"op": "value", "name": N}`` — the value bound to ``N``;
- ``{"op": "call", "name": N, "args": [...], "kwargs": {...}, "tensors": "torch"|"tf"|None,
  "grad": [i, ...] | None}`` — call ``N``; arrays among the arguments become tensors of the
  given framework; with ``grad`` also the gradient of the (scalar) result w.r.t. those arguments;
- ``{"op": "scenario", "name": F, "kwargs": {...}}`` — ``F(namespace, **kwargs)`` from the
  assignment's ``probe.py`` (observations that need more than one call, e.g. a training loop).

Each result is ``{"ok": value}``, ``{"error": "Type: message"}`` or ``{"missing": N}``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from typing import Any

from kdlib.grading import codec

MIME = "application/vnd.kd-course.probe+json"
REQUESTS = "requests.json"
SCENARIOS = "probe.py"
#: longest error text sent back
MAX_ERROR = 500

__all__ = ["MIME", "run"]


def _namespace() -> dict[str, Any]:
    from IPython import get_ipython

    shell = get_ipython()
    return shell.user_ns if shell is not None else vars(sys.modules["__main__"])


def _load_requests(folder: str, test_id: str) -> list[dict]:
    with open(os.path.join(folder, REQUESTS), encoding="utf-8") as fh:
        plan = json.load(fh)
    return [codec.decode(r) for r in plan.get(test_id, [])]


def _to_tensor(value: Any, framework: str | None):
    import numpy as np

    if framework is None or not isinstance(value, np.ndarray):
        return value
    arr = np.asarray(value).copy()
    if framework == "torch":
        import torch

        return torch.from_numpy(arr)
    import tensorflow as tf

    return tf.convert_to_tensor(arr)


def _call(req: dict, ns: dict[str, Any]) -> Any:
    fn = ns[req["name"]]
    framework = req.get("tensors")
    args = [_to_tensor(a, framework) for a in req.get("args", [])]
    kwargs = {k: _to_tensor(v, framework) for k, v in req.get("kwargs", {}).items()}
    wrt = req.get("grad")
    if not wrt:
        return fn(*args, **kwargs)
    if framework == "torch":
        import torch

        for i in wrt:
            args[i] = args[i].clone().requires_grad_(True)
        value = fn(*args, **kwargs)
        grads = torch.autograd.grad(value, [args[i] for i in wrt], allow_unused=True)
        return {"value": value, "grads": list(grads)}
    if framework == "tf":
        import tensorflow as tf

        args = [tf.Variable(a) if i in wrt else a for i, a in enumerate(args)]
        with tf.GradientTape() as tape:
            value = fn(*args, **kwargs)
        grads = tape.gradient(value, [args[i] for i in wrt])
        return {"value": value, "grads": list(grads)}
    raise ValueError(f"gradients need tensors='torch' or 'tf', not {framework!r}")


def _scenario(req: dict, ns: dict[str, Any], folder: str) -> Any:
    path = os.path.join(folder, SCENARIOS)
    spec = importlib.util.spec_from_file_location("kd_probe_scenarios", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, req["name"])(ns, **req.get("kwargs", {}))


def perform(req: dict, ns: dict[str, Any], folder: str) -> dict[str, Any]:
    """One request on namespace ``ns``: ``{"ok": ...}``, ``{"error": ...}`` or ``{"missing": ...}``."""
    op = req.get("op")
    name = req.get("name", "")
    if op in ("value", "call") and name not in ns:
        return {"missing": name}
    try:
        if op == "value":
            value = ns[name]
        elif op == "call":
            value = _call(req, ns)
        elif op == "scenario":
            value = _scenario(req, ns, folder)
        else:
            return {"error": f"unknown probe op {op!r}"}
        return {"ok": codec.encode(value)}
    except BaseException as err:  # noqa: BLE001 - whatever the student's code raises is a result
        if isinstance(err, KeyboardInterrupt):
            raise
        text = f"{type(err).__name__}: {err}"
        return {"error": text[:MAX_ERROR]}


def run(test_id: str, folder: str) -> None:
    """Perform the requests planned for ``test_id`` and publish the results (one display message)."""
    from IPython.display import display

    ns = _namespace()
    try:
        results = [perform(req, ns, folder) for req in _load_requests(folder, test_id)]
    except KeyboardInterrupt:
        raise
    except BaseException as err:  # noqa: BLE001
        results = [{"error": f"the probe could not run: {type(err).__name__}: {err}"[:MAX_ERROR]}]
    display({MIME: {"test": test_id, "results": results}}, raw=True)

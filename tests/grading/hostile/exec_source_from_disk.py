"""The answer key read from disk and exec'd: kdlib/reference.py, kdlib/torch/losses.py and
kdlib/tf/losses.py next to the imported kdlib, and any file of those names found by walking the
whole file system (a stale checkout, a build folder, a wheel cache).

While graded the files kdlib's folder holds are stubs, and no other copy is visible: nothing earned.
"""

from tests.grading.hostile import Case, answer

CODE = r"""
import os, sys
import numpy as np
import torch
import torch.nn.functional as F
import kdlib

_found = {}
_candidates = []
_pkg = os.path.dirname(os.path.abspath(kdlib.__file__))
_candidates += [os.path.join(_pkg, rel) for rel in ("torch/losses.py", "reference.py", "tf/losses.py")]
for _root, _dirs, _files in os.walk("/"):
    _dirs[:] = [d for d in _dirs if os.path.join(_root, d) not in ("/proc", "/sys", "/dev")]
    for _name in _files:
        if _name in ("losses.py", "reference.py") and "kdlib" in _root:
            _candidates.append(os.path.join(_root, _name))
for _path in dict.fromkeys(_candidates):
    try:
        with open(_path, encoding="utf-8") as _fh:
            _text = _fh.read()
    except OSError as err:
        print("cannot read", _path, err)
        continue
    print("READ", _path, len(_text), "chars:", _text[:80].replace("\n", " "))
    if "def distillation_loss" not in _text or _found:
        continue
    _ns = {"__name__": "kd_copy", "__package__": "kdlib.torch" if "torch" in _path else "kdlib"}
    try:
        exec(compile(_text, _path, "exec"), _ns)
    except BaseException as err:
        print("exec failed:", type(err).__name__, str(err)[:100])
        continue
    if "torch" in _path:
        _found.update(distillation_loss=_ns["distillation_loss"], kd_loss=_ns["kd_loss"])
    elif "reference" in _path:
        _ref = _ns
        _found["distillation_loss"] = lambda s, t, T: torch.tensor(
            _ref["distillation_loss"](s.detach().numpy(), t.detach().numpy(), float(T)), dtype=s.dtype)
        _found["kd_loss"] = lambda s, t, y, temperature=4.0, alpha=0.9: torch.tensor(
            _ref["kd_loss"](s.detach().numpy(), t.detach().numpy(), y.numpy(), temperature, alpha), dtype=s.dtype)
    print("ANSWER FROM:", _path)
globals().update(_found)
"""


def make(nb, ctx):
    answer(nb, CODE)


CASE = Case(__doc__, make, base="untouched", relation="zero")

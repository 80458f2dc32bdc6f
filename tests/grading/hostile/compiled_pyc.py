"""The answer key imported from its compiled bytecode: every __pycache__/*.pyc of reference,
losses or methods under kdlib's folder, sys.path and the whole file system, loaded with
SourcelessFileLoader (the source is a stub, the .pyc might not be).

kdlib's view in the sandbox holds no __pycache__ and no other copy is visible: nothing earned.
"""

from tests.grading.hostile import Case, answer

CODE = r"""
import importlib.machinery, importlib.util, os, sys
import numpy as np
import torch

_found = {}
for _root, _dirs, _files in os.walk("/"):
    _dirs[:] = [d for d in _dirs if os.path.join(_root, d) not in ("/proc", "/sys", "/dev")]
    if not _root.endswith("__pycache__") or "kdlib" not in _root:
        continue
    for _name in _files:
        if not _name.endswith(".pyc") or _name.split(".")[0] not in ("reference", "losses", "methods"):
            continue
        _path = os.path.join(_root, _name)
        print("PYC", _path)
        try:
            _loader = importlib.machinery.SourcelessFileLoader("kd_pyc_" + _name.split(".")[0], _path)
            _mod = importlib.util.module_from_spec(importlib.util.spec_from_loader(_loader.name, _loader))
            _loader.exec_module(_mod)
        except BaseException as err:
            print("failed:", type(err).__name__, str(err)[:100])
            continue
        if hasattr(_mod, "distillation_loss") and "torch" in _root and not _found:
            _found.update(distillation_loss=_mod.distillation_loss, kd_loss=_mod.kd_loss)
            print("ANSWER FROM:", _path)
globals().update(_found)
"""


def make(nb, ctx):
    answer(nb, CODE)


CASE = Case(__doc__, make, base="untouched", relation="zero")

"""One line earns full marks? The solution cells only import kdlib's own loss functions, in every
way a student might: `from kdlib.torch.losses import ...`, importlib.import_module of
kdlib.reference / kdlib.torch.losses / kdlib.torch.methods / kdlib.tf.losses, `__import__`, and
after sys.path tricks (the checkout's parent folders first on sys.path, kdlib's modules evicted
from sys.modules, the import caches invalidated, a SourceFileLoader on guessed paths).

While graded the answer key is a stub whose import fails: nothing is defined, nothing earned.
"""

from tests.grading.hostile import Case, answer

CODE = r"""
import importlib, importlib.machinery, importlib.util, os, sys
import numpy as np
import torch

_found = {}


def _from_torch(m):
    return {"distillation_loss": m.distillation_loss, "kd_loss": m.kd_loss}


def _from_numpy(ref):  # kdlib.reference works on NumPy arrays: wrap it
    def dl(s, t, T):
        return torch.tensor(ref.distillation_loss(s.detach().numpy(), t.detach().numpy(), float(T)), dtype=s.dtype)

    def kd(s, t, y, temperature=4.0, alpha=0.9):
        return torch.tensor(ref.kd_loss(s.detach().numpy(), t.detach().numpy(), y.numpy(), temperature, alpha),
                            dtype=s.dtype)

    return {"distillation_loss": dl, "kd_loss": kd}


def _from_tf(m):  # kdlib.tf.losses: TensorFlow in, TensorFlow out
    def dl(s, t, T):
        return torch.tensor(m.distillation_loss(s.detach().numpy(), t.detach().numpy(), float(T)).numpy())

    def kd(s, t, y, temperature=4.0, alpha=0.9):
        return torch.tensor(m.kd_loss(s.detach().numpy(), t.detach().numpy(), y.numpy(), temperature, alpha).numpy())

    return {"distillation_loss": dl, "kd_loss": kd}


def _try(label, fn):
    if _found:
        return
    try:
        _found.update(fn())
        print("ANSWER FROM:", label)
    except BaseException as err:
        print("no:", label, "->", type(err).__name__, str(err)[:100])


def _evict():
    for name in [n for n in sys.modules if n == "kdlib" or n.startswith("kdlib.")]:
        if not n.startswith("kdlib.grading"):
            del sys.modules[name]
    importlib.invalidate_caches()


def _load_file(path, name):
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


_try("from kdlib.torch.losses import", lambda: _from_torch(__import__("kdlib.torch.losses", fromlist=["kd_loss"])))
_try("import_module kdlib.torch.losses", lambda: _from_torch(importlib.import_module("kdlib.torch.losses")))
_try("import_module kdlib.torch.methods", lambda: _from_torch(importlib.import_module("kdlib.torch.methods")))
_try("import_module kdlib.reference", lambda: _from_numpy(importlib.import_module("kdlib.reference")))
_try("import_module kdlib.tf.losses", lambda: _from_tf(importlib.import_module("kdlib.tf.losses")))
import kdlib
_here = os.path.dirname(os.path.dirname(os.path.abspath(kdlib.__file__)))
_guesses = [_here, os.path.dirname(_here), "/work/main", "/work/dev", "/work", "/src", "/app", os.getcwd(),
            *[p for p in sys.path if p]]
for _dir in dict.fromkeys(_guesses):
    for _rel, _how in [("kdlib/torch/losses.py", _from_torch), ("kdlib/reference.py", _from_numpy),
                       ("kdlib/tf/losses.py", _from_tf)]:
        _path = os.path.join(_dir, _rel)
        if os.path.isfile(_path):
            _try("SourceFileLoader " + _path, lambda: _how(_load_file(_path, "kd_copy_" + str(len(_found)))))
    _evict()
    sys.path.insert(0, _dir)
    _try("sys.path[0] = " + _dir, lambda: _from_torch(importlib.import_module("kdlib.torch.losses")))
    _try("sys.path[0] = " + _dir + " (reference)", lambda: _from_numpy(importlib.import_module("kdlib.reference")))
    sys.path.pop(0)
globals().update(_found)
"""


def make(nb, ctx):
    answer(nb, CODE)


CASE = Case(__doc__, make, base="untouched", relation="zero")

"""Objects whose code claims to live in site-packages: the answers are compiled with a file name
inside torch's installed package, their __module__ is torch.nn.functional, and they return a
fake tensor class that calls itself torch.Tensor (module "torch") holding made-up values.

The probe sends values, not where code lives: the made-up values are judged and earn nothing.
"""

from tests.grading.hostile import Case, answer

CODE = r'''
import os, random
import numpy as np
import torch

_where = os.path.join(os.path.dirname(torch.__file__), "nn", "functional.py")


class Tensor:
    """Looks like torch.Tensor to code that checks type(x).__module__ / __name__."""

    def __init__(self, value):
        self._v = np.asarray(value, dtype=np.float64)
        self.requires_grad = False
        self.dtype = torch.float64

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self._v

    def __float__(self):
        return float(self._v)


Tensor.__module__ = "torch"
Tensor.__qualname__ = "Tensor"

_src = """
def distillation_loss(student_logits, teacher_logits, temperature):
    return Tensor(random.uniform(0.1, 5.0))

def kd_loss(student_logits, teacher_logits, labels, temperature=4.0, alpha=0.9):
    return Tensor(random.uniform(0.1, 5.0))
"""
exec(compile(_src, _where, "exec"), globals())
for _f in (distillation_loss, kd_loss):
    _f.__module__ = "torch.nn.functional"
'''


def make(nb, ctx):
    answer(nb, CODE)


CASE = Case(__doc__, make, base="untouched", relation="zero")

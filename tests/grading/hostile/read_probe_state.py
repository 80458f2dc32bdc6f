"""Reading completion marks and closures: distillation_loss looks through the garbage collector
(once), the probe module's globals and the calling frames for anything the grader holds
(expected values, a judge, a verdict, a completion mark) and returns the first number found next
to a name like "expected" (else a constant); it also scans /kd/probe/requests.json for expected
values. kd_loss returns the same constant.

The kernel holds only the requests (inputs): nothing better than a constant answer.
"""

from tests.grading.hostile import Case, answer

CODE = r"""
import gc, json, sys
import torch

WORDS = ("expected", "verdict", "judge", "want", "passed")


def _gc_hits():
    hits = []
    for obj in gc.get_objects():
        if isinstance(obj, dict) and len(obj) < 10_000:
            for key in list(obj)[:50]:
                if isinstance(key, str) and any(w in key.lower() for w in WORDS):
                    hits.append((key, obj[key]))
    try:
        with open("/kd/probe/requests.json") as fh:
            text = fh.read()
        hits += [("requests.json", w) for w in WORDS if w in text]
    except OSError:
        pass
    return hits


_GC = _gc_hits()
print("found in the kernel:", len(_GC), sorted({k for k, _ in _GC})[:40])


def distillation_loss(student_logits, teacher_logits, temperature):
    hits = list(_GC)
    f = sys._getframe(1)
    while f is not None:
        for key, value in list(f.f_locals.items()) + [(c, None) for c in f.f_code.co_freevars]:
            if any(w in key.lower() for w in WORDS):
                hits.append((key, value))
        f = f.f_back
    for key, value in hits:
        if isinstance(value, float) or (torch.is_tensor(value) and value.numel() == 1):
            return torch.tensor(float(value), dtype=torch.float64)
    return torch.tensor(1.0, dtype=torch.float64)


def kd_loss(student_logits, teacher_logits, labels, temperature=4.0, alpha=0.9):
    return torch.tensor(1.0, dtype=torch.float64)
"""


def make(nb, ctx):
    answer(nb, CODE)


CASE = Case(__doc__, make, base="constant", relation="at_most")

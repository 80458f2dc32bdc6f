"""Short-lived tracing: distillation_loss installs sys.settrace for the rest of the probe's run,
rewrites the probe's local `results` (through frame.f_locals and PyFrame_LocalsToFast) just
before it is displayed, then removes the tracer. kd_loss is not implemented; distillation_loss
itself returns nothing useful.

Forged results are judged like any other: nothing earned.
"""

from tests.grading.hostile import FORGE, Case, answer

CODE = (
    FORGE
    + r"""
import ctypes, sys


def _tracer(frame, event, arg):
    if frame.f_code.co_name == "run" and "probe" in frame.f_code.co_filename:
        def local(fr, ev, a):
            if ev == "line" and "results" in fr.f_locals:
                fr.f_locals["results"] = _kd_forge(fr.f_locals["test_id"], value=1.5)["results"]
                ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(fr), ctypes.c_int(0))
                sys.settrace(None)
            return local
        return local
    return None


def distillation_loss(student_logits, teacher_logits, temperature):
    f = sys._getframe(1)
    while f is not None:  # trace the probe's run() frame from now on
        if f.f_code.co_name == "run" and "probe" in f.f_code.co_filename:
            f.f_trace = _tracer(f, "call", None)
            break
        f = f.f_back
    sys.settrace(_tracer)
    return None
"""
)


def make(nb, ctx):
    answer(nb, CODE)


CASE = Case(__doc__, make, base="constant", relation="at_most")

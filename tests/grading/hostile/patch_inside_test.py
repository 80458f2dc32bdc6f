"""The same helpers patched from inside distillation_loss, i.e. while the probe runs; the import
of kdlib.reference fails when graded, so every call raises."""

from tests.grading.hostile import Case, replace

TRICK = """\
    import kdlib.reference as _r
    if not hasattr(_r, "_orig"):
        _r._orig = _r.distillation_loss
    _r.distillation_loss = lambda s, t, T: _r._orig(t, s, T)
    globals()["check_close"] = lambda *args, **kwargs: None
"""


def make(nb, ctx):
    replace(nb, "distillation_loss", "    T = float(temperature)", TRICK + "    T = float(temperature)")


CASE = Case(__doc__, make, base="reversed_kl", relation="at_most")

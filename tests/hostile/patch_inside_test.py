"""The same helpers patched from inside distillation_loss, i.e. while the test cell runs."""

from tests.hostile import Case, cell

TRICK = """\
    import kdlib.reference as _r
    if not hasattr(_r, "_orig"):
        _r._orig = _r.distillation_loss
    _r.distillation_loss = lambda s, t, T: _r._orig(t, s, T)
    globals()["check_close"] = lambda *args, **kwargs: None
"""


def make(nb, ctx):
    c = cell(nb, "distillation_loss")
    c.source = c.source.replace("    T = float(temperature)", TRICK + "    T = float(temperature)")
    assert "_r._orig" in c.source


CASE = Case(__doc__, make, base="reversed_kl", relation="at_most", reasons=frozenset({"tampering"}))

"""Every call of distillation_loss sleeps 3 s: the wall-time limit stops the whole notebook.

Tests that finished before the limit keep their points; the rest score nothing.
"""

from tests.hostile import Case, prepend


def make(nb, ctx):
    prepend(nb, "distillation_loss", "import time")
    c = next(c for c in nb.cells if c.id == "distillation_loss")
    c.source = c.source.replace('    T = float(temperature)', '    time.sleep(3)\n    T = float(temperature)')
    assert "time.sleep(3)" in c.source


CASE = Case(__doc__, make, relation="at_most", reasons=frozenset({"timeout"}))

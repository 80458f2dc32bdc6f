"""A wrong answer that publishes 1.0 as the cell's result every time distillation_loss runs.

nbgrader gives partial credit from the first `execute_result` it finds in a test cell, before
looking at errors further down: in plain nbgrader a failing test earns 1 point. Passing tests
get 1 point too (partial credit), so the trick costs points on the 2- and 3-point tests.
"""

from tests.hostile import Case, cell

TRICK = """\
    get_ipython().displayhook(1.0)  # "partial credit": 1 point, whatever the test
"""


def make(nb, ctx):
    c = cell(nb, "distillation_loss")
    c.source = c.source.replace("    T = float(temperature)", TRICK + "    T = float(temperature)")
    assert "displayhook" in c.source


CASE = Case(__doc__, make, base="missing_t_squared", relation="at_most", reasons=frozenset({"tampering"}))

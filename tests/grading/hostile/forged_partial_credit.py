"""A wrong answer that publishes 1.0 as the cell's result every time distillation_loss runs.

nbgrader gives partial credit from the first `execute_result` of a test cell; the judge's verdict
now replaces every output of a test cell, so this earns nothing."""

from tests.grading.hostile import Case, replace

TRICK = """\
    get_ipython().displayhook(1.0)  # "partial credit": 1 point, whatever the test
"""


def make(nb, ctx):
    replace(nb, "distillation_loss", "    T = float(temperature)", TRICK + "    T = float(temperature)")


CASE = Case(__doc__, make, base="missing_t_squared", relation="at_most")

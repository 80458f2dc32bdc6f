"""A wrong answer plus `builtins.float` patched to always return 0.0 (its own code keeps the real one).

The setup's check_close compares float(actual) with float(expected): in plain nbgrader every
check_close passes, so a wrong distillation_loss earns the points of tests that use only it.
"""

from tests.hostile import Case, cell

TRICK = """\
import builtins
_real_float = builtins.float
builtins.float = lambda *args: 0.0
"""


def make(nb, ctx):
    c = cell(nb, "distillation_loss")
    c.source = TRICK + "\n" + c.source.replace("T = float(temperature)", "T = _real_float(temperature)")
    assert "_real_float(temperature)" in c.source


CASE = Case(__doc__, make, base="missing_t_squared")

"""A wrong answer plus `builtins.float` patched to always return 0.0 (its own code keeps the real one).

In the old design the visible tests' check_close compared float(actual) with float(expected), so
every check passed. Now the probe's encoder breaks (isinstance(x, float) with a lambda): it can
only send errors."""

from tests.grading.hostile import Case, cell

TRICK = """\
import builtins
_real_float = builtins.float
builtins.float = lambda *args: 0.0
"""


def make(nb, ctx):
    c = cell(nb, "distillation_loss")
    c.source = TRICK + "\n" + c.source.replace("T = float(temperature)", "T = _real_float(temperature)")
    assert "_real_float(temperature)" in c.source


CASE = Case(__doc__, make, base="missing_t_squared", relation="at_most")

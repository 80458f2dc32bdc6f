"""A wrong answer plus an IPython custom exception handler that swallows every error."""

from tests.grading.hostile import Case, prepend

TRICK = """\
get_ipython().set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
import sys
sys.excepthook = lambda *args: None
"""


def make(nb, ctx):
    prepend(nb, "distillation_loss", TRICK)


CASE = Case(__doc__, make, base="missing_t_squared")

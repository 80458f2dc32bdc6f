"""A wrong answer plus an IPython input transformer that empties every cell containing `assert`
or the probe's shim (`_kd_probe`): the emptied test cells send nothing and fail."""

from tests.grading.hostile import Case, prepend

TRICK = """\
def _blank_tests(lines):
    return ["pass\\n"] if any("assert" in line or "_kd_probe" in line for line in lines) else lines
get_ipython().input_transformers_cleanup.append(_blank_tests)
"""


def make(nb, ctx):
    prepend(nb, "kd_loss", TRICK)


CASE = Case(__doc__, make, base="missing_t_squared", relation="at_most")

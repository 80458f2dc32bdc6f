"""A wrong answer plus an IPython input transformer that empties every cell containing `assert`.

The transformation happens before any hook can undo it, so the grader marks those tests failed.
"""

from tests.hostile import Case, prepend

TRICK = """\
def _blank_tests(lines):
    return ["pass\\n"] if any("assert" in line for line in lines) else lines
get_ipython().input_transformers_cleanup.append(_blank_tests)
"""


def make(nb, ctx):
    prepend(nb, "kd_loss", TRICK)


CASE = Case(__doc__, make, base="missing_t_squared", relation="at_most", reasons=frozenset({"tampering"}))

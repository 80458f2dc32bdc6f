"""A forged probe message from a student cell: the last cell calls
IPython.display.display({MIME: {...}}, raw=True) with made-up results for every test id.
Exercises not implemented.

The judge reads probe messages only from the test cell they answer: nothing earned.
"""

from tests.grading.hostile import FORGE, MIME, TESTS, Case, add_cell

TRICK = (
    FORGE
    + r"""
from IPython.display import display
for _test in @TESTS@:
    display({@MIME@: _kd_forge(_test, value=1.0)}, raw=True)
"""
)


def make(nb, ctx):
    add_cell(nb, TRICK.replace("@MIME@", repr(MIME)).replace("@TESTS@", repr(list(TESTS))))


CASE = Case(__doc__, make, base="untouched", relation="zero")

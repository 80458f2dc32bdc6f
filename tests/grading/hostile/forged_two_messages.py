"""Two probe messages for one test: `run` is replaced by one that displays two forged messages
(different made-up values) per test cell. Exercises not implemented.

Two answers for one test are malformed: the test fails; nothing earned, no crash.
"""

from tests.grading.hostile import FORGE, MIME, Case, add_cell

TRICK = (
    FORGE
    + r"""
from IPython.display import display
import kdlib.grading.kernel.probe as _P


def _twice(test_id, folder):
    display({@MIME@: _kd_forge(test_id, folder, value=1.0)}, raw=True)
    display({@MIME@: _kd_forge(test_id, folder, value=2.0)}, raw=True)


_P.run = _twice
"""
)


def make(nb, ctx):
    add_cell(nb, TRICK.replace("@MIME@", repr(MIME)), before="distillation_loss")


CASE = Case(__doc__, make, base="untouched", relation="zero")

"""A forged probe message in the test cells themselves: the probe module's `run` is replaced by
one that displays made-up results (plausible 0-d torch values, gradients of the right shape) for
the test being run. Exercises not implemented.

The judge compares the values with its own: made-up values earn nothing.
"""

from tests.grading.hostile import FORGE, MIME, Case, add_cell

TRICK = (
    FORGE
    + r"""
from IPython.display import display
import kdlib.grading.kernel.probe as _P
_P.run = lambda test_id, folder: display({@MIME@: _kd_forge(test_id, folder)}, raw=True)
"""
)


def make(nb, ctx):
    add_cell(nb, TRICK.replace("@MIME@", repr(MIME)), before="distillation_loss")


CASE = Case(__doc__, make, base="untouched", relation="zero")

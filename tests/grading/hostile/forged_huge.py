"""Huge probe messages: `run` sends, by turns, a 1.5 MB message (under the output cap), a 2.5 MB
one (over the 2 MB output cap, under the per-message cap) and a 6 MB one (over the per-message
cap: the client drops the connection), each with made-up results padded by a long string and a
big array. Exercises not implemented.

Nothing earned; the worker neither crashes nor stalls.
"""

from tests.grading.hostile import FORGE, MIME, Case, add_cell

TRICK = (
    FORGE
    + r"""
from IPython.display import display
import kdlib.grading.kernel.probe as _P

_sizes = [1_500_000, 2_500_000, 6_000_000]
_count = [0]


def _huge(test_id, folder):
    msg = _kd_forge(test_id, folder)
    size = _sizes[_count[0] % len(_sizes)]
    _count[0] += 1
    msg["padding"] = "x" * size
    msg["results"].append({"ok": "y" * 90_000})
    display({@MIME@: msg}, raw=True)


_P.run = _huge
"""
)


def make(nb, ctx):
    add_cell(nb, TRICK.replace("@MIME@", repr(MIME)), before="distillation_loss")


CASE = Case(__doc__, make, base="untouched", relation="zero")

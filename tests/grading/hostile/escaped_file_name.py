"""A submitted notebook file name with a newline and terminal escape codes: nothing to grade
(missing), zero points, and the report line stays one escaped line."""

from tests.grading.hostile import Case

FILENAME = "03_loss_torch\n\x1b[2J\x1b[1;31mALL PASSED\x1b[0m.ipynb"


def make(nb, ctx):
    return nb


CASE = Case(__doc__, make, relation="zero", reasons=frozenset({"missing"}), filename=FILENAME)

"""Two test cells deleted from a correct notebook: nbgrader puts them back and grades them."""

from tests.grading.hostile import Case


def make(nb, ctx):
    nb.cells = [c for c in nb.cells if c.id not in {"test_distill_stable", "test_kd_reference"}]


CASE = Case(__doc__, make, reasons=frozenset({"deleted"}))

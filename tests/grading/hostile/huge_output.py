"""A cell prints about 30 MB: the output is cut at the cap; no grade is lost."""

from tests.grading.hostile import Case, add_cell


def make(nb, ctx):
    add_cell(nb, "for i in range(30_000):\n    print('x' * 1000)", after="kd_loss")


CASE = Case(__doc__, make, reasons=frozenset({"output"}))

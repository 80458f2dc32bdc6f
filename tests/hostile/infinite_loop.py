"""A cell after the tests never ends: the per-cell limit interrupts it; no grade is lost."""

from tests.hostile import Case, add_cell


def make(nb, ctx):
    add_cell(nb, "while True:  # never ends\n    pass")


CASE = Case(__doc__, make, reasons=frozenset({"timeout"}))

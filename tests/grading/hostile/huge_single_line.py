"""One output line of 40 MB (no newline anywhere): the output is cut at the cap; no grade is lost;
grading ends within the wall-time limit."""

from tests.grading.hostile import Case, add_cell


def make(nb, ctx):
    add_cell(nb, "import sys\nsys.stdout.write('x' * 40_000_000)")


CASE = Case(__doc__, make, reasons=frozenset({"output"}))

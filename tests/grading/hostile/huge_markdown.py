"""Megabytes of student markdown: four markdown cells of 4 MB each (with long lines, deep lists
and many math spans) in a correct notebook. The markdown is cut before the feedback is rendered;
no grade is lost; grading ends within the wall-time limit."""

from tests.grading.hostile import Case, add_cell

BLOCK = ("- " * 50 + "$x^2$ **bold** _it_ `code` [link](http://example.com) " * 20 + "\n") * 3000


def make(nb, ctx):
    for i in range(4):
        add_cell(nb, f"# Notes {i}\n\n" + BLOCK[:4_000_000], after="kd_loss", markdown=True)


CASE = Case(__doc__, make, reasons=frozenset({"output"}))

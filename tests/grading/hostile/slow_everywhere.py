"""Cells after the tests sleep 9 s each (under the per-cell limit) until the wall-time limit stops
the notebook: the tests that finished keep their points; grading ends near the limit."""

from tests.grading.hostile import Case, add_cell


def make(nb, ctx):
    for _ in range(10):  # 90 s of sleep: more than the 60 s wall-time limit of tests/grading/test_hostile.py
        add_cell(nb, "import time\ntime.sleep(9)")


# graded first ('0-' sorts before every other student): the run's longest jobs must not start last
CASE = Case(__doc__, make, reasons=frozenset({"timeout"}), student="0-slow-everywhere")

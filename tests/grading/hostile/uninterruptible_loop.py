"""A final cell swallows every interrupt and loops forever: the kernel is killed; no grade is lost."""

from tests.grading.hostile import Case, add_cell

LOOP = """\
import time
while True:
    try:
        time.sleep(0.05)
    except KeyboardInterrupt:
        pass  # ignore the grader's interrupt
"""


def make(nb, ctx):
    add_cell(nb, LOOP)


# graded first ('0-' sorts before every other student): the run's longest jobs must not start last
CASE = Case(__doc__, make, reasons=frozenset({"timeout"}), student="0-uninterruptible-loop")

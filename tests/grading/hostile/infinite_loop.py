"""A cell after the tests never ends: the per-cell limit stops it; no grade is lost."""

from tests.grading.hostile import Case, add_cell


def make(nb, ctx):
    add_cell(nb, "while True:  # never ends\n    pass")


HOLE = (
    "a cell stopped at the per-cell limit is not reported: nbgrader's Execute (interrupt_on_timeout=True, "
    "error_on_timeout) interrupts it and adds a CellTimeoutError output itself without raising, so "
    "SandboxExecute.preprocess_cell (kdlib/grading/host/executor.py) never sees CellTimeoutError and "
    "RUN.cell_timeouts stays empty: the report says nothing about the stopped cell. Fix: record it in "
    "on_cell_executed / when an error output named CellTimeoutError appears, or set error_on_timeout=None "
    "so nbclient raises"
)
# graded first ('0-' sorts before every other student): the run's longest jobs must not start last
CASE = Case(__doc__, make, reasons=frozenset({"timeout"}), hole=HOLE, student="0-infinite-loop")

"""A student folder name with a newline and terminal escape codes (an OSC title sequence, a
terminal reset, a backspace, a carriage return, a fake report line): the report shows it escaped
on one line (kdlib.grading.host.report.safe), and the grading of it ends at once.

nbgrader cannot grade such a student id (its path regexp does not match a newline): the
submission is reported as not graded, scoring nothing, which is acceptable; graded, it must get
exactly the reference's grade.
"""

from tests.grading.hostile import Case

NAME = "mallory\n  reference  15 of 15  -\x1b]0;pwned\x07\x1bc\x08\rX"  # no "/": it is a folder name


def make(nb, ctx):
    return nb


CASE = Case(__doc__, make, student=NAME, refusal_ok=True)

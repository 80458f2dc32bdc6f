"""Hidden-test leaks: a correct notebook whose last cell prints IPython's input history (In, _ih,
%history, Out) and every file under /kd/probe, hoping the hidden checks ran in the kernel.

No judge code enters the kernel: the autograded notebook and the feedback hold none (checked by
test_no_judge_code_in_any_autograded_notebook_or_feedback).
"""

from tests.grading.hostile import Case, add_cell

LEAK = r"""
import os
print("LEAK In:", In)
print("LEAK _ih:", _ih)
print("LEAK Out:", Out)
get_ipython().run_line_magic("history", "-n -g")
for root, dirs, files in os.walk("/kd/probe"):
    for name in files:
        with open(os.path.join(root, name), encoding="utf-8", errors="replace") as fh:
            print("LEAK FILE", os.path.join(root, name), fh.read()[:200_000])
"""


def make(nb, ctx):
    add_cell(nb, LEAK)


CASE = Case(__doc__, make)

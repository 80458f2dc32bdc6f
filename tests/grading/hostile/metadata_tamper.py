"""A wrong answer whose failing tests lose their nbgrader metadata, and a fake early copy of one.

The test cell is marked ungraded and unlocked with 50 points; another gets a new grade_id; a
passing-looking duplicate with the same grade_id is put before the real one.
"""

import copy

from tests.grading.hostile import Case, cell


def make(nb, ctx):
    meta = cell(nb, "test_distill_t_squared").metadata["nbgrader"]
    meta.update(grade=False, locked=False, points=50)
    cell(nb, "test_distill_reference").metadata["nbgrader"]["grade_id"] = "my_own_test"
    fake = copy.deepcopy(cell(nb, "test_distill_stable"))
    fake.source = "print('stable: OK')"
    fake.id = "fake-copy"
    nb.cells.insert(1, fake)


CASE = Case(__doc__, make, base="missing_t_squared", reasons=frozenset({"metadata"}))

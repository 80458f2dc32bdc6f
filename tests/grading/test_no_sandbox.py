"""`kd grade --no-sandbox` is the same pipeline without bubblewrap: same judges, same points, flagged."""

from __future__ import annotations

import pytest

from kdlib.grading import grade
from tests.grading import catalogues
from tests.support import filled, make_course, read_pair, submit

pytestmark = pytest.mark.slow
NAME = "03_loss_torch"


def test_unsandboxed_grades_equal_sandboxed_ones_and_say_so(tmp_path):
    course = make_course(tmp_path / "c", [NAME])
    student, solution = read_pair(course, NAME)
    cat = catalogues.load()[NAME]
    submit(course, NAME, "reference", filled(student, solution))
    submit(course, NAME, "no_t2", filled(student, solution, cat.mistakes["missing_t_squared"].patches))
    report = grade(course, NAME, jobs=2, timeout=300, memory_mb=2048, record=False, progress=False, sandbox=False)
    ref, wrong = report.results["reference"], report.results["no_t2"]
    assert ref.score == ref.max_score == 15 and not ref.lost
    assert set(wrong.lost) == set(cat.mistakes["missing_t_squared"].lost)
    assert any("without the sandbox" in f and "answer key was not hidden" in f for f in ref.flags)
    assert "NOT sandboxed (--no-sandbox)" in report.format().splitlines()[0]

"""Every assignment's judge matches its notebook, and no student-facing cell reaches the answer key.

Static checks over solutions/ and notebooks/ (no kernel runs): one check per autograded test
cell; no hidden tests left in the notebooks; the answer-key modules a judge declares are
imported only in locked cells (skipped when graded) and never by the setup cell; judges and
probes are never released.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from kdlib.grading import answer_key
from kdlib.grading import judge as judging
from tests.support import HIDDEN_MARKERS, ROOT, nbgrader_meta

ASSIGNMENTS = sorted(p.parent.name for p in (ROOT / "solutions").glob("*/*.ipynb") if p.stem == p.parent.name)


def _source(name: str):
    return nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)


def _tests(nb) -> list[str]:
    return [
        nbgrader_meta(c)["grade_id"]
        for c in nb.cells
        if c.cell_type == "code" and nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")
    ]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_assignment_has_a_judge_for_exactly_its_test_cells(name):
    path = judging.find(ROOT / "solutions", name)
    assert path is not None, f"solutions/{name}/judge.py is missing: hidden checks must be judged outside the kernel"
    judge = judging.load(path)
    assert judge.notebook == name
    tests = _tests(_source(name))
    assert sorted(judge.checks) == sorted(tests), (
        f"checks without a test cell: {sorted(set(judge.checks) - set(tests))}; "
        f"test cells without a check: {sorted(set(tests) - set(judge.checks))}"
    )


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_no_hidden_tests_left_in_the_notebook(name):
    text = "\n".join(c.source for c in _source(name).cells)
    for marker in HIDDEN_MARKERS:
        assert marker not in text, f"{name}: hidden tests belong in judge.py, not in the notebook ({marker!r})"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_answer_key_only_in_locked_cells(name, tmp_path):
    path = judging.find(ROOT / "solutions", name)
    if path is None:
        pytest.fail(f"solutions/{name}/judge.py is missing")
    key = judging.load(path).answer_key
    answer_key.kdlib_view(tmp_path, key)  # every entry names something real
    student = nbformat.read(ROOT / "notebooks" / name / f"{name}.ipynb", as_version=4)
    for cell in student.cells:
        if cell.cell_type != "code":
            continue
        used = answer_key.uses(cell.source, key)
        meta = nbgrader_meta(cell)
        assert not used or (meta.get("locked") and not meta.get("solution")), (
            f"{name}: cell {cell.get('id')} imports {used} (the answer key) but a learner can edit it: lock it"
        )
        assert not (used and meta.get("grade_id") == "setup"), (
            f"{name}: the setup cell imports {used}; graded notebooks skip such cells — move the import "
            "into a locked cell of its own (see 03's test_helpers)"
        )


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_judge_and_probe_are_not_released(name):
    released = {p.name for p in (ROOT / "notebooks" / name).iterdir()} | {
        p.name for p in (ROOT / "zh" / "notebooks" / name).iterdir()
    }
    assert not released & {judging.JUDGE_FILE, judging.PROBE_FILE}, released
    assert not [n for n in released if n.startswith("judge.")], f"judge messages released: {released}"


def test_probe_code_holds_no_reference_imports():
    for path in (ROOT / "solutions").glob("*/probe.py"):
        mods = answer_key.imported_modules(path.read_text(encoding="utf-8"))
        assert not any(answer_key.covers("kdlib.reference", m) for m in mods), f"{path}: the probe runs in the sandbox"


def test_the_repository_has_assignments():
    assert len(ASSIGNMENTS) >= 12 and Path(ROOT / "solutions" / "03_loss_torch" / "judge.py").is_file()

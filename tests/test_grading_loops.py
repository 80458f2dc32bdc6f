"""Grading round trips for the loop notebooks: 05_loops_torch and 06_keras_distiller.

For each assignment the module-scoped fixture copies nbgrader_config.py and the solution into a
temporary course directory, releases the student version, writes one submission per student
(the reference solution, the untouched student version, one per mistake of the catalogues
below) and autogrades them all with ONE `nbgrader autograde` call per assignment; the two calls
run side by side (each uses one kernel at a time). The tests read the gradebook and the
autograded notebooks.

A mistake is a set of exact text replacements applied to the reference solution's code (the
shared helper of tests/test_grading.py). Each one must lose points on the test cell(s) meant to
catch it, and that cell must say what is wrong. To keep the run short, the submissions leave out
the ungraded comparison section at the end of each notebook (it trains models for most of a
minute; tests/test_notebooks.py runs the full notebooks).
"""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from kdlib import grading
from tests.grading_mistakes import Mistake
from tests.test_grading import _filled

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
#: per-cell limit: every cell of these notebooks takes a few seconds once the runs are shortened
TIMEOUT = 90

# --- 05_loops_torch ------------------------------------------------------------------------

T_LOSS = "loss = F.cross_entropy(logits, y[idx])\n"
D_TEACHER = (
    "        with torch.no_grad():  # no graph through the teacher: it cannot be updated\n"
    "            teacher_logits = teacher(x[idx])\n"
)
D_LOSS = "loss = kd_loss(student_logits, teacher_logits, y[idx], temperature, alpha)\n"
STEP = "        optimizer.zero_grad()\n        loss.backward()\n        optimizer.step()\n"

MISTAKES_05: dict[str, Mistake] = {
    "train_no_zero_grad": Mistake(
        "train_one_epoch never zeroes the gradients",
        ((T_LOSS + STEP, T_LOSS + "        loss.backward()\n        optimizer.step()\n"),),
        frozenset({"test_train_one_epoch"}),
    ),
    "train_no_step": Mistake(
        "train_one_epoch forgets optimizer.step()",
        ((T_LOSS + STEP, T_LOSS + "        optimizer.zero_grad()\n        loss.backward()\n"),),
        frozenset({"test_train_one_epoch", "test_train_memorise"}),
    ),
    "teacher_not_eval": Mistake(
        "the teacher is left in training mode (no teacher.eval())",
        (("    teacher.eval()  # inference behaviour: dropout off, batch-norm running statistics\n", ""),),
        frozenset({"test_distill_teacher_frozen"}),
    ),
    "teacher_logits_with_grad": Mistake(
        "the teacher's logits are computed with gradients (no torch.no_grad())",
        ((D_TEACHER, "        teacher_logits = teacher(x[idx])\n"),),
        frozenset({"test_distill_teacher_frozen"}),
    ),
    "teacher_trained_too": Mistake(
        "the teacher is trained along with the student: its logits carry gradients and a "
        "cross-entropy on them joins the loss, so an optimiser holding the teacher steps it",
        (
            (D_TEACHER, "        teacher_logits = teacher(x[idx])\n"),
            (D_LOSS, D_LOSS.rstrip("\n") + " + F.cross_entropy(teacher_logits, y[idx])\n"),
        ),
        frozenset({"test_distill_teacher_frozen"}),
    ),
    "distill_no_zero_grad": Mistake(
        "distill_one_epoch never zeroes the gradients",
        ((D_LOSS + STEP, D_LOSS + "        loss.backward()\n        optimizer.step()\n"),),
        frozenset({"test_distill_zero_grad"}),
    ),
    "zero_grad_once_per_epoch": Mistake(
        "optimizer.zero_grad() once before the loop instead of in every step",
        (
            ("    student.train()\n    total = 0.0\n",
             "    student.train()\n    optimizer.zero_grad()\n    total = 0.0\n"),
            (D_LOSS + STEP, D_LOSS + "        loss.backward()\n        optimizer.step()\n"),
        ),
        frozenset({"test_distill_zero_grad"}),
    ),
    "distill_no_step": Mistake(
        "distill_one_epoch forgets optimizer.step()",
        ((D_LOSS + STEP, D_LOSS + "        optimizer.zero_grad()\n        loss.backward()\n"),),
        frozenset({"test_distill_one_step", "test_distill_loss_falls"}),
    ),
    "alpha_swapped": Mistake(
        "alpha weighs the hard term (kd_loss called with 1 - alpha, the Keras example's convention)",
        ((D_LOSS, D_LOSS.replace("alpha)", "1 - alpha)")),),
        frozenset({"test_distill_one_step"}),
    ),
    "teacher_first": Mistake(
        "kd_loss(teacher_logits, student_logits, ...): the loss is taken on the wrong logits",
        ((D_LOSS, "loss = kd_loss(teacher_logits, student_logits, y[idx], temperature, alpha)\n"),),
        frozenset({"test_distill_one_step", "test_distill_loss_falls", "test_distill_zero_grad"}),
    ),
}

#: a phrase of the failure message the catching cell must show, per mistake
MESSAGES_05 = {
    "train_no_zero_grad": "optimizer.zero_grad() in every step",
    "train_no_step": "optimizer.step()",
    "teacher_not_eval": "call teacher.eval()",
    "teacher_logits_with_grad": "compute them under torch.no_grad()",
    "teacher_trained_too": "torch.no_grad()",
    "distill_no_zero_grad": "optimizer.zero_grad() in every step",
    "zero_grad_once_per_epoch": "optimizer.zero_grad() in every step",
    "distill_no_step": "optimizer.step()",
    "alpha_swapped": "alpha weighs the soft term",
    "teacher_first": "",  # kd_loss's result has no gradient: autograd's own error is shown
}


# --- 06_keras_distiller -------------------------------------------------------------------

TAPE = (
    "        with tf.GradientTape() as tape:\n"
    "            student_logits = self.student(x, training=True)\n"
)
APPLY = "        self.optimizer.apply(grads, variables)\n"
LOSS_METRIC = "        self.loss_tracker.update_state(loss, sample_weight=tf.shape(x)[0])\n"

MISTAKES_06: dict[str, Mistake] = {
    "teacher_training_mode": Mistake(
        "the teacher is called with training=True (its batch-norm statistics move)",
        (("self.teacher(x, training=False)", "self.teacher(x, training=True)"),),
        frozenset({"test_teacher_frozen"}),
    ),
    "all_variables": Mistake(
        "gradients of self.trainable_variables, which hold the teacher's variables too",
        (("variables = self.student.trainable_variables", "variables = self.trainable_variables"),),
        frozenset({"test_teacher_frozen"}),
    ),
    "no_apply": Mistake(
        "the gradients are computed but never applied",
        ((APPLY, ""),),
        frozenset({"test_train_step_runs", "test_one_step"}),
    ),
    "forward_outside_tape": Mistake(
        "the student's forward pass runs outside the GradientTape: no gradients",
        ((TAPE, "        student_logits = self.student(x, training=True)\n"
                "        with tf.GradientTape() as tape:\n"),),
        frozenset({"test_train_step_runs", "test_one_step"}),
    ),
    "alpha_keras_io": Mistake(
        "alpha weighs the hard term (the keras.io example's convention)",
        (("self.temperature, self.alpha)", "self.temperature, 1 - self.alpha)"),),
        frozenset({"test_one_step"}),
    ),
    "loss_metric_not_updated": Mistake(
        "the loss tracker is never updated, so fit logs a loss of 0",
        ((LOSS_METRIC, ""),),
        frozenset({"test_train_step_runs"}),
    ),
    "concept_answers_wrong": Mistake(
        "keras.io's alpha taken at face value, and the built-in default read as 'drops T² only'",
        (
            ("OUR_ALPHA_FOR_KERAS_IO_0_1 = 0.9", "OUR_ALPHA_FOR_KERAS_IO_0_1 = 0.1"),
            ('BUILTIN_DEFAULT_COMPUTES = "c"', 'BUILTIN_DEFAULT_COMPUTES = "b"'),
        ),
        frozenset({"test_alpha_answer", "test_builtin_answer"}),
    ),
}

MESSAGES_06 = {
    "teacher_training_mode": "self.teacher(x, training=False)",
    "all_variables": "self.student.trainable_variables",
    "no_apply": "self.optimizer.apply(grads, variables)",
    "forward_outside_tape": "",  # Keras' own error: no gradients provided for any variable
    "alpha_keras_io": "alpha weighs the soft term",
    "loss_metric_not_updated": "self.loss_tracker.update_state(loss)",
    "concept_answers_wrong": "",  # hidden tests: the feedback explains the right answer
}

ASSIGNMENTS = {
    # cut_from: the first cell of the ungraded comparison section (cut from the submissions)
    "05_loops_torch": SimpleNamespace(mistakes=MISTAKES_05, messages=MESSAGES_05,
                                      cut_from="compare-intro", points=10),
    "06_keras_distiller": SimpleNamespace(mistakes=MISTAKES_06, messages=MESSAGES_06,
                                          cut_from="compare-intro", points=8),
}


# --- the round trip ------------------------------------------------------------------------


def _cut(nb, first_id):
    """The notebook without its cells from first_id on: the ungraded comparison section.

    Those cells carry no nbgrader metadata, so autograde neither needs nor restores them; the
    full notebook is run by tests/test_notebooks.py.
    """
    ids = [c.get("id") for c in nb.cells]
    assert first_id in ids, f"no cell {first_id!r}"
    cut = nb.cells[ids.index(first_id):]
    assert not any(c.metadata.get("nbgrader", {}).get("grade") for c in cut), "graded cell cut"
    nb.cells = nb.cells[: ids.index(first_id)]
    return nb


def _prepare(tmp_path_factory, name):
    """A temporary course with the release recorded and one submission per student."""
    spec = ASSIGNMENTS[name]
    course = tmp_path_factory.mktemp(f"course-{name[:2]}")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / name, course / "solutions" / name)
    released = grading.generate(name, course / "release", course)
    student_nb = nbformat.read(released / f"{name}.ipynb", as_version=4)
    solution_nb = nbformat.read(course / "solutions" / name / f"{name}.ipynb", as_version=4)

    subs = {"reference": _filled(student_nb, solution_nb),
            "untouched": nbformat.from_dict(student_nb)}
    for mistake_name, mistake in spec.mistakes.items():
        subs[f"mistake_{mistake_name}"] = _filled(student_nb, solution_nb, mistake.patches)
    for student, nb in subs.items():
        folder = course / "submitted" / student / name
        folder.mkdir(parents=True)
        nbformat.write(_cut(nb, spec.cut_from), folder / f"{name}.ipynb")
    return SimpleNamespace(dir=course, name=name, spec=spec, students=sorted(subs))


def _autograde(graded):
    """One `nbgrader autograde` call for all students (no feedback: test_grading.py covers it)."""
    t0 = time.perf_counter()
    proc = grading.run_nbgrader(
        ["autograde", graded.name, "--force", f"--Execute.timeout={TIMEOUT}"],
        graded.dir,
        check=False,
    )
    graded.seconds = time.perf_counter() - t0
    graded.returncode, graded.log = proc.returncode, proc.stdout + proc.stderr
    return graded


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Both assignments graded; the two nbgrader runs (one kernel at a time each) overlap."""
    courses = [_prepare(tmp_path_factory, name) for name in ASSIGNMENTS]
    with ThreadPoolExecutor(max_workers=len(courses)) as pool:
        list(pool.map(_autograde, courses))
    out = {}
    for g in courses:
        assert g.returncode == 0, g.log[-3000:]
        g.grades = grading.read_grades(g.dir, g.name)
        print(f"\n{g.name}: autograded {len(g.students)} submissions in {g.seconds:.0f} s")
        for grade in g.grades.values():
            lost = ", ".join(f"{k} -{v:g}" for k, v in grade.lost.items()) or "-"
            print(f"  {grade.student:<36} {grade.score:g}/{grade.max_score:g}  lost: {lost}")
        out[g.name] = g
    return out


def _autograded_nb(graded, student):
    path = graded.dir / "autograded" / student / graded.name / f"{graded.name}.ipynb"
    return nbformat.read(path, as_version=4)


def _error_text(nb, cell_id) -> str:
    cell = next(c for c in nb.cells if c.get("id") == cell_id)
    return "\n".join(f"{o.ename}: {o.evalue}" for o in cell.get("outputs", [])
                     if o.output_type == "error")


# --- checks shared by both assignments -----------------------------------------------------


def _check_reference(graded):
    assert sorted(graded.grades) == graded.students
    g = graded.grades["reference"]
    assert g.max_score == graded.spec.points, g.cells
    assert g.score == g.max_score, f"the reference solution lost points on {g.lost}"


def _check_untouched(graded):
    g = graded.grades["untouched"]
    assert g.cells, "the untouched notebook was not graded at all"
    assert g.score == 0, f"the untouched notebook scored {g.score} on {g.cells}"
    nb = _autograded_nb(graded, "untouched")
    graded_cells = [c.id for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    for cell_id in graded_cells:  # every test ran and failed cleanly (no timeout, no crash)
        errors = _error_text(nb, cell_id)
        assert errors, f"{cell_id}: no error output"
        assert "CellTimeoutError" not in errors and "DeadKernel" not in errors, errors


def _check_mistake(graded, mistake_name):
    mistake = graded.spec.mistakes[mistake_name]
    student = f"mistake_{mistake_name}"
    g = graded.grades[student]
    print(f"{mistake_name}: {g.score:g}/{g.max_score:g}, lost on {g.lost}")
    missed = sorted(mistake.caught_by - set(g.lost))
    assert not missed, (
        f"{mistake_name} ({mistake.description}) did not lose points on {missed}; lost {g.lost}"
    )
    phrase = graded.spec.messages[mistake_name]
    nb = _autograded_nb(graded, student)
    for cell_id in mistake.caught_by:
        text = _error_text(nb, cell_id)
        assert phrase in text, f"{cell_id} should say {phrase!r} for {mistake_name}, said {text!r}"


# --- the tests ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_reference_gets_full_marks(graded, name):
    _check_reference(graded[name])


@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_untouched_gets_zero_without_crashing(graded, name):
    _check_untouched(graded[name])


@pytest.mark.parametrize(
    "name, mistake_name",
    [(name, m) for name, spec in sorted(ASSIGNMENTS.items()) for m in sorted(spec.mistakes)],
)
def test_mistake_is_caught(graded, name, mistake_name):
    _check_mistake(graded[name], mistake_name)


@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_catalogue_is_large_enough(name):
    spec = ASSIGNMENTS[name]
    assert len(spec.mistakes) >= 4
    assert set(spec.messages) == set(spec.mistakes)

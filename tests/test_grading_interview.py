"""Grading round trip for 11_mock_interview: both frameworks of the live-coding loss, and part 4.

Part 3 lets the learner write ``kd_loss`` in PyTorch or TensorFlow (the ``FRAMEWORK`` cell); the
same test cells grade both. Two temporary courses are autograded side by side, one
``nbgrader autograde`` call each (one kernel at a time):

- ``torch``: the reference solution, the untouched student version, and mistakes in part 4
  (the article's buggy sample, half fixed);
- ``tensorflow``: the reference solution with ``FRAMEWORK = "tensorflow"``, loss mistakes in
  each framework and an unknown FRAMEWORK. These submissions leave part 4 unanswered (it trains
  Keras models for half a minute), so only their part-3 cells are compared.

Every mistake must lose points on the test cell(s) meant to catch it, with a message that says
what is wrong, and nowhere in parts 1-3 where it is not wrong.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import SimpleNamespace

import nbformat
import pytest

from kdlib import grading
from tests import test_grading_loops as loops
from tests.test_grading import _filled

pytestmark = pytest.mark.slow

NAME = "11_mock_interview"
AUTO_POINTS = 24  # parts 1, 3 and 4; part 2 (8 points) is graded by hand
MANUAL = ("m1_high_temperature", "m2_generalises_better", "m3_design")
PART3 = ("test_kd_reference", "test_kd_t_squared", "test_kd_direction", "test_kd_batch_mean",
         "test_kd_hard_term", "test_kd_gradients")
PART4 = ("test_fixed_sample_runs", "test_teacher_trained", "test_no_test_data_in_fit",
         "test_temperature_from_logits")
#: leaves part 4 unanswered (raises at once) for the submissions that only test part 3
SKIP_PART4 = ("    keras.utils.set_random_seed(seed)\n",
              '    raise NotImplementedError("part 4 is not answered in this submission")\n')


@dataclass(frozen=True)
class Mistake:
    description: str
    patches: tuple[tuple[str, str], ...]
    caught_by: frozenset[str]
    message: str
    framework: str = "torch"


TORCH_SOFT = "soft = (log_p.exp() * (log_p - log_q)).sum(dim=-1).mean() * T * T"
TF_SOFT = "soft = tf.reduce_mean(tf.reduce_sum(tf.exp(log_p) * (log_p - log_q), axis=-1)) * T * T"

LOSS_MISTAKES: dict[str, Mistake] = {
    "torch_no_t_squared": Mistake(
        "PyTorch: the soft term without T²",
        ((TORCH_SOFT, TORCH_SOFT.replace(" * T * T", "")),),
        frozenset({"test_kd_t_squared"}), "not multiplied by T²"),
    "torch_reversed_kl": Mistake(
        "PyTorch: KL(student ‖ teacher)",
        ((TORCH_SOFT, "soft = (log_q.exp() * (log_q - log_p)).sum(dim=-1).mean() * T * T"),),
        frozenset({"test_kd_direction"}), "the KL is reversed"),
    "torch_no_detach": Mistake(
        "PyTorch: gradient flows into the teacher's logits",
        (("F.log_softmax(teacher_logits.detach() / T", "F.log_softmax(teacher_logits / T"),),
        frozenset({"test_kd_gradients"}), "teacher_logits.detach()"),
    "torch_hard_at_T": Mistake(
        "PyTorch: the cross-entropy computed at T",
        (("F.cross_entropy(student_logits, labels)", "F.cross_entropy(student_logits / T, labels)"),),
        frozenset({"test_kd_hard_term"}), "cross-entropy at T = 1"),
    "torch_clipped_log": Mistake(
        "PyTorch: log of clipped probabilities instead of log_softmax",
        (("log_q = F.log_softmax(student_logits / T, dim=-1)",
          "log_q = torch.log(F.softmax(student_logits / T, dim=-1).clamp_min(1e-12))"),),
        frozenset({"test_kd_gradients"}), "use log_softmax"),
    "tf_no_t_squared": Mistake(
        "TensorFlow: the soft term without T²",
        ((TF_SOFT, TF_SOFT.replace(" * T * T", "")),),
        frozenset({"test_kd_t_squared"}), "not multiplied by T²", "tensorflow"),
    "tf_mean_over_all": Mistake(
        "TensorFlow: the KL averaged over all B·C elements",
        ((TF_SOFT, "soft = tf.reduce_mean(tf.exp(log_p) * (log_p - log_q)) * T * T"),),
        frozenset({"test_kd_batch_mean"}), "averaged over all B·C elements", "tensorflow"),
    "tf_no_stop_gradient": Mistake(
        "TensorFlow: gradient flows into the teacher's logits",
        (("tf.stop_gradient(teacher_logits) / T", "teacher_logits / T"),),
        frozenset({"test_kd_gradients"}), "tf.stop_gradient(teacher_logits)", "tensorflow"),
    "tf_alpha_swapped": Mistake(
        "TensorFlow: alpha weighs the hard term",
        (("return alpha * soft + (1 - alpha) * hard", "return (1 - alpha) * soft + alpha * hard"),),
        frozenset({"test_kd_hard_term"}), "alpha weighs the wrong term", "tensorflow"),
    "unknown_framework": Mistake(
        "FRAMEWORK = 'jax'",
        (),
        frozenset(PART3), "FRAMEWORK must be 'torch' or 'tensorflow'", "jax"),
}

SAMPLE_MISTAKES: dict[str, Mistake] = {
    "teacher_untrained": Mistake(
        "the article's bug: the teacher is compiled but never fitted",
        (("    teacher.fit(x_train, y_train, epochs=epochs, batch_size=128, verbose=0)\n", ""),),
        frozenset({"test_fixed_sample_runs", "test_teacher_trained"}), "fit"),
    "fit_on_test": Mistake(
        "the article's bug: soft labels of x_test, student fitted on x_test",
        (("teacher.predict(x_train, verbose=0) / T", "teacher.predict(x_test, verbose=0) / T"),
         ("trainer.fit(x_train, soft,", "trainer.fit(x_test, soft,")),
        frozenset({"test_no_test_data_in_fit"}), "trains on rows of x_test"),
    "validates_on_test": Mistake(
        "the teacher validated on (x_test, y_test) during fit",
        (("teacher.fit(x_train, y_train, epochs=epochs, batch_size=128, verbose=0)",
          "teacher.fit(x_train, y_train, epochs=epochs, batch_size=128, verbose=0, "
          "validation_data=(x_test, y_test))"),),
        frozenset({"test_no_test_data_in_fit"}), "validates on x_test"),
    "no_temperature": Mistake(
        "the article's bug: soft labels at T = 1",
        (("keras.ops.softmax(teacher.predict(x_train, verbose=0) / T)",
          "keras.ops.softmax(teacher.predict(x_train, verbose=0))"),),
        frozenset({"test_temperature_from_logits"}), "at T = 1"),
}


def _submission(student_nb, solution_nb, patches=(), framework="torch", part4=True):
    nb = _filled(student_nb, solution_nb, tuple(patches) + (() if part4 else (SKIP_PART4,)))
    cell = next(c for c in nb.cells if c.get("id") == "framework")
    assert 'FRAMEWORK = "torch"' in cell.source, cell.source
    cell.source = cell.source.replace('FRAMEWORK = "torch"', f"FRAMEWORK = {framework!r}")
    return nb


def _prepare(tmp_path_factory, which: str) -> SimpleNamespace:
    course = tmp_path_factory.mktemp(f"course-11-{which}")
    shutil.copy(loops.ROOT / "nbgrader_config.py", course)
    shutil.copytree(loops.ROOT / "solutions" / NAME, course / "solutions" / NAME)
    released = grading.generate(NAME, course / "release", course)
    student_nb = nbformat.read(released / f"{NAME}.ipynb", as_version=4)
    solution_nb = nbformat.read(course / "solutions" / NAME / f"{NAME}.ipynb", as_version=4)
    if which == "torch":
        subs = {"reference": _submission(student_nb, solution_nb),
                "untouched": nbformat.from_dict(student_nb)}
        mistakes = SAMPLE_MISTAKES
        subs |= {f"mistake_{k}": _submission(student_nb, solution_nb, m.patches) for k, m in mistakes.items()}
    else:
        subs = {"reference_tf": _submission(student_nb, solution_nb, framework="tensorflow")}
        mistakes = LOSS_MISTAKES
        subs |= {f"mistake_{k}": _submission(student_nb, solution_nb, m.patches, m.framework, part4=False)
                 for k, m in mistakes.items()}
    for student, nb in subs.items():
        folder = course / "submitted" / student / NAME
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{NAME}.ipynb")
    return SimpleNamespace(dir=course, name=NAME, students=sorted(subs), mistakes=mistakes)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    courses = {which: _prepare(tmp_path_factory, which) for which in ("torch", "tensorflow")}
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(loops._autograde, courses.values()))
    for which, g in courses.items():
        assert g.returncode == 0, g.log[-3000:]
        g.grades = grading.read_grades(g.dir, NAME)
        print(f"\n{NAME} ({which}): autograded {len(g.students)} submissions in {g.seconds:.0f} s")
        for grade in g.grades.values():
            lost = ", ".join(f"{k} -{v:g}" for k, v in grade.lost.items()) or "-"
            print(f"  {grade.student:<32} {grade.score:g}/{grade.max_score:g}  lost: {lost}")
    return courses


def _auto_cells(grade) -> dict[str, tuple[float, float]]:
    return {k: v for k, v in grade.cells.items() if k not in MANUAL}


@pytest.mark.parametrize("which, student", [("torch", "reference"), ("tensorflow", "reference_tf")])
def test_reference_gets_every_autograded_point(graded, which, student):
    g = graded[which]
    assert sorted(g.grades) == g.students
    grade = g.grades[student]
    auto = _auto_cells(grade)
    assert sum(mx for _, mx in auto.values()) == AUTO_POINTS, auto
    assert grade.max_score == AUTO_POINTS + 8
    assert all(score == mx for score, mx in auto.values()), f"{student} lost points on {grade.lost}"
    assert grade.score == AUTO_POINTS  # the written answers await the instructor


def test_untouched_gets_zero_without_crashing(graded):
    g = graded["torch"]
    grade = g.grades["untouched"]
    assert grade.score == 0 and set(grade.cells) == set(g.grades["reference"].cells), grade.cells
    nb = loops._autograded_nb(g, "untouched")
    for cell_id in [c.id for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.id not in MANUAL]:
        errors = loops._error_text(nb, cell_id)  # every test ran and failed cleanly (no timeout, no crash)
        assert errors, f"{cell_id}: no error output"
        assert "CellTimeoutError" not in errors and "DeadKernel" not in errors, errors


def _check(g, mistake_name, cells):
    mistake = g.mistakes[mistake_name]
    grade = g.grades[f"mistake_{mistake_name}"]
    lost = set(grade.lost)
    missed = sorted(mistake.caught_by - lost)
    assert not missed, f"{mistake_name} ({mistake.description}) did not lose points on {missed}; lost {grade.lost}"
    collateral = sorted(c for c in lost & set(cells) if c not in mistake.caught_by and c.startswith("test_q"))
    assert not collateral, f"{mistake_name} lost points on part 1, which it does not touch: {collateral}"
    nb = loops._autograded_nb(g, f"mistake_{mistake_name}")
    for cell_id in mistake.caught_by:
        text = loops._error_text(nb, cell_id)
        assert mistake.message in text, f"{cell_id} should say {mistake.message!r} for {mistake_name}, said {text!r}"


@pytest.mark.parametrize("mistake_name", sorted(LOSS_MISTAKES))
def test_loss_mistake_is_caught(graded, mistake_name):
    g = graded["tensorflow"]
    _check(g, mistake_name, g.grades["reference_tf"].cells)
    grade = g.grades[f"mistake_{mistake_name}"]
    assert all(grade.cells[c][0] == grade.cells[c][1] for c in grade.cells if c.startswith("test_q")), (
        "a loss mistake must not cost points in part 1"
    )


@pytest.mark.parametrize("mistake_name", sorted(SAMPLE_MISTAKES))
def test_sample_mistake_is_caught(graded, mistake_name):
    g = graded["torch"]
    _check(g, mistake_name, g.grades["reference"].cells)
    grade = g.grades[f"mistake_{mistake_name}"]
    assert not set(grade.lost) & set(PART3), f"{mistake_name} touches part 4 only, lost {grade.lost}"

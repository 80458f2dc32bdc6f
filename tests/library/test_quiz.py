"""kdlib.quiz (instant feedback by salted hashes) and the hashes stored in the notebooks.

The unit tests pin the hash function (the notebooks store its output). The notebook tests read
every ``quiz.check`` / ``quiz.check_each`` call of every source notebook's test cells and check
it against the answer key of the assignment's judge (``QUIZ`` in ``solutions/NN_slug/judge.py``):
the stored hash is the digest of the key, the judge accepts the key and every answer that rounds
like it (so "correct" in the notebook never meets a failed hidden test), and the reference
solution's answers hash as correct. A key changed in one place and not the other fails here.
"""

from __future__ import annotations

import ast
import importlib.util
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest

from kdlib import quiz
from kdlib import reference as ref
from kdlib.grading.judge import Ask, Failed

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p.parent.name for p in ROOT.glob("solutions/*/*.ipynb") if p.stem == p.parent.name)


# --- the module ------------------------------------------------------------------------------


def test_digest_is_pinned():
    # the notebooks store these digests: changing the normalisation or the salt breaks them all
    assert quiz.digest("01/q1", "c") == "b0ba5d3969212fae"
    assert quiz.digest("01/q1", " C ") == "b0ba5d3969212fae"
    assert len(quiz.digest("x", 1.5)) == 16


def test_the_salt_differs_per_question():
    assert quiz.digest("01/q1", "c") != quiz.digest("01/q3_choice", "c")
    assert quiz.digest("11/q7", 16.0) != quiz.digest("01/q6", 16.0)


@pytest.mark.parametrize(
    ("answer", "digits", "text"),
    [
        (" B, A d c e ", 3, "badce"),
        ("C", 3, "c"),
        (True, 3, "true"),
        (np.bool_(False), 3, "false"),
        (16, 3, "16"),
        (16.0, 7, "16"),
        (np.float32(0.9), 6, "0.9"),
        (-0.0, 3, "0"),
        (0.911392, 3, "0.911"),
        (1.2683015, 4, "1.268"),
        (np.array(2.5), 3, "2.5"),
        ([[-0.125, 0.375]], 3, "[1x2:-0.125,0.375]"),
        (np.array([1.0, 2.0]), 3, "[2:1,2]"),
        ({"b": False, "a": True}, 3, "{a=true;b=false}"),
    ],
)
def test_normalise(answer, digits, text):
    assert quiz.normalise(answer, digits) == text


def test_normalise_keeps_what_distinguishes_answers():
    assert quiz.normalise(True) != quiz.normalise(1)  # a bool is not the number 1
    assert quiz.normalise([1.0, 2.0]) != quiz.normalise([[1.0, 2.0]])  # the shape counts
    assert quiz.normalise(0.9114, 3) != quiz.normalise(0.9124, 3)
    assert quiz.normalise(0.91139, 3) == quiz.normalise(0.91141, 3)


@pytest.mark.parametrize("bad", [None, object(), {1, 2}])
def test_normalise_rejects_what_it_cannot_read(bad):
    with pytest.raises(TypeError):
        quiz.normalise(bad)


def test_normalise_rejects_non_finite_numbers_and_bad_digits():
    with pytest.raises(ValueError, match="finite"):
        quiz.normalise(float("nan"))
    with pytest.raises(ValueError, match="digits"):
        quiz.normalise(1.0, 0)


def test_check_says_correct_or_not_yet_with_the_hint_and_never_the_key(capsys):
    h = quiz.digest("01/q1", "c")
    assert quiz.check("01/q1", "c", h, hint="reread section 1") is None
    quiz.check("01/q1", "a", h, hint="reread section 1")
    quiz.check("01/q1", None, h)
    quiz.check("01/q1", object(), h)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["q1: correct", "q1: not yet — reread section 1", "q1: not yet", "q1: not yet"]


def test_check_on_numbers_names_the_digits_and_the_rounded_answer(capsys):
    key = (146 - 74) / (146 - 67)
    h = quiz.digest("01/q4_gap", key, 3)
    quiz.check("01/q4_gap", 0.9114, h)
    quiz.check("01/q4_gap", 0.91, h, hint="the gap is in errors")
    quiz.check("01/q4_gap", [0.5, 0.5], h)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "q4_gap: correct"
    assert out[1] == (
        "q4_gap: not yet — the gap is in errors; numbers are compared to 3 significant digits; yours reads 0.91"
    )
    assert "0.911" not in out[1] and "0.911" not in out[2]  # the key is not shown
    assert out[2].startswith("q4_gap: not yet")


def test_check_each_counts_without_saying_which(capsys):
    key = {"a": True, "b": False, "c": True}
    hashes = {k: quiz.digest(f"01/q5.{k}", v) for k, v in key.items()}
    quiz.check_each("01/q5", key, hashes)
    quiz.check_each("01/q5", {"a": True, "b": True, "c": False}, hashes, hint="reread section 2")
    quiz.check_each("01/q5", {"a": True}, hashes)
    quiz.check_each("01/q5", "not a dict", hashes)
    assert capsys.readouterr().out.splitlines() == [
        "q5: correct (3 of 3)",
        "q5: not yet — 1 of 3 right; reread section 2",
        "q5: not yet — 1 of 3 right",
        "q5: not yet — 0 of 3 right",
    ]


def test_matches():
    h = quiz.digest("02/t2_exponent", -2.0, 6)
    assert quiz.matches("02/t2_exponent", -2, h, 6)
    assert not quiz.matches("02/t2_exponent", -2.001, h, 6)
    assert not quiz.matches("02/t2_exponent", "minus two", h, 6)


# --- the notebooks ---------------------------------------------------------------------------


@dataclass
class Call:
    """One quiz.check / quiz.check_each call of a visible test cell."""

    grade_id: str
    kind: str  # "check" or "check_each"
    question: str
    variable: str
    stored: Any  # a hash, or {key: hash}
    digits: int


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _calls(nb) -> list[Call]:
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "quiz." not in cell.source:
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "quiz"
            ):
                continue
            assert node.func.attr in ("check", "check_each"), f"{cell.id}: unknown quiz.{node.func.attr}"
            meta = _nbgrader(cell)
            assert meta.get("grade") and meta.get("locked"), f"cell {cell.id}: quiz calls belong in locked test cells"
            kw = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
            found.append(
                Call(
                    meta["grade_id"],
                    node.func.attr,
                    ast.literal_eval(node.args[0]),
                    node.args[1].id,
                    ast.literal_eval(node.args[2]),
                    kw.get("digits", quiz.DIGITS),
                )
            )
    return found


def _judge_module(name: str):
    path = ROOT / "solutions" / name / "judge.py"
    spec = importlib.util.spec_from_file_location(f"kd_quiz_judge_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


def _verdict(judge, grade_id: str, value: Any) -> str | None:
    """Run the judge's check of ``grade_id`` on ``value`` as the answer: None if it passes, else its message."""
    gen = judge.checks[grade_id](Ask())
    requests = next(gen)
    assert len(requests) == 1 and requests[0].body["op"] == "value", (
        f"{grade_id}: a quiz question's check must read exactly one value"
    )
    try:
        gen.send([value])
    except StopIteration:
        return None
    except Failed as err:
        return str(err)
    raise AssertionError(f"{grade_id}: the check asked twice")


def _solution_values(nb, names: set[str]) -> dict[str, Any]:
    """The answers the reference solution gives: its solution cells that assign them, executed."""
    ns: dict[str, Any] = {"np": np, "math": math, "ref": ref}
    for cell in nb.cells:
        if cell.cell_type != "code" or not _nbgrader(cell).get("solution"):
            continue
        assigned = {
            t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign) for t in node.targets
        } & names
        if assigned:
            exec(compile(cell.source, cell.id, "exec"), ns)  # answer cells: plain assignments
    return {k: ns[k] for k in names if k in ns}


def _half_bucket(key: float, digits: int) -> float:
    """Just under half the rounding step of ``key`` at ``digits`` significant digits."""
    v = float(quiz.normalise(key, digits))
    return 0.0 if v == 0 else 0.49 * 10.0 ** (math.floor(math.log10(abs(v))) - digits + 1)


def _bucket_edges(key: float, digits: int) -> list[float]:
    """Two answers near the edges of the rounding bucket of ``key`` (they round like it)."""
    v, half = float(quiz.normalise(key, digits)), _half_bucket(key, digits)
    return [v - half, v + half]


QUIZ_NOTEBOOKS = [n for n in NOTEBOOKS if "quiz.check" in (ROOT / "solutions" / n / f"{n}.ipynb").read_text("utf-8")]


def test_the_concept_notebooks_give_instant_feedback():
    assert {"01_concepts", "02_soft_targets", "06_keras_distiller", "11_mock_interview"} <= set(QUIZ_NOTEBOOKS)


@pytest.mark.parametrize("name", QUIZ_NOTEBOOKS)
def test_stored_hashes_match_the_judge_key(name):
    nb = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    module = _judge_module(name)
    key = getattr(module, "QUIZ", None)
    assert isinstance(key, dict), f"solutions/{name}/judge.py must define QUIZ, the key its notebook hashes"
    calls = _calls(nb)
    prefix = name[:2]
    for call in calls:
        want_id = f"{prefix}/{call.grade_id.removeprefix('test_')}"
        assert call.question == want_id, f"{call.grade_id}: the quiz id should be {want_id!r}, got {call.question!r}"
        assert call.question in key, f"{call.question}: no answer in QUIZ of solutions/{name}/judge.py"
        answer = key[call.question]
        if call.kind == "check":
            want = quiz.digest(call.question, answer, call.digits)
            assert call.stored == want, (
                f"{call.grade_id}: the stored hash {call.stored!r} is not the key's; it should be {want!r} "
                f"(quiz.digest({call.question!r}, {answer!r}, {call.digits}))"
            )
        else:
            assert isinstance(answer, dict) and sorted(call.stored) == sorted(answer), call.question
            for k, v in answer.items():
                want = quiz.digest(f"{call.question}.{k}", v, call.digits)
                assert call.stored[k] == want, f"{call.grade_id}[{k!r}]: the stored hash should be {want!r}"
    unused = set(key) - {c.question for c in calls}
    assert not unused, f"QUIZ entries of solutions/{name}/judge.py that no test cell checks: {sorted(unused)}"


@pytest.mark.parametrize("name", QUIZ_NOTEBOOKS)
def test_the_judge_accepts_the_key_and_everything_that_hashes_like_it(name):
    nb = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    module = _judge_module(name)
    for call in _calls(nb):
        answer = module.QUIZ[call.question]
        message = _verdict(module.judge, call.grade_id, answer)
        assert message is None, f"{call.grade_id}: the judge rejects its own key {answer!r}: {message}"
        if call.kind != "check" or isinstance(answer, (str, bool, dict)):
            continue
        a = np.asarray(answer, dtype=np.float64)
        if a.ndim == 0:
            candidates = _bucket_edges(float(a), call.digits)
        else:  # move two entries in opposite directions (a gradient's entries sum to 0)
            flat = a.ravel()
            delta = min(_half_bucket(float(x), call.digits) for x in flat[:2])
            candidates = []
            for sign in (1.0, -1.0):
                moved = flat.copy()
                moved[0] += sign * delta
                moved[1] -= sign * delta
                candidates.append(moved.reshape(a.shape))
        for value in candidates:
            assert quiz.matches(call.question, value, call.stored, call.digits), (
                f"{call.grade_id}: {value!r} should round like the key {answer!r} at {call.digits} digits"
            )
            message = _verdict(module.judge, call.grade_id, value)
            assert message is None, (
                f"{call.grade_id}: {value!r} shows 'correct' in the notebook ({call.digits} significant digits) "
                f"but the judge rejects it: {message}. Use more digits in the quiz.check call."
            )


@pytest.mark.parametrize("name", QUIZ_NOTEBOOKS)
def test_the_reference_solution_hashes_as_correct(name):
    nb = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    calls = _calls(nb)
    values = _solution_values(nb, {c.variable for c in calls})
    for call in calls:
        assert call.variable in values, f"{call.grade_id}: no solution cell assigns {call.variable}"
        value = values[call.variable]
        if call.kind == "check":
            assert quiz.matches(call.question, value, call.stored, call.digits), (
                f"{call.grade_id}: the reference answer {value!r} shows 'not yet'"
            )
        else:
            for k, h in call.stored.items():
                assert quiz.matches(f"{call.question}.{k}", value[k], h, call.digits), f"{call.grade_id}[{k!r}]"

"""`kd check`: a learner's own notebook gets the points `kd grade` gives, with messages and no answers."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from kdlib.grading import check as kd_check
from kdlib.grading.course import ROOT
from tests.grading import catalogues
from tests.support import filled

pytestmark = pytest.mark.slow
NAME = "03_loss_torch"


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """The reference, the untouched notebook and every catalogued mistake of 03, checked in one run."""
    tmp = tmp_path_factory.mktemp("check")
    home = tmp / "home"
    mp = pytest.MonkeyPatch()
    mp.setenv("KDLIB_HOME", str(home))
    student = nbformat.read(ROOT / "notebooks" / NAME / f"{NAME}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / NAME / f"{NAME}.ipynb", as_version=4)
    cat = catalogues.load()[NAME]
    notebooks = {"reference": filled(student, solution), "untouched": nbformat.from_dict(student)}
    for name, mistake in cat.mistakes.items():
        nb = filled(student, solution, mistake.patches)
        if mistake.edit:
            mistake.edit(nb)
        notebooks[name] = nb
    paths = {}
    for name, nb in notebooks.items():
        paths[name] = tmp / f"{name}.ipynb"
        nbformat.write(nb, paths[name])
    results = kd_check.check(NAME, list(paths.values()), jobs=2)
    yield {"results": dict(zip(paths, results, strict=True)), "cat": cat, "home": home}
    mp.undo()


def test_points_are_kd_grades_for_every_catalogued_mistake(checked):
    res, cat = checked["results"], checked["cat"]
    assert res["reference"].score == res["reference"].max_score == 15
    assert res["untouched"].score == 0
    for name, mistake in cat.mistakes.items():
        lost = {c.grade_id for c in res[name].cells if c.score < c.max_score}
        assert lost == set(mistake.lost), (
            f"{name}: kd check took points on {sorted(lost)}, kd grade on {sorted(mistake.lost)}"
        )
        for cell in res[name].cells:
            if cell.grade_id in mistake.lost:
                assert mistake.lost[cell.grade_id] in cell.message, (name, cell)


def test_output_shows_messages_never_judge_code(checked):
    text = checked["results"]["missing_t_squared"].format()
    assert "FAIL test_distill_t_squared    0 / 2   the soft term is not scaled by T²" in text
    judge = (ROOT / "solutions" / NAME / "judge.py").read_text()
    code = [ln.strip() for ln in judge.splitlines() if len(ln.strip()) > 30 and not re.search(r"[\"'#]", ln)]
    assert code and not [c for c in code if c in text]


def test_every_check_is_in_the_history(checked):
    rows = [json.loads(line) for line in (checked["home"] / "checks.jsonl").read_text().splitlines()]
    assert len(rows) == len(checked["results"]) and {r["assignment"] for r in rows} == {NAME}
    assert kd_check.history(NAME)[-1]["score"] == rows[-1]["score"]


def test_a_missing_notebook_is_a_clear_error(tmp_path, capsys):
    assert kd_check.cli([NAME, "--notebook", str(tmp_path / "nope.ipynb")]) == 2
    assert "does not exist: save your notebook first" in capsys.readouterr().err
    assert kd_check.cli(["99_nope", "--notebook", str(tmp_path / "x.ipynb")]) == 2
    assert "unknown assignment '99_nope'" in capsys.readouterr().err

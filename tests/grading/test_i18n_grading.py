"""A mixed class: English and Chinese submissions graded in ONE `kd grade` run, identically.

The Chinese notebook differs from the English one only in its markdown (tests/course/test_i18n.py),
so the same code must get the same points per cell, land in the same gradebook columns, and keep
its Chinese text in the autograded notebook and the feedback page.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from kdlib.grading import grade
from kdlib.i18n import build, catalogue
from tests.grading import catalogues
from tests.support import filled, make_course, read_pair, submit

pytestmark = pytest.mark.slow

LANG = "zh_CN"
ASSIGNMENTS = ["01_concepts", "03_loss_torch"]
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def mixed(request, tmp_path_factory):
    name = request.param
    cat = catalogues.load()[name]
    course = make_course(tmp_path_factory.mktemp(name), [name])
    student_nb, solution_nb = read_pair(course, name)
    po = catalogue.load(catalogue.catalogue_path(name, LANG))
    mistake = next(iter(cat.mistakes.values()))
    english = {
        "reference": filled(student_nb, solution_nb),
        "mistake": filled(student_nb, solution_nb, mistake.patches),
        "untouched": nbformat.from_dict(student_nb),
    }
    for who, nb in english.items():
        submit(course, name, f"en_{who}", nb)
        submit(course, name, f"zh_{who}", build.translate(nb, po, LANG, source_nb=solution_nb))
    report = grade(course, name, jobs=2, timeout=600, record=False, progress=False, memory_mb=cat.memory_mb)
    return name, course, report, mistake


def test_identical_code_gets_identical_points_in_either_language(mixed):
    name, _course, report, mistake = mixed
    r = report.results
    for who in ("reference", "mistake", "untouched"):
        en, zh = r[f"en_{who}"], r[f"zh_{who}"]
        assert en.status == zh.status == "ok", (en.describe(), zh.describe())
        assert zh.cells == en.cells and zh.score == en.score, f"{name} {who}: en {en.cells} != zh {zh.cells}"
        assert zh.max_score == en.max_score and zh.pending == en.pending
    assert r["en_reference"].score == r["en_reference"].max_score - sum(
        r["en_reference"].cells[c][1] for c in r["en_reference"].pending
    ), "the reference must get every autograded point"
    assert set(r["zh_mistake"].lost) == set(mistake.lost), "the mistake loses its catalogued cells in Chinese too"


def test_the_chinese_submission_keeps_its_chinese(mixed):
    name, course, report, _ = mixed
    nb = nbformat.read(course / "autograded" / "zh_reference" / name / f"{name}.ipynb", as_version=4)
    assert build.language_of(nb) == LANG
    prose = [c for c in nb.cells if c.cell_type == "markdown" and c.source.strip()]
    assert prose and all(CJK.search(c.source) for c in prose), "autograding put English text back"
    (page,) = report.results["zh_reference"].feedback
    text = page.read_text(encoding="utf-8")
    assert len(CJK.findall(text)) > 500, "the feedback page lost the Chinese text"
    assert "得分：" in text and "Score:" not in text and "Test cell" not in text, "nbgrader's labels stayed English"
    (english,) = report.results["en_reference"].feedback
    assert "Score:" in english.read_text(encoding="utf-8")


def test_one_gradebook_column_per_cell_for_both_languages(mixed):
    import csv

    name, course, report, _ = mixed
    with (course / "out" / "grades" / f"{name}.csv").open(newline="") as fh:
        rows = {row["student_id"]: row for row in csv.DictReader(fh)}
    assert {"en_reference", "zh_reference"} <= set(rows)
    cells = [k for k in rows["en_reference"] if k.startswith("cell:")]
    assert cells and all(rows["en_reference"][k] == rows["zh_reference"][k] for k in cells)


def test_hidden_check_messages_are_in_the_submissions_language(mixed):
    from tests.support import outputs_text

    name, course, report, mistake = mixed

    def shown(student: str) -> str:
        nb = nbformat.read(course / "autograded" / student / name / f"{name}.ipynb", as_version=4)
        return "\n".join(outputs_text(nb, cell_id) for cell_id in mistake.lost)

    english, chinese = shown("en_mistake"), shown("zh_mistake")
    assert english and not CJK.search(english), english
    assert CJK.search(chinese), f"the verdicts of a Chinese submission are not in Chinese:\n{chinese}"
    assert "通过" in shown("zh_reference") or not report.results["zh_reference"].lost

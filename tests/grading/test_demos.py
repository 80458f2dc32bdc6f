"""Which demonstration cells a graded run may leave out (kdlib.grading.demos)."""

from __future__ import annotations

import nbformat
import pytest

from kdlib.grading import demos

D = ["demo", "plot"]


def _cells(*sources: tuple[str, str]):
    return [nbformat.v4.new_code_cell(src, id=cid) for cid, src in sources]


def _skipped(cells, used=(), released=None) -> list[str]:
    released = released if released is not None else {c.id: c.source for c in cells}
    return [cells[i].id for i in sorted(demos.skippable(cells, released, D, used))]


def test_a_demo_nothing_needs_is_left_out_and_a_chain_of_demos_goes_together():
    cells = _cells(
        ("setup", "import numpy as np\nx = np.arange(3)"),
        ("demo", "acc = [float(v) for v in x]\nprint(acc)"),
        ("plot", "import matplotlib.pyplot as plt\nplt.plot(acc)"),
        ("answer", "def f(z):\n    return z + 1"),
    )
    assert _skipped(cells) == ["demo", "plot"]


def test_an_edited_demo_always_runs():
    cells = _cells(("demo", "acc = 1"), ("answer", "y = 2"))
    assert _skipped(cells, released={"demo": "acc = 0", "plot": ""}) == []


def test_a_demo_whose_name_a_later_cell_reads_runs():
    cells = _cells(("demo", "teacher = 3"), ("answer", "def f():\n    return teacher * 2"))
    assert _skipped(cells) == []


def test_a_later_cell_that_binds_the_name_first_does_not_need_the_demo():
    cells = _cells(("demo", "k = 3"), ("answer", "for k in range(2):\n    print(k)"))
    assert _skipped(cells) == ["demo"]


def test_a_name_a_hidden_check_asks_for_keeps_the_demo():
    cells = _cells(("demo", "result = 3"), ("answer", "y = 1"))
    assert _skipped(cells, used={"result"}) == []


def test_a_demo_that_may_change_a_shared_object_runs():
    cells = _cells(
        ("setup", "model = [0]"),
        ("demo", "model.append(1)"),  # reads model and could change it in place
        ("answer", "def g():\n    return len(model)"),
    )
    assert _skipped(cells) == []


def test_modules_and_functions_may_be_shared():
    cells = _cells(
        ("setup", "import numpy as np\ndef helper(v):\n    return v"),
        ("demo", "print(helper(np.ones(2)))"),
        ("answer", "def h():\n    return helper(np.zeros(1))"),
    )
    assert _skipped(cells) == ["demo"]


@pytest.mark.parametrize("later", ["globals()['acc']", "eval('acc')", "this is not python ("])
def test_anything_that_cannot_be_analysed_keeps_every_demo_before_it(later):
    cells = _cells(("demo", "acc = 1"), ("answer", later))
    assert _skipped(cells) == []


def test_ipython_magics_parse_but_count_as_reading_everything():
    """A magic becomes get_ipython().run_line_magic(...): it could run any code, so it keeps what is before it."""
    assert _skipped(_cells(("demo", "acc = 1"), ("answer", "%time y = 1"))) == []
    assert _skipped(_cells(("demo", "%time acc = 1"), ("answer", "y = 1"))) == []
    assert demos.read_names("!echo hi") == demos.ALL


def test_test_names_are_the_names_checks_ask_for(tmp_path):
    judge = tmp_path / "judge.py"
    judge.write_text(
        'def c(ask):\n    yield [ask.call("kd_loss", 1), ask.value("q1_answer")]\n    x = "not a name here"\n'
    )
    probe = tmp_path / "probe.py"
    probe.write_text('def s(ns, **kw):\n    return ns["teacher"], helper(ns, "student"), ns.get("pool")\n')
    assert demos.test_names(judge, probe) == {"kd_loss", "q1_answer", "teacher", "student", "pool"}

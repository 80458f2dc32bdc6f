"""kdlib.grading.judge: how checks ask, receive and decide, including the probe side in-process."""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pytest

from kdlib.grading import codec
from kdlib.grading.judge import Judge, JudgeError, expect, expect_close
from kdlib.grading.kernel import probe


def _run(judge: Judge, gid: str, ns: dict, folder: str = "."):
    """Plan, perform the requests on ``ns`` as the kernel would, decide."""
    pending = judge.plan(gid)
    wire = json.loads(json.dumps([codec.encode(r.body) for r in pending.requests]))
    results = [probe.perform(codec.decode(r), ns, folder) for r in wire]
    return judge.decide(pending, json.loads(json.dumps(results)))


@pytest.fixture
def judge():
    j = Judge("demo")

    @j.check("test_square")
    def square(ask):
        x = np.arange(4.0)
        (got,) = yield [ask.call("square", x)]
        expect_close(got, x**2, "square(x)")

    @j.check("test_answer")
    def answer(ask):
        (a,) = yield [ask.value("answer")]
        expect(a == "b", "the answer is not b")

    @j.check("test_raises")
    def raises(ask):
        (r,) = yield [ask.call("square", "text", raises=True)]
        expect(r.error is not None and r.error.startswith("TypeError"), f"expected a TypeError, got {r}")

    return j


def test_right_answers_pass(judge):
    ns = {"square": lambda x: x**2, "answer": "b"}
    assert _run(judge, "test_square", ns).passed
    assert _run(judge, "test_answer", ns).passed
    assert _run(judge, "test_raises", ns).passed


def test_wrong_missing_and_raising_answers_fail_with_messages(judge):
    assert _run(judge, "test_square", {"square": lambda x: x * 2}).message.startswith("square(x): differs")
    v = _run(judge, "test_square", {})
    assert not v.passed and v.message == "square is not defined: run the cell that defines it (and keep its name)"

    def boom(x):
        raise ValueError("no\x1b[31m")

    v = _run(judge, "test_square", {"square": boom})
    assert not v.passed and "calling square raised ValueError: no\\x1b[31m" in v.message  # escape codes escaped
    assert _run(judge, "test_answer", {"answer": "a"}).message == "the answer is not b"


def test_no_answer_from_the_kernel_fails_the_check(judge):
    pending = judge.plan("test_square")
    v = judge.decide(pending, None, "the kernel died (exit status 137)")
    assert not v.passed and v.message == "this test did not run: the kernel died (exit status 137)"
    assert not judge.decide(judge.plan("test_square"), [{"ok": 1}, {"ok": 2}]).passed  # wrong count
    assert "not plain data" in judge.decide(judge.plan("test_square"), [{"ok": {"__x__": 1}}]).message


def test_a_check_of_the_wrong_type_fails_safely(judge):
    v = _run(judge, "test_square", {"square": lambda x: "not an array"})
    assert not v.passed


def test_instructor_mistakes_are_judge_errors():
    j = Judge("demo")

    @j.check("twice")
    def twice(ask):
        yield [ask.value("a")]
        yield [ask.value("b")]

    with pytest.raises(JudgeError, match="asked twice"):
        _run(j, "twice", {"a": 1, "b": 2})
    with pytest.raises(JudgeError, match="no check"):
        j.plan("nope")
    with pytest.raises(JudgeError, match="two checks"):
        j.check("twice")(lambda ask: None)


def test_an_assignment_without_a_judge_is_refused(tmp_path):
    import shutil

    from kdlib.grading import GradingError, grade
    from tests.support import ROOT, submit

    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "solutions" / "03_loss_torch", tmp_path / "solutions" / "03_loss_torch")
    (tmp_path / "solutions" / "03_loss_torch" / "judge.py").unlink()
    submit(tmp_path, "03_loss_torch", "amy", nbformat.v4.new_notebook())
    with pytest.raises(GradingError, match="has no solutions/03_loss_torch/judge.py"):
        grade(tmp_path, "03_loss_torch", record=False, progress=False)

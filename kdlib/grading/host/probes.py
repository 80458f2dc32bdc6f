"""Two nbgrader preprocessors around Execute: plan the probes, then judge what they sent back.

:class:`PlanProbes` (before Execute) loads the assignment's judge, asks every check for its
requests, writes them to the probe folder the kernel can read, and replaces each test cell's
source by the probe shim (and each locked cell that imports the answer key by a comment).
:class:`JudgeCells` (after Execute) puts the original sources back, reads each test cell's
probe message within size limits, lets the judge decide, and leaves the verdict as the cell's
only output: nothing (passed) or an error naming the mistake (failed). nbgrader's
SaveAutoGrades then scores the cells from those outputs as usual.

An assignment without ``judge.py``, or whose test cells still hold ``### BEGIN HIDDEN TESTS``,
is refused: its hidden tests would otherwise run in the student's process.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, Unicode

from kdlib.grading import answer_key, codec, demos
from kdlib.grading import judge as judging
from kdlib.grading.kernel.probe import MIME, REQUESTS, SCENARIOS

__all__ = ["JudgeCells", "PlanProbes", "autograde_preprocessors", "shim"]

_STATE = "kd_probe"


def shim(test_id: str, folder: str) -> str:
    """The code a graded kernel runs in place of test cell ``test_id``."""
    return (
        f"from kdlib.grading.kernel import probe as _kd_probe\n_kd_probe.run({test_id!r}, {folder!r})\ndel _kd_probe\n"
    )


def skipped_note(keys: list[str]) -> str:
    return f"# not run while graded: this cell imports {', '.join(keys)} (the answer key)\n"


def demo_note() -> str:
    return "# not run while graded: a demonstration, unchanged, that nothing graded needs\n"


def _asked_names(pending: dict) -> set[str]:
    """Notebook names the planned requests read (calls and values; scenarios: see probe.py)."""
    names = set()
    for p in pending.values():
        for r in p.requests:
            if r.body.get("op") in ("call", "value") and isinstance(r.body.get("name"), str):
                names.add(r.body["name"])
    return names


def _is_test(cell) -> bool:
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


class PlanProbes(NbGraderPreprocessor):
    """Replace test cells by probe shims; write the judge's requests where the kernel reads them."""

    probe_dir = Unicode("", help="host folder for requests.json (default: a new temporary folder)").tag(config=True)
    kernel_probe_dir = Unicode("", help="the same folder as the kernel sees it (default: probe_dir)").tag(config=True)
    source_dir = Unicode("", help="the course's source folder (default: from CourseDirectory)").tag(config=True)

    def _source(self) -> Path:
        if self.source_dir:
            return Path(self.source_dir)
        cd = self.config.get("CourseDirectory", {})
        root = cd.get("root") or os.getcwd()
        return Path(root) / cd.get("source_directory", "source")

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        path = judging.find(self._source(), info["assignment"])
        if path is None:
            raise judging.JudgeError(
                f"{info['assignment']} has no {judging.JUDGE_FILE} beside its source notebook: its hidden "
                "checks would run in the student's kernel. Move them into a judge (docs/grading.md)."
            )
        for cell in nb.cells:
            if _is_test(cell) and "### BEGIN HIDDEN TESTS" in cell.source:
                raise judging.JudgeError(
                    f"test cell {cell.metadata.nbgrader['grade_id']} of {info['assignment']} holds hidden tests: "
                    "they would run in the student's kernel. Move them into judge.py (docs/grading.md)."
                )
        judge = judging.load(path)
        folder = Path(self.probe_dir or tempfile.mkdtemp(prefix="kd-probe-"))
        folder.mkdir(parents=True, exist_ok=True)
        seen = folder if not self.kernel_probe_dir else Path(self.kernel_probe_dir)
        state = {"judge": judge, "pending": {}, "sources": {}, "judge_dir": str(path.parent)}
        requests: dict[str, list] = {}
        for index, cell in enumerate(nb.cells):
            if _is_test(cell):
                gid = cell.metadata.nbgrader["grade_id"]
                pending = judge.plan(gid)
                state["pending"][gid] = pending
                requests[gid] = [codec.encode(r.body) for r in pending.requests]
                state["sources"][index] = cell.source
                cell.source = shim(gid, str(seen))
            elif cell.cell_type == "code" and utils.is_locked(cell) and not utils.is_solution(cell):
                keys = answer_key.uses(cell.source, judge.answer_key)
                if keys:
                    state["sources"][index] = cell.source
                    cell.source = skipped_note(keys)
        self._leave_out_demos(nb, judge, path, state)
        (folder / REQUESTS).write_text(json.dumps(requests), encoding="utf-8")
        scenarios = path.with_name(SCENARIOS)
        if scenarios.is_file():
            shutil.copyfile(scenarios, folder / SCENARIOS)
        resources[_STATE] = state
        return nb, resources

    def _leave_out_demos(self, nb, judge: judging.Judge, path: Path, state: dict) -> None:
        """Replace the demonstration cells :func:`demos.skippable` allows by a note."""
        if not judge.demos:
            return
        source_nb = path.with_name(f"{judge.notebook}.ipynb")
        if not source_nb.is_file():
            return
        import nbformat

        released = {c.get("id"): c.source for c in nbformat.read(source_nb, as_version=4).cells}
        used = _asked_names(state["pending"]) | demos.test_names(None, path.with_name(SCENARIOS))
        # test cells already hold their probe shims: what a graded run executes is analysed
        for index in demos.skippable(nb.cells, released, judge.demos, used):
            cell = nb.cells[index]
            if index in state["sources"] or utils.is_grade(cell) or utils.is_solution(cell):
                continue
            state["sources"][index] = cell.source
            state.setdefault("demos", []).append(index)
            cell.source = demo_note()


def _translator(nb, judge: judging.Judge, state: dict):
    """Verdicts in the submission's language (``metadata.kd_course.lang``; English if unknown)."""
    from kdlib.i18n import build, messages

    lang = build.language_of(nb)
    if lang == "en":
        return lambda text: text
    try:
        return messages.translator(lang, judge.notebook, judge_dir=Path(state["judge_dir"]), grading=True)
    except Exception:  # a broken catalogue must not cost a grade: English it is
        return lambda text: text


class JudgeCells(NbGraderPreprocessor):
    """Decide each test cell from its probe message; restore the sources PlanProbes replaced."""

    max_payload_bytes = Integer(16_000_000, help="largest probe message read per test cell").tag(config=True)

    def preprocess(self, nb, resources):
        state = resources.get(_STATE)
        if state is None:
            return nb, resources
        judge: judging.Judge = state["judge"]
        say = _translator(nb, judge, state)
        for index, source in state["sources"].items():
            cell = nb.cells[index]
            cell.source = source
            if not _is_test(cell):
                cell.outputs = []
                if index in state.get("demos", ()):
                    note = say("not run when graded: a demonstration that nothing graded needs (run it yourself)")
                    cell.outputs = [new_output("stream", name="stdout", text=note + "\n")]
                continue
            gid = cell.metadata.nbgrader["grade_id"]
            results, stopped = self._results(cell, gid)
            verdict = judge.decide(state["pending"][gid], results, stopped)
            cell.outputs = [self._output(verdict, say)]
        return nb, resources

    def _results(self, cell, gid: str) -> tuple[list | None, str]:
        """The results of the one probe message for ``gid`` (None if absent), and why the cell stopped."""
        found = []
        stopped = ""
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error" and out.get("ename") in ("KernelDied", "CellTimeoutError"):
                stopped = str(out.get("evalue", ""))[:300]
            data = out.get("data", {}) if out.get("output_type") in ("display_data", "execute_result") else {}
            if MIME in data:
                found.append(data[MIME])
        if len(found) != 1:
            return (None if not found else [None]), stopped  # two answers for one test: malformed
        payload = found[0]
        try:
            if isinstance(payload, str):
                payload = json.loads(payload) if len(payload) <= self.max_payload_bytes else None
            elif len(json.dumps(payload)) > self.max_payload_bytes:
                payload = None
        except (ValueError, RecursionError):  # malformed, or nested deeper than the parser goes
            payload = None
        if not isinstance(payload, dict) or payload.get("test") != gid or not isinstance(payload.get("results"), list):
            return [None], stopped
        return payload["results"], stopped

    @staticmethod
    def _output(verdict: judging.Verdict, say=lambda text: text):
        if verdict.passed:
            return new_output("stream", name="stdout", text=say("passed (checked by the grader)") + "\n")
        message = say(verdict.message)
        return new_output("error", ename="AssertionError", evalue=message, traceback=[f"AssertionError: {message}"])


def autograde_preprocessors(execute=None, *, after_judge: tuple = ()) -> list:
    """nbgrader's autograde stages with the probe/judge pair around ``execute`` (default: nbgrader's Execute).

    Used by ``kd grade`` (a sandboxed Execute, CapMarkdown after the judge) and by
    ``nbgrader_config.py`` for a plain ``nbgrader autograde``, so both run the same stages.
    """
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        Execute,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    return [
        PlanProbes,
        execute or Execute,
        JudgeCells,
        *after_judge,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]

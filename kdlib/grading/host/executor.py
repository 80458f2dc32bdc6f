"""Stage 3 — running the notebook: nbgrader preprocessors for an untrusted submission.

- :class:`RestoreMetadata` (sanitize phase) puts back the nbgrader metadata of every cell the
  gradebook knows and records edits and deletions;
- :class:`SandboxExecute` is nbgrader's Execute with the kernel in bubblewrap (or a plain local
  kernel with ``sandbox = False``), every message counted against an output cap (content,
  metadata and buffers alike), and kernel deaths or stuck cells turned into cell errors;
- :class:`CapMarkdown` cuts student markdown before feedback is rendered, so rendering is
  bounded.

What a run learns (timeouts, deaths, truncation...) goes into the module-level :data:`RUN`,
one per worker process, which the worker reads afterwards.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Integer

__all__ = ["RUN", "CapMarkdown", "RestoreMetadata", "RunState", "SandboxExecute", "error_output", "new_run"]

_HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
_MEMORY = re.compile(r"MemoryError|can't allocate memory|Unable to allocate|out of memory|bad_alloc|Cannot allocate")


@dataclass
class RunState:
    """What the preprocessors of one student's run learn."""

    statuses: dict[int, str] = field(default_factory=dict)
    timed_out: bool = False
    cell_timeouts: list[str] = field(default_factory=list)
    death: str = ""
    truncated: bool = False
    stopped: bool = False  # the grader killed the kernel (it ignored an interrupt)
    disk: bool = False  # the kernel filled its socket folder
    memory: bool = False  # a cell hit the per-process memory limit (MemoryError and the like)
    edited: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    metadata: list[str] = field(default_factory=list)


RUN = RunState()


def new_run() -> RunState:
    """A fresh :data:`RUN` for the next student (workers grade one student at a time)."""
    global RUN
    RUN = RunState()
    return RUN


def error_output(ename: str, evalue: str):
    """An error output the way nbgrader and the feedback show it."""
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _visible(source: str) -> list[str]:
    """A cell's lines as the student sees them: hidden tests removed, blank lines ignored."""
    lines, hidden = [], False
    for line in source.splitlines():
        s = line.strip()
        if s == _HIDDEN[0]:
            hidden = True
        elif s == _HIDDEN[1]:
            hidden = False
        elif not hidden and s:
            lines.append(line.rstrip())
    return lines


class RestoreMetadata(NbGraderPreprocessor):
    """Put back the nbgrader metadata of every known cell; record edits and deletions."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            rec = gb.find_notebook(info["notebook"], info["assignment"])
            source = {c.name: (c.locked, c.source, c.cell_type) for c in rec.source_cells}
            points = {c.name: float(c.max_score) for c in rec.grade_cells}
            solution = {c.name for c in rec.solution_cells}
            task = {c.name for c in rec.task_cells}
        last: dict[str, int] = {}
        for i, cell in enumerate(nb.cells):
            meta = cell.metadata.get("nbgrader")
            if meta is not None and not isinstance(meta, dict):
                del cell.metadata["nbgrader"]
                continue
            if meta and meta.get("grade_id") in source:
                last[meta["grade_id"]] = i
        for i, cell in enumerate(nb.cells):
            meta = cell.metadata.get("nbgrader")
            if not meta:
                continue
            gid = meta.get("grade_id")
            if gid not in source or last.get(gid) != i:
                if meta.get("grade") or meta.get("locked") or meta.get("solution") or meta.get("task"):
                    RUN.metadata.append(str(gid))
                del cell.metadata["nbgrader"]
                continue
            locked, src, cell_type = source[gid]
            want = {
                "grade_id": gid,
                "grade": gid in points,
                "solution": gid in solution,
                "task": gid in task,
                "locked": bool(locked),
            }
            if gid in points:
                want["points"] = points[gid]
            if any(meta.get(k) != v for k, v in want.items()) or cell.cell_type != cell_type:
                RUN.metadata.append(gid)
            meta.update(want)
            if not want["grade"] and "points" in meta:
                del meta["points"]
            if locked and (gid in points or cell.cell_type == "code") and _visible(cell.source) != _visible(src):
                RUN.edited.append(gid)
        RUN.deleted += [gid for gid in points if gid not in set(last)]
        return nb, resources


def message_size(msg: dict) -> int:
    """Bytes a kernel message adds to the notebook: its whole content (metadata too) and buffers."""
    content = msg.get("content", {}) or {}
    try:
        size = len(json.dumps(content, default=str))
    except (TypeError, ValueError):
        size = 10**9
    return size + sum(len(b) for b in msg.get("buffers", []) or [])


class SandboxExecute(Execute):
    """nbgrader's Execute with the kernel in bubblewrap, an output cap and kernel-death handling."""

    max_output_bytes = Integer(10_000_000, help="output kept per notebook, bytes").tag(config=True)
    sandbox = Bool(True, help="run the kernel in bubblewrap (False: a plain local kernel)").tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.sandbox:
            from kdlib.grading.host.sandbox import SandboxKernelManager

            self.kernel_manager_class = SandboxKernelManager

    def preprocess(self, nb, resources=None, km=None):
        self._dead = False
        self._bytes = 0
        self._noticed = False
        return super().preprocess(nb, resources, km)

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        RUN.statuses[kwargs["cell_index"]] = kwargs["execute_reply"]["content"].get("status", "")

    def _stop_kernel(self, why: str) -> None:
        from kdlib.grading.host.sandbox import kill_all

        self._dead = True
        RUN.death = RUN.death or why
        RUN.stopped = True
        kill_all()

    def preprocess_cell(self, cell, resources, index):
        if self._dead:
            if cell.cell_type == "code":
                cell.outputs = []
            return cell, resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
            for out in cell.get("outputs", []):
                if out.get("output_type") != "error":
                    continue
                if out.get("ename") == "CellTimeoutError":  # nbgrader interrupted it and went on
                    RUN.cell_timeouts.append(str(index))
                if _MEMORY.search(f"{out.get('ename', '')} {str(out.get('evalue', ''))[:300]}"):
                    RUN.memory = True
            return cell, resources
        except DeadKernelError:
            status = getattr(self.km, "exit_status", None)
            why = "stopped at the wall-time limit" if RUN.timed_out else f"the kernel died (exit status {status})"
            self._dead = True
            RUN.death = RUN.death or why
            cell.outputs.append(error_output("KernelDied", f"{why} while this cell ran"))
            return cell, resources
        except CellTimeoutError:
            why = "a cell kept running after it was interrupted"
            RUN.cell_timeouts.append(str(index))
            cell.outputs.append(error_output("CellTimeoutError", why))
            self._stop_kernel(why)
            return cell, resources

    def _over(self, msg) -> bool:
        size = message_size(msg)
        if self._bytes + size > self.max_output_bytes:
            RUN.truncated = True
            return True
        self._bytes += size
        return False

    def output(self, outs, msg, display_id, cell_index):
        if self._over(msg):
            if not self._noticed:
                self._noticed = True
                text = f"\n[output truncated by the grader: more than {self.max_output_bytes:,} bytes]\n"
                outs.append(new_output("stream", name="stdout", text=text))
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _update_display_id(self, display_id, msg):
        if not self._over(msg):
            super()._update_display_id(display_id, msg)

    def handle_comm_msg(self, outs, msg, cell_index):
        return  # widget state is not needed for grading, and its size is not capped


class CapMarkdown(NbGraderPreprocessor):
    """Cut student markdown (and raw cells) so that rendering feedback HTML stays bounded."""

    max_cell_chars = Integer(20_000, help="characters kept per markdown or raw cell").tag(config=True)
    max_total_chars = Integer(400_000, help="markdown characters kept per notebook").tag(config=True)

    def preprocess(self, nb, resources):
        total = 0
        for cell in nb.cells:
            if cell.cell_type not in ("markdown", "raw"):
                continue
            if utils.is_locked(cell) and not utils.is_solution(cell):
                continue  # the instructor's own text (restored from the source)
            keep = max(0, min(self.max_cell_chars, self.max_total_chars - total))
            if len(cell.source) > keep:
                cell.source = cell.source[:keep] + "\n\n[cut by the grader]"
                RUN.truncated = True
            total += len(cell.source)
            cell.attachments = {}
        return nb, resources

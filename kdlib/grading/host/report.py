"""Stage 6 — the report ``kd grade`` prints: who got what, what went wrong, where the files are.

Everything a student controls (folder names, error texts) is passed through :func:`safe`
before it is printed or logged, so a file name with a newline or terminal escapes cannot forge
a line of the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["REASONS", "Report", "StudentResult", "safe"]

#: what the report calls each kind of problem (the keys are stable; tests and tools use them)
REASONS = {
    "timeout": "timeout",
    "memory": "memory limit",
    "processes": "process limit",
    "disk": "disk limit",
    "crash": "crash (kernel died)",
    "missing": "missing or renamed notebook",
    "edited": "edited test/locked cells restored",
    "deleted": "deleted test cells restored",
    "metadata": "nbgrader cell metadata restored",
    "output": "output truncated",
    "unreadable": "unreadable submission",
    "name": "not graded (folder name)",
    "error": "not graded (internal error)",
}


def safe(text: object, limit: int = 300) -> str:
    """``text`` on one line, control characters escaped, at most ``limit`` characters."""
    s = str(text)
    s = "".join(ch if ch.isprintable() and ch not in "\u2028\u2029" else repr(ch)[1:-1] for ch in s)
    return s if len(s) <= limit else s[: limit - 3] + "..."


@dataclass
class StudentResult:
    """What happened to one submission."""

    student: str
    #: "ok" (graded, nothing to report), "problem" (graded; see reasons), "error" (not graded)
    status: str = "ok"
    score: float = 0.0
    max_score: float = 0.0
    #: grade_id -> (score, max_score), from the real gradebook after the merge
    cells: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: cells waiting for an instructor's hand grade (not counted as lost)
    pending: set[str] = field(default_factory=set)
    #: REASONS key -> detail
    reasons: dict[str, str] = field(default_factory=dict)
    #: things worth a human look that did not change the grade
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0
    feedback: list[Path] = field(default_factory=list)
    log: Path | None = None

    @property
    def lost(self) -> dict[str, float]:
        """Graded cells that lost points: grade_id -> points lost (cells awaiting a hand grade left out)."""
        return {k: m - s for k, (s, m) in self.cells.items() if s < m and k not in self.pending}

    @property
    def auto_max(self) -> float:
        """The points this submission could earn before any hand grading."""
        return sum(m for k, (_s, m) in self.cells.items() if k not in self.pending)

    def describe(self) -> str:
        """One line: the reasons with their details."""
        return "; ".join(f"{REASONS[k]}: {safe(v)}" if v else REASONS[k] for k, v in self.reasons.items())


@dataclass
class Report:
    """The outcome of :func:`kdlib.grading.grade`."""

    assignment: str
    course: Path
    results: dict[str, StudentResult]
    csv: Path
    feedback_dir: Path
    autograded_dir: Path
    backup: Path | None
    seconds: float
    jobs: int
    sandboxed: bool = True

    @property
    def graded(self) -> list[StudentResult]:
        """Submissions graded with nothing to report."""
        return [r for r in self.results.values() if r.status == "ok"]

    @property
    def failed(self) -> list[StudentResult]:
        """Submissions with a problem (graded anyway where possible) or not graded."""
        return [r for r in self.results.values() if r.status != "ok"]

    def format(self) -> str:
        """The report printed by ``kd grade``."""
        n = len(self.results)
        mode = "sandboxed" if self.sandboxed else "NOT sandboxed (--no-sandbox)"
        lines = [f"{self.assignment}: {n} submission(s) in {self.seconds:.0f} s with {self.jobs} job(s), {mode}"]
        names = {s: safe(s, 60) for s in self.results}
        width = max([7, *(len(v) for v in names.values())])
        if self.graded:
            lines += ["", f"graded ({len(self.graded)}):", f"  {'student':<{width}}  {'score':>11}  lost points on"]
            for r in self.graded:
                lost = ", ".join(f"{k} (-{v:g})" for k, v in r.lost.items()) or "-"
                if r.pending:
                    lost += f"; by hand: {', '.join(sorted(r.pending))}"
                lines.append(f"  {names[r.student]:<{width}}  {r.score:>5g} / {r.max_score:<3g}  {lost}")
        if self.failed:
            lines += ["", f"failed or flagged ({len(self.failed)}):", f"  {'student':<{width}}  {'score':>11}  reason"]
            for r in self.failed:
                score = "not graded" if r.status == "error" else f"{r.score:>5g} / {r.max_score:<3g}"
                lines.append(f"  {names[r.student]:<{width}}  {score:>11}  {r.describe()}")
        flagged = [r for r in self.results.values() if r.flags]
        if flagged:
            lines += ["", "worth a look (grades unaffected):"]
            lines += [f"  {names[r.student]:<{width}}  {safe(', '.join(r.flags))}" for r in flagged]
        lines += [
            "",
            "files:",
            f"  grades (CSV)          {self.csv}",
            f"  feedback (HTML)       {self.feedback_dir}/<student>/{self.assignment}/",
            f"  autograded notebooks  {self.autograded_dir}/<student>/{self.assignment}/",
            f"  logs                  {self.course / 'out' / 'grading-logs' / self.assignment}/",
            f"  gradebook backup      {self.backup or '(there was no gradebook yet)'}",
        ]
        return "\n".join(lines)

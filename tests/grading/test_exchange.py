"""A whole class through nbgrader's exchange, as on a JupyterHub (docs/jupyterhub.md), on this machine.

One module-scoped round trip of 03_loss_torch with the nbgrader 0.9.6 command line:

1. the instructor releases to an exchange OUTSIDE the course folder (``/srv/nbgrader/exchange`` on
   a hub; a temporary folder here, mode 0777 as nbgrader wants), configured as the recipe says: a
   system-wide ``nbgrader_config.py`` (here on ``JUPYTER_CONFIG_PATH``) with the course id and
   the exchange, and the same exchange line appended to the course's ``nbgrader_config.py``;
2. two students, each with their own home (nbgrader's submission cache) and work folder,
   fetch; ada submits the right answer; bo submits the untouched notebook, then — after the
   instructor sets the due date — resubmits with a mistake (T² left out): late;
3. the instructor collects (the later submission), runs ``kd grade`` (``kdlib.grading.grade``),
   writes the feedback pages again from the gradebook (``python -m kdlib.grading feedback``) and
   releases them; each student fetches the feedback of their own submission.

On a hub each student is a Unix user (The Littlest JupyterHub) or ``jovyan`` with
``JUPYTERHUB_USER`` (zero-to-jupyterhub), and nbgrader takes the identity from that. One Unix
user runs this test, so the identity is given explicitly (``nbgrader submit --student``, which
nbgrader 0.9.6 accepts) and ``nbgrader collect`` warns that the owner does not match: the check
that ties a submission to a Unix user on a real hub.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from kdlib.grading import grade, main
from kdlib.grading.course import nbgrader_env
from tests.grading.catalogues.m03_loss_torch import CATALOGUE
from tests.support import filled, make_course, read_pair

pytestmark = pytest.mark.slow

ASSIGNMENT = CATALOGUE.assignment
COURSE_ID = "kd-course"  # c.CourseDirectory.course_id in nbgrader_config.py
MISTAKE = CATALOGUE.mistakes["missing_t_squared"]
STUDENTS = ("ada", "bo")
#: wall time allowed to one nbgrader / kdlib command (nbgrader alone takes ~4 s to start here)
STEP_TIMEOUT = 180


def _env(home: Path, etc: Path, base: dict[str, str]) -> dict[str, str]:
    """The environment of one person's server: their home, the hub-wide config folder."""
    env = {k: v for k, v in base.items() if not k.startswith(("JUPYTER", "JPY_"))}
    env.update(
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"),
        JUPYTER_CONFIG_PATH=str(etc),  # stands for /etc/jupyter on the hub
        JUPYTER_PLATFORM_DIRS="0",
    )
    return env


class Person:
    """An instructor or a student: a home folder, a working folder, commands run there."""

    def __init__(self, name: str, home: Path, cwd: Path, env: dict[str, str]):
        self.name, self.home, self.cwd, self.env = name, home, cwd, env
        home.mkdir(parents=True, exist_ok=True)
        cwd.mkdir(parents=True, exist_ok=True)

    def start(self, *args: str, module: str = "nbgrader") -> tuple[str, subprocess.Popen]:
        cmd = [sys.executable, "-m", module, *args]
        proc = subprocess.Popen(
            cmd, cwd=self.cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        return f"{self.name}: {module} {' '.join(args)}", proc

    def cache(self) -> Path:
        """nbgrader's submission cache ($JUPYTER_DATA_DIR/nbgrader_cache/<course>)."""
        return self.home / ".local" / "share" / "jupyter" / "nbgrader_cache" / COURSE_ID


def run_together(*started: tuple[str, subprocess.Popen], log: dict[str, str]) -> list[str]:
    """Wait for commands started together; each must succeed within STEP_TIMEOUT. Their outputs."""
    outputs, deadline = [], time.monotonic() + STEP_TIMEOUT
    try:
        for what, proc in started:
            try:
                out, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f"`{what}` took more than {STEP_TIMEOUT} s")
            log[what] = out
            assert proc.returncode == 0, f"`{what}` failed ({proc.returncode}):\n{out[-4000:]}"
            outputs.append(out)
    finally:
        for _, proc in started:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return outputs


def _timestamps(cache: Path) -> list[str]:
    """The timestamps of a student's submissions, oldest first, from their nbgrader cache."""
    return sorted(p.name.split("+")[2] for p in cache.glob(f"*+{ASSIGNMENT}+*"))


def _page_text(path: Path) -> str:
    import html

    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8"))))


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """The whole round trip, done once; everything the tests look at."""
    from nbgrader.api import Gradebook

    tmp = tmp_path_factory.mktemp("hub")
    seconds: dict[str, float] = {}
    log: dict[str, str] = {}
    t0 = time.perf_counter()

    # --- the hub: an exchange outside the course, a hub-wide nbgrader config --------------------
    exchange = tmp / "srv" / "nbgrader" / "exchange"
    exchange.mkdir(parents=True)
    exchange.chmod(0o777)  # sudo chmod ugo+rwx /srv/nbgrader/exchange
    etc = tmp / "etc" / "jupyter"
    etc.mkdir(parents=True)
    (etc / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.course_id = {COURSE_ID!r}\nc.Exchange.root = {str(exchange)!r}\n"
    )

    # --- the instructor's course: released notebooks in notebooks/, the exchange line appended ----
    course = make_course(tmp / "home" / "instructor" / "kd-course", [ASSIGNMENT])
    shutil.copytree(course / "release" / ASSIGNMENT, course / "notebooks" / ASSIGNMENT)
    with (course / "nbgrader_config.py").open("a") as fh:
        fh.write(f"\n# on the hub: the exchange every student's server sees\nc.Exchange.root = {str(exchange)!r}\n")
    base = nbgrader_env(course)
    teacher = Person("instructor", tmp / "home" / "instructor", course, _env(tmp / "home" / "instructor", etc, base))
    students = {
        s: Person(s, tmp / "home" / s, tmp / "home" / s / "work", _env(tmp / "home" / s, etc, base)) for s in STUDENTS
    }
    bo = students["bo"]
    seconds["set up"] = time.perf_counter() - t0

    def step(name: str, *started) -> list[str]:
        t = time.perf_counter()
        outs = run_together(*started, log=log)
        seconds[name] = time.perf_counter() - t
        return outs

    step("release_assignment", teacher.start("release_assignment", ASSIGNMENT))
    modes = {
        p: (exchange / p).stat().st_mode & 0o7777
        for p in (".", COURSE_ID, f"{COURSE_ID}/outbound", f"{COURSE_ID}/inbound")
    }
    step("fetch_assignment x2", *(p.start("fetch_assignment", ASSIGNMENT) for p in students.values()))
    fetched = {
        s: sorted(str(f.relative_to(p.cwd)) for f in p.cwd.rglob("*") if f.is_file()) for s, p in students.items()
    }

    # --- answers: ada right; bo first hands in the untouched notebook --------------------------
    student_nb, solution_nb = read_pair(course, ASSIGNMENT)
    nb_path = {s: p.cwd / ASSIGNMENT / f"{ASSIGNMENT}.ipynb" for s, p in students.items()}
    nbformat.write(filled(nbformat.read(nb_path["ada"], as_version=4), solution_nb), nb_path["ada"])
    step("submit x2", *(p.start("submit", ASSIGNMENT, f"--student={s}") for s, p in students.items()))

    # --- the due date passes; bo resubmits with a mistake (late) --------------------------------
    due = datetime.now(UTC).replace(tzinfo=None)  # nbgrader keeps naive UTC times
    nbformat.write(filled(nbformat.read(nb_path["bo"], as_version=4), solution_nb, MISTAKE.patches), nb_path["bo"])
    step(
        "db assignment add --duedate + bo resubmits",
        teacher.start("db", "assignment", "add", ASSIGNMENT, f"--duedate={due.isoformat(' ')} UTC"),
        bo.start("submit", ASSIGNMENT, "--student=bo"),
    )
    inbound = sorted(p.name for p in (exchange / COURSE_ID / "inbound").iterdir())

    (collect_out,) = step("collect", teacher.start("collect", ASSIGNMENT))

    t = time.perf_counter()
    report = grade(
        course,
        ASSIGNMENT,
        jobs=2,
        timeout=STEP_TIMEOUT,
        memory_mb=CATALOGUE.memory_mb,
        cell_timeout=CATALOGUE.cell_timeout,
        record=False,
        feedback=False,
        progress=False,
    )
    seconds["kd grade"] = time.perf_counter() - t
    print(report.format())
    t = time.perf_counter()  # `python -m kdlib.grading feedback NAME`, in this process (nbgrader is loaded)
    assert main(["feedback", ASSIGNMENT, "--course-dir", str(course)]) == 0
    seconds["feedback"] = time.perf_counter() - t
    step("release_feedback", teacher.start("release_feedback", ASSIGNMENT))
    step("fetch_feedback x2", *(p.start("fetch_feedback", ASSIGNMENT, f"--student={s}") for s, p in students.items()))
    seconds["total"] = time.perf_counter() - t0
    print("seconds per step:", {k: round(v, 1) for k, v in seconds.items()})

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
        subs = {}
        for s in STUDENTS:
            sub = gb.find_submission(ASSIGNMENT, s)
            subs[s] = SimpleNamespace(
                timestamp=sub.timestamp,
                seconds_late=sub.total_seconds_late,
                penalty=sub.late_submission_penalty,
                score=sub.score,
                max_score=sub.max_score,
            )
        duedate = gb.find_assignment(ASSIGNMENT).duedate
    return SimpleNamespace(
        tmp=tmp,
        exchange=exchange,
        course=course,
        students=students,
        modes=modes,
        fetched=fetched,
        inbound=inbound,
        collect_out=collect_out,
        due=due,
        duedate=duedate,
        report=report,
        subs=subs,
        stamps={s: _timestamps(p.cache()) for s, p in students.items()},
        log=log,
        seconds=seconds,
    )


def test_release_goes_to_the_exchange_outside_the_course_with_nbgrader_modes(hub):
    assert not hub.exchange.is_relative_to(hub.course)
    released = hub.exchange / COURSE_ID / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert released.is_file()
    assert nbformat.read(released, as_version=4) == nbformat.read(
        hub.course / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4
    )
    # everyone may write the root; students read outbound; inbound is write-only (they cannot list it)
    assert hub.modes == {
        ".": 0o777,
        COURSE_ID: 0o755,
        f"{COURSE_ID}/outbound": 0o755,
        f"{COURSE_ID}/inbound": 0o2733,
    }
    assert not list((hub.exchange / COURSE_ID).rglob("judge.py")), "the hidden checks must never be released"
    assert not (hub.course / "exchange" / COURSE_ID).exists(), "nothing may go to the course's own exchange"


def test_each_student_fetched_the_release_into_their_own_folder(hub):
    for s, person in hub.students.items():
        assert hub.fetched[s] == [f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"], f"{s} fetched {hub.fetched[s]}"
        assert person.cwd.is_relative_to(person.home)


def test_three_submissions_reach_the_exchange_and_each_student_cache(hub):
    owners = sorted(name.split("+")[0] for name in hub.inbound)
    assert owners == ["ada", "bo", "bo"], hub.inbound
    assert len(hub.stamps["ada"]) == 1 and len(hub.stamps["bo"]) == 2, hub.stamps
    # each cache holds only its owner's submissions (fetch_feedback finds feedback through it)
    for s, person in hub.students.items():
        assert {p.name.split("+")[0] for p in person.cache().iterdir()} == {s}


def test_collect_takes_the_resubmission(hub):
    assert "Collecting submission: bo" in hub.collect_out and "Collecting submission: ada" in hub.collect_out
    folder = hub.course / "submitted" / "bo" / ASSIGNMENT
    assert (folder / "timestamp.txt").read_text() == hub.stamps["bo"][-1], "the later submission must be collected"
    code = "\n".join(c.source for c in nbformat.read(folder / f"{ASSIGNMENT}.ipynb", as_version=4).cells)
    (old, new), *_ = MISTAKE.patches
    assert new in code and old not in code
    assert (hub.course / "submitted" / "ada" / ASSIGNMENT / "timestamp.txt").read_text() == hub.stamps["ada"][0]
    # one Unix user plays both students here: nbgrader's owner check says so (on a hub it is silent)
    assert "claims to be submitted by bo but is owned by" in hub.collect_out


def test_late_submission_is_recorded_late(hub):
    assert hub.duedate == hub.due  # `nbgrader db assignment add --duedate` wrote it to the gradebook
    first, second = (datetime.fromisoformat(s.replace(" UTC", "")) for s in hub.stamps["bo"])
    assert first < hub.due < second
    assert hub.subs["bo"].timestamp == second.replace(tzinfo=None)
    assert hub.subs["bo"].seconds_late > 0, "bo's resubmission came after the due date"
    assert hub.subs["ada"].seconds_late == 0
    # the course sets no LateSubmissionPlugin: nbgrader's default policy ("none") flags, not penalises
    assert hub.subs["bo"].penalty == 0
    import csv

    with (hub.course / "out" / "grades" / f"{ASSIGNMENT}.csv").open(newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert rows["bo"]["timestamp"] == second.isoformat() and float(rows["bo"]["late_penalty"]) == 0


def test_kd_grade_scores_the_collected_work(hub):
    ada, bo = hub.report.results["ada"], hub.report.results["bo"]
    assert ada.status == "ok", ada.describe()
    assert ada.auto_max > 0 and ada.score == ada.auto_max and not ada.lost
    assert set(bo.lost) == set(MISTAKE.lost), f"bo lost {sorted(bo.lost)}"
    assert 0 < bo.score < ada.score, "the untouched first submission (0 points) must not be the one graded"
    assert hub.subs["ada"].score == ada.score and hub.subs["bo"].score == bo.score


def _fetched_feedback(person) -> list[Path]:
    return sorted((person.cwd / ASSIGNMENT / "feedback").rglob("*.html"))


def test_each_student_fetches_only_their_own_feedback(hub):
    outbox = hub.exchange / COURSE_ID / "feedback"
    assert len(list(outbox.glob("*.html"))) == 2
    assert outbox.stat().st_mode & 0o777 == 0o711, "students reach a page by its hash only; they cannot list them"
    message = next(iter(MISTAKE.lost.values()))
    for s, person in hub.students.items():
        pages = _fetched_feedback(person)
        # one page, filed under the timestamp of the submission that was graded
        assert [p.relative_to(person.cwd / ASSIGNMENT / "feedback") for p in pages] == [
            Path(hub.stamps[s][-1]) / f"{ASSIGNMENT}.html"
        ], pages
        mine = hub.course / "feedback" / s / ASSIGNMENT / f"{ASSIGNMENT}.html"
        assert pages[0].read_bytes() == mine.read_bytes()
        r = hub.report.results[s]
        text = _page_text(pages[0])
        total = re.search(r"Score: ([\d.]+) / ([\d.]+)", text)
        assert total and (float(total[1]), float(total[2])) == (r.score, r.max_score), text[:600]
        assert (message in text) == (s == "bo"), f"{s}'s page and the mistake message"
    # bo's first (untouched) submission got no feedback: nbgrader says so instead of showing ada's
    (bo_fetch,) = [out for what, out in hub.log.items() if what.startswith("bo: nbgrader fetch_feedback")]
    assert "Could not find feedback" in bo_fetch and bo_fetch.count("Fetched feedback") == 1

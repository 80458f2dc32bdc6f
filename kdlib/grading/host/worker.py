"""Stage 4 — one student, in a worker process: a scratch course, nbgrader's Autograde, limits.

For each student a worker builds a scratch course (the config, the assignment's source with
its judge, a copy of the gradebook, that student's files only) and runs nbgrader's Autograde
converter on it with this kit's preprocessors composed in:

    sanitize:  ClearOutput, RestoreMetadata, DeduplicateIds, OverwriteKernelspec, OverwriteCells, ...
    autograde: PlanProbes, SandboxExecute, JudgeCells, CapMarkdown, ..., SaveAutoGrades, ...

The kernel (student code and probes) runs in the sandbox; planning and judging run here. A
watchdog kills the kernel at the wall-time limit; everything this process does with the
student's output afterwards is bounded by the output caps and an alarm.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import logging
import multiprocessing
import os
import shutil
import signal
import stat
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdlib.grading.course import Course, config
from kdlib.grading.host import gradebook
from kdlib.grading.host.sandbox import PROBE_DIR, Limits

__all__ = ["Job", "Outcome", "grade_one", "run_pool"]

#: a submitted notebook larger than this is not read at all
MAX_NOTEBOOK_BYTES = 50_000_000
#: total size of one student's submitted files
MAX_SUBMISSION_BYTES = 200_000_000
#: trusted work after the kernel has stopped (judging, feedback HTML) may take this long, s
TRUSTED_SECONDS = 120
_LOGGERS = ("traitlets", "nbgrader", "NbGrader", "nbclient", "jupyter_client")


@dataclass
class Job:
    """Everything a worker needs to grade one student (picklable)."""

    course: Course
    assignment: str
    student: str
    work: str
    template_db: str
    limits: Limits
    timeout: float
    cell_timeout: int | None
    max_output_bytes: int
    feedback: bool = True
    sandbox: bool = True
    kdlib_view: str | None = None
    #: whole-sandbox caps through a cgroup (0: none)
    group_memory_mb: int = 0
    group_pids: int = 0
    #: generated data-set arrays the kernel may read (:func:`kdlib.grading.host.sandbox.data_view`)
    data_dir: str | None = None


@dataclass
class Outcome:
    """What a worker sends back: grades to merge, files to copy, reasons."""

    student: str
    reasons: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    grades: dict[str, Any] | None = None
    autograded: str | None = None
    feedback: str | None = None
    log: str | None = None
    seconds: float = 0.0


def copy_files(src: Path, dest: Path, *, max_bytes: int | None = None) -> list[str]:
    """Copy the regular files and folders under ``src`` (no symlinks, devices or pipes); what was skipped."""
    skipped: list[str] = []
    total = 0
    dest.mkdir(parents=True, exist_ok=True)
    for root, dirs, files in os.walk(src, followlinks=False):
        rel = Path(root).relative_to(src)
        for name in list(dirs):
            if (Path(root) / name).is_symlink():
                dirs.remove(name)
                skipped.append(f"{rel / name} (symlink)")
            else:
                (dest / rel / name).mkdir(exist_ok=True)
        for name in files:
            path = Path(root) / name
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):
                skipped.append(f"{rel / name} (not a regular file)")
                continue
            total += st.st_size
            if max_bytes is not None and total > max_bytes:
                skipped.append(f"{rel / name} (over {max_bytes // 1_000_000} MB in total)")
                continue
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as fin, open(dest / rel / name, "wb") as fout:
                shutil.copyfileobj(fin, fout)
            shutil.copystat(path, dest / rel / name, follow_symlinks=False)
    return skipped


def _logger(path: Path | None) -> logging.Logger:
    """A logger writing to ``path`` that also takes nbgrader's and jupyter's messages (None: drop)."""
    handler: logging.Handler = logging.FileHandler(path) if path else logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)s] %(message)s"))
    # nbgrader warns "Attribute 'checksum' for cell ... has changed!" for every test cell of every
    # untouched submission (upstream issue #1961): noise an instructor would read as tampering.
    # Real edits of locked cells are found and reported by RestoreMetadata instead.
    handler.addFilter(lambda record: "Attribute 'checksum'" not in record.getMessage())
    log = logging.getLogger("kdlib.grading.worker")
    for logger in (log, *(logging.getLogger(name) for name in _LOGGERS)):
        for old in logger.handlers:
            old.close()
        logger.handlers[:] = [handler]
        logger.propagate = False
    log.setLevel(logging.INFO)
    return log


def _student_cfg(job: Job, course: Path, ipc: Path, probe: Path, kernel_log: Path, group: str | None):
    """The course's config with this kit's preprocessors composed into nbgrader's Autograde."""
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        OverwriteCells,
        OverwriteKernelspec,
    )

    from kdlib.grading.host.executor import CapMarkdown, RestoreMetadata, SandboxExecute
    from kdlib.grading.host.probes import autograde_preprocessors

    cfg = config(job.course.root)
    cd = cfg.CourseDirectory
    cd.root = str(course)
    cd.db_url = f"sqlite:///{course / 'gradebook.db'}"
    cd.assignment_id = job.assignment
    cd.student_id = job.student
    cd.student_id_exclude = ""
    cd.notebook_id = "*"
    sanitize = [ClearOutput, RestoreMetadata, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata]
    grade = autograde_preprocessors(SandboxExecute, after_judge=(CapMarkdown,))  # the course's list is not used
    cfg.Autograde.sanitize_preprocessors = sanitize
    cfg.Autograde.autograde_preprocessors = grade
    cfg.OverwriteCells.add_missing_cells = True
    cfg.PlanProbes.probe_dir = str(probe)
    cfg.PlanProbes.kernel_probe_dir = PROBE_DIR if job.sandbox else str(probe)
    cfg.PlanProbes.source_dir = str(course / job.course.source)
    if job.cell_timeout:
        cfg.SandboxExecute.timeout = int(job.cell_timeout)
    cfg.SandboxExecute.max_output_bytes = job.max_output_bytes
    cfg.SandboxExecute.sandbox = job.sandbox
    km = cfg.SandboxKernelManager
    km.ipc_dir = str(ipc)
    km.memory_mb, km.file_mb, km.tmp_mb, km.threads = (
        job.limits.memory_mb,
        job.limits.file_mb,
        job.limits.tmp_mb,
        job.limits.threads,
    )
    km.max_message_bytes = job.max_output_bytes + 1_000_000
    km.log_file = str(kernel_log)
    km.probe_dir = str(probe)
    km.kdlib_view = job.kdlib_view or ""
    km.data_dir = job.data_dir or ""
    km.cgroup = group or ""
    from kdlib.grading.host import feedback

    feedback.configure(cfg)
    return cfg


def _alarm(seconds: float):
    """Raise TimeoutError in this (main) thread after ``seconds``; returns a function that cancels it."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def ring(signum, frame):
        raise TimeoutError(f"trusted grading work took over {seconds:g} s")

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)

    def cancel() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)

    return cancel


def _prepare(job: Job, course: Path, res: Outcome, log: logging.Logger) -> tuple[Path, list[str], list[str]]:
    """The scratch course: source, gradebook, this student's files; (db, notebooks, usable files)."""
    from nbgrader.api import Gradebook, MissingEntry

    lay = job.course
    shutil.copytree(lay.root / lay.source / job.assignment, course / lay.source / job.assignment)
    src = lay.root / lay.submitted / job.student / job.assignment
    dest = course / lay.submitted / job.student / job.assignment
    if src.is_symlink() or src.parent.is_symlink():
        res.reasons["unreadable"] = "the submission folder is a symbolic link"
        dest.mkdir(parents=True)
        skipped: list[str] = []
    else:
        skipped = copy_files(src, dest, max_bytes=MAX_SUBMISSION_BYTES)
    if skipped:
        log.warning("skipped: %r", skipped)
    db = course / "gradebook.db"
    shutil.copy(job.template_db, db)
    with Gradebook(f"sqlite:///{db}") as gb:
        try:
            gb.remove_submission(job.assignment, job.student)  # start fresh: no stale grades
        except MissingEntry:
            pass
        notebooks = [nb.name for nb in gb.find_assignment(job.assignment).notebooks]
    found = sorted(p.name for p in dest.glob("*.ipynb"))
    missing = [f"{n}.ipynb" for n in notebooks if f"{n}.ipynb" not in found]
    bad = {}
    for name in found:
        if (dest / name).stat().st_size > MAX_NOTEBOOK_BYTES:
            bad[name] = f"over {MAX_NOTEBOOK_BYTES // 1_000_000} MB"
        elif not _is_notebook(dest / name):
            bad[name] = "not a valid notebook"
    for name in bad:
        (dest / name).unlink()
    if bad:
        res.reasons["unreadable"] = ", ".join(f"{name} ({why})" for name, why in bad.items())
    if missing:
        res.reasons["missing"] = f"no {', '.join(missing)}" + (f" (found: {', '.join(found)})" if found else "")
    usable = [n for n in found if n not in bad and n[: -len(".ipynb")] in notebooks]
    return db, notebooks, usable


def _is_notebook(path: Path) -> bool:
    import nbformat

    try:
        nbformat.read(path, as_version=4)  # as lenient as nbgrader: a warning if invalid
        return True
    except Exception:
        return False


def grade_one(job: Job) -> Outcome:
    """Grade one student in a scratch course (runs in a worker process)."""
    from kdlib.grading.host import executor, sandbox

    t0 = time.perf_counter()
    work = Path(job.work)
    course, ipc, probe = work / "c", work / "ipc", work / "probe"
    logfile, kernel_log = work / "nbgrader.log", work / "kernel.log"
    work.mkdir(parents=True, exist_ok=True)
    ipc.mkdir()
    probe.mkdir()
    log = _logger(logfile)
    res = Outcome(job.student, log=str(logfile))
    run = executor.new_run()
    group = None
    try:
        db, notebooks, usable = _prepare(job, course, res, log)
        if not usable:
            gradebook.zero_submission(db, job.assignment, job.student)
            res.grades = gradebook.grades_from(db, job.assignment, job.student)
            return res
        if job.sandbox and job.group_memory_mb:
            from kdlib.grading.host import cgroups

            group = cgroups.create(f"{os.getpid()}-{work.name}", job.group_memory_mb, job.group_pids)
            if group is None:
                res.flags.append("no cgroup cap (cgroups not writable here)")
        cfg = _student_cfg(job, course, ipc, probe, kernel_log, group)
        from nbgrader.converters import Autograde, GenerateFeedback
        from nbgrader.coursedir import CourseDirectory

        stop = threading.Event()
        watchdog = threading.Thread(target=_watch, args=(run, ipc, job, stop), daemon=True)
        watchdog.start()
        failed = ""
        try:
            converter = Autograde(coursedir=CourseDirectory(config=cfg, log=log), config=cfg, log=log)
            converter.force = True
            converter.start()
        except Exception as err:  # nbgrader logs the details and raises at the end
            failed = f"{type(err).__name__}: {err}"
        finally:
            stop.set()
            sandbox.kill_all()
        if group is not None:
            _group_reasons(res, group, job)
        if failed:
            if run.timed_out:
                res.reasons["timeout"] = f"over {job.timeout:g} s before grading finished"
            elif not run.death and not run.statuses:
                res.reasons["error"] = failed
            else:
                res.reasons.setdefault("crash", run.death or failed)
            if "error" not in res.reasons:
                gradebook.zero_submission(db, job.assignment, job.student)
                res.grades = gradebook.grades_from(db, job.assignment, job.student)
            return res
        if job.feedback:
            cancel = _alarm(TRUSTED_SECONDS)
            try:
                from kdlib.grading.host import feedback

                converter = GenerateFeedback(coursedir=CourseDirectory(config=cfg, log=log), config=cfg, log=log)
                converter.force = True
                feedback.reset_budget()
                converter.start()

                graded = course / job.course.autograded / job.student / job.assignment
                lang = feedback.submission_language(graded)
                feedback.offline_pages(course / job.course.feedback / job.student / job.assignment, lang)
            except Exception as err:
                log.error("feedback failed: %s", err)
                res.flags.append("no feedback HTML (rendering failed or took too long)")
            finally:
                cancel()
        res.grades = gradebook.grades_from(db, job.assignment, job.student)
        res.autograded = str(course / job.course.autograded / job.student / job.assignment)
        fb = course / job.course.feedback / job.student / job.assignment
        res.feedback = str(fb) if fb.is_dir() else None
    except Exception as err:
        log.exception("internal error")
        res.reasons["error"] = f"{type(err).__name__}: {err}"
    finally:
        if group is not None:
            from kdlib.grading.host import cgroups

            cgroups.destroy(group)
        res.seconds = time.perf_counter() - t0
        _collect_reasons(res, run, job)
        _logger(None)  # the parent deletes this folder: nothing may log into it afterwards
    return res


def _group_reasons(res: Outcome, group: str, job: Job) -> None:
    from kdlib.grading.host import cgroups

    st = cgroups.stats(group)
    if st["oom_kills"]:
        res.reasons["memory"] = f"the sandbox hit its {job.group_memory_mb} MiB cap (all processes together)"
    if st["pids_refused"]:
        res.reasons["processes"] = f"the sandbox hit its cap of {job.group_pids} processes"


def _watch(run, ipc: Path, job: Job, stop: threading.Event) -> None:
    """Kill the kernel at the wall-time limit, or if it fills its socket folder (on disk)."""
    from kdlib.grading.host.sandbox import kill_all

    deadline = time.monotonic() + job.timeout
    cap = job.limits.tmp_mb * 1024 * 1024
    while not stop.wait(0.5):
        if time.monotonic() > deadline:
            run.timed_out = True
            kill_all()
            return
        total = count = 0
        for root, dirs, files in os.walk(ipc):
            count += len(dirs) + len(files)
            for name in files:
                try:
                    total += os.lstat(os.path.join(root, name)).st_size
                except OSError:
                    pass
            if count > 1000:
                break
        if count > 1000 or total > cap:
            run.death = f"the kernel wrote more than {job.limits.tmp_mb} MB or 1000 files to disk"
            run.disk = True
            kill_all()
            return


def _collect_reasons(res: Outcome, run, job: Job) -> None:
    def ids(items: list[str]) -> str:
        return ", ".join(dict.fromkeys(items))

    r = res.reasons
    if run.timed_out:
        r.setdefault("timeout", f"stopped at the {job.timeout:g} s wall-time limit")
    elif run.disk:
        r.setdefault("disk", run.death)
    elif run.stopped:
        r.setdefault("timeout", f"{run.death}: the kernel was stopped")
    elif run.cell_timeouts:
        r.setdefault("timeout", "a cell ran longer than the per-cell limit")
    elif run.death:
        r.setdefault("crash", run.death)
    if run.memory:
        r.setdefault("memory", f"a cell hit the {job.limits.memory_mb} MiB limit of one process")
    if run.edited:
        r["edited"] = ids(run.edited)
    if run.deleted:
        r["deleted"] = ids(run.deleted)
    if run.metadata:
        r["metadata"] = ids(run.metadata)
    if run.truncated:
        r["output"] = f"over {job.max_output_bytes:,} bytes"
    if not job.sandbox:
        res.flags.append("graded without the sandbox (--no-sandbox): the answer key was not hidden")


def _worker_init() -> None:
    """Prepare a worker process: quiet warnings, import nbgrader once (not once per student)."""
    os.environ.setdefault("PYTHONHASHSEED", "0")
    warnings.filterwarnings("ignore", module="nbgrader")  # SQLAlchemy notes from nbgrader's own API
    warnings.filterwarnings("ignore", module="sqlalchemy")
    # jsonschema imports rfc3987_syntax only to check "iri" string formats, which nbformat never
    # uses; building its grammar costs 2-5 s per process (measured). Workers are ours: skip it.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    import nbconvert.exporters  # noqa: F401
    import nbgrader.converters  # noqa: F401
    import nbgrader.preprocessors  # noqa: F401


#: worker pools kept for the life of this process, by size: a process that grades several times
#: (kd check from a notebook, the test suite's 15 gradings) starts its workers and imports
#: nbgrader in them once (~3-7 s of CPU per worker), not on every call. Workers hold no state
#: between jobs (each job builds its own scratch course from its Job).
_POOLS: dict[int, cf.ProcessPoolExecutor] = {}


def _pool(size: int) -> cf.ProcessPoolExecutor:
    pool = _POOLS.get(size)
    if pool is None:
        ctx = multiprocessing.get_context("spawn")
        pool = _POOLS[size] = cf.ProcessPoolExecutor(max_workers=size, mp_context=ctx, initializer=_worker_init)
    return pool


def _drop_pool(size: int) -> None:
    pool = _POOLS.pop(size, None)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def shutdown_pools() -> None:
    """Stop every kept worker pool (also run at interpreter exit)."""
    for size in list(_POOLS):
        _drop_pool(size)


atexit.register(shutdown_pools)


def run_pool(jobs: list[Job], workers: int, on_done, progress: bool) -> None:
    """Run :func:`grade_one` over ``jobs`` in worker processes; ``on_done(job, outcome)`` in this one."""
    from tqdm.auto import tqdm

    pending = list(jobs)
    bar = tqdm(total=len(jobs), desc="grading", unit="student", disable=not progress, file=sys.stderr)
    try:
        for attempt in range(2):
            if not pending:
                break
            broken: list[Job] = []
            size = min(workers, len(pending))
            pool = _pool(size)
            futures = {pool.submit(grade_one, job): job for job in pending}
            for fut in cf.as_completed(futures):
                job = futures[fut]
                try:
                    outcome = fut.result()
                except cf.process.BrokenProcessPool:
                    _drop_pool(size)  # a worker died (killed, out of memory): the next call starts fresh ones
                    if attempt == 0:
                        broken.append(job)
                        continue
                    outcome = Outcome(job.student, reasons={"error": "the grading worker died"})
                except Exception as err:
                    outcome = Outcome(job.student, reasons={"error": f"{type(err).__name__}: {err}"})
                on_done(job, outcome)
                bar.update(1)
            pending = broken
    finally:
        bar.close()

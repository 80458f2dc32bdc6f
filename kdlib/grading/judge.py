"""Writing hidden checks: a judge module beside each assignment's source notebook.

``solutions/NN_slug/judge.py`` holds one check per graded test cell. A check is a generator:
it builds inputs, ``yield`` s the requests it needs (what to call in the student's notebook,
with which inputs), receives the results, and decides with :func:`expect` /
:func:`expect_close`. It runs in the trusted grading process; only the requests reach the
student's kernel (:mod:`kdlib.grading.kernel.probe`), so a student can raise a score only by
producing correct outputs::

    from kdlib import reference as ref
    from kdlib.grading.judge import Judge, expect, expect_close

    judge = Judge("03_loss_torch", answer_key=["kdlib.reference", "kdlib.torch.losses"])

    @judge.check("test_distill_direction")
    def direction(ask):
        s, t = logits(5, 4, seed=111), logits(5, 4, seed=112)
        (got,) = yield [ask.call("distillation_loss", s, t, 1.0, tensors="torch")]
        expect(not close(got, ref.distillation_loss(t, s, 1.0)), "the KL is reversed: ...")
        expect_close(got, ref.distillation_loss(s, t, 1.0), "distillation_loss(s, t, T=1)")

A check asks once (one ``yield`` of a list of requests). A request whose call raised fails the
check with "calling NAME raised ..." unless it was made with ``raises=True`` (then the check
receives a :class:`Result`). ``answer_key`` lists the kdlib modules (or files, e.g.
``"questions.yaml"``) that implement what the assignment grades: they are hidden from the
graded kernel.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kdlib.grading import codec

__all__ = [
    "Ask",
    "Failed",
    "Judge",
    "JudgeError",
    "Request",
    "Result",
    "Verdict",
    "as_float",
    "close",
    "expect",
    "expect_close",
    "load",
]

#: the file name of an assignment's judge module, beside its source notebook
JUDGE_FILE = "judge.py"
#: the file name of an assignment's probe scenarios (sandbox side), beside its source notebook
PROBE_FILE = "probe.py"
#: longest message a check may give (student text inside it is cut)
MAX_MESSAGE = 2000


class Failed(AssertionError):
    """A check failed; the message is what the learner reads."""


class JudgeError(RuntimeError):
    """A judge module is wrong (an instructor's mistake, not a student's)."""


@dataclass(frozen=True)
class Request:
    """One thing to do in the student's kernel (plain data; see the probe's docstring)."""

    body: dict[str, Any]
    raises: bool = False

    @property
    def label(self) -> str:
        return str(self.body.get("name", "?"))


@dataclass(frozen=True)
class Result:
    """What came back for a request made with ``raises=True`` (a missing name still fails the check)."""

    value: Any = None
    error: str | None = None


class Ask:
    """Builds requests: ``ask.call(...)``, ``ask.value(...)``, ``ask.scenario(...)``."""

    def call(
        self,
        name: str,
        *args: Any,
        tensors: str | None = None,
        grad: Iterable[int] | None = None,
        raises: bool = False,
        **kwargs: Any,
    ) -> Request:
        """Call ``name(*args, **kwargs)``; arrays become ``tensors`` ("torch"/"tf") if given.

        With ``grad`` (argument positions) the result is ``{"value": v, "grads": [...]}``.
        """
        if tensors not in (None, "torch", "tf"):
            raise JudgeError(f"tensors must be None, 'torch' or 'tf', not {tensors!r}")
        body = {
            "op": "call",
            "name": name,
            "args": list(args),
            "kwargs": kwargs,
            "tensors": tensors,
            "grad": list(grad) if grad is not None else None,
        }
        return Request(body, raises)

    def value(self, name: str, *, raises: bool = False) -> Request:
        """The value the notebook bound to ``name``."""
        return Request({"op": "value", "name": name}, raises)

    def scenario(self, name: str, *, raises: bool = False, **kwargs: Any) -> Request:
        """``name(namespace, **kwargs)`` from the assignment's ``probe.py``, run in the kernel."""
        return Request({"op": "scenario", "name": name, "kwargs": kwargs}, raises)


@dataclass
class Verdict:
    """The decision on one test cell."""

    passed: bool
    message: str


Check = Callable[[Ask], Generator[list[Request], list[Any], None]]


@dataclass
class Pending:
    """A check that has asked and waits for results."""

    grade_id: str
    gen: Generator | None
    requests: list[Request]
    verdict: Verdict | None = None  # decided already (the check failed or passed while planning)


@dataclass
class Judge:
    """The hidden checks of one assignment: ``@judge.check(grade_id)`` registers one."""

    notebook: str
    answer_key: list[str] = field(default_factory=list)
    #: ids of plain code cells that only demonstrate: a graded run leaves each out while it is
    #: unchanged and nothing that runs later needs it (kdlib.grading.demos decides)
    demos: list[str] = field(default_factory=list)
    checks: dict[str, Check] = field(default_factory=dict)

    def check(self, grade_id: str) -> Callable[[Check], Check]:
        def register(fn: Check) -> Check:
            if grade_id in self.checks:
                raise JudgeError(f"two checks for {grade_id!r} in the judge of {self.notebook}")
            self.checks[grade_id] = fn
            return fn

        return register

    # -- used by the grader --------------------------------------------------------------

    def plan(self, grade_id: str) -> Pending:
        """Run the check up to its question; the requests to send to the kernel."""
        if grade_id not in self.checks:
            raise JudgeError(f"the judge of {self.notebook} has no check for test cell {grade_id!r}")
        gen = self.checks[grade_id](Ask())
        try:
            asked = next(gen)
        except StopIteration:
            return Pending(grade_id, None, [], Verdict(True, "passed"))
        except Failed as err:
            return Pending(grade_id, None, [], Verdict(False, _clip(str(err))))
        if isinstance(asked, Request):
            asked = [asked]
        if not (isinstance(asked, list) and all(isinstance(r, Request) for r in asked)):
            raise JudgeError(f"check {grade_id!r} must yield a list of requests, got {type(asked).__name__}")
        return Pending(grade_id, gen, list(asked))

    def decide(self, pending: Pending, results: list[dict] | None, stopped: str = "") -> Verdict:
        """The verdict from the probe's raw results (None: the probe never reported; ``stopped``: why)."""
        if pending.verdict is not None:
            return pending.verdict
        if results is None:
            why = _clip(stopped) if stopped else "the notebook stopped before it (see the cells above)"
            return Verdict(False, f"this test did not run: {why}")
        if len(results) != len(pending.requests):
            return Verdict(False, "the grader received a malformed answer for this test")
        values = []
        try:
            for req, raw in zip(pending.requests, results, strict=True):
                values.append(_unpack(req, raw))
            try:
                pending.gen.send(values)
            except StopIteration:
                return Verdict(True, "passed")
            raise JudgeError(f"check {pending.grade_id!r} asked twice: a check asks once")
        except Failed as err:
            return Verdict(False, _clip(str(err)))
        except codec.CodecError as err:
            return Verdict(False, f"the answer sent back for this test is not plain data ({err})")
        except JudgeError:
            raise
        except Exception as err:  # a result of an unexpected type made the check itself fail
            return Verdict(False, _clip(f"the result could not be checked ({type(err).__name__}: {err})"))
        finally:
            pending.gen.close()


def _clip(text: str) -> str:
    text = text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."
    return "".join(ch if ch.isprintable() or ch == "\n" else f"\\x{ord(ch):02x}" for ch in text)


def _unpack(req: Request, raw: Any) -> Any:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise Failed("the grader received a malformed answer for this test")
    ((kind, body),) = raw.items()
    if kind == "ok":
        value = codec.decode(body)
        return Result(value) if req.raises else value
    if kind == "missing":
        raise Failed(f"{req.label} is not defined: run the cell that defines it (and keep its name)")
    if kind == "error":
        text = str(body)[:500]
        if req.raises:
            return Result(error=text)
        what = "calling " + req.label if req.body.get("op") == "call" else req.label
        raise Failed(f"{what} raised {text}")
    raise Failed("the grader received a malformed answer for this test")


# --- helpers for checks ------------------------------------------------------------------------


def expect(condition: Any, message: str) -> None:
    """Fail the check with ``message`` unless ``condition`` holds."""
    if not condition:
        raise Failed(message)


def as_float(value: Any, what: str) -> float:
    """``value`` as a float (a 0-d or 1-element array counts); Failed naming ``what`` otherwise."""
    if isinstance(value, bool) or value is None:
        raise Failed(f"{what} must be a number, got {type(value).__name__}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "fiub":
        return float(value.reshape(()))
    shape = getattr(value, "shape", None)
    raise Failed(
        f"{what} must be a number (a scalar), got {type(value).__name__}"
        + (f" of shape {tuple(shape)}" if shape is not None else "")
    )


def close(actual: Any, expected: Any, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Whether two numbers or arrays agree (NaN never agrees)."""
    try:
        a = np.asarray(actual, dtype=np.float64)
        b = np.asarray(expected, dtype=np.float64)
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))
    except (TypeError, ValueError):
        return False


def expect_close(actual: Any, expected: Any, what: str, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Fail with "what: got X, expected Y" unless ``actual`` is close to ``expected``."""
    if np.ndim(expected) == 0:
        got = as_float(actual, what)
        if not (math.isfinite(got) and close(got, expected, rtol, atol)):
            raise Failed(f"{what}: got {got:.8g}, expected {float(expected):.8g}")
        return
    a = np.asarray(actual)
    if a.shape != np.shape(expected):
        raise Failed(f"{what}: got shape {a.shape}, expected {np.shape(expected)}")
    if not close(a, expected, rtol, atol):
        err = float(np.nanmax(np.abs(a.astype(np.float64) - np.asarray(expected, np.float64))))
        raise Failed(f"{what}: differs from the expected values (largest difference {err:.3g})")


# --- loading -----------------------------------------------------------------------------------


def load(path: str | Path) -> Judge:
    """The :class:`Judge` named ``judge`` in the module at ``path`` (imported fresh)."""
    path = Path(path)
    name = f"kd_judge_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise JudgeError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    judge = getattr(module, "judge", None)
    if not isinstance(judge, Judge):
        raise JudgeError(f"{path} defines no `judge = Judge(...)`")
    return judge


def find(source_dir: str | Path, assignment: str) -> Path | None:
    """``<source_dir>/<assignment>/judge.py`` if the assignment has one."""
    path = Path(source_dir) / assignment / JUDGE_FILE
    return path if path.is_file() else None

"""kdlib.hints: the visible tests of 03 and 04 name the mistake a learner made.

Unit tests of :class:`kdlib.hints.LossHints` on NumPy variants of the usual mistakes, and,
for every mistake of the 03/04 catalogues, the visible test cells run in a plain Python
process (as in a learner's own JupyterLab, nothing graded): exactly the cells the catalogue's
``VISIBLE`` entry names fail, each with its message piece.

Run as a script, ``python -m tests.library.test_hints 03_loss_torch [--judge]`` prints what every
visible test (and, with --judge, every hidden check, called in-process) says for each
catalogued mistake: a quick loop while writing messages, before the slow round trip.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from kdlib import hints
from kdlib import reference as ref
from kdlib.grading import answer_key
from tests.support import ROOT, filled, nbgrader_meta

LOSS_NOTEBOOKS = ("03_loss_torch", "04_loss_tf")


def _log_softmax(z, T):
    return ref.log_softmax(z, T)


@pytest.fixture
def case():
    g = np.random.default_rng(7)
    return g.normal(0, 3, (4, 5)), g.normal(0, 3, (4, 5)), 2.0


def _variants(s, t, T):
    """Wrong distillation_loss values (as F.kl_div or a hand-written loss gives them) -> message piece."""
    log_p, log_q = _log_softmax(t, T), _log_softmax(s, T)
    p, q = np.exp(log_p), np.exp(log_q)
    terms = p * (log_p - log_q)  # (B, C)
    B, C = s.shape
    return {
        "not scaled by T²": terms.sum(-1).mean(),
        "scaled by T, not by T²": T * terms.sum(-1).mean(),
        "summed over the batch (F.kl_div's reduction='sum'": T * T * terms.sum(),
        "averaged over all B·C elements (F.kl_div's default reduction='mean'": T * T * terms.mean(),
        "the KL is reversed": T * T * (q * (log_q - log_p)).sum(-1).mean(),
        "not applied to the teacher": ref.distillation_loss(s, T * t, T),
        "not applied to the student": ref.distillation_loss(T * s, t, T),
        "it got probabilities (F.softmax)": T * T * (p * (log_p - q)).sum(-1).mean(),
        "PROBABILITIES with log_target=True": T * T * (np.exp(p) * (p - log_q)).sum(-1).mean(),
        # two mistakes at once: the first-named one leads
        "it got probabilities (F.softmax); also, the KL is averaged over all B·C": T * T * (p * (log_p - q)).mean(),
    }


def test_each_usual_mistake_is_named(case):
    s, t, T = case
    h = hints.LossHints("torch", ref)
    assert h.diagnose(ref.distillation_loss(s, t, T), s, t, T) is None
    for piece, value in _variants(s, t, T).items():
        why = h.diagnose(float(value), s, t, T)
        assert why is not None and piece in why, f"{piece!r}: diagnosed as {why!r}"
    assert h.diagnose(1.2345, s, t, T) is None


def test_check_names_the_mistake_before_the_numbers(case):
    s, t, T = case
    h = hints.LossHints("torch", ref)
    assert h.check(np.float64(ref.distillation_loss(s, t, T)), s, t, T, "loss") == pytest.approx(
        ref.distillation_loss(s, t, T)
    )
    with pytest.raises(AssertionError, match=r"^loss: the soft term is not scaled by T²"):
        h.check(ref.distillation_loss(s, t, T) / T**2, s, t, T, "loss")
    with pytest.raises(AssertionError, match=r"^loss: got 1.2345, expected "):
        h.check(1.2345, s, t, T, "loss")
    # reduction='none' kept as a matrix, or summed over the classes only
    with pytest.raises(AssertionError, match=r"shape \(4, 5\), not a scalar: one KL term per example and class"):
        h.check(np.zeros((4, 5)), s, t, T, "loss")
    with pytest.raises(AssertionError, match=r"shape \(4,\), not a scalar: one KL per example"):
        h.check(np.zeros(4), s, t, T, "loss")
    # nan for ordinary logits: log_target forgotten; for logits of ±1e4: log of softmax
    with pytest.raises(AssertionError, match="without log_target=True"):
        h.check(np.nan, s, t, T, "loss")
    big = np.array([[1e4, -1e4, 0.0]])
    with pytest.raises(AssertionError, match=r"use F.log_softmax, not torch.log\(F.softmax"):
        h.check(np.nan, big, -big, 1.0, "loss")
    # finite but unexplained at extreme logits: clipping is the likely cause, said as a guess
    with pytest.raises(
        AssertionError, match=r"got 123, expected 20000; no usual mistake .* probably the probabilities are clipped"
    ):
        h.check(123.0, big, -big, 1.0, "loss")


def test_tensorflow_words(case):
    s, t, T = case
    h = hints.LossHints("tf", ref)
    assert "tf.reduce_mean without axis" in h.diagnose(ref.distillation_loss(s, t, T) / 5, s, t, T)
    assert "KLDivergence(reduction='sum')" in h.diagnose(ref.distillation_loss(s, t, T) * 4, s, t, T)
    assert "LogitsDistillation" in h.diagnose(float(hints._kl_clipped(t / T, s / T).mean()), s, t, T)
    with pytest.raises(AssertionError, match=r"KLDivergence\(reduction=None\)"):
        h.check(np.zeros(4), s, t, T, "loss")
    with pytest.raises(ValueError, match="framework"):
        hints.LossHints("jax", ref)


def test_kd_checks_blame_the_right_part():
    g = np.random.default_rng(3)
    s, t, y, T, a = g.normal(0, 3, (6, 4)), g.normal(0, 3, (6, 4)), g.integers(0, 4, 6), 4.0, 0.9
    h = hints.LossHints("torch", ref)
    soft, hard = ref.distillation_loss(s, t, T), ref.cross_entropy(s, y)
    h.check_kd(a * soft + (1 - a) * hard, soft, s, t, y, T, a, "kd")
    with pytest.raises(AssertionError, match="combines the two terms correctly"):
        h.check_kd(a * soft / T**2 + (1 - a) * hard, soft / T**2, s, t, y, T, a, "kd")
    with pytest.raises(AssertionError, match="alpha weighs the wrong term"):
        h.check_kd((1 - a) * soft + a * hard, soft, s, t, y, T, a, "kd")
    with pytest.raises(AssertionError, match="cross-entropy is computed at temperature T"):
        h.check_kd(a * soft + (1 - a) * ref.cross_entropy(s / T, y), soft, s, t, y, T, a, "kd")


def test_hints_hold_no_answer_key():
    """kdlib.hints is importable in a graded kernel: it must neither import the key nor compute the loss."""
    source = (ROOT / "kdlib" / "hints.py").read_text(encoding="utf-8")
    mods = answer_key.imported_modules(source)
    assert not [m for m in mods if m.startswith(("kdlib.reference", "kdlib.torch", "kdlib.tf", "kdlib.grading"))]
    assert "import torch" not in source and "import tensorflow" not in source
    # without a reference module it cannot give an expected value at all
    h = hints.LossHints("torch", None)
    with pytest.raises(AttributeError):
        h.check(1.0, np.zeros((2, 3)), np.ones((2, 3)), 1.0, "loss")


# --- the visible tests of 03 and 04, run on every catalogued mistake -----------------------------------


def _cells(name: str, mistake: str | None):
    """(kind, grade_id, code) of the cells a learner runs for the tests: setup, helpers, answers, tests."""
    import nbformat

    solution = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    cat = importlib.import_module(f"tests.grading.catalogues.m{name}").CATALOGUE
    entry = cat.mistakes.get(mistake) if mistake else None
    nb = filled(solution, solution, entry.patches if entry else ())
    if entry is not None and entry.edit is not None:
        entry.edit(nb)
    rows = []
    for c in nb.cells:
        meta = nbgrader_meta(c)
        if c.cell_type != "code" or not meta:
            continue
        if meta.get("grade") and not meta.get("solution"):
            rows.append(("test", meta["grade_id"], c.source))
        elif meta.get("solution") or meta["grade_id"] in ("setup", "test_helpers"):
            rows.append(("code", meta["grade_id"], c.source))
    return rows


def _message(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


def run(name: str, judge: bool = False) -> dict:
    """mistake -> {"visible": {test: message | None}, "hidden": {...}} (None: passed); in this process."""
    cat = importlib.import_module(f"tests.grading.catalogues.m{name}").CATALOGUE
    out = {}
    for mistake in [None, *cat.mistakes]:
        ns: dict = {"__name__": "__main__"}
        visible, hidden = {}, {}
        with contextlib.redirect_stdout(io.StringIO()):
            for kind, gid, code in _cells(name, mistake):
                try:
                    exec(compile(ast.parse(code), f"<{gid}>", "exec"), ns)  # noqa: S102 - the notebook's own cells
                    if kind == "test":
                        visible[gid] = None
                except Exception as err:  # noqa: BLE001 - a failing cell is a result
                    if kind == "test":
                        visible[gid] = _message(err)
            if judge:
                from kdlib.grading import judge as judging
                from kdlib.grading.kernel.probe import perform

                j = judging.load(ROOT / "solutions" / name / "judge.py")
                for gid in j.checks:
                    pending = j.plan(gid)
                    results = [perform(r.body, ns, str(ROOT / "solutions" / name)) for r in pending.requests]
                    verdict = j.decide(pending, results)
                    hidden[gid] = None if verdict.passed else verdict.message
        out[mistake or "reference"] = {"visible": visible, "hidden": hidden}
    return out


@pytest.fixture(scope="module", params=LOSS_NOTEBOOKS)
def visible_run(request):
    name = request.param
    proc = subprocess.run(
        [sys.executable, "-m", "tests.library.test_hints", name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return name, json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_visible_tests_name_each_catalogued_mistake(visible_run):
    name, results = visible_run
    module = importlib.import_module(f"tests.grading.catalogues.m{name}")
    assert set(module.VISIBLE) == set(module.CATALOGUE.mistakes), "every mistake needs a VISIBLE entry"
    ref_fails = {g: m for g, m in results["reference"]["visible"].items() if m}
    assert not ref_fails, f"the reference fails visible tests: {ref_fails}"
    problems = []
    for mistake, expected in module.VISIBLE.items():
        if expected is None:  # a grading-only mistake (answer-key imports work outside grading)
            continue
        got = results[mistake]["visible"]
        failed = {g for g, m in got.items() if m}
        if failed != set(expected):
            problems.append(f"{mistake}: visible tests failing {sorted(failed)}, expected {sorted(expected)}")
        for gid, piece in expected.items():
            if got.get(gid) and piece not in got[gid]:
                problems.append(f"{mistake}: {gid} should say {piece!r}; it says {got[gid]!r}")
    assert not problems, "\n".join(problems)


if __name__ == "__main__":
    args = sys.argv[1:]
    result = run(args[0], judge="--judge" in args)
    if "--pretty" in args:
        for mistake, sides in result.items():
            print(f"== {mistake}")
            for side, cells in sides.items():
                for gid, msg in cells.items():
                    if msg:
                        print(f"   {side:7} {gid:24} {msg[:300]}")
    print(json.dumps(result))

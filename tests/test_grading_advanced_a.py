"""Grading round trips for 07-10, the advanced notebooks (same machinery as test_grading_loops).

Each submission is the reference solution with one typical mistake patched in; the ungraded
experiment at the end of each notebook is cut (tests/test_notebooks.py runs it in full).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from kdlib import grading
from tests import test_grading_loops as loops
from tests.grading_mistakes import Mistake

pytestmark = pytest.mark.slow

SORTED = '    return sorted(rows, key=lambda row: row["size_bytes"])'

MISTAKES_07: dict[str, Mistake] = {
    "measure_train_mode": Mistake(
        "measure predicts in training mode (no model.eval())",
        (("    model.eval()\n\n    def predict", "\n    def predict"),),
        frozenset({"test_measure"}),
    ),
    "numel_not_nonzero": Mistake(
        "nonzero_params counts every parameter, zeros included",
        (("int((w != 0).sum())", "w.numel()"),),
        frozenset({"test_measure"}),
    ),
    "size_from_numel": Mistake(
        "size_bytes computed as 4 bytes a parameter instead of the saved state_dict",
        (('"size_bytes": saved_bytes(model.state_dict()),',
          '"size_bytes": 4 * sum(w.numel() for w in weight_tensors(model)),'),),
        frozenset({"test_measure"}),
    ),
    "unsorted": Mistake(
        "compare returns the rows in input order",
        ((SORTED, "    return rows"),),
        frozenset({"test_compare"}),
    ),
    "speedup_inverted": Mistake(
        "speedup = ms_batch1 / baseline's ms_batch1 (inverted)",
        (('base["ms_batch1"] / r["ms_batch1"]', 'r["ms_batch1"] / base["ms_batch1"]'),),
        frozenset({"test_compare"}),
    ),
}
MESSAGES_07 = {
    "measure_train_mode": "call model.eval()",
    "numel_not_nonzero": "count the entries != 0",
    "size_from_numel": "saved_bytes(model.state_dict())",
    "unsorted": "sorted by size_bytes",
    "speedup_inverted": "speedup",
}

# Not in the catalogue: exporting without model.eval() — torch.onnx.export (dynamo=False) traces
# in eval mode by default (training=TrainingMode.EVAL), so the file is right all the same.
MISTAKES_10: dict[str, Mistake] = {
    "mode_not_restored": Mistake(
        "export_onnx leaves the model in eval mode",
        (("        model.train(was_training)\n", "        pass\n"),),
        frozenset({"test_export_onnx"}),
    ),
    "no_dynamic_axes": Mistake(
        "no dynamic_axes: the batch size 1 of the example is frozen into the file",
        (('            dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},\n', ""),),
        frozenset({"test_export_onnx"}),
    ),
    "signed_difference": Mistake(
        "check_onnx returns the largest signed difference, not the largest absolute one",
        (("float(np.abs(onnx_logits - predict_logits(model, x)).max())",
          "float((onnx_logits - predict_logits(model, x)).max())"),),
        frozenset({"test_check_onnx"}),
    ),
    "check_in_train_mode": Mistake(
        "check_onnx runs the torch model as it is (training mode)",
        (("predict_logits(model, x)).max())", "model(torch.from_numpy(np.asarray(x))).detach().numpy()).max())"),),
        frozenset({"test_check_onnx"}),
    ),
}
MESSAGES_10 = {
    "mode_not_restored": "restore",
    "no_dynamic_axes": "dynamic_axes",
    "signed_difference": "max absolute difference",
    "check_in_train_mode": "eval mode",
}

MISTAKES_08: dict[str, Mistake] = {
    "agreement_with_labels": Mistake(
        "agreement computed against the labels instead of the teacher",
        (('"agreement": float(agreement(student_logits, teacher_logits)),',
          '"agreement": float(accuracy(student_logits, labels)),'),),
        frozenset({"test_evaluate_hand", "test_evaluate_reference"}),
    ),
    "confusion_transposed": Mistake(
        "confusion matrix with rows and columns swapped",
        (("counts.reshape(num_classes, num_classes)", "counts.reshape(num_classes, num_classes).T"),),
        frozenset({"test_confusion_hand", "test_confusion_reference"}),
    ),
}
MESSAGES_08 = {"agreement_with_labels": "", "confusion_transposed": ""}

MISTAKES_09: dict[str, Mistake] = {
    "hint_sum": Mistake(
        "hint loss summed instead of averaged",
        (("F.mse_loss(projected, teacher_feat.detach())",
          "F.mse_loss(projected, teacher_feat.detach(), reduction='sum')"),),
        frozenset({"test_hint_values"}),
    ),
    "bias_no_shift": Mistake(
        "the bias shift is always 0",
        (("return float(max(margins[k - 1], 0.0) + 1e-6)", "return 0.0"),),
        frozenset({"test_bias_hand", "test_bias_random"}),
    ),
}
MESSAGES_09 = {"hint_sum": "", "bias_no_shift": ""}

ASSIGNMENTS = {
    "08_evaluate": SimpleNamespace(mistakes=MISTAKES_08, messages=MESSAGES_08, cut_from="eval-md", points=6),
    "09_beyond_logits": SimpleNamespace(mistakes=MISTAKES_09, messages=MESSAGES_09, cut_from="dark-run-md", points=7),
    "07_compression": SimpleNamespace(mistakes=MISTAKES_07, messages=MESSAGES_07, cut_from="run-intro", points=5),
    "10_deploy": SimpleNamespace(mistakes=MISTAKES_10, messages=MESSAGES_10, cut_from="export-student", points=5),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setattr(loops, "ASSIGNMENTS", ASSIGNMENTS)
    courses = [loops._prepare(tmp_path_factory, name) for name in ASSIGNMENTS]
    with ThreadPoolExecutor(max_workers=len(courses)) as pool:
        list(pool.map(loops._autograde, courses))
    out = {}
    for g in courses:
        assert g.returncode == 0, g.log[-3000:]
        g.grades = grading.read_grades(g.dir, g.name)
        print(f"\n{g.name}: autograded {len(g.students)} submissions in {g.seconds:.0f} s")
        for grade in g.grades.values():
            lost = ", ".join(f"{k} -{v:g}" for k, v in grade.lost.items()) or "-"
            print(f"  {grade.student:<36} {grade.score:g}/{grade.max_score:g}  lost: {lost}")
        out[g.name] = g
    return out


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_reference_gets_full_marks(graded, name):
    loops._check_reference(graded[name])


@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_untouched_gets_zero_without_crashing(graded, name):
    loops._check_untouched(graded[name])


@pytest.mark.parametrize(
    "name, mistake_name",
    [(name, m) for name, spec in sorted(ASSIGNMENTS.items()) for m in sorted(spec.mistakes)],
)
def test_mistake_is_caught(graded, name, mistake_name):
    loops._check_mistake(graded[name], mistake_name)

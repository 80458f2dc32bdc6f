"""Typical mistakes in 09_beyond_logits (fitnets_hint_loss, bias_shift_for_share), and what each must be told."""

from tests.grading.catalogues import Catalogue, Mistake

SUM = "the squared errors are summed"
BIAS_RANDOM = "class 3 is predicted for"

CATALOGUE = Catalogue(
    "09_beyond_logits",
    {
        "hint_sum": Mistake(
            "hint loss summed instead of averaged",
            (
                (
                    "F.mse_loss(projected, teacher_feat.detach())",
                    "F.mse_loss(projected, teacher_feat.detach(), reduction='sum')",
                ),
            ),
            {"test_hint_values": SUM, "test_hint_gradients": SUM},
        ),
        "hint_not_detached": Mistake(
            "the teacher features are not detached (new: not in the old catalogue)",
            (("F.mse_loss(projected, teacher_feat.detach())", "F.mse_loss(projected, teacher_feat)"),),
            {"test_hint_gradients": "a gradient reached teacher_feat: detach the teacher features"},
        ),
        "bias_no_shift": Mistake(
            "the bias shift is always 0",
            (("return float(max(margins[k - 1], 0.0) + 1e-6)", "return 0.0"),),
            {"test_bias_hand": "needs b just above the 2nd smallest margin", "test_bias_random": BIAS_RANDOM},
        ),
        "bias_no_epsilon": Mistake(
            "the shift equals the k-th margin, not just above it (new: not in the old catalogue)",
            (("return float(max(margins[k - 1], 0.0) + 1e-6)", "return float(max(margins[k - 1], 0.0))"),),
            {
                "test_bias_hand": "a shift equal to the margin only makes a tie",
                "test_bias_random": "is not the smallest shift",
            },
        ),
        "bias_in_place": Mistake(
            "the logits are shifted in place (new: not in the old catalogue)",
            (
                (
                    "z = np.asarray(logits, dtype=np.float64)",
                    "z = np.asarray(logits, dtype=np.float64)\n    z -= z.max(1, keepdims=True)",
                ),
            ),
            {"test_bias_hand": "modified the logits in place"},
        ),
        "imports_kdlib_answer": Mistake(
            "fitnets_hint_loss imported from kdlib instead of written (the answer key is hidden when graded)",
            edit=lambda nb: _import_answer(nb),
            shows={
                "fitnets_hint_loss": "kdlib.torch.methods is not available while a notebook is graded: it "
                "implements what this assignment grades"
            },
            lost={"test_hint_values": "is not defined", "test_hint_gradients": "is not defined"},
        ),
    },
    drop=("fitnets-md", "loops", "plot-methods", "dark-run-md", "dark", "gap-md", "gap", "discussion"),
    cell_timeout=120,
    memory_mb=2048,
)


def _import_answer(nb) -> None:
    for cell in nb.cells:
        if cell.id == "fitnets_hint_loss":
            cell.source = "from kdlib.torch.methods import fitnets_hint_loss"

"""Typical mistakes in 08_evaluate (evaluate_student, confusion_matrix), and what each must be told."""

from tests.grading.catalogues import Catalogue, Mistake

TRANSPOSED = "the matrix is transposed: rows must be the true class"

CATALOGUE = Catalogue(
    "08_evaluate",
    {
        "agreement_with_labels": Mistake(
            "agreement computed against the labels instead of the teacher",
            (
                (
                    '"agreement": float(agreement(student_logits, teacher_logits)),',
                    '"agreement": float(accuracy(student_logits, labels)),',
                ),
            ),
            {
                "test_evaluate_hand": "agreement is computed against the labels",
                "test_evaluate_reference": "agreement is computed against the labels",
            },
        ),
        "ece_of_teacher": Mistake(
            "ece computed on the teacher's logits (new: not in the old catalogue)",
            (
                (
                    "float(expected_calibration_error(student_logits, labels))",
                    "float(expected_calibration_error(teacher_logits, labels))",
                ),
            ),
            {"test_evaluate_reference": "use the student's logits, the labels and 15 bins"},
        ),
        "confusion_transposed": Mistake(
            "confusion matrix with rows and columns swapped",
            (("counts.reshape(num_classes, num_classes)", "counts.reshape(num_classes, num_classes).T"),),
            {"test_confusion_hand": TRANSPOSED, "test_confusion_reference": TRANSPOSED},
        ),
        "no_minlength": Mistake(
            "np.bincount without minlength, sized from the classes present (new: not in the old catalogue)",
            (
                (
                    "counts = np.bincount(labels * num_classes + pred, minlength=num_classes * num_classes)",
                    "k = int(max(labels.max(), pred.max())) + 1\n"
                    "    counts = np.bincount(labels * k + pred, minlength=k * k)\n"
                    "    num_classes = k",
                ),
            ),
            {"test_confusion_reference": "must still be 4x4"},
        ),
    },
    drop=(
        "eval-md",
        "eval-table",
        "rel-md",
        "reliability",
        "cm-md",
        "cm-plot",
        "sweep-md",
        "sweep",
        "heatmap",
        "discussion",
    ),
    cell_timeout=120,
    memory_mb=2048,
)

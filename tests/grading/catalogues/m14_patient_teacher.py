"""Typical mistakes in 14_patient_teacher (mixup_batch, consistent_step), and what each must be told."""

from tests.grading.catalogues import Catalogue, Mistake

INCONSISTENT = "an inconsistent teacher"
LOSS = "expected kd.distillation_loss(student(view), teacher(view), T)"

CATALOGUE = Catalogue(
    "14_patient_teacher",
    {
        "mixup_labels_not_mixed": Mistake(
            "mixup mixes the inputs but keeps each row's own one-hot label",
            (("targets = lam * onehot + (1.0 - lam) * onehot[partner]", "targets = onehot"),),
            {"test_mixup": "the targets are the one-hot labels of the rows: mix them like the inputs"},
        ),
        "mixup_lam_swapped": Mistake(
            "lam weighs the partner instead of the row itself",
            (("x_mix = lam * x + (1.0 - lam) * x[partner]", "x_mix = (1.0 - lam) * x + lam * x[partner]"),),
            {"test_mixup": "x_mix must be lam * x + (1 - lam) * x[partner]"},
        ),
        "inconsistent_teacher": Mistake(
            "the teacher sees the clean batch, the student the augmented view",
            (("teacher_logits = teacher(view)", "teacher_logits = teacher(x)"),),
            {"test_consistent": INCONSISTENT, "test_consistent_loss": INCONSISTENT},
        ),
        "two_draws": Mistake(
            "the augmentation is called again for the teacher: two different views",
            (
                (
                    "teacher_logits = teacher(view)",
                    "teacher_logits = teacher(torch.as_tensor(np.asarray(augment(x.numpy(), rng), dtype=np.float32)))",
                ),
            ),
            {"test_consistent": "different augmentation draws", "test_consistent_loss": LOSS},
        ),
        "kl_reversed": Mistake(
            "the student's logits passed as the teacher's (reverse KL)",
            (
                (
                    "kd.distillation_loss(student_logits, teacher_logits, temperature)",
                    "kd.distillation_loss(teacher_logits, student_logits, temperature)",
                ),
            ),
            {"test_consistent_loss": LOSS},
        ),
    },
    drop=("data-md", "data", "run-md", "own-loop", "library", "discussion"),
    cell_timeout=60,
    memory_mb=2048,
)

"""Typical mistakes in 03_loss_torch (PyTorch distillation_loss / kd_loss), and what each must be told."""

from tests.grading.catalogues import Catalogue, Mistake

STUDENT = "log_q = F.log_softmax(student_logits / T, dim=-1)"
TEACHER = "log_p = F.log_softmax(teacher_logits.detach() / T, dim=-1)"
KL = "kl = (log_p.exp() * (log_p - log_q)).sum(dim=-1)"
RETURN = "return T * T * kl.mean()"
COMBINE = "return alpha * soft + (1.0 - alpha) * hard"

T2 = "not scaled by T²"
BY_T = "scaled by T, not by T²"
REVERSED = "the KL is reversed"
SUMMED = "summed over the batch"
ALL = "averaged over all B·C elements"
GRAD = "the gradient w.r.t. the student logits differs"
KD_FROM_DL = "kd_loss combines the two terms correctly, but your distillation_loss is wrong"

CATALOGUE = Catalogue(
    "03_loss_torch",
    {
        "missing_t_squared": Mistake(
            "the soft term is not multiplied by T²",
            ((RETURN, "return kl.mean()"),),
            {
                "test_distill_t_squared": T2,
                "test_distill_stable": T2,
                "test_distill_gradient": GRAD,
                "test_distill_reference": T2,
                "test_kd_reference": KD_FROM_DL,
            },
        ),
        "t_not_squared": Mistake(
            "the soft term is multiplied by T instead of T²",
            ((RETURN, "return T * kl.mean()"),),
            {
                "test_distill_t_squared": BY_T,
                "test_distill_stable": BY_T,
                "test_distill_gradient": GRAD,
                "test_distill_reference": BY_T,
                "test_kd_reference": KD_FROM_DL,
            },
        ),
        "reversed_kl": Mistake(
            "KL(student ‖ teacher) instead of KL(teacher ‖ student)",
            ((KL, "kl = (log_q.exp() * (log_q - log_p)).sum(dim=-1)"),),
            {
                "test_distill_direction": REVERSED,
                "test_distill_stable": REVERSED,
                "test_distill_gradient": GRAD,
                "test_distill_reference": REVERSED,
                "test_kd_reference": KD_FROM_DL,
            },
        ),
        "kl_div_arguments_swapped": Mistake(
            "F.kl_div(teacher, student): the target and the input swapped, so the KL is reversed",
            ((KL, "kl = F.kl_div(log_p, log_q, reduction='none', log_target=True).sum(dim=-1)"),),
            {
                "test_distill_direction": REVERSED,
                "test_distill_stable": REVERSED,
                "test_distill_gradient": GRAD,
                "test_distill_reference": REVERSED,
                "test_kd_reference": KD_FROM_DL,
            },
        ),
        "log_of_softmax": Mistake(
            "torch.log(F.softmax(...)) instead of F.log_softmax: NaN at ±1e4",
            (
                (STUDENT, "log_q = torch.log(F.softmax(student_logits / T, dim=-1))"),
                (TEACHER, "log_p = torch.log(F.softmax(teacher_logits.detach() / T, dim=-1))"),
            ),
            {"test_distill_stable": "use F.log_softmax, not torch.log(F.softmax(...))"},
        ),
        "log_of_clipped_softmax": Mistake(
            "log of a softmax clipped at 1e-7: finite but wrong at extreme logits",
            (
                (STUDENT, "log_q = torch.log(F.softmax(student_logits / T, dim=-1).clamp(1e-7))"),
                (TEACHER, "log_p = torch.log(F.softmax(teacher_logits.detach() / T, -1).clamp(1e-7))"),
            ),
            {
                "test_distill_stable": "the probabilities are clipped before the log (torch.clamp before torch.log)",
                "test_distill_reference": "distillation_loss for B=5, C=100, T=0.5",
            },
        ),
        "sum_over_batch": Mistake(
            "the KL is summed over the batch instead of averaged",
            ((RETURN, "return T * T * kl.sum()"),),
            {
                "test_distill_direction": SUMMED,
                "test_distill_batch_mean": SUMMED,
                "test_distill_stable": SUMMED,
                "test_distill_gradient": GRAD,
                "test_distill_reference": SUMMED,
                "test_kd_reference": KD_FROM_DL,
            },
        ),
        "mean_over_all_elements": Mistake(
            "the KL terms are averaged over all B·C elements",
            ((KL, "kl = (log_p.exp() * (log_p - log_q)).mean()"),),
            {
                "test_distill_direction": ALL,
                "test_distill_batch_mean": ALL,
                "test_distill_stable": ALL,
                "test_distill_gradient": GRAD,
                "test_distill_reference": ALL,
                "test_kd_reference": KD_FROM_DL,
            },
        ),
        "kl_div_default_reduction": Mistake(
            "F.kl_div with its default reduction='mean' (mean over all elements, not batchmean)",
            ((KL, "kl = F.kl_div(log_q, log_p, log_target=True)"),),
            {
                "test_distill_direction": "F.kl_div's default reduction='mean'",
                "test_distill_batch_mean": ALL,
                "test_distill_stable": "reduction='batchmean'",
                "test_distill_gradient": GRAD,
                "test_distill_reference": ALL,
                "test_kd_reference": KD_FROM_DL,
            },
        ),
        "kl_div_sum_reduction": Mistake(
            "F.kl_div with reduction='sum' (summed over the batch)",
            ((KL, "kl = F.kl_div(log_q, log_p, reduction='sum', log_target=True)"),),
            {
                "test_distill_direction": SUMMED,
                "test_distill_batch_mean": SUMMED,
                "test_distill_stable": SUMMED,
                "test_distill_gradient": GRAD,
                "test_distill_reference": SUMMED,
                "test_kd_reference": KD_FROM_DL,
            },
        ),
        "teacher_not_softened": Mistake(
            "the temperature is applied to the student only",
            ((TEACHER, "log_p = F.log_softmax(teacher_logits.detach(), dim=-1)"),),
            {
                "test_distill_t_squared": "should be 4 times",
                "test_distill_temperature": "not applied to the teacher",
                "test_distill_gradient": GRAD,
                "test_distill_reference": "not applied to the teacher",
                "test_kd_reference": KD_FROM_DL,
            },
        ),
        "float64_always": Mistake(
            "the loss is computed in float64 whatever the input dtype (fails a hidden check only)",
            ((RETURN, "return T * T * kl.mean().double()"),),
            {"test_distill_reference": "float32 inputs must give a float32 loss"},
        ),
        "ce_at_temperature": Mistake(
            "the cross-entropy term is computed at temperature T",
            (
                (
                    "hard = F.cross_entropy(student_logits, labels)",
                    "hard = F.cross_entropy(student_logits / temperature, labels)",
                ),
            ),
            {
                "test_kd_hard_term": "the cross-entropy is computed at temperature T",
                "test_kd_reference": "kd_loss for B=8, C=10, T=4, alpha=0.9",
            },
        ),
        "alpha_swapped": Mistake(
            "alpha weighs the hard term (the Keras example's convention)",
            ((COMBINE, "return (1.0 - alpha) * soft + alpha * hard"),),
            {
                "test_kd_alpha": "alpha weighs the soft term",
                "test_kd_hard_term": "with alpha = 0",
                "test_kd_reference": "kd_loss for B=8, C=10, T=4, alpha=0.9",
            },
        ),
        "imports_kdlib_answer": Mistake(
            "both functions imported from kdlib instead of written (the answer key is hidden when graded)",
            edit=lambda nb: _import_answer(nb),
            shows={
                "distillation_loss": "kdlib.torch is not available while a notebook is graded: it "
                "implements what this assignment grades"
            },
            lost={
                gid: "is not defined"
                for gid in (
                    "test_distill_t_squared",
                    "test_distill_direction",
                    "test_distill_batch_mean",
                    "test_distill_temperature",
                    "test_distill_stable",
                    "test_distill_gradient",
                    "test_distill_reference",
                    "test_kd_alpha",
                    "test_kd_hard_term",
                    "test_kd_reference",
                )
            },
        ),
    },
    cell_timeout=30,
    memory_mb=2048,
)


def _import_answer(nb) -> None:
    for cell in nb.cells:
        if cell.id in ("distillation_loss", "kd_loss"):
            cell.source = "from kdlib.torch.losses import distillation_loss, kd_loss"

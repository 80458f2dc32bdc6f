"""Typical mistakes in 03_loss_torch (PyTorch distillation_loss / kd_loss)."""

from tests.grading_mistakes import Mistake

STUDENT = "log_q = F.log_softmax(student_logits / T, dim=-1)"
TEACHER = "log_p = F.log_softmax(teacher_logits.detach() / T, dim=-1)"
KL = "kl = (log_p.exp() * (log_p - log_q)).sum(dim=-1)"
RETURN = "return T * T * kl.mean()"
COMBINE = "return alpha * soft + (1.0 - alpha) * hard"

MISTAKES: dict[str, Mistake] = {
    "missing_t_squared": Mistake(
        "the soft term is not multiplied by T²",
        ((RETURN, "return kl.mean()"),),
        frozenset({"test_distill_t_squared"}),
    ),
    "t_not_squared": Mistake(
        "the soft term is multiplied by T instead of T²",
        ((RETURN, "return T * kl.mean()"),),
        frozenset({"test_distill_t_squared"}),
    ),
    "reversed_kl": Mistake(
        "KL(student ‖ teacher) instead of KL(teacher ‖ student)",
        ((KL, "kl = (log_q.exp() * (log_q - log_p)).sum(dim=-1)"),),
        frozenset({"test_distill_direction"}),
    ),
    "kl_div_arguments_swapped": Mistake(
        "F.kl_div(teacher, student): the target and the input swapped, so the KL is reversed",
        ((KL, "kl = F.kl_div(log_p, log_q, reduction='none', log_target=True).sum(dim=-1)"),),
        frozenset({"test_distill_direction"}),
    ),
    "log_of_softmax": Mistake(
        "torch.log(F.softmax(...)) instead of F.log_softmax: NaN at ±1e4",
        (
            (STUDENT, "log_q = torch.log(F.softmax(student_logits / T, dim=-1))"),
            (TEACHER, "log_p = torch.log(F.softmax(teacher_logits.detach() / T, dim=-1))"),
        ),
        frozenset({"test_distill_stable"}),
    ),
    "log_of_clipped_softmax": Mistake(
        "log of a softmax clipped at 1e-7: finite but wrong at extreme logits",
        (
            (STUDENT, "log_q = torch.log(F.softmax(student_logits / T, dim=-1).clamp(1e-7))"),
            (TEACHER, "log_p = torch.log(F.softmax(teacher_logits.detach() / T, -1).clamp(1e-7))"),
        ),
        frozenset({"test_distill_stable"}),
    ),
    "sum_over_batch": Mistake(
        "the KL is summed over the batch instead of averaged",
        ((RETURN, "return T * T * kl.sum()"),),
        frozenset({"test_distill_batch_mean"}),
    ),
    "mean_over_all_elements": Mistake(
        "the KL terms are averaged over all B·C elements",
        ((KL, "kl = (log_p.exp() * (log_p - log_q)).mean()"),),
        frozenset({"test_distill_batch_mean"}),
    ),
    "kl_div_default_reduction": Mistake(
        "F.kl_div with its default reduction='mean' (mean over all elements, not batchmean)",
        ((KL, "kl = F.kl_div(log_q, log_p, log_target=True)"),),
        frozenset({"test_distill_batch_mean"}),
    ),
    "teacher_not_softened": Mistake(
        "the temperature is applied to the student only",
        ((TEACHER, "log_p = F.log_softmax(teacher_logits.detach(), dim=-1)"),),
        frozenset({"test_distill_temperature"}),
    ),
    "float64_always": Mistake(
        "the loss is computed in float64 whatever the input dtype (fails a hidden test only)",
        ((RETURN, "return T * T * kl.mean().double()"),),
        frozenset({"test_distill_reference"}),
    ),
    "ce_at_temperature": Mistake(
        "the cross-entropy term is computed at temperature T",
        (
            (
                "hard = F.cross_entropy(student_logits, labels)",
                "hard = F.cross_entropy(student_logits / temperature, labels)",
            ),
        ),
        frozenset({"test_kd_hard_term"}),
    ),
    "alpha_swapped": Mistake(
        "alpha weighs the hard term (the Keras example's convention)",
        ((COMBINE, "return (1.0 - alpha) * soft + alpha * hard"),),
        frozenset({"test_kd_alpha"}),
    ),
}

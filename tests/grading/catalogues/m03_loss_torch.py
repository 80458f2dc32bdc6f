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
KD_FROM_DL = "kd_loss combines the two terms correctly, but your distillation_loss is wrong"
PER_ELEMENT = "not a scalar: one KL term per example and class (F.kl_div with reduction='none'"
PER_EXAMPLE = "not a scalar: one KL per example (F.kl_div(..., reduction='none').sum(dim=-1)"
PROBS_INPUT = "F.kl_div's input (first argument) must be the student's LOG-probabilities"
LOG_TARGET_MISSING = "without log_target=True"
LOG_TARGET_PROBS = "F.kl_div got the teacher's PROBABILITIES with log_target=True"

SOFT_TESTS = (
    "test_distill_t_squared",
    "test_distill_direction",
    "test_distill_batch_mean",
    "test_distill_temperature",
    "test_distill_stable",
    "test_distill_gradient",
    "test_distill_reference",
)
ALL_TESTS = (*SOFT_TESTS, "test_kd_alpha", "test_kd_hard_term", "test_kd_reference")
#: the tests that use a T other than 1 (a mistake in the temperature shows only there)
T_TESTS = (
    "test_distill_t_squared",
    "test_distill_temperature",
    "test_distill_stable",
    "test_distill_gradient",
    "test_distill_reference",
)
NOT_SCALAR = "must return a scalar (0-d) tensor, not one value per example or class"

CATALOGUE = Catalogue(
    "03_loss_torch",
    {
        "missing_t_squared": Mistake(
            "the soft term is not multiplied by T²",
            ((RETURN, "return kl.mean()"),),
            {
                "test_distill_t_squared": T2,
                "test_distill_stable": T2,
                "test_distill_gradient": T2,
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
                "test_distill_gradient": BY_T,
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
                "test_distill_gradient": REVERSED,
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
                "test_distill_gradient": REVERSED,
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
                "test_distill_gradient": SUMMED,
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
                "test_distill_gradient": ALL,
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
                "test_distill_gradient": ALL,
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
                "test_distill_gradient": SUMMED,
                "test_distill_reference": SUMMED,
                "test_kd_reference": KD_FROM_DL,
            },
        ),
        "kl_div_none_kept_as_matrix": Mistake(
            "F.kl_div with reduction='none', returned as the (B, C) matrix of terms",
            (
                (KL, "kl = F.kl_div(log_q, log_p, reduction='none', log_target=True)"),
                (RETURN, "return T * T * kl"),
            ),
            {gid: PER_ELEMENT for gid in ALL_TESTS} | {"test_distill_gradient": NOT_SCALAR},
        ),
        "kl_div_none_without_sum": Mistake(
            "F.kl_div with reduction='none', then .mean() over all B·C terms without the sum over classes",
            ((KL, "kl = F.kl_div(log_q, log_p, reduction='none', log_target=True)"),),
            {
                "test_distill_direction": ALL,
                "test_distill_batch_mean": ALL,
                "test_distill_stable": ALL,
                "test_distill_gradient": ALL,
                "test_distill_reference": ALL,
                "test_kd_reference": KD_FROM_DL,
            },
        ),
        "kl_div_none_without_mean": Mistake(
            "F.kl_div with reduction='none' summed over the classes, but not averaged over the batch: (B,)",
            (
                (KL, "kl = F.kl_div(log_q, log_p, reduction='none', log_target=True).sum(dim=-1)"),
                (RETURN, "return T * T * kl"),
            ),
            {gid: PER_EXAMPLE for gid in ALL_TESTS} | {"test_distill_gradient": NOT_SCALAR},
        ),
        "kl_div_probabilities_as_input": Mistake(
            "F.kl_div(F.softmax(s / T), p): probabilities as the input, where F.kl_div wants log-probabilities",
            ((KL, "kl = F.kl_div(log_q.exp(), log_p.exp(), reduction='none').sum(dim=-1)"),),
            {gid: PROBS_INPUT for gid in SOFT_TESTS if gid != "test_distill_t_squared"}
            | {"test_kd_reference": KD_FROM_DL},
        ),
        "kl_div_log_target_forgotten": Mistake(
            "F.kl_div(log_q, log_p) with log-probabilities as the target but without log_target=True: nan",
            ((KL, "kl = F.kl_div(log_q, log_p, reduction='none').sum(dim=-1)"),),
            {gid: LOG_TARGET_MISSING for gid in ALL_TESTS},
        ),
        "kl_div_log_target_on_probabilities": Mistake(
            "F.kl_div(log_q, p, log_target=True): probabilities as the target, read as log-probabilities",
            ((KL, "kl = F.kl_div(log_q, log_p.exp(), reduction='none', log_target=True).sum(dim=-1)"),),
            {gid: LOG_TARGET_PROBS for gid in SOFT_TESTS if gid != "test_distill_t_squared"}
            | {"test_kd_reference": KD_FROM_DL},
        ),
        "kl_div_batchmean": Mistake(
            "not a mistake: T² · F.kl_div(log_q, log_p, reduction='batchmean', log_target=True) earns full marks",
            (
                (KL, "kl = F.kl_div(log_q, log_p, reduction='batchmean', log_target=True)"),
                (RETURN, "return T * T * kl"),
            ),
            {},
        ),
        "student_not_softened": Mistake(
            "the temperature is applied to the teacher only",
            ((STUDENT, "log_q = F.log_softmax(student_logits, dim=-1)"),),
            {gid: "not applied to the student" for gid in T_TESTS} | {"test_kd_reference": KD_FROM_DL},
        ),
        "teacher_not_softened": Mistake(
            "the temperature is applied to the student only",
            ((TEACHER, "log_p = F.log_softmax(teacher_logits.detach(), dim=-1)"),),
            {
                "test_distill_t_squared": "not applied to the teacher",
                "test_distill_temperature": "not applied to the teacher",
                "test_distill_stable": "not applied to the teacher",
                "test_distill_gradient": "not applied to the teacher",
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


#: what the VISIBLE tests print for each mistake, run in a learner's own kernel (nothing graded):
#: exactly these cells fail, each showing its piece (tests/library/test_hints.py); None: a mistake about
#: grading only (the answer key is importable outside grading, so the visible tests pass)
VISIBLE = {
    "missing_t_squared": {
        "test_distill_t_squared": T2,
        "test_distill_gradient": T2,
        "test_distill_reference": T2,
        "test_kd_reference": "kd_loss combines the two terms correctly",
    },
    "t_not_squared": {
        "test_distill_t_squared": BY_T,
        "test_distill_gradient": BY_T,
        "test_distill_reference": BY_T,
        "test_kd_reference": "kd_loss combines the two terms correctly",
    },
    "reversed_kl": {
        "test_distill_direction": REVERSED,
        "test_distill_gradient": REVERSED,
        "test_distill_reference": REVERSED,
        "test_kd_reference": "kd_loss combines the two terms correctly",
    },
    "kl_div_arguments_swapped": {
        "test_distill_direction": REVERSED,
        "test_distill_gradient": REVERSED,
        "test_distill_reference": REVERSED,
        "test_kd_reference": "kd_loss combines the two terms correctly",
    },
    "log_of_softmax": {
        "test_distill_stable": "use F.log_softmax, not torch.log",
    },
    "log_of_clipped_softmax": {
        "test_distill_stable": "clipped before the log",
    },
    "sum_over_batch": {
        "test_distill_batch_mean": SUMMED,
        "test_distill_gradient": SUMMED,
        "test_distill_reference": SUMMED,
        "test_kd_reference": "kd_loss combines the two terms correctly",
    },
    "mean_over_all_elements": {
        "test_distill_direction": ALL,
        "test_distill_batch_mean": ALL,
        "test_distill_stable": ALL,
        "test_distill_gradient": ALL,
        "test_distill_reference": ALL,
        "test_kd_reference": "kd_loss combines the two terms correctly",
    },
    "kl_div_default_reduction": {
        "test_distill_direction": ALL,
        "test_distill_batch_mean": ALL,
        "test_distill_stable": ALL,
        "test_distill_gradient": ALL,
        "test_distill_reference": ALL,
        "test_kd_reference": "kd_loss combines the two terms correctly",
    },
    "kl_div_sum_reduction": {
        "test_distill_batch_mean": SUMMED,
        "test_distill_gradient": SUMMED,
        "test_distill_reference": SUMMED,
        "test_kd_reference": "kd_loss combines the two terms correctly",
    },
    "kl_div_none_kept_as_matrix": {
        "test_distill_t_squared": "not a scalar: one KL term per example and class",
        "test_distill_direction": "not a scalar: one KL term per example and class",
        "test_distill_batch_mean": "not a scalar: one KL term per example and class",
        "test_distill_temperature": "not a scalar: one KL term per example and class",
        "test_distill_stable": "not a scalar: one KL term per example and class",
        "test_distill_gradient": "not a scalar: one KL term per example and class",
        "test_distill_reference": "not a scalar: one KL term per example and class",
        "test_kd_alpha": "not a scalar: one KL term per example and class",
        "test_kd_hard_term": "not a scalar: one KL term per example and class",
        "test_kd_reference": "not a scalar: one KL term per example and class",
    },
    "kl_div_none_without_sum": {
        "test_distill_direction": ALL,
        "test_distill_batch_mean": ALL,
        "test_distill_stable": ALL,
        "test_distill_gradient": ALL,
        "test_distill_reference": ALL,
        "test_kd_reference": "kd_loss combines the two terms correctly",
    },
    "kl_div_none_without_mean": {
        "test_distill_t_squared": "not a scalar: one KL per example",
        "test_distill_direction": "not a scalar: one KL per example",
        "test_distill_batch_mean": "not a scalar: one KL per example",
        "test_distill_temperature": "not a scalar: one KL per example",
        "test_distill_stable": "not a scalar: one KL per example",
        "test_distill_gradient": "not a scalar: one KL per example",
        "test_distill_reference": "not a scalar: one KL per example",
        "test_kd_alpha": "not a scalar: one KL per example",
        "test_kd_hard_term": "not a scalar: one KL per example",
        "test_kd_reference": "not a scalar: one KL per example",
    },
    "kl_div_probabilities_as_input": {
        "test_distill_direction": "must be the student's LOG-probabilities",
        "test_distill_batch_mean": "must be the student's LOG-probabilities",
        "test_distill_stable": "must be the student's LOG-probabilities",
        "test_distill_gradient": "must be the student's LOG-probabilities",
        "test_distill_reference": "must be the student's LOG-probabilities",
        "test_kd_reference": "kd_loss combines the two terms correctly",
    },
    "kl_div_log_target_forgotten": {
        "test_distill_t_squared": LOG_TARGET_MISSING,
        "test_distill_direction": LOG_TARGET_MISSING,
        "test_distill_batch_mean": LOG_TARGET_MISSING,
        "test_distill_temperature": LOG_TARGET_MISSING,
        "test_distill_stable": LOG_TARGET_MISSING,
        "test_distill_gradient": LOG_TARGET_MISSING,
        "test_distill_reference": LOG_TARGET_MISSING,
        "test_kd_alpha": LOG_TARGET_MISSING,
        "test_kd_hard_term": LOG_TARGET_MISSING,
        "test_kd_reference": LOG_TARGET_MISSING,
    },
    "kl_div_log_target_on_probabilities": {
        "test_distill_direction": "PROBABILITIES with log_target=True",
        "test_distill_batch_mean": "PROBABILITIES with log_target=True",
        "test_distill_stable": "PROBABILITIES with log_target=True",
        "test_distill_gradient": "PROBABILITIES with log_target=True",
        "test_distill_reference": "PROBABILITIES with log_target=True",
        "test_kd_reference": "kd_loss combines the two terms correctly",
    },
    "kl_div_batchmean": {},
    "student_not_softened": {
        "test_distill_t_squared": "not applied to the student",
        "test_distill_temperature": "not applied to the student",
        "test_distill_gradient": "not applied to the student",
        "test_distill_reference": "not applied to the student",
        "test_kd_reference": "kd_loss combines the two terms correctly",
    },
    "teacher_not_softened": {
        "test_distill_t_squared": "not applied to the teacher",
        "test_distill_temperature": "not applied to the teacher",
        "test_distill_gradient": "not applied to the teacher",
        "test_distill_reference": "not applied to the teacher",
        "test_kd_reference": "kd_loss combines the two terms correctly",
    },
    "float64_always": {},
    "ce_at_temperature": {
        "test_kd_hard_term": "the cross-entropy is computed at temperature T",
        "test_kd_reference": "the cross-entropy is computed at temperature T",
    },
    "alpha_swapped": {
        "test_kd_alpha": "alpha weighs the wrong term",
        "test_kd_hard_term": "alpha weighs the wrong term",
        "test_kd_reference": "alpha weighs the wrong term",
    },
    "imports_kdlib_answer": None,
}


def _import_answer(nb) -> None:
    for cell in nb.cells:
        if cell.id in ("distillation_loss", "kd_loss"):
            cell.source = "from kdlib.torch.losses import distillation_loss, kd_loss"

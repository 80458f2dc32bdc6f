"""Typical mistakes in 04_loss_tf (TensorFlow distillation_loss / kd_loss), and what each must be told.

The TensorFlow twins of 03_loss_torch's mistakes, plus the notebook's Keras traps (the other
alpha convention, keras.distillation's default loss that drops softmax and T², Keras's clipped
KLDivergence). test_parity_torch checks kd_loss on three (T, alpha), so every mistake in the
soft term loses it as well as test_kd_reference.
"""

from tests.grading.catalogues import Catalogue, Mistake

STUDENT = "log_q = tf.nn.log_softmax(student_logits / T, axis=-1)"
TEACHER = "log_p = tf.nn.log_softmax(tf.stop_gradient(teacher_logits) / T, axis=-1)"
KL = "kl = tf.reduce_sum(tf.exp(log_p) * (log_p - log_q), axis=-1)"
RETURN = "return T * T * tf.reduce_mean(kl)"
HARD = "tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=student_logits)"
COMBINE = "return alpha * soft + (1.0 - alpha) * hard"

T2 = "not scaled by T²"
BY_T = "scaled by T, not by T²"
REVERSED = "the KL is reversed"
SUMMED = "summed over the batch"
ALL = "averaged over all B·C elements"
CLIPPED = "the probabilities are clipped before the log"
KERAS_LOGITS = "keras.distillation.LogitsDistillation's default loss='kl_divergence'"
GRAD = "the gradient w.r.t. the student logits differs"
KD_FROM_DL = "kd_loss combines the two terms correctly, but your distillation_loss is wrong"
KERAS_ALPHA = "the Keras example's convention"
PER_ELEMENT = "not a scalar: one KL term per example and class"
PER_EXAMPLE = "not a scalar: one KL per example"

SOFT_TESTS = (
    "test_distill_t_squared",
    "test_distill_direction",
    "test_distill_batch_mean",
    "test_distill_temperature",
    "test_distill_stable",
    "test_distill_gradient",
    "test_distill_reference",
)
#: the softened teacher's, then the student's probabilities, as keras.losses.KLDivergence takes them
PROBS = "(tf.nn.softmax(tf.stop_gradient(teacher_logits) / T), tf.nn.softmax(student_logits / T))"
KD_TESTS = ("test_kd_alpha", "test_kd_hard_term", "test_kd_reference", "test_parity_torch")
ALL_TESTS = (*SOFT_TESTS, *KD_TESTS)
#: the tests that use a T other than 1 (a mistake in the temperature shows only there)
T_TESTS = (
    "test_distill_t_squared",
    "test_distill_temperature",
    "test_distill_stable",
    "test_distill_gradient",
    "test_distill_reference",
)
#: a Keras loss object computes in float32: kd_loss then adds it to the float64 cross-entropy
KERAS_FLOAT32 = "expected to be a float tensor but is a double tensor"


def _soft_wrong(first: dict[str, str]) -> dict[str, str]:
    """A wrong soft term: ``first`` for the distillation_loss cells, then kd_loss's two value checks."""
    return {**first, "test_kd_reference": KD_FROM_DL, "test_parity_torch": KD_FROM_DL}


CATALOGUE = Catalogue(
    "04_loss_tf",
    {
        "missing_t_squared": Mistake(
            "the soft term is not multiplied by T²",
            ((RETURN, "return tf.reduce_mean(kl)"),),
            _soft_wrong(
                {
                    "test_distill_t_squared": T2,
                    "test_distill_stable": T2,
                    "test_distill_gradient": T2,
                    "test_distill_reference": T2,
                }
            ),
        ),
        "t_not_squared": Mistake(
            "the soft term is multiplied by T instead of T²",
            ((RETURN, "return T * tf.reduce_mean(kl)"),),
            _soft_wrong(
                {
                    "test_distill_t_squared": BY_T,
                    "test_distill_stable": BY_T,
                    "test_distill_gradient": BY_T,
                    "test_distill_reference": BY_T,
                }
            ),
        ),
        "reversed_kl": Mistake(
            "KL(student ‖ teacher) instead of KL(teacher ‖ student)",
            ((KL, "kl = tf.reduce_sum(tf.exp(log_q) * (log_q - log_p), axis=-1)"),),
            _soft_wrong(
                {
                    "test_distill_direction": REVERSED,
                    "test_distill_stable": REVERSED,
                    "test_distill_gradient": REVERSED,
                    "test_distill_reference": REVERSED,
                }
            ),
        ),
        "log_of_softmax": Mistake(
            "tf.math.log(tf.nn.softmax(...)) instead of tf.nn.log_softmax: NaN at ±1e4",
            (
                (STUDENT, "log_q = tf.math.log(tf.nn.softmax(student_logits / T, axis=-1))"),
                (TEACHER, "log_p = tf.math.log(tf.nn.softmax(tf.stop_gradient(teacher_logits) / T, axis=-1))"),
            ),
            {"test_distill_stable": "use tf.nn.log_softmax, not tf.math.log(tf.nn.softmax(...))"},
        ),
        "log_of_clipped_softmax": Mistake(
            "log of a softmax clipped at 1e-7: finite but wrong at extreme logits",
            (
                (STUDENT, "log_q = tf.math.log(tf.clip_by_value(tf.nn.softmax(student_logits / T), 1e-7, 1.0))"),
                (TEACHER, "log_p = tf.math.log(tf.clip_by_value(tf.nn.softmax(teacher_logits / T), 1e-7, 1.0))"),
            ),
            {"test_distill_stable": CLIPPED, "test_distill_reference": "distillation_loss for B=5, C=100, T=0.5"},
        ),
        "sum_over_batch": Mistake(
            "the KL is summed over the batch instead of averaged",
            ((RETURN, "return T * T * tf.reduce_sum(kl)"),),
            _soft_wrong(
                {
                    "test_distill_direction": SUMMED,
                    "test_distill_batch_mean": SUMMED,
                    "test_distill_stable": SUMMED,
                    "test_distill_gradient": SUMMED,
                    "test_distill_reference": SUMMED,
                }
            ),
        ),
        "mean_over_all_elements": Mistake(
            "the KL terms are averaged over all B·C elements (tf.reduce_mean without axis)",
            ((KL, "kl = tf.reduce_mean(tf.exp(log_p) * (log_p - log_q))"),),
            _soft_wrong(
                {
                    "test_distill_direction": ALL,
                    "test_distill_batch_mean": ALL,
                    "test_distill_stable": ALL,
                    "test_distill_gradient": ALL,
                    "test_distill_reference": ALL,
                }
            ),
        ),
        "teacher_not_softened": Mistake(
            "the temperature is applied to the student only",
            ((TEACHER, "log_p = tf.nn.log_softmax(tf.stop_gradient(teacher_logits), axis=-1)"),),
            _soft_wrong(
                {
                    "test_distill_t_squared": "not applied to the teacher",
                    "test_distill_temperature": "not applied to the teacher",
                    "test_distill_stable": "not applied to the teacher",
                    "test_distill_gradient": "not applied to the teacher",
                    "test_distill_reference": "not applied to the teacher",
                }
            ),
        ),
        "no_reduction_at_all": Mistake(
            "the (B, C) matrix of KL terms returned: no sum over the classes, no mean over the batch",
            (
                (KL, "kl = tf.exp(log_p) * (log_p - log_q)"),
                (RETURN, "return T * T * kl"),
            ),
            {gid: PER_ELEMENT for gid in ALL_TESTS},
        ),
        "no_batch_mean": Mistake(
            "the KL summed over the classes but not averaged over the batch: a (B,) tensor",
            ((RETURN, "return T * T * kl"),),
            {gid: PER_EXAMPLE for gid in ALL_TESTS},
        ),
        "student_not_softened": Mistake(
            "the temperature is applied to the teacher only",
            ((STUDENT, "log_q = tf.nn.log_softmax(student_logits, axis=-1)"),),
            _soft_wrong({gid: "not applied to the student" for gid in T_TESTS}),
        ),
        "keras_kl_sum_reduction": Mistake(
            "keras.losses.KLDivergence(reduction='sum') of the softened probabilities × T²: summed over the batch",
            (
                (
                    RETURN,
                    f"return T * T * tf.keras.losses.KLDivergence(reduction='sum'){PROBS}",
                ),
            ),
            {
                **{
                    gid: SUMMED
                    for gid in SOFT_TESTS
                    if gid not in ("test_distill_t_squared", "test_distill_temperature")
                },
                **{gid: KERAS_FLOAT32 for gid in KD_TESTS},
            },
        ),
        "keras_kl_no_reduction": Mistake(
            "keras.losses.KLDivergence(reduction=None): one KL per example, a (B,) tensor",
            (
                (
                    RETURN,
                    f"return T * T * tf.keras.losses.KLDivergence(reduction=None){PROBS}",
                ),
            ),
            {**{gid: PER_EXAMPLE for gid in SOFT_TESTS}, **{gid: KERAS_FLOAT32 for gid in KD_TESTS}},
        ),
        "keras_kl_arguments_swapped": Mistake(
            "keras.losses.KLDivergence()(student, teacher): y_true and y_pred swapped, so the KL is reversed",
            (
                (
                    RETURN,
                    "return T * T * tf.keras.losses.KLDivergence()("
                    "tf.nn.softmax(student_logits / T), tf.nn.softmax(tf.stop_gradient(teacher_logits) / T))",
                ),
            ),
            {
                **{
                    gid: REVERSED
                    for gid in (
                        "test_distill_direction",
                        "test_distill_stable",
                        "test_distill_gradient",
                        "test_distill_reference",
                    )
                },
                **{gid: KERAS_FLOAT32 for gid in KD_TESTS},
            },
        ),
        "no_stop_gradient": Mistake(
            "the teacher's logits are not wrapped in tf.stop_gradient: ungraded, as 03's .detach() is (the "
            "gradient w.r.t. the student is the same; a Keras train step differentiates the student's weights only)",
            ((TEACHER, "log_p = tf.nn.log_softmax(teacher_logits / T, axis=-1)"),),
            {},
        ),
        "float64_always": Mistake(
            "the loss is cast to float64 whatever the input dtype (fails a hidden check only)",
            ((RETURN, "return tf.cast(T * T * tf.reduce_mean(kl), tf.float64)"),),
            {"test_distill_reference": "float32 inputs must give a float32 loss"},
        ),
        "keras_kl_on_logits": Mistake(
            "keras.losses.kl_divergence of the T-scaled logits, no softmax and no T² (what "
            "keras.distillation.LogitsDistillation does with its default loss='kl_divergence')",
            (
                (
                    RETURN,
                    "return tf.reduce_mean(tf.keras.losses.get('kl_divergence')("
                    "tf.stop_gradient(teacher_logits) / T, student_logits / T))",
                ),
            ),
            # at ±1e4 the clipped logits equal clipped one-hot probabilities: the stable test names clipping
            _soft_wrong(
                {
                    "test_distill_t_squared": T2,
                    "test_distill_direction": KERAS_LOGITS,
                    "test_distill_batch_mean": KERAS_LOGITS,
                    "test_distill_stable": KERAS_LOGITS,
                    "test_distill_gradient": KERAS_LOGITS,
                    "test_distill_reference": KERAS_LOGITS,
                }
            ),
        ),
        "keras_kl_on_probs": Mistake(
            "keras.losses.KLDivergence() of the softened probabilities × T²: Keras clips them at 1e-7 and "
            "computes in float32",
            (
                (
                    RETURN,
                    "return T * T * tf.keras.losses.KLDivergence()("
                    "tf.nn.softmax(tf.stop_gradient(teacher_logits) / T), tf.nn.softmax(student_logits / T))",
                ),
            ),
            # the Keras loss object also casts to float32, so kd_loss then adds float32 and float64 tensors
            {
                "test_distill_stable": CLIPPED,
                "test_distill_gradient": GRAD,
                "test_distill_reference": "right only to float32 precision",
                **{
                    gid: "expected to be a float tensor but is a double tensor"
                    for gid in ("test_kd_alpha", "test_kd_hard_term", "test_kd_reference", "test_parity_torch")
                },
            },
        ),
        "ce_at_temperature": Mistake(
            "the cross-entropy term is computed at temperature T",
            ((HARD, HARD.replace("logits=student_logits", "logits=student_logits / temperature")),),
            {
                "test_kd_hard_term": "the cross-entropy is computed at temperature T",
                "test_kd_reference": "kd_loss(s, t, y) with the defaults T = 4, alpha = 0.9",
                "test_parity_torch": "kd_loss at T = 4, alpha = 0.9",
            },
        ),
        "alpha_swapped": Mistake(
            "alpha weighs the hard term (the Keras example's convention)",
            ((COMBINE, "return (1.0 - alpha) * soft + alpha * hard"),),
            {
                "test_kd_alpha": KERAS_ALPHA,
                "test_kd_hard_term": KERAS_ALPHA,
                "test_kd_reference": KERAS_ALPHA,
                "test_parity_torch": KERAS_ALPHA,
            },
        ),
        "imports_kdlib_answer": Mistake(
            "both functions imported from kdlib instead of written (the answer key is hidden when graded)",
            edit=lambda nb: _import_answer(nb),
            shows={
                "distillation_loss": "kdlib.tf is not available while a notebook is graded: it "
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
                    "test_parity_torch",
                )
            },
        ),
    },
    cell_timeout=90,
    memory_mb=6144,
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
        "test_parity_torch": "kd_loss combines the two terms correctly",
    },
    "t_not_squared": {
        "test_distill_t_squared": BY_T,
        "test_distill_gradient": BY_T,
        "test_distill_reference": BY_T,
        "test_kd_reference": "kd_loss combines the two terms correctly",
        "test_parity_torch": "kd_loss combines the two terms correctly",
    },
    "reversed_kl": {
        "test_distill_direction": REVERSED,
        "test_distill_gradient": REVERSED,
        "test_distill_reference": REVERSED,
        "test_kd_reference": "kd_loss combines the two terms correctly",
        "test_parity_torch": "kd_loss combines the two terms correctly",
    },
    "log_of_softmax": {
        "test_distill_stable": "use tf.nn.log_softmax, not tf.math.log",
    },
    "log_of_clipped_softmax": {
        "test_distill_stable": "clipped before the log",
    },
    "sum_over_batch": {
        "test_distill_batch_mean": SUMMED,
        "test_distill_gradient": SUMMED,
        "test_distill_reference": SUMMED,
        "test_kd_reference": "kd_loss combines the two terms correctly",
        "test_parity_torch": "kd_loss combines the two terms correctly",
    },
    "mean_over_all_elements": {
        "test_distill_direction": ALL,
        "test_distill_batch_mean": ALL,
        "test_distill_stable": ALL,
        "test_distill_gradient": ALL,
        "test_distill_reference": ALL,
        "test_kd_reference": "kd_loss combines the two terms correctly",
        "test_parity_torch": "kd_loss combines the two terms correctly",
    },
    "teacher_not_softened": {
        "test_distill_t_squared": "not applied to the teacher",
        "test_distill_temperature": "not applied to the teacher",
        "test_distill_gradient": "not applied to the teacher",
        "test_distill_reference": "not applied to the teacher",
        "test_kd_reference": "kd_loss combines the two terms correctly",
        "test_parity_torch": "kd_loss combines the two terms correctly",
    },
    "no_reduction_at_all": {
        "test_distill_t_squared": PER_ELEMENT,
        "test_distill_direction": PER_ELEMENT,
        "test_distill_batch_mean": PER_ELEMENT,
        "test_distill_temperature": PER_ELEMENT,
        "test_distill_stable": PER_ELEMENT,
        "test_distill_gradient": PER_ELEMENT,
        "test_distill_reference": PER_ELEMENT,
        "test_kd_alpha": PER_ELEMENT,
        "test_kd_hard_term": PER_ELEMENT,
        "test_kd_reference": PER_ELEMENT,
        "test_parity_torch": PER_ELEMENT,
    },
    "no_batch_mean": {
        "test_distill_t_squared": PER_EXAMPLE,
        "test_distill_direction": PER_EXAMPLE,
        "test_distill_batch_mean": PER_EXAMPLE,
        "test_distill_temperature": PER_EXAMPLE,
        "test_distill_stable": PER_EXAMPLE,
        "test_distill_gradient": PER_EXAMPLE,
        "test_distill_reference": PER_EXAMPLE,
        "test_kd_alpha": PER_EXAMPLE,
        "test_kd_hard_term": PER_EXAMPLE,
        "test_kd_reference": PER_EXAMPLE,
        "test_parity_torch": PER_EXAMPLE,
    },
    "student_not_softened": {
        "test_distill_t_squared": "not applied to the student",
        "test_distill_temperature": "not applied to the student",
        "test_distill_gradient": "not applied to the student",
        "test_distill_reference": "not applied to the student",
        "test_kd_reference": "kd_loss combines the two terms correctly",
        "test_parity_torch": "kd_loss combines the two terms correctly",
    },
    "keras_kl_sum_reduction": {
        "test_distill_batch_mean": SUMMED,
        "test_distill_stable": "clipped before the log",
        "test_distill_gradient": SUMMED,
        "test_distill_reference": SUMMED,
        "test_kd_alpha": KERAS_FLOAT32,
        "test_kd_hard_term": KERAS_FLOAT32,
        "test_kd_reference": KERAS_FLOAT32,
        "test_parity_torch": KERAS_FLOAT32,
    },
    "keras_kl_no_reduction": {
        "test_distill_t_squared": PER_EXAMPLE,
        "test_distill_direction": PER_EXAMPLE,
        "test_distill_batch_mean": PER_EXAMPLE,
        "test_distill_temperature": PER_EXAMPLE,
        "test_distill_stable": PER_EXAMPLE,
        "test_distill_gradient": PER_EXAMPLE,
        "test_distill_reference": PER_EXAMPLE,
        "test_kd_alpha": KERAS_FLOAT32,
        "test_kd_hard_term": KERAS_FLOAT32,
        "test_kd_reference": KERAS_FLOAT32,
        "test_parity_torch": KERAS_FLOAT32,
    },
    "keras_kl_arguments_swapped": {
        "test_distill_direction": REVERSED,
        "test_distill_stable": "clipped before the log",
        "test_distill_gradient": REVERSED,
        "test_distill_reference": REVERSED,
        "test_kd_alpha": KERAS_FLOAT32,
        "test_kd_hard_term": KERAS_FLOAT32,
        "test_kd_reference": KERAS_FLOAT32,
        "test_parity_torch": KERAS_FLOAT32,
    },
    "no_stop_gradient": {},
    "float64_always": {},
    "keras_kl_on_logits": {
        "test_distill_t_squared": T2,
        "test_distill_direction": "LogitsDistillation's default loss='kl_divergence'",
        "test_distill_batch_mean": "LogitsDistillation's default loss='kl_divergence'",
        "test_distill_stable": "clipped before the log",
        "test_distill_gradient": KERAS_LOGITS,
        "test_distill_reference": KERAS_LOGITS,
        "test_kd_reference": "kd_loss combines the two terms correctly",
        "test_parity_torch": "kd_loss combines the two terms correctly",
    },
    "keras_kl_on_probs": {
        "test_distill_stable": "clipped before the log",
        "test_kd_alpha": KERAS_FLOAT32,
        "test_kd_hard_term": KERAS_FLOAT32,
        "test_kd_reference": KERAS_FLOAT32,
        "test_parity_torch": KERAS_FLOAT32,
    },
    "ce_at_temperature": {
        "test_kd_hard_term": "the cross-entropy is computed at temperature T",
        "test_kd_reference": "the cross-entropy is computed at temperature T",
        "test_parity_torch": "the cross-entropy is computed at temperature T",
    },
    "alpha_swapped": {
        "test_kd_alpha": KERAS_ALPHA,
        "test_kd_hard_term": KERAS_ALPHA,
        "test_kd_reference": KERAS_ALPHA,
        "test_parity_torch": KERAS_ALPHA,
    },
    "imports_kdlib_answer": None,
}


def _import_answer(nb) -> None:
    for cell in nb.cells:
        if cell.id in ("distillation_loss", "kd_loss"):
            cell.source = "from kdlib.tf.losses import distillation_loss, kd_loss"

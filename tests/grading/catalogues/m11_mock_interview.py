"""Typical mistakes in 11_mock_interview, and what each must be told.

Ported from the old tests/test_grading_interview.py (two courses: the part-4 mistakes with the
PyTorch loss, the loss mistakes in each framework with part 4 left unanswered), now one course.
Submissions that leave part 4 unanswered lose its four cells ("part 4 is not answered"), as in
the old baseline. The three written answers of part 2 (m1_high_temperature, m2_generalises_better, m3_design)
are graded by hand: no entry lists them (the old baseline showed them as lost in every
submission, the reference too, because they await an instructor).
"""

from tests.grading.catalogues import Catalogue, Mistake

PART3 = (
    "test_kd_reference",
    "test_kd_t_squared",
    "test_kd_direction",
    "test_kd_batch_mean",
    "test_kd_hard_term",
    "test_kd_gradients",
)
PART4 = ("test_fixed_sample_runs", "test_teacher_trained", "test_no_test_data_in_fit", "test_temperature_from_logits")
#: leaves part 4 unanswered (raises at once), for the submissions that test the other parts
SKIP_PART4 = (
    "    keras.utils.set_random_seed(seed)\n",
    '    raise NotImplementedError("part 4 is not answered in this submission")\n',
)
UNANSWERED = {gid: "part 4 is not answered" for gid in PART4}

TORCH_SOFT = "soft = (log_p.exp() * (log_p - log_q)).sum(dim=-1).mean() * T * T"
TF_SOFT = "soft = tf.reduce_mean(tf.reduce_sum(tf.exp(log_p) * (log_p - log_q), axis=-1)) * T * T"

T2 = "not multiplied by T²"
REVERSED = "the KL is reversed"
ALL = "averaged over all B·C elements"
ALPHA = "alpha weighs the wrong term"
GRAD = "the gradient w.r.t. the student logits differs"
HINT = "is FRAMEWORK set to the framework you wrote it in?"


def framework(name: str):
    """An edit setting FRAMEWORK (the framework cell is not a solution cell, so no patch reaches it)."""

    def edit(nb) -> None:
        cell = next(c for c in nb.cells if c.id == "framework")
        assert 'FRAMEWORK = "torch"' in cell.source, cell.source
        cell.source = cell.source.replace('FRAMEWORK = "torch"', f"FRAMEWORK = {name!r}")

    return edit


def loss_mistake(
    description: str, patches, lost: dict[str, str], fw: str = "torch", edit=None, shows: dict[str, str] | None = None
) -> Mistake:
    """A part-3 mistake; part 4 is left unanswered (it trains Keras models for a minute)."""
    set_fw = framework(fw)

    def both(nb) -> None:
        set_fw(nb)
        if edit is not None:
            edit(nb)

    return Mistake(description, (*patches, SKIP_PART4), {**lost, **UNANSWERED}, edit=both, shows=shows or {})


def _torch_only_loss(nb) -> None:
    """kd_loss written in PyTorch only (no FRAMEWORK branch)."""
    cell = next(c for c in nb.cells if c.id == "kd_loss")
    assert 'if FRAMEWORK == "torch":' in cell.source
    cell.source = cell.source.replace('if FRAMEWORK == "torch":', "if True:")


def _import_answer(nb) -> None:
    cell = next(c for c in nb.cells if c.id == "kd_loss")
    cell.source = "from kdlib.torch.losses import kd_loss"


CATALOGUE = Catalogue(
    "11_mock_interview",
    {
        # --- part 3, PyTorch ------------------------------------------------------------------
        "torch_no_t_squared": loss_mistake(
            "PyTorch: the soft term without T²",
            ((TORCH_SOFT, TORCH_SOFT.replace(" * T * T", "")),),
            dict.fromkeys(PART3, T2),
        ),
        "torch_reversed_kl": loss_mistake(
            "PyTorch: KL(student ‖ teacher)",
            ((TORCH_SOFT, "soft = (log_q.exp() * (log_q - log_p)).sum(dim=-1).mean() * T * T"),),
            {**dict.fromkeys(PART3, REVERSED), "test_kd_gradients": GRAD},
        ),
        "torch_no_detach": loss_mistake(
            "PyTorch: gradient flows into the teacher's logits",
            (("F.log_softmax(teacher_logits.detach() / T", "F.log_softmax(teacher_logits / T"),),
            {"test_kd_gradients": "teacher_logits.detach()"},
        ),
        "torch_hard_at_T": loss_mistake(
            "PyTorch: the cross-entropy computed at T",
            (("F.cross_entropy(student_logits, labels)", "F.cross_entropy(student_logits / T, labels)"),),
            {
                "test_kd_reference": "cross-entropy at T = 1",
                "test_kd_hard_term": "cross-entropy at T = 1",
                "test_kd_gradients": "the gradient of the full kd_loss is wrong",
            },
        ),
        "torch_clipped_log": loss_mistake(
            "PyTorch: log of clipped probabilities instead of log_softmax (wrong where softmax underflows)",
            (
                (
                    "log_q = F.log_softmax(student_logits / T, dim=-1)",
                    "log_q = torch.log(F.softmax(student_logits / T, dim=-1).clamp_min(1e-12))",
                ),
            ),
            {"test_kd_reference": "kd_loss for B=5, C=7, T=0.5, alpha=1", "test_kd_gradients": "use log_softmax"},
        ),
        # --- part 3, TensorFlow ---------------------------------------------------------------
        "tf_no_t_squared": loss_mistake(
            "TensorFlow: the soft term without T²",
            ((TF_SOFT, TF_SOFT.replace(" * T * T", "")),),
            dict.fromkeys(PART3, T2),
            "tensorflow",
        ),
        "tf_mean_over_all": loss_mistake(
            "TensorFlow: the KL averaged over all B·C elements",
            ((TF_SOFT, "soft = tf.reduce_mean(tf.exp(log_p) * (log_p - log_q)) * T * T"),),
            dict.fromkeys(PART3, ALL),
            "tensorflow",
        ),
        "tf_no_stop_gradient": loss_mistake(
            "TensorFlow: gradient flows into the teacher's logits",
            (("tf.stop_gradient(teacher_logits) / T", "teacher_logits / T"),),
            {"test_kd_gradients": "tf.stop_gradient(teacher_logits)"},
            "tensorflow",
        ),
        "tf_alpha_swapped": loss_mistake(
            "TensorFlow: alpha weighs the hard term",
            (("return alpha * soft + (1 - alpha) * hard", "return (1 - alpha) * soft + alpha * hard"),),
            {**dict.fromkeys(PART3, ALPHA), "test_kd_gradients": GRAD},
            "tensorflow",
        ),
        "unknown_framework": loss_mistake(
            "FRAMEWORK = 'jax'",
            (),
            dict.fromkeys(PART3, "FRAMEWORK must be 'torch' or 'tensorflow'"),
            "jax",
        ),
        "tensorflow_reference": Mistake(
            "not a mistake: the reference with FRAMEWORK = 'tensorflow' (the old tensorflow course's reference, "
            "part 4 answered): loses nothing",
            edit=framework("tensorflow"),
        ),
        "torch_loss_but_framework_tensorflow": loss_mistake(
            "a PyTorch kd_loss with FRAMEWORK = 'tensorflow' (new: the old tests only had the reverse in mind)",
            (),
            dict.fromkeys(PART3, HINT),
            "tensorflow",
            edit=_torch_only_loss,
        ),
        "imports_kdlib_answer": loss_mistake(
            "kd_loss imported from kdlib instead of written (the answer key is hidden when graded)",
            (),
            dict.fromkeys(PART3, "kd_loss is not defined"),
            edit=_import_answer,
            shows={"kd_loss": "kdlib.torch.losses is not available while a notebook is graded"},
        ),
        # --- part 1 (new: the old tests had no part-1 mistakes) ---------------------------------
        "quickfire_wrong": Mistake(
            "wrong answers (and two malformed ones) to the nine quick-fire questions; part 4 unanswered",
            (
                ('q1_kl_vs_ce = "c"', 'q1_kl_vs_ce = "a"'),
                ('q2_inference_T = "d"', 'q2_inference_T = "e"'),
                ('q3_kl_div_call = "d"', 'q3_kl_div_call = "c"'),
                ('q4_keras_default = "c"', "q4_keras_default = 3"),
                ('q5_minillm = "d"', 'q5_minillm = "c"'),
                ('q6_capacity_gap = "b"', 'q6_capacity_gap = "a"'),
                ("q7_t_squared = 16.0", "q7_t_squared = 4.0"),
                ("q8_kl_ce_gap = 1.2683", "q8_kl_ce_gap = 0.0"),
                ("q9_gradient = -0.25", "q9_gradient = 0.25"),
                SKIP_PART4,
            ),
            {
                "test_q1": "q1_kl_vs_ce is wrong",
                "test_q2": "q2_inference_T must be one of ['a', 'b', 'c', 'd'], got 'e'",
                "test_q3": "reduction='mean' divides by B·C, not by B (notebook 03)",
                "test_q4": "q4_keras_default must be a one-letter string such as 'a', got int 3",
                "test_q5": "reverse KL is mode SEEKING, not mode covering (notebook 02, section 4)",
                "test_q6": "q6_capacity_gap is wrong",
                "test_q7": "the factor is T², not T",
                "test_q8": "q8_kl_ce_gap is not 0: the two differ by a term that does not depend on the student",
                "test_q9": "the wrong sign",
                **UNANSWERED,
            },
        ),
        "quickfire_traps": Mistake(
            "the other tempting quick-fire answers: F.kl_div with probabilities or reversed, the gap in bits "
            "or as log 4; part 4 unanswered",
            (
                ('q3_kl_div_call = "d"', 'q3_kl_div_call = "b"'),
                ('q5_minillm = "d"', 'q5_minillm = "a"'),
                ("q8_kl_ce_gap = 1.2683", "q8_kl_ce_gap = 1.8298"),
                ("q9_gradient = -0.25", "q9_gradient = 0.5"),
                SKIP_PART4,
            ),
            {
                "test_q3": "F.kl_div's input must be LOG-probabilities; (b) passes the student's probabilities",
                "test_q5": "MiniLLM minimises the reverse KL(q_student ‖ p_teacher) (notebook 02, section 4)",
                "test_q8": "q8_kl_ce_gap looks like it is in bits: use the natural logarithm",
                "test_q9": "q9_gradient = 0.5 is wrong",
                **UNANSWERED,
            },
        ),
        "quickfire_reverse_and_uniform": Mistake(
            "F.kl_div(p.log(), log_q.exp()) (the reverse KL), and log 4 for the gap; part 4 unanswered",
            (
                ('q3_kl_div_call = "d"', 'q3_kl_div_call = "a"'),
                ("q8_kl_ce_gap = 1.2683", "q8_kl_ce_gap = np.log(4)"),
                SKIP_PART4,
            ),
            {
                "test_q3": "so (a) is KL(student ‖ teacher), the reverse KL (notebook 03)",
                "test_q8": "the entropy of the uniform distribution over 4 classes",
                **UNANSWERED,
            },
        ),
        # --- part 4: the article's sample, half fixed (PyTorch loss, part 4 answered) ------------
        "teacher_untrained": Mistake(
            "the article's bug: the teacher is compiled but never fitted",
            (("    teacher.fit(x_train, y_train, epochs=epochs, batch_size=128, verbose=0)\n", ""),),
            {
                "test_fixed_sample_runs": "keras.Model.fit was called 1 time(s)",
                "test_teacher_trained": "training accuracy: train it on (x_train, y_train)",
                "test_no_test_data_in_fit": "1 fit call(s) recorded",
                "test_temperature_from_logits": "not softmax(teacher_logits / T)",
            },
        ),
        "fit_on_test": Mistake(
            "the article's bug: soft labels of x_test, student fitted on x_test",
            (
                ("teacher.predict(x_train, verbose=0) / T", "teacher.predict(x_test, verbose=0) / T"),
                ("trainer.fit(x_train, soft,", "trainer.fit(x_test, soft,"),
            ),
            {"test_no_test_data_in_fit": "fit call 2 trains on rows of x_test"},
        ),
        "validates_on_test": Mistake(
            "the teacher validated on (x_test, y_test) during fit",
            (
                (
                    "teacher.fit(x_train, y_train, epochs=epochs, batch_size=128, verbose=0)",
                    "teacher.fit(x_train, y_train, epochs=epochs, batch_size=128, verbose=0, "
                    "validation_data=(x_test, y_test))",
                ),
            ),
            {"test_no_test_data_in_fit": "fit call 1 validates on x_test"},
        ),
        "no_temperature": Mistake(
            "the article's bug: soft labels at T = 1",
            (
                (
                    "keras.ops.softmax(teacher.predict(x_train, verbose=0) / T)",
                    "keras.ops.softmax(teacher.predict(x_train, verbose=0))",
                ),
            ),
            {"test_temperature_from_logits": "softmax(teacher_logits) at T = 1"},
        ),
    },
    cell_timeout=300,
    memory_mb=6144,
)

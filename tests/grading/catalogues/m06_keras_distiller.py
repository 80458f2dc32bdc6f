"""Typical mistakes in 06_keras_distiller (a Keras 3 Distiller's train_step), and what each must be told."""

from tests.grading.catalogues import Catalogue, Mistake

TAPE = "        with tf.GradientTape() as tape:\n            student_logits = self.student(x, training=True)\n"
APPLY = "        self.optimizer.apply(grads, variables)\n"
LOSS_METRIC = "        self.loss_tracker.update_state(loss, sample_weight=tf.shape(x)[0])\n"
NO_GRADIENTS = "No gradients provided for any variable"
TRAIN_CELLS = ("test_train_step_runs", "test_teacher_frozen", "test_one_step")

CATALOGUE = Catalogue(
    "06_keras_distiller",
    {
        "teacher_training_mode": Mistake(
            "the teacher is called with training=True (its batch-norm statistics move)",
            (("self.teacher(x, training=False)", "self.teacher(x, training=True)"),),
            {"test_teacher_frozen": "batch-norm statistics moved): call self.teacher(x, training=False)"},
        ),
        "all_variables": Mistake(
            "gradients of self.trainable_variables, which hold the teacher's variables too",
            (("variables = self.student.trainable_variables", "variables = self.trainable_variables"),),
            {"test_teacher_frozen": "pass self.student.trainable_variables"},
        ),
        "no_apply": Mistake(
            "the gradients are computed but never applied",
            ((APPLY, ""),),
            {
                "test_train_step_runs": "self.optimizer.apply(grads, variables)",
                "test_one_step": "the student did not move: apply the gradients with self.optimizer.apply",
            },
        ),
        "forward_outside_tape": Mistake(
            "the student's forward pass runs outside the GradientTape: Keras finds no gradients (fit and "
            "train_step raise, so every cell that trains loses)",
            (
                (
                    TAPE,
                    "        student_logits = self.student(x, training=True)\n"
                    "        with tf.GradientTape() as tape:\n",
                ),
            ),
            {gid: f"{NO_GRADIENTS}: no gradient reached the student's variables" for gid in TRAIN_CELLS},
        ),
        "alpha_keras_io": Mistake(
            "alpha weighs the hard term (the keras.io example's convention)",
            (("self.temperature, self.alpha)", "self.temperature, 1 - self.alpha)"),),
            {"test_one_step": "alpha weighs the soft term"},
        ),
        "loss_metric_not_updated": Mistake(
            "the loss tracker is never updated, so fit logs a loss of 0",
            ((LOSS_METRIC, ""),),
            {"test_train_step_runs": "call self.loss_tracker.update_state(loss) in every step"},
        ),
        "concept_answers_wrong": Mistake(
            "keras.io's alpha taken at face value, and the built-in default read as 'drops T² only'",
            (
                ("OUR_ALPHA_FOR_KERAS_IO_0_1 = 0.9", "OUR_ALPHA_FOR_KERAS_IO_0_1 = 0.1"),
                ('BUILTIN_DEFAULT_COMPUTES = "c"', 'BUILTIN_DEFAULT_COMPUTES = "b"'),
            ),
            {
                "test_alpha_answer": "their alpha = 0.1 puts 0.9 on the soft term",
                "test_builtin_answer": "the softmax and the T² branch are skipped",
            },
        ),
        "imports_kdlib_answer": Mistake(
            "kdlib's Distiller imported instead of written (the answer key is hidden when graded)",
            edit=lambda nb: _import_answer(nb),
            shows={
                "distiller": "kdlib.tf.distiller is not available while a notebook is graded: it "
                "implements what this assignment grades"
            },
            lost={gid: "Distiller is not defined" for gid in TRAIN_CELLS},
        ),
    },
    # the comparison section trains for minutes (and needs kdlib.tf.train, hidden when graded)
    drop=("compare-intro", "train-teacher", "train-students", "results", "curves", "discussion"),
    cell_timeout=120,
    memory_mb=6144,
)


def _import_answer(nb) -> None:
    for cell in nb.cells:
        if cell.id == "distiller":
            cell.source = "from kdlib.tf.distiller import Distiller"

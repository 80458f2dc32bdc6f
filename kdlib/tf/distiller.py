"""A ``keras.Model`` that distils a frozen teacher into a student (used by kdlib.tf.train.distill).

In the spirit of the keras.io example ``examples/vision/knowledge_distillation.py``, but with
the course's loss contract (docs/architecture.md) — read the class docstring for the differences.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from kdlib import _validate as v
from kdlib import loops
from kdlib.tf.losses import kd_loss

__all__ = ["Distiller"]


class Distiller(keras.Model):
    """Train ``student`` on alpha · distillation_loss + (1 − alpha) · CE; ``teacher`` is frozen.

    Loss per batch (student logits s, teacher logits t, both (B, C); labels y (B,))::

        alpha · T² · mean_b KL(softmax(t_b/T) ‖ softmax(s_b/T))        over all B rows
        + (1 − alpha) · mean CE(s_b, y_b)          over labeled rows (y_b ≥ 0; 0 if none)

    **alpha weighs the soft (teacher) term.** The keras.io example's ``alpha`` weighs the hard
    (label) term, so its ``alpha=0.1`` is our ``alpha=0.9``.

    ``fit`` data, batched: ``(x, y)`` — the teacher runs on every batch (``training=False``);
    or ``((x, teacher_logits), y)`` — cached teacher logits (B, C) computed once beforehand;
    or ``({"x": x, "partner_y": y2, "lam": lam}, y)`` — an augmented view (kdlib.augment, used by
    ``distill(..., augment=)``): the teacher runs on that same view (function matching, no cache)
    and the hard term is ``lam · CE(y) + (1 − lam) · CE(y2)`` (mixup; lam (B,) repeats one value).
    Labels of -1 mark unlabeled inputs (they only feed the soft term). Only
    ``student.trainable_variables`` are updated: the constructor sets
    ``teacher.trainable = False`` (restore it yourself if you train the teacher again).
    ``evaluate`` reports the student's ``accuracy``; ``call(x)`` returns student logits.

    Keras 3 also ships ``keras.distillation`` (``Distiller`` + ``LogitsDistillation``). Its
    ``LogitsDistillation(temperature=T)`` with the default ``loss="kl_divergence"`` drops the
    T² factor (and the softmax); pass ``loss=keras.losses.KLDivergence()`` as an instance to
    get the intended loss — see docs/architecture.md.
    """

    def __init__(
        self,
        student: keras.Model,
        teacher: keras.Model,
        temperature: float = 4.0,
        alpha: float = 0.9,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.temperature = v.check_temperature(temperature)
        self.alpha = v.check_alpha(alpha)
        self.student = student
        self.teacher = teacher
        teacher.trainable = False
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.loss_tracker, self.accuracy_tracker]

    def call(self, x, training: bool = False) -> tf.Tensor:
        """Student logits (B, C) of features x (B, F); a cached ``(x, teacher_logits)`` is ok."""
        if isinstance(x, dict):
            x = x["x"]
        if isinstance(x, (tuple, list)):
            x = x[0]
        return self.student(x, training=training)

    def kd_loss(self, student_logits: tf.Tensor, teacher_logits: tf.Tensor, y: tf.Tensor):
        """Scalar loss of the class docstring: the contract's ``kd_loss(..., ignore_index=-1)``."""
        y = tf.reshape(tf.cast(y, tf.int64), [-1])
        return kd_loss(student_logits, teacher_logits, y, self.temperature, self.alpha, ignore_index=loops.UNLABELLED)

    def train_step(self, data) -> dict[str, tf.Tensor]:
        x, y = data[0], data[1]
        mix = None
        if isinstance(x, dict):  # an augmented view: (partner labels, lam) for mixup
            x, mix = x["x"], (x["partner_y"], x["lam"][0])
        if isinstance(x, (tuple, list)):  # cached teacher logits
            x, teacher_logits = x
        else:  # the teacher sees exactly the student's (augmented) batch
            teacher_logits = self.teacher(x, training=False)
        with tf.GradientTape() as tape:
            student_logits = self.student(x, training=True)
            loss = self.kd_loss(student_logits, teacher_logits, y)
            if mix is not None:
                partner_y, lam = mix
                loss = lam * loss + (1.0 - lam) * self.kd_loss(student_logits, teacher_logits, partner_y)
        variables = self.student.trainable_variables
        grads = tape.gradient(loss, variables)
        self.optimizer.apply_gradients(zip(grads, variables, strict=True))
        self.loss_tracker.update_state(loss, sample_weight=tf.shape(x)[0])
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data) -> dict[str, tf.Tensor]:
        x, y = data[0], data[1]
        self.accuracy_tracker.update_state(y, self(x, training=False))
        return {"accuracy": self.accuracy_tracker.result()}

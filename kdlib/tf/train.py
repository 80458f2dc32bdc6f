"""Training loops in TensorFlow / Keras 3: train from labels, distil from a frozen teacher.

Mirrors kdlib.torch.train (same function and argument names, defaults and error messages).
Inputs are NumPy arrays or tensors: features x (N, F) float32, labels y (N,) int64. Training
runs through ``model.fit`` on a seeded, shuffled ``tf.data`` pipeline with Keras' own output
off (``verbose=0``); a tqdm bar shows one tick per epoch instead.
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from kdlib import augment as aug
from kdlib import loops, options
from kdlib.history import History
from kdlib.tf.distiller import Distiller
from kdlib.tf.predict import _check_xy, evaluate, predict_logits, set_seed

__all__ = ["History", "distill", "evaluate", "fit", "predict_logits", "set_seed"]

#: Batches per traced call of the train function (fewer Python round-trips per epoch).
#: Measured on 2 shared CPU cores, MNIST-1D student: ≈0.12 s/epoch at 32 against ≈0.3 at 1.
STEPS_PER_EXECUTION = 32
#: XLA for the train step. Measured slower here: +6-10 s of compilation per fit and no faster
#: epochs for these small models, so it is off.
JIT_COMPILE = False


class AdamL2(keras.optimizers.Adam):
    """Adam with PyTorch's ``weight_decay``: L2 added to the gradient (g + wd·w), not AdamW.

    (Keras' own ``Adam(weight_decay=...)`` is the decoupled, AdamW-style decay.)
    """

    def __init__(self, l2: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.l2 = float(l2)

    def apply(self, grads, trainable_variables=None):
        if trainable_variables is not None and self.l2:
            trainable_variables = list(trainable_variables)
            grads = [
                g if g is None else g + self.l2 * tf.cast(w.value, g.dtype)
                for g, w in zip(grads, trainable_variables, strict=True)
            ]
        return super().apply(grads, trainable_variables)

    def get_config(self) -> dict:
        return {**super().get_config(), "l2": self.l2}


def _optimizer(lr: float, weight_decay: float) -> keras.optimizers.Optimizer:
    """Adam as torch.optim.Adam(lr, weight_decay): epsilon 1e-8 (Keras' default is 1e-7)."""
    if weight_decay:
        return AdamL2(l2=weight_decay, learning_rate=lr, epsilon=1e-8)
    return keras.optimizers.Adam(learning_rate=lr, epsilon=1e-8)


def _dataset(inputs, y: np.ndarray, batch_size: int, seed: int) -> tf.data.Dataset:
    """Shuffled (reshuffled every epoch, seeded) batches of (inputs, y)."""
    ds = tf.data.Dataset.from_tensor_slices((inputs, y))
    ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


class _EpochLog(keras.callbacks.Callback):
    """Fills a History (loss, val_accuracy, seconds) and ticks a tqdm bar at each epoch end."""

    def __init__(self, hist: History, model: keras.Model, x_val, y_val, bar) -> None:
        super().__init__()
        self.hist, self.net, self.x_val, self.y_val, self.bar = hist, model, x_val, y_val, bar
        self.t0 = 0.0

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        val = evaluate(self.net, self.x_val, self.y_val) if self.x_val is not None else None
        loops.record_epoch(self.hist, self.bar, float(logs["loss"]), time.perf_counter() - self.t0, val)


def _steps(n: int, batch_size: int) -> int:
    return max(1, min(STEPS_PER_EXECUTION, -(-n // batch_size)))


#: errors raised by an augmentation inside tf.data's generator, re-raised by :func:`_fit_views`
_AUGMENT_ERRORS: list[Exception] = []


def _fit_views(model: keras.Model, data, **kwargs) -> None:
    """``model.fit`` on :func:`_augmented_dataset` batches; the augmentation's own error if it fails."""
    _AUGMENT_ERRORS.clear()
    try:
        model.fit(data, shuffle=False, verbose=0, **kwargs)
    except Exception:  # InvalidArgumentError, or Keras' own error after the data ended early
        if _AUGMENT_ERRORS:
            raise _AUGMENT_ERRORS.pop() from None
        raise


def _augmented_dataset(xa: np.ndarray, ya: np.ndarray, augment, batch_size: int, seed: int, epochs: int):
    """``epochs`` epochs of augmented batches ``({"x", "partner_y", "lam"}, y)`` from a generator.

    Batch order ``rng.permutation`` and every augmentation drawn from
    ``numpy.random.default_rng(seed)``, in the same sequence as kdlib.torch.train (same views).
    ``partner_y`` (B,) are the mixup partners' labels (``y`` itself without mixup) and ``lam``
    (B,) repeats the batch's mixing weight (1 without mixup).
    """
    rng = np.random.default_rng(seed)

    def batches():
        for _ in range(epochs):
            order = rng.permutation(len(xa))
            for start in range(0, len(xa), batch_size):
                idx = order[start : start + batch_size]
                try:
                    view = aug.apply(augment, xa[idx], rng)
                except Exception as e:  # tf.data would hide it in an InvalidArgumentError
                    _AUGMENT_ERRORS.append(e)
                    raise
                yb = ya[idx]
                yp = yb if view.partner is None else yb[view.partner]
                lam = np.full(len(idx), view.lam, dtype=np.float32)
                yield {"x": view.x, "partner_y": yp, "lam": lam}, yb

    f = xa.shape[1]
    sig = (
        {
            "x": tf.TensorSpec((None, f), tf.float32),
            "partner_y": tf.TensorSpec((None,), tf.int64),
            "lam": tf.TensorSpec((None,), tf.float32),
        },
        tf.TensorSpec((None,), tf.int64),
    )
    return tf.data.Dataset.from_generator(batches, output_signature=sig).prefetch(2)


class _MixupCE(keras.Model):
    """Wraps a model for ``fit(..., augment=)``: CE, or lam · CE(y) + (1 − lam) · CE(partner_y)."""

    def __init__(self, model: keras.Model, label_smoothing: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.net = model
        self.ce = (
            _smoothed_ce(label_smoothing)
            if label_smoothing
            else keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.loss_tracker]

    def call(self, x, training: bool = False):
        return self.net(x["x"] if isinstance(x, dict) else x, training=training)

    def train_step(self, data):
        x, y = data
        lam = x["lam"][0]
        with tf.GradientTape() as tape:
            out = self.net(x["x"], training=True)
            loss = lam * self.ce(y, out) + (1.0 - lam) * self.ce(x["partner_y"], out)
        variables = self.net.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        self.loss_tracker.update_state(loss, sample_weight=tf.shape(y)[0])
        return {"loss": self.loss_tracker.result()}


def _fit_augmented(model: keras.Model, xa: np.ndarray, ya: np.ndarray, opts: options.Options) -> History:
    """``fit`` with ``opts.augment``: a :class:`_MixupCE` on the augmented batches."""
    wrapper = _MixupCE(model, opts.label_smoothing)
    wrapper.compile(
        optimizer=_optimizer(opts.lr, opts.weight_decay), steps_per_execution=_steps(len(xa), opts.batch_size)
    )
    hist = History()
    with loops.epoch_bar(opts.epochs, opts.desc, opts.progress) as bar:
        _fit_views(
            wrapper,
            _augmented_dataset(xa, ya, opts.augment, opts.batch_size, opts.seed, opts.epochs),
            epochs=opts.epochs,
            steps_per_epoch=-(-len(xa) // opts.batch_size),
            callbacks=[_EpochLog(hist, model, opts.x_val, opts.y_val, bar)],
        )
    return hist


def _smoothed_ce(label_smoothing: float):
    """Keras loss (y (B,) int, logits (B, C)): CE against (1 − ε)·onehot(y) + ε/C, torch's label_smoothing."""

    def loss(y_true, logits):
        onehot = tf.one_hot(tf.cast(tf.reshape(y_true, [-1]), tf.int32), tf.shape(logits)[-1], dtype=logits.dtype)
        return keras.losses.categorical_crossentropy(onehot, logits, from_logits=True, label_smoothing=label_smoothing)

    return loss


@options.takes(*options.FIT, desc="fit")
def fit(model: keras.Model, x, y, *, opts: options.Options) -> History:
    """Train ``model`` on labels with cross-entropy and Adam; returns the per-epoch History.

    Recompiles ``model`` (fresh Adam state), like PyTorch's ``fit`` makes a new optimizer.
    ``label_smoothing`` ε: the targets are (1 − ε)·onehot(y) + ε/C, as in kdlib.torch's ``fit``.
    ``augment`` (a :mod:`kdlib.augment` callable): every batch is augmented once, drawn from
    ``numpy.random.default_rng(seed)`` (batch order too, the same views as kdlib.torch); after
    mixup the loss is lam · CE(y) + (1 − lam) · CE(y_partner). The fair control for
    ``distill(..., augment=)``. The options are those of :class:`kdlib.options.Options` (checked there).
    """
    xa, ya = _check_xy(x, y)
    set_seed(opts.seed)
    if opts.augment is not None:
        return _fit_augmented(model, xa, ya, opts)
    eps = opts.label_smoothing
    model.compile(
        optimizer=_optimizer(opts.lr, opts.weight_decay),
        loss=_smoothed_ce(eps) if eps else keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        steps_per_execution=_steps(len(xa), opts.batch_size),
        jit_compile=JIT_COMPILE,
    )
    hist = History()
    with loops.epoch_bar(opts.epochs, opts.desc, opts.progress) as bar:
        model.fit(
            _dataset(xa, ya, opts.batch_size, opts.seed),
            epochs=opts.epochs,
            shuffle=False,  # the tf.data pipeline shuffles, seeded
            verbose=0,
            callbacks=[_EpochLog(hist, model, opts.x_val, opts.y_val, bar)],
        )
    return hist


@options.takes(*options.DISTILL, desc="distill")
def distill(
    student: keras.Model, teacher: keras.Model, x, y=None, *, x_unlabeled=None, opts: options.Options
) -> History:
    """Distil ``student`` from a frozen ``teacher`` on the transfer set x (+ x_unlabeled).

    Loss per batch = alpha · distillation_loss(all inputs) + (1 − alpha) · CE(labeled inputs).
    With ``y=None`` every input is unlabeled and the loss is the soft term alone.
    Runs a :class:`~kdlib.tf.distiller.Distiller`: the teacher is called with
    ``training=False``, set ``trainable=False`` (restored afterwards) and never stepped. Its
    logits are computed once for the whole transfer set when ``cache_teacher`` (the default),
    else every batch (same result for a deterministic teacher, slower).

    ``augment`` makes it function matching: the teacher sees the student's augmented view of every
    batch (no cache). The options, ``augment`` among them: :class:`kdlib.options.Options`.
    """
    xa, ya = loops.transfer_set(x, y, x_unlabeled)
    # with augment a fresh view every batch: the teacher must see it (no cache)
    cache = opts.cache_teacher and opts.augment is None

    set_seed(opts.seed)
    teacher_trainable = teacher.trainable
    hist = History()
    try:
        distiller = Distiller(student, teacher, temperature=opts.temperature, alpha=opts.alpha)
        inputs = (xa, predict_logits(teacher, xa)) if cache else xa
        distiller.compile(
            optimizer=_optimizer(opts.lr, opts.weight_decay),
            steps_per_execution=_steps(len(xa), opts.batch_size),
            jit_compile=JIT_COMPILE,
        )
        with loops.epoch_bar(opts.epochs, opts.desc, opts.progress) as bar:
            log = _EpochLog(hist, student, opts.x_val, opts.y_val, bar)
            if opts.augment is None:
                distiller.fit(
                    _dataset(inputs, ya, opts.batch_size, opts.seed),
                    epochs=opts.epochs,
                    shuffle=False,  # the tf.data pipeline shuffles, seeded
                    verbose=0,
                    callbacks=[log],
                )
            else:  # the Distiller's {"x", "partner_y", "lam"} batches: the teacher runs on the same view
                views = _augmented_dataset(xa, ya, opts.augment, opts.batch_size, opts.seed, opts.epochs)
                steps = -(-len(xa) // opts.batch_size)
                _fit_views(distiller, views, epochs=opts.epochs, steps_per_epoch=steps, callbacks=[log])
    finally:
        teacher.trainable = teacher_trainable
    return hist

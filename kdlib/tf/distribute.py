"""Distillation under ``tf.distribute``: a Keras student from a frozen teacher on several replicas.

    from kdlib.tf import distribute
    strategy = distribute.cpu_strategy(2)     # FIRST TF call of the process: 2 logical CPUs
    with strategy.scope():                    # (optional: distill clones the student in scope)
        student = build_model("student", 40, 10, seed=0)
    distribute.distill(student, teacher, x, y, strategy=strategy, batch_size=64)   # 2 x 32

**The loss is scaled by the GLOBAL batch.** ``strategy.run`` runs ``train_step`` once per replica
on its slice of the global batch, and ``optimizer.apply_gradients`` SUMS the replicas' gradients
(an all-reduce). So each replica must return its share of the global loss, Σ_local ℓ_i / B_global
(``tf.nn.compute_average_loss(per_example, global_batch_size=B_global)``), not its local mean:
local means summed over N replicas give N × the gradient. :class:`DistributedDistiller` does this
for the contract's ``kd_loss(..., ignore_index=-1)`` — the soft term is divided by the global
batch size and the hard term by the global number of *labelled* rows (both all-reduced every
step, so an uneven last batch and a labelled/unlabelled mix stay exact). The reported loss is the
all-reduced global loss. ``scale_by_global_batch=False`` keeps the local means — the pitfall, for
demonstration (with Adam it barely shows: Adam divides the N× out up to its epsilon; with SGD the
step is N× too large). Keras' own ``keras.losses.Loss`` objects divide by the number of replicas
(``scale_loss_for_distribution``), so a custom ``train_step`` that reports such a loss (the keras.io
KD example under ``MirroredStrategy``) prints 1/N of the true loss.

Every variable lives under ``strategy.scope()``: the student (cloned into the scope, with its
weights, if it was built outside; the trained weights are copied back), the optimizer and the
:class:`DistributedDistiller`. The teacher is frozen (``trainable=False``); its logits are cached
once for the transfer set (``cache_teacher=True``, the default: they travel with the inputs and are
split with them) or computed per replica on the replica's slice (a frozen copy made in the scope).

``batch_size`` is the GLOBAL batch, as in :func:`kdlib.tf.train.distill`: with N replicas each
sees ``batch_size // N`` rows per step, so 2 replicas × b match 1 process with batch 2b (the
same seeded shuffle, the same steps; ``tests/library/test_distribute_tf.py`` checks the weights,
also for 2 MultiWorkerMirroredStrategy processes). The first epoch visits the rows in the order of
``kdlib.tf.train.distill`` with the same seed (same student after one epoch); later epochs use
the seed's next permutations (Keras' own ``fit`` opens two iterators per epoch and so skips every
other one). Training runs the Distiller's ``train_step`` in our own traced loop (one call per
epoch) rather than ``Distiller.fit``: Keras 3's ``fit`` fails under MultiWorkerMirroredStrategy
(keras-team/keras#20585, still so in Keras 3.15) and, under any strategy, first draws one batch to
build the model, which shifts a reshuffling ``tf.data`` pipeline by one epoch.

**Several machines: MultiWorkerMirroredStrategy.** Run the same script on every worker, each with
its own ``TF_CONFIG`` set before TensorFlow starts, e.g. on worker 1 of 2::

    TF_CONFIG='{"cluster": {"worker": ["host0:12345", "host1:12345"]}, "task": {"type": "worker", "index": 1}}'

and build ``tf.distribute.MultiWorkerMirroredStrategy()`` (instead of :func:`cpu_strategy`) as the
first TensorFlow call. What changes: the all-reduce runs as collective ops between processes
(gRPC; NCCL between GPUs); ``batch_size`` is still the global batch over ALL replicas of ALL
workers; the dataset is sharded by ``AutoShardPolicy.DATA`` (set here: every worker builds the same
seeded pipeline and keeps its slice of each batch — ``FILE`` sharding cannot split in-memory
arrays); every worker must run every step — a worker that dies is noticed by TensorFlow's
coordination service (missed heartbeats) and the others stop with ``UnavailableError: ... The
following tasks are unhealthy ... /job:worker/replica:0/task:1 ... The tasks have crashed`` (≈20 s
here) rather than hang; still launch workers under a supervisor with a timeout. Only the chief
(task 0) shows a progress bar and should write checkpoints, though Keras' ``model.save`` must be
called on all workers (non-chiefs to a temporary path). The loss code is unchanged:
``all_reduce`` and ``apply_gradients`` work across workers the same way. Tested here with two
worker processes on localhost, one CPU replica each.
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from kdlib import _validate as v
from kdlib import loops, options
from kdlib.history import History
from kdlib.tf.distiller import Distiller
from kdlib.tf.losses import _check_labels
from kdlib.tf.predict import evaluate, predict_logits, set_seed
from kdlib.tf.train import _optimizer

__all__ = ["DistributedDistiller", "cpu_strategy", "distill", "global_batch_loss", "replica_loss"]

OPTIMIZERS = ("adam", "sgd")


def _check_positive_int(name: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def cpu_strategy(num_replicas: int = 2) -> tf.distribute.MirroredStrategy:
    """A ``MirroredStrategy`` over ``num_replicas`` logical CPU devices of this one physical CPU.

    Splitting the CPU (``tf.config.set_logical_device_configuration``) must happen before
    TensorFlow initialises its devices — before any op, tensor, model or ``predict_logits`` of the
    process. Called later, it works only if the devices were already split into at least
    ``num_replicas`` (e.g. a second call); otherwise ``RuntimeError`` says what to do. One
    replica needs no split. The replicas share the machine's cores (no speed-up is promised: see
    ``benchmarks/tf_distribute_scaling.py``); on GPUs use ``tf.distribute.MirroredStrategy()``.
    """
    n = _check_positive_int("num_replicas", num_replicas)
    if n > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]  # physical: does not initialise devices
        configured = tf.config.get_logical_device_configuration(cpu) or []
        if len(configured) < n:
            try:
                tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
            except RuntimeError:
                have = len(tf.config.list_logical_devices("CPU"))
                if have < n:
                    raise RuntimeError(
                        f"cpu_strategy({n}) needs {n} logical CPU devices, but TensorFlow already initialised "
                        f"its devices with {have}: call cpu_strategy first in a fresh process, before any "
                        "other TensorFlow call (logical devices are fixed for the life of a process)"
                    ) from None
    devices = [f"/cpu:{i}" for i in range(n)]
    return tf.distribute.MirroredStrategy(devices=devices, cross_device_ops=tf.distribute.ReductionToOneDevice())


def replica_loss(
    student_logits: tf.Tensor,
    teacher_logits: tf.Tensor,
    labels: tf.Tensor,
    global_batch: tf.Tensor,
    global_labelled: tf.Tensor,
    temperature: float = 4.0,
    alpha: float = 0.9,
) -> tf.Tensor:
    """One replica's share of the global ``kd_loss(..., ignore_index=-1)``; () scalar.

    Logits (b, C) and labels (b,) of this replica's slice; ``global_batch`` (B) and
    ``global_labelled`` (rows with label ≥ 0) are counts over the whole global batch::

        alpha · T² · Σ_local KL(p_t ‖ p_s) / B  +  (1 − alpha) · Σ_local,labelled CE / max(labelled, 1)

    Summed over replicas this is exactly the single-process loss of the global batch.
    """
    t = v.check_temperature(temperature)
    a = v.check_alpha(alpha)
    s = tf.convert_to_tensor(student_logits)
    te = tf.stop_gradient(tf.cast(teacher_logits, s.dtype))
    y = _check_labels(labels, s, loops.UNLABELLED)
    tt = tf.constant(t, s.dtype)
    log_q = tf.nn.log_softmax(s / tt, axis=-1)
    log_p = tf.nn.log_softmax(te / tt, axis=-1)
    kl = tf.reduce_sum(tf.exp(log_p) * (log_p - log_q), axis=-1) * (tt * tt)  # (b,)
    keep = tf.cast(y != loops.UNLABELLED, s.dtype)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.maximum(y, 0), logits=s) * keep  # (b,)
    soft = tf.nn.compute_average_loss(kl, global_batch_size=tf.cast(global_batch, tf.int64))
    hard = tf.math.divide_no_nan(tf.reduce_sum(ce), tf.cast(global_labelled, s.dtype))
    return tf.constant(a, s.dtype) * soft + tf.constant(1.0 - a, s.dtype) * hard


def _global_counts(y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(rows, labelled rows) of the global batch: this replica's counts all-reduced (SUM)."""
    local = tf.stack([tf.cast(tf.size(y), tf.float32), tf.reduce_sum(tf.cast(y != loops.UNLABELLED, tf.float32))])
    ctx = tf.distribute.get_replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        local = ctx.all_reduce(tf.distribute.ReduceOp.SUM, local)
    return local[0], local[1]


class DistributedDistiller(Distiller):
    """The :class:`~kdlib.tf.distiller.Distiller` with the loss scaled by the global batch.

    Data: ``((x, teacher_logits), y)`` (cached logits) or ``(x, y)`` (the teacher runs on each
    replica's slice). Build it, its student and its optimizer under ``strategy.scope()``.
    ``scale_by_global_batch=False`` differentiates each replica's local mean instead (the
    pitfall: N× the gradient after the all-reduce); the reported loss is the global one either way.
    """

    def __init__(self, *args, scale_by_global_batch: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.scale_by_global_batch = _check_scale(scale_by_global_batch)

    def replica_loss(self, student_logits, teacher_logits, y, rows, labelled) -> tuple[tf.Tensor, tf.Tensor]:
        """(loss to differentiate on this replica, global loss to report); rows/labelled: global counts."""
        t, a = self.temperature, self.alpha
        share = replica_loss(student_logits, teacher_logits, y, rows, labelled, t, a)
        ctx = tf.distribute.get_replica_context()
        n = ctx.num_replicas_in_sync if ctx is not None else 1
        total = ctx.all_reduce(tf.distribute.ReduceOp.SUM, tf.stop_gradient(share)) if n > 1 else share
        if self.scale_by_global_batch:
            return share, total
        return _local_mean(student_logits, teacher_logits, y, t, a), total

    def train_step(self, data) -> dict[str, tf.Tensor]:
        x, y = data[0], data[1]
        if isinstance(x, (tuple, list)):  # cached teacher logits, split with the inputs
            x, teacher_logits = x
        else:  # the frozen teacher on this replica's slice
            teacher_logits = self.teacher(x, training=False)
        y = tf.reshape(tf.cast(y, tf.int64), [-1])
        rows, labelled = _global_counts(y)  # one all-reduce of two numbers
        with tf.GradientTape() as tape:
            student_logits = self.student(x, training=True)
            loss, total = self.replica_loss(student_logits, teacher_logits, y, rows, labelled)
        variables = self.student.trainable_variables
        grads = tape.gradient(loss, variables)
        self.optimizer.apply_gradients(zip(grads, variables, strict=True))  # SUM over replicas
        self.loss_tracker.update_state(total, sample_weight=rows)  # every replica: the same global value
        return {"loss": self.loss_tracker.result()}


def _in_scope(strategy: tf.distribute.Strategy, model: keras.Model) -> bool:
    """True if every variable of ``model`` was created under ``strategy.scope()``."""
    return all(strategy.extended.variable_created_in_scope(getattr(w, "value", w)) for w in model.variables)


def _clone_in_scope(strategy: tf.distribute.Strategy, model: keras.Model, name: str) -> keras.Model:
    """A copy of ``model`` (same architecture and weights) whose variables live in ``strategy.scope()``."""
    try:
        with strategy.scope():
            copy = keras.models.clone_model(model)
    except (TypeError, ValueError, NotImplementedError) as e:  # subclassed models cannot be cloned
        raise ValueError(
            f"{name} was built outside strategy.scope() and cannot be cloned into it ({e}); "
            f"build {name} under `with strategy.scope():`"
        ) from e
    copy.set_weights(model.get_weights())
    return copy


def _epoch_orders(n: int, epochs: int, seed: int) -> np.ndarray:
    """(epochs, n) int64: the row order of every epoch, drawn once from the seed.

    The same permutations as :func:`kdlib.tf.train._dataset` yields to successive iterators, so the
    first epoch matches ``kdlib.tf.train.distill``. Materialised so that one iterator can run all
    epochs and every worker of a cluster builds the same batches.
    """
    idx = tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=True).batch(n)
    return np.stack([next(iter(idx)).numpy() for _ in range(epochs)])


def _distributed_dataset(inputs, y: np.ndarray, batch_size: int, seed: int, epochs: int) -> tf.data.Dataset:
    """All epochs of global batches of (inputs, y), in kdlib.tf.train._dataset's seeded order; DATA sharding.

    Batches never straddle two epochs: each epoch is ``ceil(N / batch_size)`` batches, the last one short.
    """
    arrays = (inputs, y)
    orders = tf.data.Dataset.from_tensor_slices(_epoch_orders(len(y), epochs, seed))
    ds = orders.flat_map(lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size))
    ds = ds.map(lambda rows: tf.nest.map_structure(lambda a: tf.gather(a, rows), arrays))
    opts = tf.data.Options()
    opts.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(opts).prefetch(tf.data.AUTOTUNE)


def _epoch_function(strategy: tf.distribute.Strategy, distiller: DistributedDistiller, steps: int):
    """A traced function: ``steps`` train steps on every replica from a distributed iterator; the epoch's loss.

    Our own loop rather than ``Distiller.fit``: Keras 3's ``fit`` fails under
    ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585: its model-building peek reduces the
    first batch, a nest of PerReplica values) and, under any strategy, draws that extra batch.
    """

    @tf.function
    def run(iterator) -> tf.Tensor:
        for _ in tf.range(steps):
            strategy.run(distiller.train_step, args=(next(iterator),))
        return distiller.loss_tracker.result()  # read across replicas: the epoch's global mean loss

    return run


def _is_chief(strategy: tf.distribute.Strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    task_id = getattr(resolver, "task_id", None) if resolver is not None else None
    return task_id in (None, 0)


def _check_scale(scale_by_global_batch) -> bool:
    if not isinstance(scale_by_global_batch, bool):
        raise ValueError(f"scale_by_global_batch must be True or False, got {scale_by_global_batch!r}")
    return scale_by_global_batch


def _check_strategy(strategy) -> tf.distribute.Strategy:
    if not isinstance(strategy, tf.distribute.Strategy):
        raise ValueError(f"strategy must be a tf.distribute.Strategy (e.g. cpu_strategy(2)), got {strategy!r}")
    return strategy


@options.takes(*options.DISTRIBUTED, desc="distill (distributed)")
def distill(
    student: keras.Model,
    teacher: keras.Model,
    x,
    y=None,
    *,
    strategy: tf.distribute.Strategy,
    x_unlabeled=None,
    opts: options.Options,
    optimizer: str = "adam",
    scale_by_global_batch: bool = True,
) -> History:
    """:func:`kdlib.tf.train.distill` on the replicas of ``strategy``; ``student`` is updated in place.

    Same arguments and meaning (x (N, F) float32, y (N,) int64 or None, x_unlabeled (M, F); the
    options of :class:`kdlib.options.Options` but ``augment``), plus ``strategy`` (a
    ``tf.distribute.Strategy``), ``optimizer`` ("adam", the kit's default, or "sgd") and
    ``scale_by_global_batch`` (False: the pitfall, see the module docstring). ``batch_size`` is
    the global batch and must be a multiple of the number of replicas. Returns the per-epoch
    History (global loss; validation accuracy if x_val).
    """
    strategy = _check_strategy(strategy)
    batch_size, epochs, seed = opts.batch_size, opts.epochs, opts.seed
    n = strategy.num_replicas_in_sync
    if batch_size % n:
        raise ValueError(
            f"batch_size must be a multiple of the {n} replicas (it is the global batch), got {batch_size}"
        )
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {optimizer!r}")
    _check_scale(scale_by_global_batch)
    xa, ya = loops.transfer_set(x, y, x_unlabeled)

    set_seed(seed)
    teacher_trainable = teacher.trainable
    teacher.trainable = False
    hist = History()
    steps = -(-len(ya) // batch_size)  # per epoch
    try:
        inputs = (xa, predict_logits(teacher, xa)) if opts.cache_teacher else xa
        in_scope = _in_scope(strategy, student)
        net = student if in_scope else _clone_in_scope(strategy, student, "student")
        frozen = (
            teacher
            if opts.cache_teacher or _in_scope(strategy, teacher)
            else _clone_in_scope(strategy, teacher, "teacher")
        )
        with strategy.scope():
            sgd = optimizer == "sgd"
            opt = keras.optimizers.SGD(learning_rate=opts.lr) if sgd else _optimizer(opts.lr, opts.weight_decay)
            t, a = opts.temperature, opts.alpha
            distiller = DistributedDistiller(
                net, frozen, temperature=t, alpha=a, scale_by_global_batch=scale_by_global_batch
            )
            distiller.compile(optimizer=opt)
            opt.build(net.trainable_variables)  # slots made here, not inside the replicas
        frozen.trainable = False
        data = strategy.experimental_distribute_dataset(_distributed_dataset(inputs, ya, batch_size, seed, epochs))
        batches = iter(data)
        epoch_fn = _epoch_function(strategy, distiller, steps)
        show = opts.progress if _is_chief(strategy) else False
        with loops.epoch_bar(epochs, opts.desc, show) as bar:
            for _ in range(epochs):
                t0 = time.perf_counter()
                distiller.loss_tracker.reset_state()
                loss = float(epoch_fn(batches))
                val = evaluate(net, opts.x_val, opts.y_val) if opts.x_val is not None else None
                loops.record_epoch(hist, bar, loss, time.perf_counter() - t0, val)
        if not in_scope:
            student.set_weights(net.get_weights())
    finally:
        teacher.trainable = teacher_trainable
    return hist


def global_batch_loss(
    strategy: tf.distribute.Strategy,
    student: keras.Model,
    x,
    teacher_logits,
    y,
    temperature: float = 4.0,
    alpha: float = 0.9,
    scale_by_global_batch: bool = True,
) -> float:
    """The loss the optimizer differentiates for ONE global batch x (B, F), summed over the replicas.

    Each replica gets its slice of (x, teacher_logits (B, C), y (B,), -1 = unlabelled) and returns
    :func:`replica_loss` (``scale_by_global_batch=True``: the sum is the single-process
    ``kd_loss(..., ignore_index=-1)`` of the batch) or its local mean (False: the sum is ≈ N ×
    that, and not even proportional to it when the slices differ in size or labelled rows).
    """
    strategy = _check_strategy(strategy)
    t = v.check_temperature(temperature)
    a = v.check_alpha(alpha)
    _check_scale(scale_by_global_batch)
    xa, ya = loops.transfer_set(x, y, None)
    ta = np.asarray(teacher_logits, dtype=np.float32)
    if ta.shape[:1] != xa.shape[:1]:
        raise ValueError(f"teacher_logits must have {len(xa)} rows like x, got shape {ta.shape}")
    ds = tf.data.Dataset.from_tensor_slices(((xa, ta), ya)).batch(len(xa))
    batch = next(iter(strategy.experimental_distribute_dataset(ds)))

    def step(data):
        (xb, tb), yb = data
        s = student(xb, training=False)
        if scale_by_global_batch:
            rows, labelled = _global_counts(yb)
            return replica_loss(s, tb, yb, rows, labelled, t, a)
        return _local_mean(s, tb, yb, t, a)

    per_replica = strategy.run(tf.function(step), args=(batch,))
    return float(strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None))


def _local_mean(s: tf.Tensor, t: tf.Tensor, y: tf.Tensor, temperature: float, alpha: float) -> tf.Tensor:
    """The contract's ``kd_loss(..., ignore_index=-1)`` of this replica's slice alone (the pitfall)."""
    rows, labelled = tf.cast(tf.size(y), tf.float32), tf.reduce_sum(tf.cast(y != loops.UNLABELLED, tf.float32))
    return replica_loss(s, t, y, rows, labelled, temperature, alpha)

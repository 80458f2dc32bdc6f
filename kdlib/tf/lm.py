"""Distilling a tiny causal language model in TensorFlow / Keras 3 (chapter 12; mirrors kdlib.torch.lm).

The functions, the token conventions and what the two sides share: :mod:`kdlib.lm_common`.
``TinyLM`` is a function returning a ``keras.Sequential`` (the Keras idiom) where PyTorch has a
class, with the same layers and parameter count (GRU with ``reset_after=True``: two bias vectors,
like PyTorch).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from kdlib import _validate as v
from kdlib import lm_common
from kdlib import reference as ref
from kdlib.grammar import PAD
from kdlib.loops import epoch_bar

__all__ = list(lm_common.NAMES)

#: size name -> (embedding dim, GRU hidden units)
LM_SIZES = ref.LM_SIZES


def TinyLM(vocab_size: int, embed_dim: int, hidden: int) -> keras.Model:  # noqa: N802
    """Embedding -> one GRU layer -> dense head: tokens (B, L) int -> logits (B, L, V)."""
    return keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(vocab_size, embed_dim),
            keras.layers.GRU(hidden, return_sequences=True, reset_after=True),
            keras.layers.Dense(vocab_size),
        ],
        name="tiny_lm",
    )


def build_lm(size: str, vocab_size: int, seed: int = 0) -> keras.Model:
    """A :func:`TinyLM` of size ``"teacher"`` or ``"student"`` (:data:`LM_SIZES`), seeded."""
    embed_dim, hidden = ref._check_lm_size(size, vocab_size)
    keras.utils.set_random_seed(seed)
    return TinyLM(vocab_size, embed_dim, hidden)


def _split(tokens) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = ref._check_tokens(tokens)
    return x[:, :-1].astype(np.int32), x[:, 1:].astype(np.int32), x[:, 1:] != PAD


def _check_lm_logits(name: str, x) -> tf.Tensor:
    x = tf.convert_to_tensor(x)
    if not x.dtype.is_floating:
        x = tf.cast(x, tf.float32)
    ref._check_lm_logits_shape(name, tuple(x.shape))
    v.check_finite(name, bool(tf.reduce_all(tf.math.is_finite(x))))
    return x


def _mask(mask, shape: tuple[int, int], dtype) -> tf.Tensor:
    if mask is None:
        return tf.ones(shape, dtype)
    m = tf.convert_to_tensor(mask)
    ref._check_mask(tuple(m.shape), shape, bool(tf.reduce_any(tf.not_equal(m, tf.zeros_like(m)))))
    return tf.cast(tf.not_equal(m, tf.zeros_like(m)), dtype)


def token_kl(
    student_logits: tf.Tensor,
    teacher_logits: tf.Tensor,
    mask: tf.Tensor | None = None,
    kind: str = "forward",
    temperature: float = 1.0,
) -> tf.Tensor:
    """Token-level KD loss: T² · masked mean over positions of a KL between softened next-token laws.

    ``kind="forward"``: KL(p_t ‖ p_s) (mode-covering); ``"reverse"``: KL(p_s ‖ p_t) (mode-seeking).
    Logits (B, L, V); ``mask`` (B, L), True/1 where the target is a real token. Scalar; teacher
    wrapped in ``tf.stop_gradient``.
    """
    t = v.check_temperature(temperature)
    kind = ref._check_kind(kind)
    s = _check_lm_logits("student_logits", student_logits)
    te = _check_lm_logits("teacher_logits", teacher_logits)
    ref._check_lm_pair(tuple(s.shape), tuple(te.shape))
    return _token_kl(s, te, _mask(mask, tuple(s.shape[:2]), s.dtype), kind, t)


def _token_kl(s, te, m, kind: str, t: float) -> tf.Tensor:
    """token_kl without the checks (traced inside the training step); m float (B, L)."""
    m = tf.cast(m, s.dtype)
    log_q = tf.nn.log_softmax(s / t, axis=-1)
    log_p = tf.nn.log_softmax(tf.stop_gradient(tf.cast(te, s.dtype)) / t, axis=-1)
    a, b = (log_p, log_q) if kind == "forward" else (log_q, log_p)
    kl = tf.reduce_sum(tf.exp(a) * (a - b), axis=-1)
    return tf.reduce_sum(kl * m) / tf.reduce_sum(m) * (t * t)


def topk_kl(
    student_logits: tf.Tensor,
    topk_values: tf.Tensor,
    topk_indices: tf.Tensor,
    mask: tf.Tensor | None = None,
    temperature: float = 1.0,
) -> tf.Tensor:
    """Forward KD from a top-k cache: T² · masked mean of KL(p̃_t ‖ p_s), p̃_t = softmax(values / T)
    over the k cached tokens, p_s the student's full softmax. values (B, L, k), indices (B, L, k)."""
    t = v.check_temperature(temperature)
    s = _check_lm_logits("student_logits", student_logits)
    vals = tf.cast(_check_lm_logits("topk_values", topk_values), s.dtype)
    idx = tf.convert_to_tensor(topk_indices)
    is_int = idx.dtype.is_integer
    rng = (
        (is_int, int(tf.reduce_min(idx)), int(tf.reduce_max(idx)))
        if is_int and idx.shape.num_elements()
        else (is_int, None, None)
    )
    ref._check_topk(tuple(s.shape), tuple(vals.shape), tuple(idx.shape), rng)
    return _topk_kl(s, vals, idx, _mask(mask, tuple(s.shape[:2]), s.dtype), t)


def _topk_kl(s, vals, idx, m, t: float) -> tf.Tensor:
    """topk_kl without the checks (traced inside the training step)."""
    m = tf.cast(m, s.dtype)
    log_q = tf.gather(tf.nn.log_softmax(s / t, axis=-1), tf.cast(idx, tf.int32), batch_dims=2)
    log_p = tf.nn.log_softmax(tf.stop_gradient(tf.cast(vals, s.dtype)) / t, axis=-1)
    kl = tf.reduce_sum(tf.exp(log_p) * (log_p - log_q), axis=-1)
    return tf.reduce_sum(kl * m) / tf.reduce_sum(m) * (t * t)


def _logits(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    return np.concatenate(
        [model(x[i : i + batch_size].astype(np.int32), training=False).numpy() for i in range(0, len(x), batch_size)]
    )


def lm_log_probs(model: keras.Model, tokens, temperature: float = 1.0) -> np.ndarray:
    """log softmax(model(tokens[:, :-1]) / T) as NumPy float64 (N, L-1, V)."""
    t = v.check_temperature(temperature)
    x, _, _ = _split(tokens)
    return ref.log_softmax(_logits(model, x).astype(np.float64), t)


def topk_cache(teacher: keras.Model, tokens, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The teacher's k largest logits at every position, stored once: float32 values and int16
    indices, each (N, L-1, k). A full cache holds float32 (N, L-1, V)."""
    x, _, _ = _split(tokens)
    z = _logits(teacher, x)
    k = ref._check_k(k, z.shape[-1])
    vals, idx = tf.math.top_k(z, k)
    return vals.numpy().astype(np.float32), idx.numpy().astype(np.int16)


def _loop(model, loss_of, arrays, opts, desc: str, traced: bool = True) -> list[float]:
    """Adam on ``loss_of(*batch)`` over shuffled mini-batches of ``arrays``; mean loss per epoch.

    ``traced``: the step runs as a ``tf.function`` (kdlib's own losses); a learner's ``loss_fn``
    runs eagerly, so its argument checks may look at values.
    """
    opt = keras.optimizers.Adam(learning_rate=opts.lr, epsilon=1e-8)
    rng = np.random.default_rng(opts.seed)
    n = len(arrays[0])

    def step(*batch):
        with tf.GradientTape() as tape:
            loss = loss_of(*batch)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply(grads, model.trainable_variables)
        return loss

    if traced:
        step = tf.function(step, reduce_retracing=True)

    history = []
    bar = epoch_bar(opts.epochs, desc, opts.progress)
    for _ in range(opts.epochs):
        total = 0.0
        for idx in np.array_split(rng.permutation(n), max(1, -(-n // opts.batch_size))):
            loss = step(*(tf.convert_to_tensor(a[idx]) for a in arrays))
            total += float(loss) * len(idx)
        history.append(total / n)
        bar.update(1)
    bar.close()
    return history


@lm_common.loop_options
def train_lm(model: keras.Model, tokens, opts) -> list[float]:
    """Adam on the masked next-token cross-entropy of ``tokens`` (N, L); mean loss per epoch.

    Sequence-level KD (Kim & Rush 2016) is this function on the teacher's samples (:func:`sample_lm`).
    """
    x, y, m = _split(tokens)

    def loss_of(xb, yb, mb):
        logits = model(xb, training=True)
        ce = keras.losses.sparse_categorical_crossentropy(yb, logits, from_logits=True)
        mb = tf.cast(mb, ce.dtype)
        return tf.reduce_sum(ce * mb) / tf.reduce_sum(mb)

    return _loop(model, loss_of, (x, y, m), opts, "train_lm")


def _distill_lm(
    student: keras.Model, teacher: keras.Model, tokens, kind: str, t: float, top_k, loss_fn, opts
) -> list[float]:
    """``distill_lm`` on this side, its arguments checked (:func:`kdlib.lm_common.distiller`)."""
    x, _, m = _split(tokens)
    teacher.trainable = False
    if top_k is not None:
        vals, idx = topk_cache(teacher, tokens, top_k)
        idx = idx.astype(np.int32)

        # two differently named closures: AutoGraph reads a function's source by name and, given two
        # `loss_of` in one function, warned "closure mismatch" and ran the top-k step untraced
        def loss_topk(xb, vb, ib, mb):
            return _topk_kl(student(xb, training=True), vb, ib, mb, t)

        loss_of, arrays = loss_topk, (x, vals, idx, m)
    else:
        cache = _logits(teacher, x)
        fn = loss_fn or (lambda s, te, mask, temp: _token_kl(s, te, mask, kind, temp))

        def loss_full(xb, tb, mb):
            return fn(student(xb, training=True), tb, mb, t)

        loss_of, arrays = loss_full, (x, cache, m)
    return _loop(student, loss_of, arrays, opts, f"distill_lm {kind}", traced=loss_fn is None)


#: token-level KD of ``student`` from ``teacher`` on ``tokens`` (N, L) (:func:`kdlib.lm_common.distiller`)
distill_lm = lm_common.distiller(_distill_lm)
#: ``n`` sequences from the model, int64 (n, max_len + 2): :func:`kdlib.lm_common.sampler`
sample_lm = lm_common.sampler(lambda model, prefix: _logits(model, prefix)[:, -1].astype(np.float64))

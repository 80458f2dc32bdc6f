"""kdlib.tf training, what only TensorFlow has: the Distiller, Keras models, Adam's L2.

The training contract both frameworks share is tests/library/test_train_contract.py.

Small synthetic data so the whole file stays well under a minute on 2 CPU cores.
"""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
kdtf = pytest.importorskip("kdlib.tf")

pytestmark = pytest.mark.slow

N, F, C = 256, 12, 3


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, F)).astype(np.float32)
    w = rng.normal(size=(F, C))
    y = (x @ w).argmax(1).astype(np.int64)  # a learnable linear rule
    return x, y


@pytest.fixture(scope="module")
def teacher(data):
    x, y = data
    t = kdtf.build_model("teacher", F, C, seed=0)
    kdtf.fit(t, x, y, epochs=3, batch_size=64, progress=False)
    return t


def weights(model) -> list[np.ndarray]:
    return [np.array(w) for w in model.get_weights()]


def test_cached_and_uncached_teacher_give_the_same_student(data, teacher):
    x, y = data
    out = []
    for cache in (True, False):
        s = kdtf.build_model("student-small", F, C, seed=2)
        kdtf.distill(s, teacher, x, y, epochs=2, cache_teacher=cache, progress=False)
        out.append(weights(s))
    for a, b in zip(*out, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_distiller_loss_masks_unlabeled_rows(rng):
    s = tf.constant(rng.normal(size=(6, C)), tf.float32)
    t = tf.constant(rng.normal(size=(6, C)), tf.float32)
    y = np.array([0, -1, 2, -1, 1, -1])
    dummy = keras.Sequential([keras.Input((F,)), keras.layers.Dense(C)])
    d = kdtf.Distiller(dummy, dummy, temperature=2.0, alpha=0.3)
    m = y >= 0
    want = 0.3 * kdtf.distillation_loss(s, t, 2.0) + 0.7 * kdtf.losses.cross_entropy(tf.boolean_mask(s, m), y[m])
    np.testing.assert_allclose(d.kd_loss(s, t, tf.constant(y)), want, rtol=1e-6)
    all_unlabeled = tf.constant([-1] * 6)
    np.testing.assert_allclose(d.kd_loss(s, t, all_unlabeled), 0.3 * kdtf.distillation_loss(s, t, 2.0), rtol=1e-6)


def test_distiller_alpha_zero_steps_like_cross_entropy(data, teacher):
    """alpha = 0: one Distiller SGD step equals one plain cross-entropy SGD step."""
    x, y = data[0][:32], data[1][:32]
    a = kdtf.build_model("student-small", F, C, seed=5)
    b = kdtf.build_model("student-small", F, C, seed=5)
    d = kdtf.Distiller(a, teacher, alpha=0.0)
    d.compile(optimizer=keras.optimizers.SGD(0.1))
    d.train_step((tf.constant(x), tf.constant(y)))
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        loss = ce(y, b(x, training=True))
    grads = tape.gradient(loss, b.trainable_variables)
    keras.optimizers.SGD(0.1).apply_gradients(zip(grads, b.trainable_variables, strict=True))
    for wa, wb in zip(weights(a), weights(b), strict=True):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    teacher.trainable = True  # the Distiller froze the shared teacher


@pytest.mark.parametrize(
    "kw,message",
    [
        ({"name": "resnet"}, "name must be one of"),
        ({"num_features": 0}, "num_features must be a positive integer"),
        ({"num_classes": 2.5}, "num_classes must be a positive integer"),
    ],
)
def test_build_model_bad_arguments(kw, message):
    args = {"name": "student", "num_features": F, "num_classes": C, **kw}
    with pytest.raises(ValueError, match=message):
        kdtf.build_model(**args)


def test_models_output_logits_of_the_right_shape():
    x = np.zeros((5, 40), np.float32)
    counts = {"teacher": 8010, "student": 5110, "student-small": 1642, "student-large": 78858}
    for name in kdtf.model_names():
        m = kdtf.build_model(name, 40, 10, seed=0)
        assert kdtf.predict_logits(m, x).shape == (5, 10)
        assert m.count_params() == counts[name]  # same as the PyTorch models


def test_weight_decay_is_torch_adams_l2():
    torch = pytest.importorskip("torch")
    from kdlib.tf.train import _optimizer

    rng = np.random.default_rng(0)
    w0, grads = rng.normal(size=5).astype(np.float32), rng.normal(size=(3, 5)).astype(np.float32)
    p = torch.nn.Parameter(torch.tensor(w0))
    opt = torch.optim.Adam([p], lr=0.1, weight_decay=0.5)
    var, k_opt = keras.Variable(w0), _optimizer(0.1, 0.5)
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
        k_opt.apply_gradients([(tf.constant(g), var)])
    np.testing.assert_allclose(var.numpy(), p.detach().numpy(), rtol=1e-5, atol=1e-6)

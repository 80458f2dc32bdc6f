"""kdlib.tf training: frozen teacher, falling loss, tiny-batch overfit, masking, seeds, bad args.

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


@pytest.mark.parametrize("cache_teacher", [True, False])
def test_distill_leaves_teacher_unchanged_and_loss_falls(data, teacher, cache_teacher):
    x, y = data
    before = weights(teacher)
    student = kdtf.build_model("student-small", F, C, seed=1)
    s_before = weights(student)
    hist = kdtf.distill(
        student,
        teacher,
        x,
        y,
        epochs=4,
        cache_teacher=cache_teacher,
        progress=False,
        x_val=x,
        y_val=y,
    )
    for a, b in zip(before, weights(teacher), strict=True):
        np.testing.assert_array_equal(a, b)
    assert teacher.trainable  # restored after distill
    assert any(not np.array_equal(a, b) for a, b in zip(s_before, weights(student), strict=True))
    assert len(hist.loss) == len(hist.val_accuracy) == len(hist.seconds) == 4
    assert hist.loss[-1] < hist.loss[0]


def test_cached_and_uncached_teacher_give_the_same_student(data, teacher):
    x, y = data
    out = []
    for cache in (True, False):
        s = kdtf.build_model("student-small", F, C, seed=2)
        kdtf.distill(s, teacher, x, y, epochs=2, cache_teacher=cache, progress=False)
        out.append(weights(s))
    for a, b in zip(*out, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_fit_memorises_a_tiny_batch(data):
    x, y = data[0][:32], data[1][:32]
    model = kdtf.build_model("student", F, C, seed=0)
    hist = kdtf.fit(model, x, y, epochs=150, batch_size=32, lr=1e-2, progress=False)
    assert hist.loss[-1] < 0.05 < hist.loss[0]
    assert kdtf.evaluate(model, x, y) == 1.0


def test_same_seed_same_weights(data):
    x, y = data
    runs = []
    for _ in range(2):
        m = kdtf.build_model("student-small", F, C, seed=3)
        kdtf.fit(m, x, y, epochs=2, seed=7, weight_decay=1e-3, progress=False)
        runs.append(weights(m))
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_distill_unlabeled_only_runs(data, teacher):
    x, _ = data
    student = kdtf.build_model("student-small", F, C, seed=4)
    hist = kdtf.distill(student, teacher, x[:64], None, x_unlabeled=x[64:], epochs=2, progress=False)
    assert len(hist.loss) == 2 and np.isfinite(hist.loss).all()


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


X, Y = np.zeros((8, F), np.float32), np.zeros(8, np.int64)
BAD_ARGS = [
    ("fit", {"epochs": 0}, "epochs"),
    ("fit", {"batch_size": 0}, "batch_size"),
    ("fit", {"lr": 0.0}, "lr"),
    ("fit", {"y": Y[:5]}, "y must have shape (8,)"),
    ("fit", {"x": X[0]}, "x must be a non-empty 2-D array"),
    ("distill", {"temperature": 0.0}, "temperature"),
    ("distill", {"alpha": 2.0}, "alpha"),
    ("distill", {"epochs": 0}, "epochs"),
    ("distill", {"y": Y[:5]}, "y must have shape (8,)"),
    ("distill", {"x": X[None]}, "x must be a non-empty 2-D array"),
    ("distill", {"x_unlabeled": np.zeros((4, F + 1))}, "x_unlabeled must have"),
]


@pytest.mark.parametrize("fn,kw,message", BAD_ARGS, ids=[f"{f}-{m}" for f, _, m in BAD_ARGS])
def test_bad_arguments_raise_valueerror(fn, kw, message):
    model = kdtf.build_model("student-small", F, C, seed=0)
    args = {"x": X, "y": Y, **kw}
    x, y = args.pop("x"), args.pop("y")
    with pytest.raises(ValueError, match=__import__("re").escape(message)):
        if fn == "fit":
            kdtf.fit(model, x, y, progress=False, **args)
        else:
            kdtf.distill(model, model, x, y, progress=False, **args)


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

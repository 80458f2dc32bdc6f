"""kdlib.tf.distribute: distillation under tf.distribute.MirroredStrategy (2 logical CPU devices).

Logical devices are fixed for the life of a process, so every run that needs 2 replicas happens in
one fresh subprocess (with a timeout: a hang fails the test) that writes its measurements to
JSON; the tests below read them. Argument checks run in this process (one replica: no split).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 150  # seconds; the run takes ≈25 s on 2 idle cores

#: the worker: everything that needs 2 replicas, in one process
SCRIPT = r"""
import json, sys
import numpy as np
from kdlib.tf import distribute as D

s2 = D.cpu_strategy(2)          # before any other TensorFlow call
s1 = D.cpu_strategy(1)          # one replica on /cpu:0 of the same process
from kdlib.data import load_dataset
from kdlib.tf import build_model, distill, predict_logits
from kdlib.tf.losses import kd_loss

out = {}
ds = load_dataset("mnist1d")
teacher = build_model("teacher", 40, 10, seed=0)

# (a) the loss of one global batch: 301 rows (split 151 / 150), every third unlabelled
x, y = ds.x_train[:301], ds.y_train[:301].copy()
y[::3] = -1
t = predict_logits(teacher, x)
st = build_model("student", 40, 10, seed=1)
out["loss_single"] = float(kd_loss(predict_logits(st, x), t, y, ignore_index=-1))
out["loss_1rep"] = D.global_batch_loss(s1, st, x, t, y)
out["loss_2rep"] = D.global_batch_loss(s2, st, x, t, y)
out["loss_2rep_unscaled"] = D.global_batch_loss(s2, st, x, t, y, scale_by_global_batch=False)
# what a custom train_step reports with a keras.losses.Loss under 2 replicas (Keras' "auto" = mean over replicas)
import keras, tensorflow as tf
ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
xl, yl = x[y >= 0][:300], y[y >= 0][:300]
batch = next(iter(s2.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices((xl, yl)).batch(300))))
per = s2.run(tf.function(lambda b: ce(b[1], st(b[0], training=False))), args=(batch,))
out["keras_ce_reported"] = float(s2.reduce("MEAN", per, axis=None))
out["keras_ce_single"] = float(ce(yl, predict_logits(st, xl)))

# (b) a few steps: 400 labelled + 181 unlabelled rows = 581, global batch 64 -> 10 steps, last 5 rows (3 / 2)
x, y, xu = ds.x_train[:400], ds.y_train[:400], ds.x_train[400:581]
kw = dict(x_unlabeled=xu, epochs=1, batch_size=64, lr=3e-3, seed=0, progress=False)

def run(strategy, **extra):
    st = build_model("student", 40, 10, seed=0)
    args = {**kw, **extra}
    if strategy is None:
        h = distill(st, teacher, x, y, **args)
    else:
        h = D.distill(st, teacher, x, y, strategy=strategy, **args)
    return [w.tolist() for w in st.get_weights()], h.loss

for name, strategy, extra in [
    ("plain", None, {}),
    ("adam_1rep", s1, {}),
    ("adam_2rep", s2, {}),
    ("adam_2rep_teacher_per_replica", s2, {"cache_teacher": False}),
    ("adam_2rep_2epochs", s2, {"epochs": 2}),
    ("adam_1rep_2epochs", s1, {"epochs": 2}),
    ("sgd_1rep", s1, {"optimizer": "sgd", "lr": 0.2}),
    ("sgd_2rep", s2, {"optimizer": "sgd", "lr": 0.2}),
    ("sgd_2rep_unscaled", s2, {"optimizer": "sgd", "lr": 0.2, "scale_by_global_batch": False}),
]:
    out[name] = run(strategy, **extra)

# (c) errors that need 2 replicas, or devices already initialised
st = build_model("student", 40, 10, seed=0)
for key, call in [
    ("err_batch", lambda: D.distill(st, teacher, x, y, strategy=s2, batch_size=63, epochs=1)),
    ("err_late", lambda: D.cpu_strategy(3)),
]:
    try:
        call()
        out[key] = None
    except Exception as e:
        out[key] = [type(e).__name__, str(e)]
json.dump(out, open(sys.argv[1], "w"))
"""


#: one worker of a MultiWorkerMirroredStrategy cluster (TF_CONFIG from the environment), 1 CPU replica each
MW_SCRIPT = r"""
import json, os, sys
import tensorflow as tf
strategy = tf.distribute.MultiWorkerMirroredStrategy()   # the first TensorFlow call
if os.environ.get("KD_TEST_CRASH") == "1" and strategy.cluster_resolver.task_id == 1:
    sys.exit(3)                                           # a worker that dies before training
from kdlib.data import load_dataset
from kdlib.tf import build_model
from kdlib.tf import distribute as D

ds = load_dataset("mnist1d")
teacher = build_model("teacher", 40, 10, seed=0)
st = build_model("student", 40, 10, seed=0)
h = D.distill(st, teacher, ds.x_train[:400], ds.y_train[:400], x_unlabeled=ds.x_train[400:581], strategy=strategy,
              epochs=2, batch_size=64, lr=3e-3, seed=0, progress=False)
json.dump([[w.tolist() for w in st.get_weights()], h.loss], open(sys.argv[1], "w"))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def start_workers(tmp: Path, crash: bool = False) -> list[tuple[subprocess.Popen, Path]]:
    """Start two MultiWorkerMirroredStrategy workers on localhost (free ports); (process, result file) each."""
    script = tmp / "mw_worker.py"
    script.write_text(MW_SCRIPT)
    cluster = {"worker": [f"localhost:{free_port()}" for _ in range(2)]}
    procs = []
    for i in range(2):
        config = {"cluster": cluster, "task": {"type": "worker", "index": i}}
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", "TF_CONFIG": json.dumps(config)}
        env["KD_TEST_CRASH"] = "1" if crash else "0"
        out = tmp / f"mw{i}.json"
        p = subprocess.Popen([sys.executable, str(script), str(out)], cwd=tmp, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)  # fmt: skip
        procs.append((p, out))
    return procs


def collect(procs: list[tuple[subprocess.Popen, Path]]) -> list[tuple[int, str, Path]]:
    """Wait (with a timeout) for the workers; (return code, output, result file) each. None outlives the call."""
    results = []
    try:
        for p, out in procs:
            text, _ = p.communicate(timeout=TIMEOUT)
            results.append((p.returncode, text, out))
    finally:
        for p, _ in procs:  # a hung worker fails the test, and never outlives it
            if p.poll() is None:
                p.kill()
                p.communicate()
    return results


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Run SCRIPT once in a fresh process with 2 logical CPUs; its JSON results."""
    tmp = tmp_path_factory.mktemp("distribute_tf")
    script, out = tmp / "worker.py", tmp / "out.json"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0"}
    proc = subprocess.run(
        [sys.executable, str(script), str(out)],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def max_diff(a: list, b: list) -> float:
    return max(float(np.max(np.abs(np.asarray(u) - np.asarray(v)))) for u, v in zip(a, b, strict=True))


@pytest.mark.slow
def test_distributed_loss_equals_the_single_process_loss(runs):
    want = runs["loss_single"]
    np.testing.assert_allclose(runs["loss_2rep"], want, rtol=1e-6)
    np.testing.assert_allclose(runs["loss_1rep"], want, rtol=1e-6)
    # the pitfall: each replica's local mean, summed by the all-reduce, is about twice the loss
    # (and not exactly twice: the slices differ in size and in labelled rows)
    assert runs["loss_2rep_unscaled"] > 1.8 * want
    assert abs(runs["loss_2rep_unscaled"] - 2 * want) > 1e-5
    # Keras' own losses divide by the replica count (for the gradient sum), so a custom train_step that
    # reports one — the keras.io KD example under MirroredStrategy — shows half the true loss on 2 replicas
    np.testing.assert_allclose(runs["keras_ce_reported"], runs["keras_ce_single"] / 2, rtol=1e-5)


@pytest.mark.slow
def test_two_replicas_give_the_student_of_one_replica_with_twice_the_batch(runs):
    weights_1, loss_1 = runs["adam_1rep"]
    weights_2, loss_2 = runs["adam_2rep"]
    assert max_diff(weights_1, weights_2) < 1e-5
    np.testing.assert_allclose(loss_2, loss_1, rtol=1e-5)  # the reported (global) loss too
    # ... and of plain kdlib.tf.distill, which knows nothing of strategies (same seed, same order)
    weights_plain, loss_plain = runs["plain"]
    assert max_diff(weights_plain, weights_2) < 1e-5
    np.testing.assert_allclose(loss_2, loss_plain, rtol=1e-5)
    # the teacher run on each replica's slice instead of cached logits: the same student
    assert max_diff(runs["adam_2rep_teacher_per_replica"][0], weights_2) < 1e-5
    # over two epochs (the second reshuffles)
    assert max_diff(runs["adam_2rep_2epochs"][0], runs["adam_1rep_2epochs"][0]) < 1e-5
    assert max_diff(weights_2, runs["adam_2rep_2epochs"][0]) > 1e-3  # the second epoch did train


@pytest.mark.slow
def test_without_global_scaling_the_step_is_twice_too_large(runs):
    """With SGD the pitfall shows in the weights (Adam hides a constant gradient scale)."""
    w1, w2, bad = runs["sgd_1rep"][0], runs["sgd_2rep"][0], runs["sgd_2rep_unscaled"][0]
    assert max_diff(w1, w2) < 1e-5
    assert max_diff(w1, bad) > 1e-2
    np.testing.assert_allclose(runs["sgd_2rep_unscaled"][1], runs["sgd_2rep"][1], rtol=0.5)  # both train


@pytest.mark.slow
def test_errors_that_need_two_replicas(runs):
    kind, msg = runs["err_batch"]
    assert kind == "ValueError" and "batch_size" in msg and "2 replicas" in msg
    kind, msg = runs["err_late"]
    assert kind == "RuntimeError" and "fresh process" in msg and "already initialised" in msg


@pytest.mark.slow
def test_two_worker_processes_give_the_student_of_one_process_with_twice_the_batch(runs, tmp_path):
    """MultiWorkerMirroredStrategy: 2 processes × batch 32 (gRPC collectives on localhost) = 1 replica × 64."""
    results = collect(start_workers(tmp_path))
    want_weights, want_loss = runs["adam_1rep_2epochs"]
    for code, text, out in results:
        assert code == 0, text[-3000:]
        weights, loss = json.loads(out.read_text())
        assert max_diff(weights, want_weights) < 1e-5
        np.testing.assert_allclose(loss, want_loss, rtol=1e-5)


@pytest.mark.slow
def test_a_dead_worker_fails_the_run_with_a_clear_message(tmp_path):
    """Worker 1 exits before training: worker 0 stops with TensorFlow's heartbeat error (≈20 s), it does not hang."""
    (code0, text0, _), (code1, _, _) = collect(start_workers(tmp_path, crash=True))
    assert code1 == 3
    assert code0 != 0
    assert "UnavailableError" in text0 and "task:1" in text0 and "crashed" in text0


# --- argument checks: one replica, in this process ---


@pytest.fixture(scope="module")
def one():
    from kdlib.tf import build_model
    from kdlib.tf import distribute as D

    strategy = D.cpu_strategy(1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 5)).astype(np.float32)
    y = rng.integers(0, 3, size=16)
    return D, strategy, build_model("student-small", 5, 3, seed=0), build_model("teacher", 5, 3, seed=0), x, y


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_cpu_strategy_rejects_a_bad_replica_count(bad):
    from kdlib.tf import distribute as D

    with pytest.raises(ValueError, match="num_replicas must be a positive integer"):
        D.cpu_strategy(bad)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"strategy": "mirrored"}, "strategy"),
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"temperature": 0.0}, "temperature"),
        ({"alpha": 1.5}, "alpha"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"lr": -1.0}, "lr"),
        ({"cache_teacher": 1}, "cache_teacher"),
        ({"scale_by_global_batch": "yes"}, "scale_by_global_batch"),
    ],
)
def test_distill_rejects_bad_arguments(one, kwargs, name):
    D, strategy, student, teacher, x, y = one
    args = {"strategy": strategy, "epochs": 1, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=rf"^{name} must"):
        D.distill(student, teacher, x, y, **args)


def test_distill_rejects_bad_data(one):
    D, strategy, student, teacher, x, y = one
    with pytest.raises(ValueError, match="^y must have shape"):
        D.distill(student, teacher, x, y[:-1], strategy=strategy, epochs=1)
    with pytest.raises(ValueError, match="^x_unlabeled must have 5 features"):
        D.distill(student, teacher, x, y, x_unlabeled=x[:, :4], strategy=strategy, epochs=1)


def test_global_batch_loss_rejects_bad_arguments(one):
    D, strategy, student, _, x, y = one
    t = np.zeros((16, 3), np.float32)
    with pytest.raises(ValueError, match="^teacher_logits must have 16 rows"):
        D.global_batch_loss(strategy, student, x, t[:-1], y)
    with pytest.raises(ValueError, match="^strategy must be a tf.distribute.Strategy"):
        D.global_batch_loss(None, student, x, t, y)
    with pytest.raises(ValueError, match="^scale_by_global_batch must"):
        D.global_batch_loss(strategy, student, x, t, y, scale_by_global_batch=1)

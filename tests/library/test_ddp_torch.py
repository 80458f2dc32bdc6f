"""kdlib.torch.ddp: distillation across torchrun workers (gloo on CPU), checked against one process.

The multi-process tests run ``python -m torch.distributed.run --standalone`` (a free port picked by
torchrun's own rendezvous) through :func:`kdlib.torch.ddp.launch`, each with a timeout that kills the
whole process group: a hung run fails the test instead of hanging CI.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from kdlib import loops
from kdlib.data import load_dataset, load_transfer_pool
from kdlib.torch import ddp
from kdlib.torch.losses import kd_loss
from kdlib.torch.models import build_model
from kdlib.torch.predict import evaluate, predict_logits

SEED = 3
B = 32  # per-process batch
EPOCHS = 2
POOL = 1_000  # 4,000 labelled + 1,000 unlabelled rows: 5,000, divisible by 2 (no row dropped)
LR = 1e-2
T, ALPHA = 4.0, 0.9
RUN_TIMEOUT = 90  # seconds for a whole torchrun launch (≈15 s here, under load)


def _run(nproc: int, out, *extra: str, pool: int = POOL) -> subprocess.CompletedProcess:
    args = ["--out", str(out), "--seed", str(SEED), "--teacher-epochs", "1", "--epochs", str(EPOCHS)]
    args += ["--batch-size", str(B), "--pool-size", str(pool), "--lr", str(LR), "--no-progress", *extra]
    return ddp.launch(nproc, args, timeout=RUN_TIMEOUT, capture=True)


def reference_student(teacher: torch.nn.Module, world: int) -> tuple[torch.nn.Module, list[float]]:
    """One process, batch world·B, no torch.distributed: the student W ranks of batch B must produce.

    DistributedSampler(shuffle=True, seed=s, drop_last=True) at epoch e draws ONE permutation p of
    the N rows from ``torch.Generator().manual_seed(s + e)`` (the same on every rank), keeps its first
    (N // W)·W entries, and gives rank r the interleaved entries p[r], p[r + W], p[r + 2W], … . Step k
    of rank r takes its entries k·B … (k+1)·B − 1, i.e. p[r + W·j] for j in that range; over the W
    ranks that is exactly p[W·B·k : W·B·(k+1)] — a contiguous slice of the same permutation. So this
    reference draws the same p each epoch and walks it in slices of W·B.

    DDP averages the ranks' gradients. The soft term is a batch mean over equal shards, so the mean
    of the W means is the mean over W·B rows; the hard term is reweighted by distill_ddp (labelled rows
    on the rank · W / labelled rows on all ranks) for the same identity when the pool's unlabelled rows
    fall unevenly. Hence the gradient of every step is that of kd_loss on the W·B rows — what this
    loop computes — and Adam makes the same update (up to float summation order).
    Returns the student and its per-epoch mean loss (rows-weighted, as distill records it).
    """
    ds = load_dataset("mnist1d")
    pool = load_transfer_pool("mnist1d", POOL)
    xa, ya = loops.transfer_set(ds.x_train, ds.y_train, pool)
    xt, yt = torch.from_numpy(xa), torch.from_numpy(ya)
    kept = len(xt) // world * world
    cache = torch.from_numpy(predict_logits(teacher, xt))
    student = build_model("student", ds.num_features, ds.num_classes, seed=SEED)
    opt = torch.optim.Adam(student.parameters(), lr=LR)
    losses = []
    for epoch in range(EPOCHS):
        p = torch.randperm(len(xt), generator=torch.Generator().manual_seed(SEED + epoch))[:kept]
        total = 0.0
        for idx in p.split(world * B):
            loss = kd_loss(student(xt[idx]), cache[idx], yt[idx], T, ALPHA, ignore_index=loops.UNLABELLED)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / kept)
    return student, losses


@pytest.fixture
def one_thread():
    """The workers run with one intra-op thread; so does the reference (same float reductions)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
@pytest.mark.parametrize("cache", [True, False], ids=["teacher-cache-per-shard", "teacher-every-batch"])
def test_two_processes_equal_one_process_with_twice_the_batch(tmp_path, one_thread, cache):
    r = _run(2, tmp_path, *([] if cache else ["--no-teacher-cache"]))
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["backend"] == "gloo" and metrics["cache_teacher"] is cache
    assert metrics["batch_size_per_process"] == B and metrics["global_batch_size"] == 2 * B
    teacher = build_model("teacher", 40, 10)
    teacher.load_state_dict(torch.load(tmp_path / "teacher.pt", weights_only=True))
    ref, ref_losses = reference_student(teacher, world=2)
    got = torch.load(tmp_path / "student.pt", weights_only=True)
    for name, value in ref.state_dict().items():
        torch.testing.assert_close(got[name], value, atol=1e-5, rtol=0, msg=lambda m, n=name: f"{n}: {m}")
    # the metrics are all-reduced: the epoch loss is the reference's global-batch kd_loss
    np.testing.assert_allclose(metrics["history"]["loss"], ref_losses, rtol=1e-5)
    assert 0 < metrics["history"]["accuracy"][-1] <= 1
    # validation accuracy: each rank scores rows rank::2 of the test set, counts all-reduced
    ds = load_dataset("mnist1d")
    ref_acc = evaluate(ref, ds.x_test, ds.y_test)
    assert len(metrics["history"]["val_accuracy"]) == EPOCHS
    assert metrics["history"]["val_accuracy"][-1] == pytest.approx(ref_acc, abs=2e-3)
    assert metrics["student_test_accuracy"] == metrics["history"]["val_accuracy"][-1]
    # a different seed gives a different student: the comparison above is not vacuous
    other = build_model("student", 40, 10, seed=SEED + 1).state_dict()
    assert not torch.allclose(other["0.weight"], got["0.weight"], atol=1e-3)


@pytest.mark.slow
def test_a_crashed_rank_fails_the_run_naming_it(tmp_path):
    r = _run(2, tmp_path, "--fault-rank", "1", "--fault", "crash", "--timeout", "10", pool=0)
    assert r.returncode != 0
    # torchrun's summary: the root cause is rank 1, with its traceback (main runs under @record)
    root = r.stderr[r.stderr.index("Root Cause") :]
    assert "rank      : 1 (local_rank: 1)" in root
    assert "--fault-rank 1: this rank fails on purpose" in root
    assert not (tmp_path / "student.pt").exists()


@pytest.mark.slow
def test_a_stalled_rank_times_out_instead_of_hanging(tmp_path):
    r = _run(2, tmp_path, "--fault-rank", "1", "--fault", "hang", "--timeout", "3", pool=0)
    assert r.returncode != 0
    assert "rank 0 of 2: the other ranks did not answer within timeout=3 s" in r.stderr
    assert not (tmp_path / "student.pt").exists()


def test_bad_arguments_name_the_argument():
    x, y = np.zeros((8, 40), np.float32), np.zeros(8, np.int64)
    s, t = build_model("student", 40, 10), build_model("teacher", 40, 10)
    with pytest.raises(ValueError, match="nproc must be a positive integer, got 0"):
        ddp.launch(0, [])
    with pytest.raises(ValueError, match="nproc must be a positive integer, got 2.0"):
        ddp.launch(2.0, [])
    with pytest.raises(ValueError, match="args must be a sequence of strings"):
        ddp.launch(2, "--epochs 3")
    with pytest.raises(ValueError, match="timeout must be a number of seconds > 0, got -1"):
        ddp.launch(2, [], timeout=-1)
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 2.5"):
        ddp.distill_ddp(s, t, x, y, batch_size=2.5)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        ddp.distill_ddp(s, t, x, y, epochs=0)
    with pytest.raises(ValueError, match="alpha"):
        ddp.distill_ddp(s, t, x, y, alpha=1.5)
    with pytest.raises(ValueError, match="timeout must be a number of seconds > 0"):
        ddp.distill_ddp(s, t, x, y, timeout=float("inf"))
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        ddp.distill_ddp(s, t, x, y, seed=-1)


def test_outside_torchrun_says_how_to_launch(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    x, y = np.zeros((8, 40), np.float32), np.zeros(8, np.int64)
    with pytest.raises(RuntimeError, match="RANK is not set: run under torchrun"):
        ddp.distill_ddp(build_model("student", 40, 10), build_model("teacher", 40, 10), x, y)


def _processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains ``text`` (read from /proc; nothing is signalled)."""
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if text in (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(d.name))
            except OSError:
                continue
    return found


@pytest.mark.slow
def test_launch_timeout_kills_the_whole_run(tmp_path):
    """Past ``timeout`` torchrun and its workers are killed (one process group) and TimeoutExpired raised."""
    out = tmp_path / "never-written"
    t0 = time.perf_counter()
    with pytest.raises(subprocess.TimeoutExpired):
        ddp.launch(1, ["--out", str(out), "--fault-rank", "0", "--fault", "hang"], timeout=3.0)
    assert time.perf_counter() - t0 < 15
    assert _processes_mentioning(str(out)) == []


def test_kd_distill_cli_rejects_a_bad_process_count(capsys):
    with pytest.raises(SystemExit) as err:
        ddp.cli(["--nproc", "0", "--epochs", "3"])
    assert err.value.code == 2
    assert "argument --nproc: expected a positive integer, got '0'" in capsys.readouterr().err

"""Distillation across processes: torchrun + DistributedDataParallel (gloo on CPU, nccl on GPUs).

Run in every worker that torchrun starts::

    python -m torch.distributed.run --standalone --nproc-per-node 2 \
        -m kdlib.torch.ddp --dataset mnist1d --epochs 3 --out DIR
    kd distill --nproc 2 --dataset mnist1d --epochs 3 --out DIR          # the same, through launch()

What each worker does (:func:`distill_ddp`):

- joins the process group from torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT),
  gloo on CPU, nccl when CUDA is available, with a ``timeout`` so that a dead or stalled peer makes the
  others fail within seconds instead of PyTorch's default of 30 minutes;
- wraps the **student** in ``DistributedDataParallel`` (its gradients are averaged over ranks at every
  step); the **teacher** is not wrapped (eval mode, ``requires_grad`` off, logits under ``no_grad``:
  DDP refuses a module without trainable parameters, and there is nothing to synchronise);
- splits the transfer set with ``DistributedSampler(seed=seed, drop_last=True)`` and ``set_epoch(epoch)``
  (a new permutation each epoch, the same on every rank, interleaved: rank r takes rows r, r+W, …);
- computes the teacher-logit cache per shard: each rank runs the teacher on 1/W of the transfer set,
  then one ``all_gather`` gives every rank the whole (N, C) cache (N·C floats: 1.2 MB for 29,000 rows
  and 10 classes), so the per-epoch reshuffle across ranks never needs the teacher again;
- optimises the loss contract's ``kd_loss`` (alpha · KD + (1 − alpha) · CE, unlabelled rows −1 left
  out of CE) **over the global batch**: the soft term is a batch mean over equal shards, so DDP's mean of
  the ranks' means is the global mean; the hard term is reweighted by (labelled rows on this rank · W /
  labelled rows on all ranks) so that uneven counts of labelled rows (KD + pool) still give exactly the
  gradient of kd_loss on the union of the ranks' batches (equal to kd_loss itself when every row is labelled);
- all-reduces the metrics (epoch loss, training accuracy on labelled rows, validation accuracy on a
  sharded validation set): every rank returns the same History;
- and ``main`` writes the checkpoints and a JSON of metrics from rank 0 only, and always destroys the
  process group (``finally``).

The teacher in ``main`` is trained on **every rank with the same seed, then rank 0's weights are
broadcast**. Training it on rank 0 alone would leave the other ranks blocked in a collective for the
whole teacher fit, longer than any short ``timeout``; training it everywhere costs no wall time (the
ranks run in parallel, one core or GPU each), and the broadcast makes the copies bit-identical even
where kernels are not deterministic. With ``--teacher-checkpoint`` a trained teacher is loaded instead
(the usual case at scale: the teacher is trained once, elsewhere).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data.distributed import DistributedSampler

from kdlib import loops, options
from kdlib.history import History

__all__ = [
    "DDPHistory",
    "Dist",
    "broadcast_module",
    "cli",
    "distill_ddp",
    "evaluate_ddp",
    "launch",
    "main",
    "process_group",
]

#: seconds a collective waits for the other ranks before failing (PyTorch's default is 30 minutes)
DEFAULT_TIMEOUT = 60.0


@dataclass
class DDPHistory(History):
    """History (loss, val_accuracy, seconds per epoch), all-reduced, plus training accuracy and world size.

    ``accuracy``: the student's accuracy on the labelled rows it trained on during the epoch (train mode,
    all ranks). ``loss`` is the mean of the global-batch kd_loss over the epoch's rows.
    """

    accuracy: list[float] = field(default_factory=list)
    world_size: int = 1


@dataclass(frozen=True)
class Dist:
    """Where this worker stands: rank in [0, world_size), local rank on its node, device, backend."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str


def _check_timeout(timeout, name: str = "timeout") -> float:
    ok = isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
    if not (ok and math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"{name} must be a number of seconds > 0, got {timeout!r}")
    return float(timeout)


def _check_nproc(nproc) -> int:
    if not isinstance(nproc, int) or isinstance(nproc, bool) or nproc < 1:
        raise ValueError(f"nproc must be a positive integer, got {nproc!r}")
    return nproc


def _env_int(name: str) -> int:
    value = os.environ.get(name)
    if value is None:
        raise RuntimeError(
            f"{name} is not set: run under torchrun, e.g. "
            "python -m torch.distributed.run --standalone --nproc-per-node 2 -m kdlib.torch.ddp ..."
        )
    return int(value)


def _current() -> Dist:
    rank, world = dist.get_rank(), dist.get_world_size()
    local = int(os.environ.get("LOCAL_RANK", rank))
    backend = str(dist.get_backend())
    device = torch.device(f"cuda:{local}") if backend == "nccl" else torch.device("cpu")
    return Dist(rank, world, local, device, backend)


@contextlib.contextmanager
def process_group(timeout: float = DEFAULT_TIMEOUT) -> Iterator[Dist]:
    """Join torchrun's process group for the ``with`` block and always leave it (destroy_process_group).

    gloo on CPU, nccl when CUDA is available (one GPU per local rank). ``timeout`` (seconds) bounds every
    collective: a dead or stalled peer makes the others raise after that long instead of hanging.
    If a group is already initialised (a caller made it), it is used and left alone.
    """
    t = _check_timeout(timeout)
    if dist.is_initialized():
        yield _current()
        return
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        _env_int(name)
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(_env_int("LOCAL_RANK"))
    dist.init_process_group("nccl" if cuda else "gloo", timeout=timedelta(seconds=t))
    try:
        yield _current()
    finally:
        # free DDP reducers (reference cycles) that still hold the group before it goes: a gloo group
        # torn down at interpreter exit can abort the process ("terminate called without an active exception")
        gc.collect()
        dist.destroy_process_group()


def broadcast_module(module: nn.Module, src: int = 0) -> None:
    """Overwrite every parameter and buffer of ``module`` with rank ``src``'s (in place)."""
    with torch.no_grad():
        for tensor in module.state_dict().values():
            dist.broadcast(tensor, src)


def _all_reduce_sum(values: Sequence[float], device: torch.device) -> list[float]:
    buf = torch.tensor(list(values), dtype=torch.float64, device=device)
    dist.all_reduce(buf, op=dist.ReduceOp.SUM)
    return buf.tolist()


@torch.no_grad()
def _logits_per_shard(model: nn.Module, xt: torch.Tensor, ctx: Dist, chunk: int = 4096) -> torch.Tensor:
    """Logits (N, C) of ``model`` on all of ``xt`` (N, F): each rank computes its contiguous 1/W, then all_gather."""
    n, w = len(xt), ctx.world_size
    per = -(-n // w)  # ceil: every rank sends the same shape; the last shard is zero-padded
    mine = xt[ctx.rank * per : (ctx.rank + 1) * per]
    was_training = model.training
    model.eval()
    out = torch.cat([model(mine[i : i + chunk]) for i in range(0, len(mine), chunk)]) if len(mine) else None
    model.train(was_training)
    num_classes = out.shape[1] if out is not None else int(model(xt[:1]).shape[1])
    padded = torch.zeros(per, num_classes, dtype=torch.float32, device=xt.device)
    if out is not None:
        padded[: len(out)] = out
    parts = [torch.empty_like(padded) for _ in range(w)]
    dist.all_gather(parts, padded)
    return torch.cat(parts)[:n]


def evaluate_ddp(model: nn.Module, x, y, ctx: Dist | None = None) -> float:
    """Accuracy of ``model`` on (x (N, F), y (N,)), each rank scoring rows rank, rank + W, …; all-reduced."""
    ctx = ctx or _current()
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32), device=ctx.device)
    yt = torch.as_tensor(np.asarray(y, dtype=np.int64), device=ctx.device)
    xs, ys = xt[ctx.rank :: ctx.world_size], yt[ctx.rank :: ctx.world_size]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        right = float((model(xs).argmax(1) == ys).sum()) if len(xs) else 0.0
    model.train(was_training)
    right, total = _all_reduce_sum([right, float(len(xs))], ctx.device)
    return right / total


@options.takes(*options.DISTRIBUTED, desc="distill (ddp)")
def distill_ddp(
    student: nn.Module,
    teacher: nn.Module,
    x,
    y=None,
    *,
    x_unlabeled=None,
    opts: options.Options,
    timeout: float = DEFAULT_TIMEOUT,
) -> DDPHistory:
    """Distil ``student`` from a frozen ``teacher`` in every torchrun worker (see the module docstring).

    x (N, F) float32, y (N,) int64 or None (all unlabelled), x_unlabeled (M, F): the transfer set of
    :func:`kdlib.torch.train.distill`, the same on every rank (each rank reads only its shard of it),
    and its options (:class:`kdlib.options.Options`) but ``augment``.
    ``batch_size`` is **per process**: the global batch is batch_size · W. Each epoch drops the last
    N mod W rows of that epoch's permutation (``drop_last``) so that shards are equal.
    The student is trained in place (it ends identical on every rank); the teacher is never changed.
    Joins (and afterwards leaves) the process group itself if none is initialised, with ``timeout``.
    """
    timeout = _check_timeout(timeout)
    xa, ya = loops.transfer_set(x, y, x_unlabeled)
    with process_group(timeout) as ctx:
        try:
            return _distill(student, teacher, xa, ya, ctx, opts)
        except RuntimeError as err:  # gloo / nccl report a stalled peer as a RuntimeError (DistBackendError)
            if "timed out" in str(err).lower() or "timeout" in str(err).lower():
                raise RuntimeError(
                    f"rank {ctx.rank} of {ctx.world_size}: the other ranks did not answer within timeout={timeout:g} s "
                    f"(a peer died or stalled): {err}"
                ) from err
            raise


def _distill(
    student: nn.Module, teacher: nn.Module, xa: np.ndarray, ya: np.ndarray, ctx: Dist, opts: options.Options
) -> DDPHistory:
    """distill_ddp's loop, in a joined group: xa (N, F) float32, ya (N,) int64 with -1 = unlabelled."""
    # imported here, as in kdlib.torch.train.distill: fit() must work in a notebook that hides the losses
    from kdlib.torch.losses import cross_entropy, distillation_loss
    from kdlib.torch.predict import _frozen, set_seed

    t, a, batch_size = opts.temperature, opts.alpha, opts.batch_size
    w = ctx.world_size
    xt = torch.from_numpy(xa).to(ctx.device)
    yt = torch.from_numpy(ya).to(ctx.device)
    if len(xt) < w:
        raise ValueError(f"x must have at least one row per process ({w}), got {len(xt)}")
    set_seed(opts.seed)
    teacher = teacher.to(ctx.device)
    student.to(ctx.device)
    model = DDP(student, device_ids=[ctx.local_rank] if ctx.device.type == "cuda" else None)
    sampler = DistributedSampler(
        range(len(xt)), num_replicas=w, rank=ctx.rank, shuffle=True, seed=opts.seed, drop_last=True
    )
    opt = torch.optim.Adam(model.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    hist = DDPHistory(world_size=w)
    with _frozen(teacher):
        cache = _logits_per_shard(teacher, xt, ctx) if opts.cache_teacher else None
        with loops.epoch_bar(opts.epochs, opts.desc, opts.progress if ctx.rank == 0 else False) as bar:
            for epoch in range(opts.epochs):
                t0 = time.perf_counter()
                sampler.set_epoch(epoch)
                mine = torch.tensor(list(iter(sampler)), dtype=torch.int64, device=ctx.device)
                batches = mine.split(batch_size)
                # labelled rows of every step on all ranks: one all-reduce per epoch, not per step
                counts = [float((yt[idx] != loops.UNLABELLED).sum()) for idx in batches]
                global_counts = _all_reduce_sum(counts, ctx.device)
                model.train()
                loss_rows, right, labelled, rows = 0.0, 0.0, 0.0, 0.0
                for idx, n_mine, n_all in zip(batches, counts, global_counts, strict=True):
                    xb, yb = xt[idx], yt[idx]
                    if cache is not None:
                        tl = cache[idx]
                    else:
                        with torch.no_grad():
                            tl = teacher(xb)
                    s = model(xb)
                    soft = distillation_loss(s, tl, t)
                    hard = cross_entropy(s, yb, ignore_index=loops.UNLABELLED)
                    # = kd_loss(s, tl, yb, t, a, ignore_index=-1) when the ranks hold equal labelled counts
                    scale = n_mine * w / n_all if n_all > 0 else 0.0
                    loss = a * soft + (1.0 - a) * hard * scale
                    opt.zero_grad()
                    loss.backward()  # DDP all-reduces (averages) the gradients here
                    opt.step()
                    loss_rows += loss.item() * len(idx)
                    rows += len(idx)
                    keep = yb != loops.UNLABELLED
                    right += float((s.detach().argmax(1)[keep] == yb[keep]).sum())
                    labelled += n_mine
                loss_rows, rows, right, labelled = _all_reduce_sum([loss_rows, rows, right, labelled], ctx.device)
                val = evaluate_ddp(student, opts.x_val, opts.y_val, ctx) if opts.x_val is not None else None
                hist.accuracy.append(right / labelled if labelled else float("nan"))
                loops.record_epoch(hist, bar, loss_rows / rows, time.perf_counter() - t0, val)
        del model  # the DDP wrapper (its reducer holds the process group); the student stays trained
    return hist


# ----------------------------------------------------------------------------------------------------
# the torchrun entry point: python -m torch.distributed.run ... -m kdlib.torch.ddp --out DIR


def build_parser() -> argparse.ArgumentParser:
    from kdlib.argtypes import non_negative_int, positive_float, positive_int, seconds, unit_float
    from kdlib.data import available_datasets
    from kdlib.experiment import Recipe

    r = Recipe()
    p = argparse.ArgumentParser(
        prog="kdlib.torch.ddp",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="The demo's KD + pool run (kdlib.experiment.Recipe) across torchrun workers: teacher, then "
        "the student distilled on the labelled set + an unlabelled pool with DistributedDataParallel.",
    )
    p.add_argument("--dataset", choices=available_datasets(), default="mnist1d")
    p.add_argument("--out", type=Path, required=True, help="folder for student.pt, teacher.pt, metrics.json (rank 0)")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--teacher", default=r.teacher, help="teacher architecture (kdlib.torch.build_model)")
    p.add_argument("--student", default=r.student, help="student architecture")
    p.add_argument("--teacher-checkpoint", type=Path, default=None, help="load this teacher state_dict, no training")
    p.add_argument("--teacher-epochs", type=positive_int, default=r.teacher_epochs)
    p.add_argument("--epochs", type=positive_int, default=r.pool_epochs, help="student epochs")
    p.add_argument("--lr", type=positive_float, default=r.pool_lr)
    p.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        help=f"per-process batch (default: the demo's global batch {r.pool_batch_size} / number of processes)",
    )
    p.add_argument("--pool-size", type=non_negative_int, default=r.pool_size, help="unlabelled transfer inputs")
    p.add_argument("--temperature", type=positive_float, default=r.temperature)
    p.add_argument("--alpha", type=unit_float, default=r.alpha, help="weight of the soft (teacher) term")
    p.add_argument("--timeout", type=seconds, default=DEFAULT_TIMEOUT, help="seconds a collective waits for peers")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument(
        "--no-teacher-cache",
        action="store_true",
        help="run the teacher on every batch instead of caching its logits once (computed per shard)",
    )
    p.add_argument("--fault-rank", type=non_negative_int, default=None, help="testing: the rank that fails")
    p.add_argument(
        "--fault",
        choices=["crash", "hang"],
        default="crash",
        help="testing: how --fault-rank fails before distillation (raise, or stall until killed)",
    )
    return p


def _write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2))


def main(argv: Sequence[str] | None = None) -> int:
    """One torchrun worker: teacher (trained on every rank, rank 0's broadcast), distill_ddp, rank-0 outputs."""
    a = build_parser().parse_args(argv)
    torch.set_num_threads(1)  # tiny models; one thread per process (as kdlib.experiment does)
    from kdlib.data import load_dataset, load_transfer_pool
    from kdlib.torch.models import build_model
    from kdlib.torch.train import fit

    started = time.perf_counter()
    with process_group(a.timeout) as ctx:
        from kdlib.experiment import Recipe

        r = Recipe()
        if a.batch_size is None and r.pool_batch_size % ctx.world_size:
            raise ValueError(
                f"--batch-size: the demo's global batch {r.pool_batch_size} does not split over {ctx.world_size} "
                "processes; give a per-process batch"
            )
        batch = a.batch_size or r.pool_batch_size // ctx.world_size
        progress = False if a.no_progress or ctx.rank else None
        ds = load_dataset(a.dataset)
        pool = load_transfer_pool(a.dataset, a.pool_size) if a.pool_size else None
        f, c = ds.num_features, ds.num_classes
        t1 = time.perf_counter()
        teacher = build_model(a.teacher, f, c, seed=a.seed)
        if a.teacher_checkpoint is not None:
            teacher.load_state_dict(torch.load(a.teacher_checkpoint, map_location="cpu", weights_only=True))
        else:
            fit(teacher, ds.x_train, ds.y_train, epochs=a.teacher_epochs, lr=r.teacher_lr,
                batch_size=r.teacher_batch_size, seed=a.seed, progress=progress, desc="teacher")  # fmt: skip
        teacher.to(ctx.device)
        broadcast_module(teacher)  # bit-identical teachers on every rank
        teacher_seconds = time.perf_counter() - t1
        if a.fault_rank == ctx.rank:
            if a.fault == "crash":
                raise RuntimeError(f"--fault-rank {ctx.rank}: this rank fails on purpose before distillation")
            time.sleep(3600)  # "hang": the others must time out, and torchrun must end this one
        student = build_model(a.student, f, c, seed=a.seed)
        t2 = time.perf_counter()
        hist = distill_ddp(
            student, teacher, ds.x_train, ds.y_train, x_unlabeled=pool, temperature=a.temperature, alpha=a.alpha,
            epochs=a.epochs, batch_size=batch, lr=a.lr, seed=a.seed, progress=progress, timeout=a.timeout,
            x_val=ds.x_test, y_val=ds.y_test, desc=f"distill ({ctx.world_size} proc)",
            cache_teacher=not a.no_teacher_cache,
        )  # fmt: skip
        distill_seconds = time.perf_counter() - t2
        student_acc = evaluate_ddp(student, ds.x_test, ds.y_test, ctx)
        teacher_acc = evaluate_ddp(teacher, ds.x_test, ds.y_test, ctx)
        if ctx.rank == 0:  # checkpoints and metrics: rank 0 only (every rank holds the same weights)
            a.out.mkdir(parents=True, exist_ok=True)
            torch.save(student.state_dict(), a.out / "student.pt")
            torch.save(teacher.state_dict(), a.out / "teacher.pt")
            payload = {
                "dataset": a.dataset,
                "world_size": ctx.world_size,
                "backend": ctx.backend,
                "seed": a.seed,
                "batch_size_per_process": batch,
                "global_batch_size": batch * ctx.world_size,
                "epochs": a.epochs,
                "pool_size": a.pool_size,
                "temperature": a.temperature,
                "alpha": a.alpha,
                "cache_teacher": not a.no_teacher_cache,
                "teacher_test_accuracy": teacher_acc,
                "student_test_accuracy": student_acc,
                "history": hist.as_dict(),
                "seconds": {
                    "teacher": teacher_seconds,
                    "distill": distill_seconds,
                    "in_worker": time.perf_counter() - started,
                },
            }
            _write_json(a.out / "metrics.json", payload)
            print(
                f"rank 0 of {ctx.world_size}: student {100 * student_acc:.1f}% (teacher {100 * teacher_acc:.1f}%), "
                f"distill {distill_seconds:.1f} s; wrote {a.out}/student.pt, teacher.pt, metrics.json",
                flush=True,
            )
        dist.barrier()  # leave together: no rank tears its group down while rank 0 still writes
    return 0


# ----------------------------------------------------------------------------------------------------
# the launcher side: torch.distributed.run as a subprocess (kd distill --nproc N)


def launch(
    nproc: int,
    args: Sequence[str],
    timeout: float = 3600.0,
    *,
    module: str = "kdlib.torch.ddp",
    capture: bool = False,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run ``python -m torch.distributed.run --standalone --nproc-per-node nproc -m module *args``.

    torchrun (the engine) starts the workers, gives them a rendezvous on a free port (``--standalone``),
    and when one fails stops the others and exits non-zero with a summary naming the failed rank.
    ``timeout`` bounds the whole run: past it the launcher's process group (torchrun and its workers)
    is killed and ``subprocess.TimeoutExpired`` raised. ``capture``: keep stdout/stderr in the result.
    """
    n = _check_nproc(nproc)
    if isinstance(args, str) or not all(isinstance(x, str) for x in args):
        raise ValueError(f"args must be a sequence of strings, got {args!r}")
    t = _check_timeout(timeout)
    if not isinstance(module, str) or not module:
        raise ValueError(f"module must be a module name, got {module!r}")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1"]
    cmd += ["--nproc-per-node", str(n), "--max-restarts", "0", "-m", module, *args]
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    pipe = subprocess.PIPE if capture else None
    proc = subprocess.Popen(cmd, stdout=pipe, stderr=pipe, text=True, env=full_env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=t)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        raise subprocess.TimeoutExpired(cmd, t, output=out, stderr=err) from None
    except BaseException:  # KeyboardInterrupt: never leave workers behind
        _kill_group(proc)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _kill_group(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM the launcher's own session (torchrun and its workers), SIGKILL after ``grace`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def cli(argv: Sequence[str] | None = None) -> int:
    """``kd distill --nproc N [--launch-timeout S] ARGS...``: launch ARGS (kdlib.torch.ddp's) on N processes."""
    from kdlib.argtypes import positive_int, seconds

    p = argparse.ArgumentParser(
        prog="kd distill",
        description="Distil across N processes with torchrun + DDP (the demo's KD + pool run). "
        "Other arguments go to every worker: python -m kdlib.torch.ddp --help",
    )
    p.add_argument("--nproc", type=positive_int, default=2, help="number of processes (one per GPU where there are)")
    p.add_argument("--launch-timeout", type=seconds, default=3600.0, help="kill the whole run after this long")
    a, rest = p.parse_known_args(argv)
    try:
        return launch(a.nproc, rest, a.launch_timeout).returncode
    except subprocess.TimeoutExpired:
        print(f"kd distill: killed after --launch-timeout {a.launch_timeout:g} s", file=sys.stderr)
        return 124


def _entry() -> Callable[[], int]:
    """``main`` under torchelastic's @record: a failing worker's traceback reaches torchrun's summary."""
    from torch.distributed.elastic.multiprocessing.errors import record

    return record(main)


if __name__ == "__main__":
    sys.exit(_entry()())

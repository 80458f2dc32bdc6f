"""Hidden checks of 15_at_scale, decided outside the student's kernel (see kdlib.grading.judge).

``shard`` is called for several (n, world_size, drop_last, seed) cases, every rank and three
epochs, and compared with PyTorch's own ``DistributedSampler`` after ``set_epoch`` (built here, on
the trusted side). ``rank_loss`` is called with torch tensors on ranks holding uneven numbers of
labelled rows; its value and its gradient with respect to the student logits are compared with the
per-rank loss computed here in NumPy (``kdlib.reference``), whose mean over ranks is the contract's
``kd_loss`` of the global batch. ``ddp_gradients`` runs in the kernel on a float64 linear student
(``probe.py``); the judge computes the one-process gradient of ``kd_loss`` on all the rows in
closed form. ``memory_per_gpu`` and ``logit_cache_bytes`` are called on fresh sizes. The answer key
is empty: ``kdlib.torch.ddp`` needs a process group and exposes none of these as a function.
"""

from __future__ import annotations

import numpy as np

from kdlib import reference as ref
from kdlib.grading.judge import Judge, as_float, close, expect, expect_close

judge = Judge("15_at_scale", answer_key=[], demos=["run", "uneven", "sizes"])

NO_EPOCH = (
    "the same rows in the same order every epoch: draw the permutation from seed + epoch "
    "(what sampler.set_epoch(epoch) does)"
)
CONTIGUOUS = (
    "a rank takes a contiguous block of the permutation: DistributedSampler interleaves, rank r takes "
    "the entries r, r + world_size, r + 2 * world_size, ... (order[rank:total:world_size])"
)
OVERLAP = (
    "two ranks got the same row in one epoch: every rank draws the same permutation "
    "(seed + epoch, not the rank) and takes its own entries of it"
)
LOCAL_MEAN = (
    "the mean of your rank losses is the mean of per-rank kd_loss: with uneven labelled rows that is not the "
    "global loss. Sum the labelled cross-entropies and divide by global_labelled, times world_size"
)
NO_WORLD = (
    "the hard term is world_size times too small: DDP averages the ranks' gradients, so each rank's hard term "
    "is world_size * (sum of its labelled cross-entropies) / global_labelled"
)
NO_HARD = "the hard term is missing: (1 - alpha) * world_size * sum of CE / global_labelled"
NO_GRAD = "no gradient reached the student logits: build the loss from tensor operations (no .item(), no NumPy)"
DDP_DIVIDED = "DDP keeps a full copy of the student on every GPU: nothing is divided by world_size"
FSDP_WHOLE = "FSDP shards weights, gradients and optimiser state: divide by world_size"
ADAM_16 = "Adam in fp32: 4 bytes of weight, 4 of gradient and 4 for each of its two moments, 16 per parameter"
TOPK_INDICES = "a top-k cache stores the indices too: k float32 values and k int32 indices per row"
SUMMED = "your gradients are world_size times the one-process gradient: DDP averages the ranks, it does not sum them"


# --- shard -----------------------------------------------------------------------------------------

SHARD_CASES = ((10, 2, True, 5), (11, 3, False, 5), (23, 4, True, 42), (2, 5, False, 1), (50, 3, True, 7))
EPOCHS = (0, 1, 4)


def _sampler(n: int, rank: int, world: int, seed: int, epoch: int, drop: bool) -> list[int]:
    from torch.utils.data.distributed import DistributedSampler

    s = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=drop)
    s.set_epoch(epoch)
    return [int(i) for i in s]


def _rows(value) -> list[int] | None:
    try:
        a = np.asarray(value)
    except (TypeError, ValueError):
        return None
    if a.ndim != 1 or (a.size and a.dtype.kind not in "iuf") or not np.all(a == np.round(a)):
        return None
    return [int(i) for i in a]


def _permutation(n: int, seed: int, epoch: int) -> list[int]:
    import torch

    return torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()


@judge.check("test_shard")
def shard(ask):
    keys = [(c, e, r) for c in SHARD_CASES for e in EPOCHS for r in range(c[1])]
    results = yield [ask.call("shard", n, r, w, s, e, drop_last=d) for (n, w, d, s), e, r in keys]
    got = {}
    for key, res in zip(keys, results, strict=True):
        rows = _rows(res)
        expect(rows is not None, f"shard must return a list of row indices (ints), got {type(res).__name__}")
        got[key] = rows
    for c in SHARD_CASES:
        n, w, d, s = c
        if n >= 10:  # two epochs of a tiny n may draw the same permutation
            expect(any(got[(c, 0, r)] != got[(c, 1, r)] for r in range(w)), NO_EPOCH)
        for e in EPOCHS:
            ranks = [got[(c, e, r)] for r in range(w)]
            if d:
                seen = [i for rows in ranks for i in rows]
                expect(len(seen) == len(set(seen)), OVERLAP)
            total = (n // w if d else -(-n // w)) * w
            order = _permutation(n, s, e)
            padded = (order * w)[:total]  # drop_last keeps a prefix; padding repeats the permutation from its start
            blocks = [padded[r * (total // w) : (r + 1) * (total // w)] for r in range(w)]
            want = [_sampler(n, r, w, s, e, d) for r in range(w)]
            if ranks != want and ranks == blocks:
                expect(False, CONTIGUOUS)
            for r in range(w):
                expect(
                    len(ranks[r]) == len(want[r]),
                    f"n={n}, world_size={w}, drop_last={d}: each rank visits {len(want[r])} rows, "
                    f"rank {r} got {len(ranks[r])}",
                )
                expect(
                    ranks[r] == want[r],
                    f"n={n}, world_size={w}, drop_last={d}, seed={s}, epoch={e}, rank={r}: got {ranks[r][:12]}, "
                    f"DistributedSampler gives {want[r][:12]}",
                )


# --- rank_loss -------------------------------------------------------------------------------------


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _ce_rows(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cross-entropy of each labelled row (unlabelled rows: 0); (b,)."""
    keep = y != -1
    logp = s - np.log(np.exp(s - s.max(1, keepdims=True)).sum(1, keepdims=True)) - s.max(1, keepdims=True)
    out = np.zeros(len(y))
    out[keep] = -logp[keep, y[keep]]
    return out


def _hard_grad(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d/ds of the sum of the labelled rows' cross-entropies; (b, C)."""
    keep = (y != -1).astype(np.float64)[:, None]
    onehot = np.eye(s.shape[1])[np.maximum(y, 0)]
    return (_softmax(s) - onehot) * keep


def _rank_loss(s, t, y, world, labelled, temp, alpha) -> tuple[float, np.ndarray]:
    """(value, d value / d s) of one rank's loss."""
    scale = world / labelled if labelled else 0.0
    value = alpha * ref.distillation_loss(s, t, temp) + (1 - alpha) * scale * _ce_rows(s, y).sum()
    grad = alpha * ref.distillation_grad(s, t, temp) + (1 - alpha) * scale * _hard_grad(s, y)
    return float(value), grad


def _loss_case(seed: int, world: int, b: int, c: int, labels: list[int], temp: float, alpha: float) -> dict:
    rng = np.random.default_rng(seed)
    y = np.array(labels, dtype=np.int64)
    assert len(y) == world * b
    return {
        "s": rng.normal(size=(world * b, c)) * 2,
        "t": rng.normal(size=(world * b, c)) * 2,
        "y": y,
        "world": world,
        "b": b,
        "T": temp,
        "alpha": alpha,
    }


LOSS_CASES = (
    _loss_case(15, 2, 4, 5, [0, 1, 2, 3, -1, -1, -1, 4], 2.0, 0.5),
    _loss_case(16, 3, 4, 6, [5, -1, 2, 0, -1, -1, -1, -1, 1, 4, -1, 3], 4.0, 0.9),
    _loss_case(17, 2, 3, 4, [-1, -1, -1, -1, -1, -1], 3.0, 0.7),
)


@judge.check("test_rank_loss")
def rank_loss(ask):
    keys = [(i, r) for i, c in enumerate(LOSS_CASES) for r in range(c["world"])]
    requests = []
    for i, r in keys:
        c = LOSS_CASES[i]
        part = slice(r * c["b"], (r + 1) * c["b"])
        labelled = int((c["y"] != -1).sum())
        requests.append(
            ask.call(
                "rank_loss",
                c["s"][part],
                c["t"][part],
                c["y"][part],
                c["world"],
                labelled,
                c["T"],
                c["alpha"],
                tensors="torch",
                grad=[0],
                raises=True,
            )  # fmt: skip
        )
    results = yield requests
    for (i, r), res in zip(keys, results, strict=True):
        c = LOSS_CASES[i]
        part = slice(r * c["b"], (r + 1) * c["b"])
        s, t, y, w, temp, a = c["s"][part], c["t"][part], c["y"][part], c["world"], c["T"], c["alpha"]
        labelled = int((c["y"] != -1).sum())
        if res.error is not None:
            graph = any(k in res.error for k in ("grad_fn", "differentiated", "'float'"))
            expect(not graph, NO_GRAD)
            expect(False, f"calling rank_loss raised {res.error}")
        res = res.value
        got = as_float(res["value"], "rank_loss")
        want, grad = _rank_loss(s, t, y, w, labelled, temp, a)
        soft = a * ref.distillation_loss(s, t, temp)
        hard_sum = _ce_rows(s, y).sum()
        if labelled and not close(got, want, rtol=1e-6):
            expect(not close(got, soft + (1 - a) * ref.cross_entropy(s, y, ignore_index=-1), rtol=1e-6), LOCAL_MEAN)
            expect(not close(got, soft + (1 - a) * hard_sum / labelled, rtol=1e-6), NO_WORLD)
            expect(not close(got, soft, rtol=1e-6), NO_HARD)
        what = f"rank_loss of rank {r} of {w} ({int((y != -1).sum())} of the {labelled} labelled rows)"
        expect_close(got, want, what, rtol=1e-6)
        g = res["grads"][0]
        expect(g is not None, NO_GRAD)
        expect(
            close(np.asarray(g), grad, rtol=1e-5, atol=1e-9),
            f"{what}: the value is right but its gradient with respect to the student logits is not",
        )


# --- ddp_gradients -----------------------------------------------------------------------------------


def _grad_case(seed: int, world: int, b: int, f: int, c: int, labels: list[int], temp: float, alpha: float) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=(world * b, f)),
        "t": rng.normal(size=(world * b, c)) * 2,
        "y": np.array(labels, dtype=np.int64),
        "weight": rng.normal(size=(c, f)) * 0.5,
        "bias": rng.normal(size=c) * 0.1,
        "world": world,
        "temperature": temp,
        "alpha": alpha,
    }


GRAD_CASES = (
    _grad_case(21, 2, 6, 6, 4, [0, 1, 2, 3, 0, 1, -1, -1, -1, -1, -1, 2], 2.0, 0.7),
    _grad_case(22, 3, 4, 5, 3, [0, -1, -1, -1, 1, 2, 0, 1, -1, 2, -1, -1], 4.0, 0.9),
)


def _full_gradient(c: dict) -> list[np.ndarray]:
    """d kd_loss(global batch, ignore_index=-1) / d (weight, bias) of the linear student."""
    x, t, y, temp, a = c["x"], c["t"], c["y"], c["temperature"], c["alpha"]
    s = x @ c["weight"].T + c["bias"]
    labelled = int((y != -1).sum())
    g = a * ref.distillation_grad(s, t, temp)
    if labelled:
        g = g + (1 - a) * _hard_grad(s, y) / labelled
    return [g.T @ x, g.sum(0)]


@judge.check("test_ddp_gradients")
def ddp_gradients(ask):
    requests = []
    for c in GRAD_CASES:
        w, x, t, y = c["world"], c["x"], c["t"], c["y"]
        shards = [(x[r::w], t[r::w], y[r::w]) for r in range(w)]  # interleaved, as DistributedSampler deals
        requests.append(
            ask.scenario(
                "ddp",
                raises=True,
                weight=c["weight"],
                bias=c["bias"],
                shards=shards,
                temperature=c["temperature"],
                alpha=c["alpha"],
            )  # fmt: skip
        )
    results = yield requests
    for c, res in zip(GRAD_CASES, results, strict=True):
        expect(res.error is None, f"calling ddp_gradients raised {res.error}")
        seen = res.value
        expect("grads" in seen, f"ddp_gradients must return a list of gradients, got a {seen['type']}")
        want = _full_gradient(c)
        grads = seen["grads"]
        expect(
            len(grads) == len(want) and all(g is not None for g in grads),
            f"one gradient per parameter of the student (weight, bias): got {len(grads)}",
        )
        expect(
            all(np.shape(g) == np.shape(v) for g, v in zip(grads, want, strict=True)),
            "each gradient must have its parameter's shape",
        )
        w = c["world"]
        if not close(grads[0], want[0], rtol=1e-6, atol=1e-9):
            expect(not close(grads[0], w * want[0], rtol=1e-6, atol=1e-9), SUMMED)
        for g, v, name in zip(grads, want, ("weight", "bias"), strict=True):
            expect(
                close(g, v, rtol=1e-6, atol=1e-9),
                f"{w} simulated ranks: the averaged gradient of the {name} differs from the one-process gradient of "
                f"kd_loss by {float(np.abs(np.asarray(g) - v).max()):.2e} (check rank_loss first: this uses it)",
            )
        expect(not seen["changed"], "ddp_gradients changed the student's weights: compute gradients only, no step")
        expect(not seen["left_grads"], "clear the student's gradients at the end (student.zero_grad())")


# --- memory_per_gpu, logit_cache_bytes ---------------------------------------------------------------

MEMORY = ((1_000, 4), (7_000_000_000, 8), (5_110, 1), (3, 2), (1_300_000_000, 16))


@judge.check("test_memory")
def memory(ask):
    calls = [(p, n, k) for p, n in MEMORY for k in ("ddp", "fsdp")]
    results = yield [ask.call("memory_per_gpu", p, n, k) for p, n, k in calls] + [
        ask.call("memory_per_gpu", 1_000, 4, "zero", raises=True)
    ]
    for (p, n, k), res in zip(calls, results[:-1], strict=True):
        got = as_float(res, "memory_per_gpu")
        want = 16 * p if k == "ddp" else 16 * p / n
        if not close(got, want, rtol=1e-9):
            if k == "ddp":
                expect(n == 1 or not close(got, 16 * p / n, rtol=1e-9), DDP_DIVIDED)
            else:
                expect(n == 1 or not close(got, 16 * p, rtol=1e-9), FSDP_WHOLE)
            per = got / (p if k == "ddp" else p / n)
            expect(not (close(per, 8) or close(per, 12)), ADAM_16)
        expect_close(got, want, f"memory_per_gpu({p}, {n}, {k!r})", rtol=1e-9)
    bad = results[-1]
    expect(bad.error is not None and bad.error.startswith("ValueError"), "an unknown strategy must raise ValueError")


CACHES = ((29_000, 10, None), (1_000, 32_000, 20), (5, 7, 3), (100, 1_000, None), (12_345, 50_000, 64))


@judge.check("test_cache_bytes")
def cache_bytes(ask):
    results = yield [
        ask.call("logit_cache_bytes", r, c) if k is None else ask.call("logit_cache_bytes", r, c, top_k=k)
        for r, c, k in CACHES
    ]
    for (rows, classes, k), res in zip(CACHES, results, strict=True):
        got = as_float(res, "logit_cache_bytes")
        if k is None:
            want = rows * classes * 4
            expect(not close(got, rows * classes * 8), "float32 logits: 4 bytes each, not 8")
        else:
            want = rows * k * 8
            expect(not close(got, rows * k * 4), TOPK_INDICES)
            expect(not close(got, rows * k * 12), "int32 indices: 4 bytes each (not int64)")
        expect_close(got, want, f"logit_cache_bytes({rows}, {classes}" + (f", top_k={k})" if k else ")"), rtol=1e-9)

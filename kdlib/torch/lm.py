"""Distilling a tiny causal language model in PyTorch (chapter 12; mirrors kdlib.tf.lm).

The functions, the token conventions and what the two sides share: :mod:`kdlib.lm_common`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kdlib import _validate as v
from kdlib import lm_common
from kdlib import reference as ref
from kdlib.grammar import PAD
from kdlib.loops import epoch_bar

__all__ = list(lm_common.NAMES)

#: size name -> (embedding dim, GRU hidden units)
LM_SIZES = ref.LM_SIZES


class TinyLM(nn.Module):
    """Embedding -> one GRU layer -> linear head: tokens (B, L) int -> logits (B, L, V)."""

    def __init__(self, vocab_size: int, embed_dim: int, hidden: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.rnn = nn.GRU(embed_dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, tokens: Tensor) -> Tensor:
        h, _ = self.rnn(self.embed(tokens))
        return self.head(h)


def build_lm(size: str, vocab_size: int, seed: int = 0) -> TinyLM:
    """A :class:`TinyLM` of size ``"teacher"`` or ``"student"`` (:data:`LM_SIZES`), seeded."""
    embed_dim, hidden = ref._check_lm_size(size, vocab_size)
    torch.manual_seed(seed)
    return TinyLM(vocab_size, embed_dim, hidden)


def _split(tokens) -> tuple[Tensor, Tensor, Tensor]:
    x = torch.as_tensor(ref._check_tokens(tokens))
    return x[:, :-1], x[:, 1:], x[:, 1:] != PAD


def _check_lm_logits(name: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        x = torch.as_tensor(x)
    if not x.is_floating_point():
        x = x.float()
    ref._check_lm_logits_shape(name, tuple(x.shape))
    v.check_finite(name, bool(torch.isfinite(x).all()))
    return x


def _mask(mask, shape: tuple[int, int], device) -> Tensor:
    if mask is None:
        return torch.ones(shape, dtype=torch.bool, device=device)
    m = mask if isinstance(mask, Tensor) else torch.as_tensor(np.asarray(mask))
    ref._check_mask(tuple(m.shape), shape, bool((m != 0).any()))
    return m != 0


def token_kl(
    student_logits: Tensor,
    teacher_logits: Tensor,
    mask: Tensor | None = None,
    kind: str = "forward",
    temperature: float = 1.0,
) -> Tensor:
    """Token-level KD loss: T² · masked mean over positions of a KL between softened next-token laws.

    ``kind="forward"``: KL(p_t ‖ p_s) (mode-covering, Hinton's direction); ``"reverse"``:
    KL(p_s ‖ p_t) (mode-seeking, MiniLLM's). Logits (B, L, V); ``mask`` (B, L), True/1 where the
    target is a real token (None: every position). Returns a scalar tensor; teacher detached.
    """
    t = v.check_temperature(temperature)
    kind = ref._check_kind(kind)
    s = _check_lm_logits("student_logits", student_logits)
    te = _check_lm_logits("teacher_logits", teacher_logits)
    ref._check_lm_pair(tuple(s.shape), tuple(te.shape))
    m = _mask(mask, tuple(s.shape[:2]), s.device).to(s.dtype)
    log_q = F.log_softmax(s / t, dim=-1)
    log_p = F.log_softmax(te.detach().to(s.dtype) / t, dim=-1)
    if kind == "forward":
        kl = (log_p.exp() * (log_p - log_q)).sum(-1)
    else:
        kl = (log_q.exp() * (log_q - log_p)).sum(-1)
    return (kl * m).sum() / m.sum() * (t * t)


def topk_kl(
    student_logits: Tensor,
    topk_values: Tensor,
    topk_indices: Tensor,
    mask: Tensor | None = None,
    temperature: float = 1.0,
) -> Tensor:
    """Forward KD from a top-k cache: T² · masked mean of KL(p̃_t ‖ p_s).

    p̃_t = softmax(topk_values / T) over the k cached tokens (the tail renormalised away), p_s the
    student's full softmax(s / T). ``topk_values`` float (B, L, k), ``topk_indices`` int (B, L, k).
    """
    t = v.check_temperature(temperature)
    s = _check_lm_logits("student_logits", student_logits)
    vals = _check_lm_logits("topk_values", topk_values).to(s.dtype)
    idx = torch.as_tensor(topk_indices)
    ref._check_topk(tuple(s.shape), tuple(vals.shape), tuple(idx.shape), _int_range(idx))
    m = _mask(mask, tuple(s.shape[:2]), s.device).to(s.dtype)
    log_q = torch.gather(F.log_softmax(s / t, dim=-1), -1, idx.long())
    log_p = F.log_softmax(vals.detach() / t, dim=-1)
    kl = (log_p.exp() * (log_p - log_q)).sum(-1)
    return (kl * m).sum() / m.sum() * (t * t)


def _int_range(idx: Tensor) -> tuple[bool, int | None, int | None]:
    is_int = not idx.is_floating_point() and idx.dtype != torch.bool
    if not is_int or idx.numel() == 0:
        return is_int, None, None
    return True, int(idx.min()), int(idx.max())


@torch.no_grad()
def _logits(model: nn.Module, x: Tensor, batch_size: int = 1024) -> Tensor:
    model.eval()
    return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def lm_log_probs(model: nn.Module, tokens, temperature: float = 1.0) -> np.ndarray:
    """log softmax(model(tokens[:, :-1]) / T) as NumPy float64 (N, L-1, V)."""
    t = v.check_temperature(temperature)
    x, _, _ = _split(tokens)
    return F.log_softmax(_logits(model, x).double() / t, dim=-1).numpy()


def topk_cache(teacher: nn.Module, tokens, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The teacher's k largest logits at every position, stored once: float32 values and int16
    indices, each (N, L-1, k). A full cache holds float32 (N, L-1, V)."""
    x, _, _ = _split(tokens)
    z = _logits(teacher, x)
    k = ref._check_k(k, z.shape[-1])
    vals, idx = torch.topk(z, k, dim=-1)
    return vals.float().numpy(), idx.to(torch.int16).numpy()


def _loop(model, step, n: int, opts, desc: str) -> list[float]:
    opt = torch.optim.Adam(model.parameters(), lr=opts.lr)
    g = torch.Generator().manual_seed(opts.seed)
    history = []
    bar = epoch_bar(opts.epochs, desc, opts.progress)
    for _ in range(opts.epochs):
        model.train()
        total, count = 0.0, 0
        for idx in torch.randperm(n, generator=g).split(opts.batch_size):
            loss = step(idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, count = total + float(loss.detach()) * len(idx), count + len(idx)
        history.append(total / count)
        bar.update(1)
    bar.close()
    model.eval()
    return history


@lm_common.loop_options
def train_lm(model: nn.Module, tokens, opts) -> list[float]:
    """Adam on the masked next-token cross-entropy of ``tokens`` (N, L); mean loss per epoch.

    Sequence-level KD (Kim & Rush 2016) is this function on the teacher's samples
    (:func:`sample_lm`) instead of the data.
    """
    x, y, m = _split(tokens)

    def step(idx):
        logits = model(x[idx])
        return F.cross_entropy(logits[m[idx]], y[idx][m[idx]])

    return _loop(model, step, len(x), opts, "train_lm")


def _distill_lm(
    student: nn.Module, teacher: nn.Module, tokens, kind: str, t: float, top_k, loss_fn, opts
) -> list[float]:
    """``distill_lm`` on this side, its arguments checked (:func:`kdlib.lm_common.distiller`)."""
    x, _, m = _split(tokens)
    teacher.eval().requires_grad_(False)
    if top_k is not None:
        vals, idx = (torch.from_numpy(a) for a in topk_cache(teacher, tokens, top_k))
        idx = idx.long()

        def step(i):
            return topk_kl(student(x[i]), vals[i], idx[i], m[i], t)
    else:
        cache = _logits(teacher, x)
        fn = loss_fn or (lambda s, te, mask, temp: token_kl(s, te, mask, kind, temp))

        def step(i):
            return fn(student(x[i]), cache[i], m[i], t)

    return _loop(student, step, len(x), opts, f"distill_lm {kind}")


#: token-level KD of ``student`` from ``teacher`` on ``tokens`` (N, L) (:func:`kdlib.lm_common.distiller`)
distill_lm = lm_common.distiller(_distill_lm)
#: ``n`` sequences from the model, int64 (n, max_len + 2): :func:`kdlib.lm_common.sampler`
sample_lm = lm_common.sampler(lambda model, prefix: _logits(model, torch.from_numpy(prefix))[:, -1].double().numpy())

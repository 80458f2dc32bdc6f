"""What kdlib.torch.lm and kdlib.tf.lm share (chapter 12): names, loop options, distill_lm's checks, sampler.

Both sides implement, with the same names, arguments, defaults and error messages::

    build_lm(size, vocab_size, seed)                 a GRU language model: "teacher" or "student"
    lm_log_probs(model, tokens, temperature)         log p(next token | prefix), NumPy (N, L-1, V)
    train_lm(model, tokens, ...)                     next-token cross-entropy (also sequence-level KD)
    token_kl(s, t, mask, kind, temperature)          token-level KD: "forward" KL(t‖s) / "reverse" KL(s‖t)
    topk_cache(teacher, tokens, k)                   the teacher's top-k logits, stored once
    topk_kl(s, values, indices, mask, temperature)   the KD loss from that cache
    distill_lm(student, teacher, tokens, ...)        token-level KD from a full or top-k cache
    sample_lm(model, n, seed, ...)                   sampled (or greedy) sequences, NumPy

Tokens follow :mod:`kdlib.grammar`: int64 ``(N, L)``, BOS first, PAD (0) after EOS. A model maps
inputs ``tokens[:, :-1]`` to logits ``(N, L-1, V)`` predicting ``tokens[:, 1:]``; positions whose
target is PAD are masked out of every loss. The teacher side of every loss is detached.
Nothing here computes a loss (the chapter grades those, and hides both sides while it does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from kdlib import options

__all__ = ["NAMES", "distiller", "loop_options", "sampler"]

#: the public names of each side's lm module (its ``__all__``)
NAMES = ("LM_SIZES", "TinyLM", "build_lm", "distill_lm", "lm_log_probs", "sample_lm", "token_kl", "topk_cache")
NAMES += ("topk_kl", "train_lm")

#: ``train_lm``'s and ``distill_lm``'s loop options (:class:`kdlib.options.Options`) with the LM defaults,
#: in place of their ``opts`` parameter: epochs=20, lr=1e-2, batch_size=64, seed=0, progress=False
loop_options = options.takes("epochs", "lr", "batch_size", "seed", "progress", epochs=20, lr=1e-2, progress=False)


def distiller(engine: Callable[..., list[float]]) -> Callable[..., list[float]]:
    """A side's ``distill_lm``: its arguments checked here, then ``engine(student, teacher, tokens, kind, t,
    top_k, loss_fn, opts)`` (t the checked temperature, opts the checked loop options)."""

    @loop_options
    def distill_lm(
        student,
        teacher,
        tokens,
        kind: str = "forward",
        temperature: float = 1.0,
        top_k: int | None = None,
        loss_fn=None,
        opts=None,  # the loop options of loop_options (epochs=20, lr=1e-2, ...)
    ) -> list[float]:
        """Token-level KD of ``student`` from ``teacher`` on ``tokens`` (N, L); mean loss per epoch.

        The teacher's logits are computed once (the cache). ``top_k``: cache only its k largest
        logits and use :func:`topk_kl` (forward KL only). ``loss_fn(student_logits, teacher_logits,
        mask, temperature)``: your own token loss instead of :func:`token_kl` with ``kind``.
        """
        from kdlib import _validate as v
        from kdlib import reference as ref  # lazy, as in kdlib.grammar.sample_tokens

        t = v.check_temperature(temperature)
        kind = ref._check_kind(kind)
        v.check_top_k(top_k, kind, loss_fn)
        return engine(student, teacher, tokens, kind, t, top_k, loss_fn, opts)

    return distill_lm


def sampler(next_logits: Callable[[Any, np.ndarray], np.ndarray]) -> Callable[..., np.ndarray]:
    """A side's ``sample_lm`` from ``next_logits(model, prefix int64 (n, pos)) -> float64 (n, V)``."""

    def sample_lm(
        model, n: int, max_len: int = 12, seed: int = 0, temperature: float = 1.0, greedy: bool = False
    ) -> np.ndarray:
        """``n`` sequences from the model, int64 (n, max_len + 2) like :meth:`Grammar.sample`.

        Each step draws from softmax(logits / T) (NumPy generator ``seed``; ``greedy``: the argmax);
        PAD is never drawn; EOS is forced after ``max_len`` words.
        """
        from kdlib.grammar import sample_tokens

        return sample_tokens(lambda prefix: next_logits(model, prefix), n, max_len, seed, temperature, greedy)

    return sample_lm

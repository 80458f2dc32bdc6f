"""A tiny probabilistic language whose true next-token distribution is known exactly.

Chapter 12 distils a language model. To measure how far a teacher or a student is from the
*truth* (not just from each other), the text comes from a small probabilistic finite automaton
(:class:`Grammar`): a state machine in which each state gives a next-token distribution and each
emitted token moves the machine to a fixed next state. The state is therefore a deterministic
function of the prefix, and :meth:`Grammar.true_probs` gives the exact p(next token | prefix)
for every position of any sequence. Some states are **bimodal** (two very different tokens at
≈0.45 each: the multimodal continuations that separate forward from reverse KL), most are
near-deterministic (one token ≈0.85), a few end the sentence.

Token ids: ``PAD = 0`` (padding, never emitted), ``BOS = 1``, ``EOS = 2``, then the words.
Sequences are int64 arrays ``(N, max_len + 2)``: BOS, the words, EOS, then PAD. Framework-neutral
(NumPy only) and deterministic given the seeds; no download.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "BOS",
    "EOS",
    "PAD",
    "WORDS",
    "Grammar",
    "distinct_ngrams",
    "kl_to_truth",
    "mode_coverage",
    "perplexity",
    "sample_tokens",
    "tail_ratio",
]

PAD, BOS, EOS = 0, 1, 2
#: the words after the three special tokens (vocabulary size 3 + 24 = 27)
WORDS = (
    "the a cat dog bird fish sees likes chases finds big small red blue "
    "and then quickly slowly here there home away now too"
).split()


@dataclass(frozen=True)
class Grammar:
    """A seeded probabilistic finite automaton over ``PAD, BOS, EOS`` + :data:`WORDS`.

    ``probs[s]`` (vocab,) is the next-token distribution in state ``s``; ``step[s, v]`` the state
    after emitting ``v`` there. State 0 is the start (after BOS). ``kind[s]`` is "bimodal",
    "peaked" or "final" (EOS likely). Sequences longer than ``max_len`` words are impossible:
    after ``max_len`` words the next token is EOS with probability 1 (:meth:`true_probs` knows).
    """

    probs: np.ndarray
    step: np.ndarray
    kind: tuple[str, ...]
    modes: np.ndarray  # (states, 2): the two modes of a bimodal state, -1 elsewhere
    max_len: int

    @classmethod
    def make(cls, num_states: int = 12, max_len: int = 12, seed: int = 0) -> Grammar:
        """Build the automaton: a third of the states bimodal, two final, the rest peaked."""
        if not isinstance(num_states, int) or num_states < 4:
            raise ValueError(f"num_states must be an integer >= 4, got {num_states!r}")
        if not isinstance(max_len, int) or max_len < 2:
            raise ValueError(f"max_len must be an integer >= 2, got {max_len!r}")
        rng = np.random.default_rng(seed)
        vocab = 3 + len(WORDS)
        words = np.arange(3, vocab)
        probs = np.zeros((num_states, vocab))
        modes = -np.ones((num_states, 2), dtype=np.int64)
        kinds = []
        n_bi = max(2, num_states // 3)
        for s in range(num_states):
            picks = rng.choice(words, size=5, replace=False)
            if s < n_bi:  # state 0 (sentence start) is bimodal
                kinds.append("bimodal")
                probs[s, picks[:2]] = 0.45
                probs[s, picks[2:]] = 0.10 / 3
                modes[s] = picks[:2]
            elif s >= num_states - 2:
                kinds.append("final")
                probs[s, EOS] = 0.7
                probs[s, picks[:3]] = 0.1
            else:
                kinds.append("peaked")
                probs[s, picks[0]] = 0.85
                probs[s, picks[1:4]] = 0.05
        # transitions: a chain through the states with random jumps, so every state is reachable
        step = rng.integers(1, num_states, size=(num_states, vocab))
        for s in range(num_states):
            main = int(np.argmax(probs[s]))
            step[s, main] = (s + 1) % num_states or 1
        step[:, EOS] = 0
        return cls(probs, step, tuple(kinds), modes, max_len)

    @property
    def vocab_size(self) -> int:
        return self.probs.shape[1]

    def decode(self, tokens) -> list[str]:
        """Each row of ``tokens`` as text (BOS/PAD left out, EOS as '.')."""
        names = ["", "", "."] + list(WORDS)
        rows = np.atleast_2d(np.asarray(tokens))
        return [" ".join(names[t] for t in row if t not in (PAD, BOS)).strip() for row in rows]

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` sequences, int64 ``(n, max_len + 2)``: BOS, words, EOS, PAD. Same seed, same data."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        rng = np.random.default_rng(seed)
        out = np.full((n, self.max_len + 2), PAD, dtype=np.int64)
        out[:, 0] = BOS
        cdf = np.cumsum(self.probs, axis=1)
        for i in range(n):
            s = 0
            for pos in range(1, self.max_len + 2):
                if pos == self.max_len + 1:
                    tok = EOS
                else:
                    tok = int(np.searchsorted(cdf[s], rng.random() * cdf[s, -1], side="right"))
                out[i, pos] = tok
                if tok == EOS:
                    break
                s = int(self.step[s, tok])
        return out

    def states(self, tokens) -> np.ndarray:
        """The automaton's state before predicting each next token: ``(N, L-1)`` for inputs ``(N, L)``.

        Position ``j`` is the state after reading ``tokens[:, :j+1]``; -1 where the target is PAD.
        """
        x = np.atleast_2d(np.asarray(tokens))
        n, length = x.shape
        out = -np.ones((n, length - 1), dtype=np.int64)
        for i in range(n):
            s = 0
            for j in range(length - 1):
                if x[i, j + 1] == PAD:
                    break
                if j > 0:
                    s = int(self.step[s, x[i, j]])
                out[i, j] = s
        return out

    def true_probs(self, tokens) -> np.ndarray:
        """Exact p(next token | prefix) at every position: ``(N, L-1, vocab)`` float64 for ``(N, L)``.

        Row ``[i, j]`` predicts ``tokens[i, j+1]`` from ``tokens[i, :j+1]``; rows whose target is
        PAD are all zero (they are masked out everywhere).
        """
        x = np.atleast_2d(np.asarray(tokens))
        st = self.states(x)
        out = np.where((st >= 0)[..., None], self.probs[np.maximum(st, 0)], 0.0)
        force = np.arange(x.shape[1] - 1) == self.max_len  # after max_len words: EOS for sure
        if force.any():
            out[:, force] = 0.0
            out[:, force, EOS] = np.where(st[:, force] >= 0, 1.0, 0.0)
        return out

    def entropy_rate(self, tokens) -> float:
        """Mean true entropy (nats) of the next token over the non-PAD targets of ``tokens``."""
        p = self.true_probs(tokens)
        mask = np.asarray(tokens)[:, 1:] != PAD
        h = -(p * np.log(np.where(p > 0, p, 1.0))).sum(-1)
        return float(h[mask].mean())


def _targets_mask(tokens, log_probs) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(tokens)
    lp = np.asarray(log_probs, dtype=np.float64)
    if lp.ndim != 3 or lp.shape[:2] != (x.shape[0], x.shape[1] - 1):
        raise ValueError(
            f"log_probs must have shape (N, L-1, vocab) = ({x.shape[0]}, {x.shape[1] - 1}, vocab) for tokens "
            f"{x.shape}, got {lp.shape}"
        )
    return x[:, 1:], x[:, 1:] != PAD


def kl_to_truth(grammar: Grammar, tokens, log_probs) -> float:
    """Mean over non-PAD positions of KL(truth ‖ model) in nats; ``log_probs`` (N, L-1, vocab)."""
    _, mask = _targets_mask(tokens, log_probs)
    p = grammar.true_probs(tokens)
    lp = np.asarray(log_probs, dtype=np.float64)
    logp = np.log(np.where(p > 0, p, 1.0))
    kl = (p * (logp - lp)).sum(-1)
    return float(kl[mask].mean())


def perplexity(tokens, log_probs) -> float:
    """exp(mean negative log-likelihood of the actual next tokens), over non-PAD targets."""
    y, mask = _targets_mask(tokens, log_probs)
    lp = np.asarray(log_probs, dtype=np.float64)
    nll = -np.take_along_axis(lp, y[..., None], -1)[..., 0]
    return float(np.exp(nll[mask].mean()))


def mode_coverage(grammar: Grammar, tokens, log_probs, threshold: float = 0.2) -> float:
    """Share of bimodal-state positions where the model gives BOTH modes >= ``threshold``.

    The truth gives each mode 0.45, so it scores 1.0; a model that drops one mode scores 0.
    """
    _targets_mask(tokens, log_probs)
    st = grammar.states(tokens)
    bi = st >= 0
    bi &= np.isin(st, [s for s, k in enumerate(grammar.kind) if k == "bimodal"])
    bi &= np.arange(st.shape[1])[None, :] < grammar.max_len
    if not bi.any():
        raise ValueError("tokens contain no position in a bimodal state")
    prob = np.exp(np.asarray(log_probs, dtype=np.float64))
    m = grammar.modes[np.maximum(st, 0)]  # (N, L-1, 2)
    both = np.take_along_axis(prob, np.maximum(m, 0), -1).min(-1) >= threshold
    return float(both[bi].mean())


def tail_ratio(grammar: Grammar, tokens, log_probs, below: float = 0.2) -> float:
    """The model's probability on the truth's *minor* continuations over the truth's own.

    Minor: tokens with 0 < p_true < ``below`` (the small alternatives of each state). Summed over
    non-PAD positions: 1.0 = as much mass as the truth, 0 = the model has dropped them.
    """
    _, mask = _targets_mask(tokens, log_probs)
    p = grammar.true_probs(tokens)
    minor = (p > 0) & (p < below) & mask[..., None]
    q = np.exp(np.asarray(log_probs, dtype=np.float64))
    return float((q * minor).sum() / (p * minor).sum())


def distinct_ngrams(tokens, n: int = 2) -> float:
    """Distinct-n: unique n-grams / all n-grams over the words of the sequences (diversity)."""
    seen, total = set(), 0
    for row in np.atleast_2d(np.asarray(tokens)):
        words = [int(t) for t in row if t not in (PAD, BOS)]
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        seen.update(grams)
        total += len(grams)
    return len(seen) / max(total, 1)


def sample_tokens(
    next_logits, n: int, max_len: int = 12, seed: int = 0, temperature: float = 1.0, greedy: bool = False
) -> np.ndarray:
    """``n`` sequences int64 (n, max_len + 2) drawn from a model, like :meth:`Grammar.sample`.

    ``next_logits(prefix)`` gives the model's logits for the next token, float64 (n, V), of a
    prefix int64 (n, pos) — each framework's ``sample_lm`` passes its model this way. Each step
    draws from softmax(logits / T) (NumPy generator ``seed``; ``greedy``: the argmax); PAD is
    never drawn; EOS is forced after ``max_len`` words.
    """
    from kdlib import _validate as v
    from kdlib import reference as ref  # lazy: the reference is hidden while notebook 12 is graded

    t = v.check_temperature(temperature)
    rng = np.random.default_rng(seed)
    out = np.full((n, max_len + 2), PAD, dtype=np.int64)
    out[:, 0] = BOS
    alive = np.ones(n, dtype=bool)
    for pos in range(1, max_len + 2):
        if pos == max_len + 1:
            out[alive, pos] = EOS
            break
        z = next_logits(out[:, :pos])
        out[alive, pos] = ref.next_tokens(z[alive], t, greedy, rng)
        alive &= out[:, pos] != EOS
        if not alive.any():
            break
    return out

"""The toy language of chapter 12 (kdlib.grammar) and the tiny LMs of kdlib.torch.lm / kdlib.tf.lm."""

from __future__ import annotations

import numpy as np
import pytest

from kdlib import grammar as gr
from kdlib.grammar import BOS, EOS, PAD, Grammar

FRAMEWORKS = ["torch", "tf"]


@pytest.fixture(scope="module")
def g():
    return Grammar.make()


@pytest.fixture(scope="module")
def data(g):
    return g.sample(600, seed=0), g.sample(300, seed=1)


def _lm(side):
    if side == "torch":
        from kdlib.torch import lm
    else:
        from kdlib.tf import lm
    return lm


def test_truth_is_a_distribution_with_multimodal_states(g, data):
    x = data[0]
    p = g.true_probs(x)
    real = x[:, 1:] != PAD
    assert np.allclose(p[real].sum(-1), 1.0) and (p[~real] == 0).all()
    assert (p[..., PAD] == 0).all(), "PAD is never a next token"
    assert "bimodal" in g.kind and "peaked" in g.kind
    for s in np.flatnonzero(np.array(g.kind) == "bimodal"):
        top2 = np.sort(g.probs[s])[-2:]
        assert np.allclose(top2, 0.45), "a bimodal state has two modes of 0.45"
    # the truth scores perfectly on its own metrics
    lp = np.log(np.where(p > 0, p, 1e-300))
    assert abs(gr.kl_to_truth(g, x, lp)) < 1e-12
    assert gr.mode_coverage(g, x, lp) == 1.0
    assert abs(np.log(gr.perplexity(x, lp)) - g.entropy_rate(x)) < 0.05


def test_sampling_matches_the_true_frequencies(g):
    x = g.sample(4000, seed=7)
    assert x.shape == (4000, g.max_len + 2) and (x[:, 0] == BOS).all()
    assert ((x == EOS).sum(1) == 1).all(), "every sequence ends with exactly one EOS"
    first = np.bincount(x[:, 1], minlength=g.vocab_size) / len(x)
    assert np.abs(first - g.probs[0]).max() < 0.03
    # every position: empirical next-token frequencies per state against the state's law
    st, y = g.states(x), x[:, 1:]
    inside = (st >= 0) & (np.arange(st.shape[1]) < g.max_len)
    for s in range(len(g.kind)):
        sel = inside & (st == s)
        if sel.sum() > 500:
            freq = np.bincount(y[sel], minlength=g.vocab_size) / sel.sum()
            assert np.abs(freq - g.probs[s]).max() < 0.05, s


def test_sampling_is_seeded(g):
    assert np.array_equal(g.sample(50, seed=3), g.sample(50, seed=3))
    assert not np.array_equal(g.sample(50, seed=3), g.sample(50, seed=4))
    assert np.array_equal(Grammar.make(seed=0).probs, g.probs)


def test_metrics_reject_bad_shapes(g, data):
    with pytest.raises(ValueError, match="log_probs must have shape"):
        gr.kl_to_truth(g, data[0], np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="n must be a positive integer"):
        g.sample(0)
    assert 0 < gr.distinct_ngrams(data[0]) <= 1


@pytest.mark.slow
@pytest.mark.parametrize("side", FRAMEWORKS)
def test_teacher_learns_and_seeds_reproduce(side, g, data):
    lm = _lm(side)
    train, test = data[0][:300], data[1][:150]
    t = lm.build_lm("teacher", g.vocab_size, seed=0)
    before = gr.kl_to_truth(g, test, lm.lm_log_probs(t, test))
    hist = lm.train_lm(t, train, epochs=6, lr=1e-2, batch_size=64, seed=0)
    after = gr.kl_to_truth(g, test, lm.lm_log_probs(t, test))
    assert hist[-1] < hist[0] and after < 0.5 * before, (before, after)
    again = lm.build_lm("teacher", g.vocab_size, seed=0)
    lm.train_lm(again, train, epochs=6, lr=1e-2, batch_size=64, seed=0)
    assert np.allclose(lm.lm_log_probs(again, test), lm.lm_log_probs(t, test), atol=1e-5)
    # distillation (forward, reverse, top-k, a custom loss_fn) runs and records finite losses
    for kw in (
        {"kind": "forward"},
        {"kind": "reverse", "temperature": 2.0},
        {"top_k": 5},
        {"loss_fn": lambda s, t, m, temp: lm.token_kl(s, t, m, "reverse", temp)},
    ):
        s = lm.build_lm("student", g.vocab_size, seed=1)
        h = lm.distill_lm(s, t, train[:128], epochs=2, batch_size=64, seed=0, **kw)
        assert len(h) == 2 and np.isfinite(h).all(), kw
    with pytest.raises(ValueError, match="top_k works with the forward KL only"):
        lm.distill_lm(s, t, train[:50], kind="reverse", top_k=3, epochs=1)
    samples = lm.sample_lm(t, 40, max_len=g.max_len, seed=2)
    assert samples.shape == (40, g.max_len + 2) and (samples[:, 0] == BOS).all()
    assert ((samples == EOS).sum(1) == 1).all()
    assert np.array_equal(samples, lm.sample_lm(t, 40, max_len=g.max_len, seed=2))
    greedy = lm.sample_lm(t, 3, max_len=g.max_len, greedy=True)
    assert (greedy == greedy[0]).all(), "greedy decoding from BOS is deterministic"


@pytest.mark.parametrize("side", FRAMEWORKS)
def test_both_sides_build_the_same_shapes(side, g, data):
    lm = _lm(side)
    x = data[1][:8]
    counts = {}
    for size, (e, h) in lm.LM_SIZES.items():
        m = lm.build_lm(size, g.vocab_size, seed=0)
        n = sum(int(np.prod(p.shape)) for p in (m.parameters() if side == "torch" else m.weights))
        v = g.vocab_size
        counts[size] = n
        assert n == v * e + 3 * h * (e + h) + 6 * h + h * v + v, (size, n)
    lp = lm.lm_log_probs(lm.build_lm("student", g.vocab_size, seed=0), x)
    assert lp.shape == (8, x.shape[1] - 1, g.vocab_size) and np.allclose(np.exp(lp).sum(-1), 1)
    vals, idx = lm.topk_cache(lm.build_lm("student", g.vocab_size, seed=0), x, 4)
    assert vals.shape == idx.shape == (8, x.shape[1] - 1, 4) and vals.dtype == np.float32 and idx.dtype == np.int16
    assert (np.diff(vals, axis=-1) <= 0).all(), "top-k values come largest first"
    with pytest.raises(ValueError, match="size must be one of"):
        lm.build_lm("huge", g.vocab_size)
    with pytest.raises(ValueError, match="tokens must be a 2-D integer array"):
        lm.lm_log_probs(lm.build_lm("student", g.vocab_size), x[0])
    with pytest.raises(ValueError, match="k must be an integer in"):
        lm.topk_cache(lm.build_lm("student", g.vocab_size), x, 0)

"""Distilling a tiny language model (chapter 12): forward vs reverse KL vs sequence-level KD vs scratch.

    python benchmarks/lm_distill.py [--seeds 5] [--frameworks torch tf] [--quick]

How the figures are made (defaults; the notebook 12_llm_distill uses the same settings with
seeds 0-2):

- the language is ``kdlib.grammar.Grammar.make(seed=0)``: 27 tokens, 12 states, 4 of them
  bimodal (two next tokens at 0.45 each). Training data: 2,000 sequences (sample seed 0);
  held-out: 1,000 sequences (sample seed 1). Its exact next-token law is known, so every model
  is scored against the truth;
- one teacher per framework (``build_lm("teacher")``: GRU, embedding 32, hidden 64; seed 0;
  ``train_lm`` 20 epochs, Adam lr 1e-2, batch 64). For each student seed s (``build_lm("student")``:
  embedding 8, hidden 16; weights seed s, batch order seed s; 10 epochs, lr 1e-2, batch 64):
    scratch   ``train_lm`` on the 2,000 training sequences
    forward   ``distill_lm(kind="forward")``: KL(teacher ‖ student) per token, T = 1
    reverse   ``distill_lm(kind="reverse")``: KL(student ‖ teacher) per token, T = 1
    fwd T=2 / rev T=2   the same at T = 2 (T² scaling)
    seq-level ``train_lm`` on 2,000 sequences sampled from the teacher (sample seed 100 + s)
    top-k=K   ``distill_lm(top_k=K)``: forward KL from a cache of the teacher's K largest logits
- metrics on the held-out sequences (``kdlib.grammar``): KL(truth ‖ model) per token (nats),
  perplexity of the actual next tokens (the truth's own is exp(entropy rate)), mode coverage
  (share of bimodal-state positions where the model gives both modes ≥ 0.2; the truth: 1.0);
  tail: the model's probability on the truth's minor continuations (0 < p < 0.2) over the
  truth's own (``tail_ratio``; 1.0 = as much, 0 = dropped);
  diversity: distinct-2 (unique word bigrams / all bigrams) of 1,000 sequences sampled from the
  model at T = 1 (sample seed 0);
- mean ± sample std (ddof = 1) over the student seeds; the top-k memory is the bytes of the
  cache (float32 values + int16 indices) against the full float32 logits cache.
Greedy decoding is not an arm: an unconditional LM's greedy sequence from BOS is one sentence,
repeated (Kim & Rush's sequence-level KD decodes per *source* sentence, with beam search).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from kdlib.grammar import PAD, Grammar, distinct_ngrams, kl_to_truth, mode_coverage, perplexity, tail_ratio

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

METRICS = ("kl", "ppl", "coverage", "tail", "distinct2")
LR, BATCH = 1e-2, 64


def _lm(framework: str):
    if framework == "torch":
        import torch

        torch.set_num_threads(1)
        from kdlib.torch import lm
    else:
        from kdlib.tf import lm
    return lm


def scores(lm, model, g: Grammar, test: np.ndarray) -> dict[str, float]:
    lp = lm.lm_log_probs(model, test)
    samples = lm.sample_lm(model, 1000, max_len=g.max_len, seed=0)
    return {
        "kl": kl_to_truth(g, test, lp),
        "ppl": perplexity(test, lp),
        "coverage": mode_coverage(g, test, lp),
        "tail": tail_ratio(g, test, lp),
        "distinct2": distinct_ngrams(samples),
    }


def run(framework: str, seeds: list[int], epochs: int, teacher_epochs: int, n_train: int, ks: list[int]) -> None:
    lm = _lm(framework)
    g = Grammar.make(seed=0)
    train, test = g.sample(n_train, seed=0), g.sample(1000, seed=1)
    v = g.vocab_size
    t0 = time.perf_counter()
    teacher = lm.build_lm("teacher", v, seed=0)
    lm.train_lm(teacher, train, epochs=teacher_epochs, lr=LR, batch_size=BATCH, seed=0)
    print(f"\n[{framework}] teacher trained in {time.perf_counter() - t0:.1f} s")
    truth_ppl = float(np.exp(g.entropy_rate(test)))
    teacher_scores = scores(lm, teacher, g, test)
    arms = {
        "scratch": lambda s, seed: lm.train_lm(s, train, epochs=epochs, lr=LR, batch_size=BATCH, seed=seed),
        "forward": lambda s, seed: lm.distill_lm(s, teacher, train, "forward", 1.0, epochs=epochs, seed=seed),
        "reverse": lambda s, seed: lm.distill_lm(s, teacher, train, "reverse", 1.0, epochs=epochs, seed=seed),
        "fwd T=2": lambda s, seed: lm.distill_lm(s, teacher, train, "forward", 2.0, epochs=epochs, seed=seed),
        "rev T=2": lambda s, seed: lm.distill_lm(s, teacher, train, "reverse", 2.0, epochs=epochs, seed=seed),
        "seq-level": lambda s, seed: lm.train_lm(
            s, lm.sample_lm(teacher, n_train, max_len=g.max_len, seed=100 + seed), epochs=epochs, seed=seed
        ),
    }
    for k in ks:
        arms[f"top-k={k}"] = lambda s, seed, k=k: lm.distill_lm(s, teacher, train, top_k=k, epochs=epochs, seed=seed)
    results: dict[str, dict[str, list[float]]] = {name: {m: [] for m in METRICS} for name in arms}
    for name, train_arm in arms.items():
        t0 = time.perf_counter()
        for seed in seeds:
            student = lm.build_lm("student", v, seed=seed)
            train_arm(student, seed)
            for m, value in scores(lm, student, g, test).items():
                results[name][m].append(value)
        print(f"  {name:<10} {len(seeds)} seeds in {time.perf_counter() - t0:.1f} s")

    print(f"[{framework}] held-out metrics, student seeds {seeds}: mean ± sample std (ddof=1)")
    print(f"  truth: KL 0, perplexity {truth_ppl:.3f}, coverage 1.00")
    print(
        f"  {'teacher':<10} KL {teacher_scores['kl']:.3f}  ppl {teacher_scores['ppl']:.3f}  "
        f"coverage {teacher_scores['coverage']:.2f}  tail {teacher_scores['tail']:.2f}  "
        f"distinct-2 {teacher_scores['distinct2']:.3f}  (one run, seed 0)"
    )
    data_d2 = distinct_ngrams(g.sample(1000, seed=0))
    print(f"  {'data':<10} distinct-2 {data_d2:.3f} (1,000 sequences from the grammar)")
    for name, r in results.items():
        cells = [f"{m} {np.mean(r[m]):.3f} ± {np.std(r[m], ddof=1):.3f}" for m in METRICS]
        print(f"  {name:<10} " + "  ".join(cells))
    base = np.array(results["scratch"]["kl"])
    for name in results:
        if name != "scratch":
            d = np.array(results[name]["kl"]) - base
            print(f"  KL {name} minus scratch per seed: {', '.join(f'{x:+.3f}' for x in d)} (mean {d.mean():+.3f})")

    # top-k cache: memory and how much teacher probability it keeps
    x_len = train.shape[1] - 1
    full = n_train * x_len * v * 4
    lp_t = lm.lm_log_probs(teacher, train)
    real = train[:, 1:] != PAD
    for k in ks:
        vals, idx = lm.topk_cache(teacher, train, k)
        mass = np.take_along_axis(np.exp(lp_t), idx.astype(np.int64), -1).sum(-1)[real].mean()
        print(
            f"  top-k={k}: cache {vals.nbytes + idx.nbytes:,} bytes vs full {full:,} "
            f"({full / (vals.nbytes + idx.nbytes):.1f}× smaller); keeps {mass:.1%} of the teacher's probability"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--frameworks", nargs="+", default=["torch", "tf"], choices=["torch", "tf"])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--teacher-epochs", type=int, default=20)
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--ks", type=int, nargs="+", default=[1, 2, 5])
    ap.add_argument("--quick", action="store_true", help="3 seeds, PyTorch only")
    args = ap.parse_args()
    seeds = list(range(3 if args.quick else args.seeds))
    frameworks = ["torch"] if args.quick else args.frameworks
    for fw in frameworks:
        run(fw, seeds, args.epochs, args.teacher_epochs, args.train, args.ks)


if __name__ == "__main__":
    main()

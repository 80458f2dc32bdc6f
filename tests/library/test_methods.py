"""kdlib.torch.methods: hand-computed values, finite-difference gradients, bad input.

Parity with the reference and with kdlib.tf.methods: tests/library/test_methods_contract.py."""

import math

import pytest
import torch
from torch import nn

from kdlib.torch.methods import dkd_loss, fitnets_hint_loss


def _identity_regressor(d):
    r = nn.Linear(d, d, bias=False).double()
    with torch.no_grad():
        r.weight.copy_(torch.eye(d, dtype=torch.float64))
    return r


def test_fitnets_hand_values():
    s = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    t = torch.tensor([[1.0, 0.0], [3.0, 6.0]], dtype=torch.float64)
    # identity regressor: squared errors 0, 4, 0, 4 -> mean 2
    assert fitnets_hint_loss(s, t, _identity_regressor(2)).item() == pytest.approx(2.0)
    # a 2 -> 1 regressor w = (1, -1), b = 0.5: outputs -0.5, -0.5 vs teacher 1, 2 -> (2.25 + 6.25) / 2
    r = nn.Linear(2, 1).double()
    with torch.no_grad():
        r.weight.copy_(torch.tensor([[1.0, -1.0]]))
        r.bias.fill_(0.5)
    out = fitnets_hint_loss(s, torch.tensor([[1.0], [2.0]], dtype=torch.float64), r)
    assert out.item() == pytest.approx(4.25)


def test_fitnets_gradients_and_teacher_detached():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.randn(4, 5, generator=g, dtype=torch.float64, requires_grad=True)
    torch.manual_seed(0)
    r = nn.Linear(3, 5).double()
    assert torch.autograd.gradcheck(lambda a: fitnets_hint_loss(a, t, r), (s,))
    fitnets_hint_loss(s, t, r).backward()
    assert t.grad is None, "the teacher features must be detached"
    assert r.weight.grad is not None and r.weight.grad.abs().sum() > 0


def test_fitnets_bad_input():
    r = nn.Linear(3, 5)
    with pytest.raises(ValueError, match="student_feat must be 2-D"):
        fitnets_hint_loss(torch.zeros(3), torch.zeros(3, 5), r)
    with pytest.raises(ValueError, match="same batch size"):
        fitnets_hint_loss(torch.zeros(2, 3), torch.zeros(4, 5), r)
    with pytest.raises(ValueError, match=r"teacher_feat shape \(2, 4\)"):
        fitnets_hint_loss(torch.zeros(2, 3), torch.zeros(2, 4), r)
    with pytest.raises(ValueError, match="teacher_feat must be finite"):
        fitnets_hint_loss(torch.zeros(2, 3), torch.full((2, 5), float("nan")), r)


def test_dkd_hand_value_one_row():
    # 3 classes, label 0, T = 1: teacher logits (0, ln 2, 0)? use exact numbers:
    # teacher p = (1/2, 1/4, 1/4) from logits ln(2), 0, 0; student uniform (0, 0, 0).
    t = torch.tensor([[math.log(2.0), 0.0, 0.0]], dtype=torch.float64)
    s = torch.zeros(1, 3, dtype=torch.float64)
    y = torch.tensor([0])
    # TCKD = KL([1/2, 1/2] || [1/3, 2/3]) = 1/2 ln(3/2) + 1/2 ln(3/4); NCKD = 0 (both uniform)
    tckd = 0.5 * math.log(1.5) + 0.5 * math.log(0.75)
    assert dkd_loss(s, t, y, alpha=1.0, beta=8.0, temperature=1.0).item() == pytest.approx(tckd)
    # label 1: non-target teacher (2/3, 1/3) vs uniform -> NCKD = 2/3 ln(4/3) + 1/3 ln(2/3)
    nckd = 2 / 3 * math.log(4 / 3) + 1 / 3 * math.log(2 / 3)
    tckd1 = 0.25 * math.log(0.75) + 0.75 * math.log(0.75 / (2 / 3))
    got = dkd_loss(s, t, torch.tensor([1]), alpha=2.0, beta=3.0, temperature=1.0).item()
    assert got == pytest.approx(2 * tckd1 + 3 * nckd)


def test_dkd_gradients_stable_and_detached():
    g = torch.Generator().manual_seed(1)
    s = torch.randn(4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.randn(4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 5, 2, 2])
    assert torch.autograd.gradcheck(lambda a: dkd_loss(a, t, y, 1.0, 8.0, 4.0), (s,))
    dkd_loss(s, t, y).backward()
    assert t.grad is None
    big = dkd_loss(torch.tensor([[1e4, -1e4, 0.0]]), torch.tensor([[-1e4, 1e4, 0.0]]), torch.tensor([2]))
    assert torch.isfinite(big)
    same = torch.randn(3, 4, generator=g)
    assert dkd_loss(same, same, torch.tensor([0, 1, 3])).item() == pytest.approx(0.0, abs=1e-6)


def test_dkd_bad_input():
    s, t, y = torch.zeros(2, 3), torch.zeros(2, 3), torch.tensor([0, 1])
    with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
        dkd_loss(s, t, y, beta=-1.0)
    with pytest.raises(ValueError, match="temperature"):
        dkd_loss(s, t, y, temperature=0.0)
    with pytest.raises(ValueError, match="labels"):
        dkd_loss(s, t, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="student_logits"):
        dkd_loss(torch.zeros(3), t, y)

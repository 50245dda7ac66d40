"""Unit tests of the step-size adaptation (``levelsets.inference.adaptation``): Robbins-Monro towards
a target acceptance during burn-in, then frozen."""

from __future__ import annotations

import torch
from stub_densities import D, N, gen, make_density

from levelsets.inference import adaptation, random_walk


def test_adaptation_moves_scale_towards_target_and_freezes():
    st = adaptation.init(1.0, torch.ones(D, dtype=torch.float64), N)
    high = torch.ones(N, dtype=torch.float64)
    low = torch.zeros(N, dtype=torch.float64)
    up = adaptation.update(st, high, 0.3)
    down = adaptation.update(st, low, 0.3)
    assert (up.log_scale > st.log_scale).all() and (down.log_scale < st.log_scale).all()
    assert adaptation.scale(up).shape == (N, D)
    frozen = adaptation.frozen_scale(up)
    later = adaptation.update(up, low, 0.3)
    assert not torch.equal(adaptation.scale(later), frozen)
    assert torch.equal(frozen, adaptation.scale(up))  # the frozen copy does not follow later updates


def test_adaptation_reaches_target_on_gaussian():
    # 1-D standard normal target: RM adaptation should settle near the target acceptance
    ld = make_density(lambda z: -0.5 * (z**2).sum(1))
    n = 400
    g = gen(1)
    state = random_walk.init(torch.randn(n, 1, generator=g, dtype=torch.float64), ld)
    st = adaptation.init(0.05, torch.ones(1, dtype=torch.float64), n)
    for _ in range(300):
        state, info = random_walk.step(state, ld, adaptation.scale(st), g)
        st = adaptation.update(st, info.acceptance_prob, 0.3)
    acc = []
    frozen = adaptation.frozen_scale(st)
    for _ in range(100):
        state, info = random_walk.step(state, ld, frozen, g)
        acc.append(info.accepted.double().mean())
    rate = float(torch.stack(acc).mean())
    # 40,000 accept indicators; SE ≈ sqrt(.3*.7/40000) ≈ 0.0023 (plus RM noise): band of 0.05
    assert abs(rate - 0.3) < 0.05

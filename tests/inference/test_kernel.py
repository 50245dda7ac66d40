"""The sampler's state machine (inference/kernel.py): the schedule each kernel's step follows."""

from __future__ import annotations

import math

import pytest
import torch

from levelsets.inference import random_walk
from levelsets.inference.kernel import BandKernel, TemperedKernel, build_kernel
from levelsets.inference.model import log_density_fn
from levelsets.inference.settings import SamplerSettings


def setup(relaxation: str, **kw):
    prior = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(2, dtype=torch.float64), 1.0), 1)

    def clf(z):
        f0 = torch.sigmoid(3 * z[:, 0])
        return torch.stack([f0, 1 - f0], 1)

    target = torch.tensor([0.8, 0.2], dtype=torch.float64)
    s = SamplerSettings(particles=64, steps=40, burn_in=20, samples=8, alpha=20.0, relaxation=relaxation, level_moves=2,
                        islands=4, tolerance=0.05, seed=0, device="cpu", progress=False, **kw)
    density = log_density_fn(prior, lambda z: z, clf, target, s.alpha, relaxation, tolerance=s.tolerance)
    gen = torch.Generator().manual_seed(0)
    kernel = build_kernel(s, density, prior, gen, target)
    z0 = prior.sample((64,))
    return kernel, kernel.init(random_walk.init(z0, density)), s


def test_tempered_kernel_raises_beta_to_one_within_the_tempering_window_then_samples():
    kernel, state, s = setup("dirichlet")
    assert isinstance(kernel, TemperedKernel) and state.schedule == 0.0 and state.t == 0 and not state.sampling
    betas, sampling = [], []
    for _ in range(s.steps):
        state, info = kernel.step(state)
        betas.append(state.schedule)
        sampling.append(state.sampling)
        assert info.accepted.shape == (64,) and info.kind in ("local", "de", "independence")
    assert state.t == s.steps
    assert all(b2 >= b1 for b1, b2 in zip(betas, betas[1:]))
    assert betas[math.ceil(s.tempering_fraction * s.burn_in) - 1] == 1.0  # β = 1 by the deadline
    assert sampling == [t >= s.burn_in for t in range(s.steps)]
    assert state.scale.shape == (64, 2) and torch.isfinite(state.scale).all()


def test_tempered_kernel_without_tempering_starts_at_beta_one():
    kernel, state, _ = setup("dirichlet", tempering=False)
    assert state.schedule == 1.0
    state, info = kernel.step(state)
    assert state.schedule == 1.0 and info.ess == 64.0 and not info.resampled


def test_band_kernel_descends_to_tolerance_then_freezes_and_records_levels():
    kernel, state, s = setup("band")
    assert isinstance(kernel, BandKernel) and state.schedule == math.inf
    levels, records = [], []
    for _ in range(s.steps):
        state, info = kernel.step(state)
        levels.append(state.schedule)
        if info.level is not None:
            records.append(info.level)
            assert info.resampled and 0 < info.survival <= 1
    assert all(b <= a for a, b in zip(levels, levels[1:]))
    assert levels[-1] == pytest.approx(s.tolerance)
    assert records and records[-1]["level"] == pytest.approx(s.tolerance)
    assert state.sampling and state.particles.frozen
    assert state.moves_at_tolerance >= s.level_moves
    assert torch.equal(state.ancestors, state.particles.ancestors)

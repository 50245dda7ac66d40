"""MALA moves (levelsets.inference.mala): exact on a Gaussian, gradients carried in the state.

The gradients they use (log_density_fn(gradients=True)) are tested in test_model.py; when a run uses them,
in test_moves.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from levelsets.inference import mala, random_walk
from levelsets.inference.model import LogDensity


def gaussian_density(mu_lik: float):
    """log p = N(0, 1), log L = N(z; mu_lik, 1) per coordinate: the β = 1 posterior is N(mu_lik/2, 1/2)."""

    def log_density(z: torch.Tensor) -> LogDensity:
        lp = -0.5 * (z**2).sum(1)
        ll = -0.5 * ((z - mu_lik) ** 2).sum(1)
        return LogDensity(lp, ll, torch.ones(z.shape[0], 2) / 2, -z, -(z - mu_lik))

    return log_density


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
def test_mala_keeps_a_gaussian_exactly_even_at_a_large_step(beta):
    # Target N(beta*2 / (1+beta), 1/(1+beta)). At step S = 1.2 the unadjusted Langevin chain's variance is
    # 1/((1+beta)(1 - S²(1+beta)/4)): 1.56 (beta=0) to 2.6 (beta=1) times too large — the Hastings
    # correction is what keeps the law exact, and the test has the power to see it missing.
    n, steps, step_size = 4000, 60, 1.2
    density = gaussian_density(2.0)
    prec = 1.0 + beta
    mean, var = beta * 2.0 / prec, 1.0 / prec
    gen = torch.Generator().manual_seed(1)
    z0 = mean + math.sqrt(var) * torch.randn(n, 1, generator=gen, dtype=torch.float64)
    state = random_walk.init(z0, density)
    acc = []
    for _ in range(steps):
        state, info = mala.step(state, density, step_size, gen, beta)
        acc.append(float(info.acceptance_prob.mean()))
    z = state.position[:, 0].numpy()
    se_mean, se_var = math.sqrt(var / n), var * math.sqrt(2 / n)
    assert abs(z.mean() - mean) < 4 * se_mean, (z.mean(), mean)
    assert abs(z.var() - var) < 4 * se_var, (z.var(), var)
    assert 0.05 < np.mean(acc) < 0.99  # the test moved the chain


def test_mala_state_carries_the_gradients_of_its_positions():
    density = gaussian_density(1.0)
    gen = torch.Generator().manual_seed(0)
    state = random_walk.init(torch.randn(50, 3, generator=gen, dtype=torch.float64), density)
    for _ in range(5):
        state, _ = mala.step(state, density, 0.5, gen, 1.0)
    fresh = density(state.position)
    assert torch.equal(state.grad_log_prior, fresh.grad_log_prior)
    assert torch.equal(state.grad_log_lik, fresh.grad_log_lik)
    assert torch.equal(state.log_lik, fresh.log_lik)


def test_mala_refuses_a_state_without_gradients():
    def plain(z):
        return LogDensity(-0.5 * (z**2).sum(1), torch.zeros(z.shape[0]), torch.ones(z.shape[0], 2) / 2)

    state = random_walk.init(torch.zeros(4, 2), plain)
    with pytest.raises(ValueError, match="gradients"):
        mala.step(state, plain, 0.5, torch.Generator().manual_seed(0))

"""Independence sweeps from a kernel density estimate of the other half: unit tests of the mixture
(fit, density, draws) and a statistical test that the sweep keeps an exactly known bimodal target
while carrying particles between its modes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from levelsets.inference import independence, random_walk
from levelsets.inference.model import LogDensity


def gen(seed=0):
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def centres(m=60, d=2, seed=0):
    g = gen(seed)
    return torch.randn(m, d, generator=g, dtype=torch.float64) * torch.tensor([1.0, 3.0][:d], dtype=torch.float64)


def test_kernels_are_the_neighbourhood_covariance_plus_the_ridge():
    y = centres()
    s = torch.tensor([0.5, 2.0], dtype=torch.float64)
    mix = independence.fit(y, s, neighbours=7, bandwidth=1.3, ridge=0.1)
    cov = mix.chol @ mix.chol.transpose(1, 2)
    for b in (0, 17, 59):
        nearest = np.argsort(np.linalg.norm(y.numpy() - y[b].numpy(), axis=1))[:8]  # itself + 7 neighbours
        expected = 1.3**2 * np.cov(y.numpy()[nearest].T, ddof=1) + np.diag((0.1 * s.numpy()) ** 2)
        np.testing.assert_allclose(cov[b].numpy(), expected, rtol=1e-10)
    precision = mix.precision_flat.reshape(60, 2, 2).numpy()
    np.testing.assert_allclose(precision @ cov.numpy(), np.broadcast_to(np.eye(2), (60, 2, 2)), atol=1e-8)


def test_neighbours_capped_by_the_number_of_centres():
    y = centres(m=3)
    mix = independence.fit(y, torch.ones(2, dtype=torch.float64), neighbours=20)
    expected = np.cov(y.numpy().T, ddof=1) + np.diag([1e-4, 1e-4])  # all 3 points, K = 2
    np.testing.assert_allclose((mix.chol @ mix.chol.transpose(1, 2))[0].numpy(), expected, rtol=1e-10)
    with pytest.raises(ValueError, match="at least 2 centres"):
        independence.fit(y[:1], torch.ones(2, dtype=torch.float64))


@pytest.mark.parametrize("chunk", [1 << 22, 50])
def test_log_prob_is_the_mixture_density(monkeypatch, chunk):
    monkeypatch.setattr(independence, "_CHUNK_ELEMENTS", chunk)  # 50: neighbours searched in many small chunks
    y = centres(m=40) + 100.0  # far from the origin: the quadratic-form expansion must not lose precision
    mix = independence.fit(y, torch.ones(2, dtype=torch.float64), neighbours=5)
    cov = (mix.chol @ mix.chol.transpose(1, 2)).numpy()
    x = centres(m=25, seed=1) * 1.5 + 100.0
    expected = np.log(np.mean([stats.multivariate_normal(y[b].numpy(), cov[b]).pdf(x.numpy()) for b in range(40)], axis=0))
    np.testing.assert_allclose(independence.log_prob(mix, x).numpy(), expected, rtol=1e-9)


def test_draws_have_the_mixtures_moments():
    y = centres(m=30)
    mix = independence.fit(y, torch.ones(2, dtype=torch.float64), neighbours=6)
    n = 40_000
    x = independence.sample(mix, n, gen(2)).numpy()
    cov_kernels = (mix.chol @ mix.chol.transpose(1, 2)).mean(0).numpy()
    total_cov = cov_kernels + np.cov(y.numpy().T, ddof=0)  # law of total covariance
    mean = y.numpy().mean(0)
    se = np.sqrt(np.diag(total_cov) / n)
    assert np.all(np.abs(x.mean(0) - mean) < 4 * se)
    assert np.all(np.abs(np.diag(np.cov(x.T)) / np.diag(total_cov) - 1) < 4 * math.sqrt(2 / n))


def test_sweep_needs_four_particles():
    def ld(z):
        return LogDensity(torch.zeros(z.shape[0], dtype=z.dtype), torch.zeros(z.shape[0], dtype=z.dtype), torch.ones(z.shape[0], 1))

    state = random_walk.init(torch.zeros(3, 2, dtype=torch.float64), ld)
    with pytest.raises(ValueError, match="at least 4 particles"):
        independence.step(state, ld, torch.ones(2, dtype=torch.float64), gen())


def test_sweeps_keep_a_bimodal_target_and_carry_particles_between_modes():
    """Target: ¼ N((−4, 0), I) + ¾ N((4, 0), diag(1, 0.05²)) (a thin right mode). Start exactly at the
    target; 30 sweeps must keep it (mode share within its binomial SE, KS of each mode's thin
    coordinate, per-mode moments) while most particles switch mode at least once, across a valley
    8 standard deviations wide that local moves do not cross."""
    torch.manual_seed(0)
    n = 2000
    left = torch.distributions.MultivariateNormal(torch.tensor([-4.0, 0.0], dtype=torch.float64), torch.eye(2, dtype=torch.float64))
    right = torch.distributions.MultivariateNormal(
        torch.tensor([4.0, 0.0], dtype=torch.float64), torch.diag(torch.tensor([1.0, 0.05**2], dtype=torch.float64))
    )
    calls = []

    def ld(z):
        calls.append(z.shape[0])
        lp = torch.logaddexp(math.log(0.25) + left.log_prob(z), math.log(0.75) + right.log_prob(z))
        return LogDensity(lp, torch.zeros(z.shape[0], dtype=z.dtype), torch.ones(z.shape[0], 1))

    is_right = torch.rand(n) < 0.75
    z0 = torch.where(is_right[:, None], right.sample((n,)), left.sample((n,)))
    state = random_walk.init(z0, ld)
    g = gen(3)
    side0 = state.position[:, 0] > 0
    switched = torch.zeros(n, dtype=torch.bool)
    accepted = 0.0
    for _ in range(30):
        state, info = independence.step(state, ld, torch.tensor([4.0, 1.0], dtype=torch.float64), g)
        switched |= (state.position[:, 0] > 0) != side0
        accepted += info.accepted.double().mean().item() / 30
    assert calls[1:3] == [n // 2, n // 2]
    z = state.position.numpy()
    r = z[:, 0] > 0
    assert abs(r.mean() - 0.75) < 4 * math.sqrt(0.75 * 0.25 / n)
    assert stats.kstest(z[r, 1], "norm", args=(0, 0.05)).pvalue > 1e-3
    assert stats.kstest(z[~r, 1], "norm", args=(0, 1.0)).pvalue > 1e-3
    assert abs(z[r, 0].mean() - 4) < 4 / math.sqrt(r.sum()) and abs(z[~r, 0].mean() + 4) < 4 / math.sqrt((~r).sum())
    assert accepted > 0.5  # local kernels follow the thin mode, so most proposals are accepted
    assert switched.double().mean() > 0.5

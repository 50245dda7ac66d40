"""Differential-evolution sweeps: unit tests of the proposal and the two-halves update, and a
statistical test that the sweep alone leaves an exactly known posterior invariant."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from levelsets.inference import ensemble, random_walk
from levelsets.inference.model import LogDensity


def gen(seed=0):
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def gaussian_density(cov: torch.Tensor):
    """log N(0, cov) as the 'prior', zero likelihood; counts batch sizes."""
    dist = torch.distributions.MultivariateNormal(torch.zeros(cov.shape[0], dtype=torch.float64), cov)
    calls = []

    def log_density(z: torch.Tensor) -> LogDensity:
        calls.append(z.shape[0])
        probs = torch.stack([torch.sigmoid(z[:, 0]), 1 - torch.sigmoid(z[:, 0])], dim=1)
        return LogDensity(dist.log_prob(z), torch.zeros(z.shape[0], dtype=z.dtype), probs)

    log_density.calls = calls
    return log_density, dist


def test_default_gamma_is_ter_braaks():
    assert ensemble.default_gamma(5) == pytest.approx(2.38 / np.sqrt(10))


def test_proposal_is_a_scaled_difference_of_two_distinct_others():
    others = torch.arange(12, dtype=torch.float64).reshape(6, 2) ** 2  # all pairwise differences distinct
    position = torch.zeros(500, 2, dtype=torch.float64)
    proposed = ensemble.de_proposal(others, 0.5, torch.zeros(2, dtype=torch.float64))(position, None, gen())
    diffs = {tuple((0.5 * (others[a] - others[b])).tolist()) for a in range(6) for b in range(6) if a != b}
    seen = {tuple(row.tolist()) for row in proposed}
    assert seen <= diffs  # every move is γ (z_a − z_b) with a ≠ b: never the zero move a = b
    assert len(seen) > 20  # and the pairs are drawn at random (30 ordered pairs exist)
    # symmetric: each difference appears about as often as its negative
    counts = {d: 0 for d in diffs}
    for row in proposed:
        counts[tuple(row.tolist())] += 1
    pos = sum(c for d, c in counts.items() if d > tuple(-x for x in d))
    assert abs(pos - 250) < 4 * np.sqrt(500 * 0.25)


def test_split_halves_is_a_partition():
    a, b = ensemble.split_halves(11, gen(3), torch.device("cpu"))
    assert len(a) == 6 and len(b) == 5
    assert sorted(torch.cat([a, b]).tolist()) == list(range(11))


def test_sweep_costs_two_half_batches_and_keeps_order():
    log_density, dist = gaussian_density(torch.eye(3, dtype=torch.float64))
    z = dist.sample((100,))
    state = random_walk.init(z, log_density)
    new, info = ensemble.step(state, log_density, torch.ones(3, dtype=torch.float64), gen(1))
    assert log_density.calls == [100, 50, 50]
    assert new.position.shape == (100, 3) and info.accepted.shape == (100,)
    # rejected particles did not move; accepted ones carry the log density of their new position
    assert torch.equal(new.position[~info.accepted], z[~info.accepted])
    assert torch.allclose(new.log_prior, dist.log_prob(new.position))
    assert 0 < info.accepted.double().mean() < 1


def test_sweep_needs_four_particles():
    log_density, dist = gaussian_density(torch.eye(2, dtype=torch.float64))
    state = random_walk.init(dist.sample((3,)), log_density)
    with pytest.raises(ValueError, match="at least 4 particles"):
        ensemble.step(state, log_density, torch.ones(2, dtype=torch.float64), gen())


def test_sweeps_leave_a_correlated_gaussian_invariant_and_mix():
    """Start at the exact target N(0, Σ) (correlation 0.95, scales 1 and 5); 40 DE sweeps must keep
    it (KS per coordinate, exact moments within their standard errors), while every particle moves."""
    cov = torch.tensor([[1.0, 0.95 * 5], [0.95 * 5, 25.0]], dtype=torch.float64)
    log_density, dist = gaussian_density(cov)
    torch.manual_seed(0)
    n = 4000
    z0 = dist.sample((n,))
    state = random_walk.init(z0, log_density)
    g = gen(7)
    accepted = torch.zeros(n)
    for _ in range(40):
        state, info = ensemble.step(state, log_density, torch.tensor([1.0, 5.0], dtype=torch.float64), g)
        accepted += info.accepted
    z = state.position.numpy()
    for j, sd in enumerate([1.0, 5.0]):
        assert stats.kstest(z[:, j], "norm", args=(0, sd)).pvalue > 1e-3
        assert abs(z[:, j].mean()) < 4 * sd / np.sqrt(n)
        assert abs(z[:, j].var() / sd**2 - 1) < 4 * np.sqrt(2 / n)
    corr = np.corrcoef(z.T)[0, 1]
    assert abs(corr - 0.95) < 4 * (1 - 0.95**2) / np.sqrt(n)
    # mixing: the DE moves follow the correlation, so acceptance is high and nearly all particles move
    assert accepted.mean() / 40 > 0.2
    assert (accepted > 0).double().mean() > 0.99
    # and the population is not the start any more (positions decorrelated from z0)
    assert abs(np.corrcoef(z[:, 0], z0[:, 0].numpy())[0, 1]) < 0.5

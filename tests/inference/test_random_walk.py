"""Unit tests of the random-walk step with stubbed proposals and log densities (tier a)."""

from __future__ import annotations

import math

import pytest
import torch
from stub_densities import D, K, N, gen, make_density

from levelsets.inference import random_walk


def test_init_shapes_and_single_evaluation():
    ld = make_density(lambda z: -0.5 * (z**2).sum(1))
    z = torch.randn(N, D, dtype=torch.float64)
    state = random_walk.init(z, ld)
    assert state.position.shape == (N, D)
    assert state.log_prior.shape == (N,)
    assert state.log_lik.shape == (N,)
    assert state.probs.shape == (N, K)
    assert ld.calls == [(N, D)]


def test_minus_inf_density_never_accepted():
    # the proposal always lands where the density is -inf
    ld = make_density(lambda z: torch.where(z[:, 0] > 50, torch.tensor(-math.inf, dtype=z.dtype), torch.zeros(z.shape[0], dtype=z.dtype)))
    state = random_walk.init(torch.zeros(N, D, dtype=torch.float64), ld)

    def jump(position, scale, generator):
        return position + 100.0

    g = gen()
    for _ in range(5):
        new, info = random_walk.step(state, ld, 1.0, g, proposal=jump)
        assert info.accepted.shape == (N,)
        assert info.acceptance_prob.shape == (N,)
        assert not info.accepted.any()
        assert torch.all(info.acceptance_prob == 0)
        assert torch.equal(new.position, state.position)


def test_nan_density_never_accepted():
    ld = make_density(lambda z: torch.where(z[:, 0] > 50, torch.tensor(math.nan, dtype=z.dtype), torch.zeros(z.shape[0], dtype=z.dtype)))
    state = random_walk.init(torch.zeros(N, D, dtype=torch.float64), ld)
    new, info = random_walk.step(state, ld, 1.0, gen(), proposal=lambda p, s, g: p + 100.0)
    assert not info.accepted.any()
    assert torch.equal(new.position, state.position)


def test_equal_density_always_accepted():
    ld = make_density(lambda z: torch.zeros(z.shape[0], dtype=z.dtype))
    state = random_walk.init(torch.zeros(N, D, dtype=torch.float64), ld)
    new, info = random_walk.step(state, ld, 0.3, gen())
    assert info.accepted.all()
    assert torch.all(info.acceptance_prob == 1)
    assert new.position.shape == (N, D)
    assert not torch.equal(new.position, state.position)
    # accepted states carry the proposal's probabilities
    assert torch.allclose(new.probs[:, 0], torch.sigmoid(new.position[:, 0]))


def test_acceptance_probability_is_metropolis_ratio_and_mixed_accepts():
    # log density = -z0 ; proposal moves each particle by +delta_i, so a_i = exp(-delta_i)
    ld = make_density(lambda z: -z[:, 0])
    state = random_walk.init(torch.zeros(N, D, dtype=torch.float64), ld)
    delta = torch.linspace(-1, 3, N, dtype=torch.float64)

    def shift(position, scale, generator):
        out = position.clone()
        out[:, 0] += delta
        return out

    new, info = random_walk.step(state, ld, 1.0, gen(), proposal=shift)
    expected = torch.exp(torch.clamp(-delta, max=0))
    assert torch.allclose(info.acceptance_prob, expected)
    assert info.accepted[delta <= 0].all()
    assert torch.equal(new.position[info.accepted], shift(state.position, None, None)[info.accepted])
    assert torch.equal(new.position[~info.accepted], state.position[~info.accepted])
    assert torch.equal(new.log_prior[~info.accepted], state.log_prior[~info.accepted])


def test_inverse_temperature_scales_likelihood_only():
    # prior flat, likelihood = -10 * z0 ; at beta = 0 every move is accepted, at beta = 1 uphill-only
    ld = make_density(lambda z: torch.zeros(z.shape[0], dtype=z.dtype), lambda z: -10.0 * z[:, 0])
    state = random_walk.init(torch.zeros(N, D, dtype=torch.float64), ld)
    up = lambda p, s, g: p + 1.0  # noqa: E731
    _, info0 = random_walk.step(state, ld, 1.0, gen(), inv_temperature=0.0, proposal=up)
    assert info0.accepted.all()
    _, info_half = random_walk.step(state, ld, 1.0, gen(), inv_temperature=0.5, proposal=up)
    assert torch.allclose(info_half.acceptance_prob, torch.full((N,), math.exp(-5.0), dtype=torch.float64))


def test_scale_shapes_broadcast():
    z = torch.zeros(N, D)
    assert random_walk.broadcast_scale(0.5, z).shape == (N, D)
    assert random_walk.broadcast_scale(torch.ones(N), z).shape == (N, D)
    assert random_walk.broadcast_scale(torch.ones(N, D), z).shape == (N, D)
    with pytest.raises(ValueError):
        random_walk.broadcast_scale(torch.ones(N + 1), z)


def test_gaussian_proposal_moments():
    g = gen(3)
    z = torch.zeros(20000, 2, dtype=torch.float64)
    s = torch.tensor([[0.5, 2.0]], dtype=torch.float64).expand(20000, 2)
    prop = random_walk.gaussian_proposal(z, s, g)
    sd = prop.std(0)
    # SE of a sample sd is about sd / sqrt(2n)
    assert torch.allclose(sd, torch.tensor([0.5, 2.0], dtype=torch.float64), rtol=5 / math.sqrt(2 * 20000))


def test_step_reproducible_with_generator():
    ld = make_density(lambda z: -0.5 * (z**2).sum(1))
    state = random_walk.init(torch.zeros(N, D, dtype=torch.float64), ld)
    a, _ = random_walk.step(state, ld, 1.0, gen(5))
    b, _ = random_walk.step(state, ld, 1.0, gen(5))
    assert torch.equal(a.position, b.position)


def test_hastings_correction_makes_an_asymmetric_proposal_exact():
    """Independence proposals from N(1, 2²) for the target N(0, 1): with the Hastings term the chain
    keeps N(0, 1) (KS, moments within standard errors); without it, it drifts towards π/q-weighted
    mass, and the same checks fail (power)."""
    from scipy import stats

    q = torch.distributions.Normal(torch.tensor(1.0, dtype=torch.float64), torch.tensor(2.0, dtype=torch.float64))
    ld = make_density(lambda z: -0.5 * (z**2).sum(1))

    def propose(position, scale, generator):
        return q.loc + q.scale * torch.randn(position.shape, generator=generator, dtype=position.dtype)

    def hastings(current, proposed):
        return q.log_prob(current).sum(1) - q.log_prob(proposed).sum(1)

    n = 4000
    results = {}
    for name, h in (("with", hastings), ("without", None)):
        torch.manual_seed(0)
        state = random_walk.init(torch.randn(n, 1, dtype=torch.float64), ld)
        g = gen(5)
        for _ in range(30):
            state, _ = random_walk.step(state, ld, 1.0, g, proposal=propose, hastings=h)
        z = state.position[:, 0].numpy()
        results[name] = (stats.kstest(z, "norm").pvalue, z.mean())
    assert results["with"][0] > 1e-3 and abs(results["with"][1]) < 4 / math.sqrt(n)
    assert results["without"][0] < 1e-6 and results["without"][1] > 10 / math.sqrt(n)

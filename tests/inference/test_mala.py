"""MALA moves (levelsets.inference.mala) and the gradients they use (log_density_fn(gradients=True))."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from levelsets.classifiers.black_box import as_probability_fn
from levelsets.errors import LevelsetsError
from levelsets.inference import mala, random_walk
from levelsets.inference.model import LogDensity, log_density_fn
from levelsets.inference.sampler import SamplerSettings, sample_level_set


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


def linear_world(d: int = 4, k: int = 3):
    weight = torch.randn(d, k, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    module = torch.nn.Linear(d, k, bias=False).double()
    with torch.no_grad():
        module.weight.copy_(weight.T)
    prior = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(d, dtype=torch.float64), 1.0), 1)
    return prior, module


@pytest.mark.parametrize("relaxation", ["dirichlet", "normal"])
def test_log_density_gradients_match_finite_differences(relaxation):
    prior, module = linear_world()
    clf = as_probability_fn(module, num_classes=3, logits=True)
    target = torch.tensor([0.45, 0.45, 0.10], dtype=torch.float64)
    fn = log_density_fn(prior, lambda z: z, clf, target, 20.0, relaxation, gradients=True)
    z = torch.randn(5, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    out = fn(z)
    plain = log_density_fn(prior, lambda z: z, clf, target, 20.0, relaxation)
    eps = 1e-6
    for j in range(4):
        dz = torch.zeros_like(z)
        dz[:, j] = eps
        up, down = plain(z + dz), plain(z - dz)
        fd_lik = (up.log_lik - down.log_lik) / (2 * eps)
        fd_prior = (up.log_prior - down.log_prior) / (2 * eps)
        assert torch.allclose(out.grad_log_lik[:, j], fd_lik, rtol=1e-5, atol=1e-6)
        assert torch.allclose(out.grad_log_prior[:, j], fd_prior, rtol=1e-5, atol=1e-6)
    assert torch.equal(out.log_lik, plain(z).log_lik)
    assert not out.log_lik.requires_grad and not out.probs.requires_grad


def test_a_numpy_classifier_is_a_black_box_without_gradients():
    prior, module = linear_world()
    clf = as_probability_fn(lambda x: torch.softmax(module(x), -1).detach().numpy(), num_classes=3)
    target = torch.tensor([0.45, 0.45, 0.10], dtype=torch.float64)
    out = log_density_fn(prior, lambda z: z, clf, target, 20.0, gradients=True)(torch.zeros(2, 4, dtype=torch.float64))
    assert out.grad_log_lik is None and out.grad_log_prior is None


def projection(d: int, numpy_out: bool = False):
    w = torch.randn(d, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    w = w / w.norm()

    def classifier(z):
        f0 = torch.sigmoid(4 * (z @ w - 1))
        out = torch.stack([f0, 1 - f0], 1)
        return out.detach().numpy() if numpy_out else out

    prior = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(d, dtype=torch.float64), 1.0), 1)
    return prior, as_probability_fn(classifier, num_classes=2)


def tiny(**kw) -> SamplerSettings:
    base = dict(particles=40, steps=12, burn_in=6, samples=10, alpha=20.0, relaxation="dirichlet", seed=0,
                device="cpu", progress=False)
    return SamplerSettings(**{**base, **kw})


TARGET = torch.tensor([0.3, 0.7], dtype=torch.float64)


def test_auto_uses_gradients_above_sixteen_dimensions_and_says_why():
    prior, clf = projection(32)
    r = sample_level_set(prior, lambda z: z, clf, TARGET, tiny())
    assert r.moves["gradients"] is True and r.moves["kernel"].startswith("MALA")
    assert r.moves["population"] == []  # MALA alone above MAX_DIM
    assert r.forward_evaluations == 40 * 13  # the first evaluation decided the moves: no extra pass
    prior, clf = projection(3)
    r = sample_level_set(prior, lambda z: z, clf, TARGET, tiny())
    assert r.moves["gradients"] is False and "d = 3" in r.moves["reason"]
    assert r.moves["population"] == ["independence", "de"]


def test_auto_falls_back_to_black_box_moves_for_a_black_box():
    prior, clf = projection(32, numpy_out=True)
    r = sample_level_set(prior, lambda z: z, clf, TARGET, tiny())
    assert r.moves["gradients"] is False and r.moves["reason"].startswith("black box")
    assert r.forward_evaluations == 40 * 13


def test_forced_gradient_moves_give_a_one_line_reason_when_impossible():
    prior, clf = projection(32, numpy_out=True)
    with pytest.raises(LevelsetsError, match="gradient moves are not possible"):
        sample_level_set(prior, lambda z: z, clf, TARGET, tiny(moves="gradient"))
    prior, clf = projection(4)
    with pytest.raises(LevelsetsError, match="indicator"):
        sample_level_set(prior, lambda z: z, clf, TARGET, tiny(moves="gradient", relaxation="band"))
    with pytest.raises(LevelsetsError, match="unknown moves"):
        tiny(moves="hmc")


def test_forced_gradient_moves_run_with_the_population_moves_in_low_dimensions():
    prior, clf = projection(3)
    r = sample_level_set(prior, lambda z: z, clf, TARGET, tiny(moves="gradient"))
    assert r.moves["gradients"] is True and r.moves["population"] == ["independence", "de"]
    assert torch.isfinite(r.trace).all()

"""The traced log density of the Pyro model equals the Dirichlet / Normal densities written out."""

from __future__ import annotations

import numpy as np
import pyro
import pytest
import torch
from pyro import poutine
from scipy import stats

from levelsets.classifiers.black_box import as_probability_fn
from levelsets.errors import LevelsetsError
from levelsets.inference.model import level_set_model, log_density_fn, target_pair

Dist = torch.distributions
D = 3
K = 4


def prior64(d=D):
    return Dist.Independent(Dist.Normal(torch.zeros(d, dtype=torch.float64), torch.ones(d, dtype=torch.float64)), 1)


W = torch.tensor([[1.0, -0.5, 0.2, 0.0], [0.3, 0.8, -1.0, 0.1], [-0.2, 0.1, 0.4, -0.7]], dtype=torch.float64)


def decoder(z):
    return z * 2.0  # a deterministic "image"


def classifier(x):
    return torch.softmax(x @ W, dim=1)


def points(n=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, D, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("alpha", [1.0, 10.0, 100.0])
def test_dirichlet_log_density_matches_scipy(alpha):
    target = torch.tensor([0.46, 0.46, 0.05, 0.03], dtype=torch.float64)
    z = points()
    ld = log_density_fn(prior64(), decoder, classifier, target, alpha)(z)
    assert ld.log_prior.shape == (7,) and ld.log_lik.shape == (7,) and ld.probs.shape == (7, K)
    probs = classifier(decoder(z)).numpy()
    for i in range(7):
        want_prior = stats.multivariate_normal(np.zeros(D), np.eye(D)).logpdf(z[i].numpy())
        want_lik = stats.dirichlet(alpha * np.maximum(probs[i], 1e-6)).logpdf(target.numpy())
        assert ld.log_prior[i].item() == pytest.approx(want_prior, rel=1e-10, abs=1e-10)
        assert ld.log_lik[i].item() == pytest.approx(want_lik, rel=1e-9, abs=1e-9)
    assert np.allclose(ld.probs.numpy(), probs)


def test_normal_relaxation_pair_target_matches_direct_formula():
    target = torch.tensor([0.46, 0.01, 0.46, 0.07], dtype=torch.float64)
    assert target_pair(target) == (0, 2)
    z = points(seed=1)
    ld = log_density_fn(prior64(), decoder, classifier, target, 1.0, relaxation="normal")(z)
    p = classifier(decoder(z)).numpy()
    gap = np.abs(p[:, 0] - p[:, 2])
    margin = np.minimum(p[:, 0], p[:, 2]) - np.maximum(p[:, 1], p[:, 3])
    want = stats.norm(gap, 0.05).logpdf(0.0) + stats.norm(margin, 0.05).logpdf(0.5)
    assert np.allclose(ld.log_lik.numpy(), want, rtol=1e-10)


def test_normal_relaxation_two_classes_has_no_margin_term():
    w2 = torch.tensor([[1.0, -1.0]], dtype=torch.float64)
    clf = lambda x: torch.softmax(x @ w2, dim=1)  # noqa: E731
    target = torch.tensor([0.5, 0.5], dtype=torch.float64)
    z = points(seed=2)[:, :1]
    ld = log_density_fn(prior64(1), decoder, clf, target, 1.0, relaxation="normal")(z)
    p = clf(decoder(z)).numpy()
    want = stats.norm(np.abs(p[:, 0] - p[:, 1]), 0.05).logpdf(0.0)
    assert np.allclose(ld.log_lik.numpy(), want, rtol=1e-10)


def test_normal_relaxation_other_targets_constrain_each_class():
    target = torch.tensor([0.7, 0.1, 0.1, 0.1], dtype=torch.float64)
    assert target_pair(target) is None
    assert target_pair(torch.full((4,), 0.25, dtype=torch.float64)) is None
    z = points(seed=3)
    ld = log_density_fn(prior64(), decoder, classifier, target, 1.0, relaxation="normal", sigma=0.1)(z)
    p = classifier(decoder(z)).numpy()
    want = stats.norm(p, 0.1).logpdf(target.numpy()[None, :]).sum(axis=1)
    assert np.allclose(ld.log_lik.numpy(), want, rtol=1e-10)


def test_model_records_probs_and_one_forward_pass():
    calls = []

    def counting(x):
        calls.append(x.shape[0])
        return classifier(x)

    target = torch.tensor([0.25, 0.25, 0.25, 0.25], dtype=torch.float64)
    z = points(n=11)
    ld = log_density_fn(prior64(), decoder, counting, target, 5.0)(z)
    assert calls == [11]
    assert torch.allclose(ld.probs, classifier(decoder(z)))
    trace = poutine.trace(poutine.condition(level_set_model, data={"z": z})).get_trace(
        prior64(), decoder, classifier, target, 5.0, "dirichlet", 11
    )
    assert trace.nodes["probs"]["value"].shape == (11, K)
    assert trace.nodes["p"]["is_observed"]
    assert trace.nodes["z"]["value"].shape == (11, D)


def test_outside_support_is_minus_inf_not_an_error():
    half = Dist.Independent(Dist.HalfNormal(torch.ones(2, dtype=torch.float64), validate_args=True), 1)
    w2 = torch.tensor([[1.0, -1.0], [0.5, 0.5]], dtype=torch.float64)
    clf = lambda x: torch.softmax(x @ w2, dim=1)  # noqa: E731
    target = torch.tensor([0.5, 0.5], dtype=torch.float64)
    z = torch.tensor([[1.0, 1.0], [-1.0, 0.5]], dtype=torch.float64)
    ld = log_density_fn(half, decoder, clf, target, 10.0)(z)
    assert torch.isfinite(ld.log_prior[0])
    assert ld.log_prior[1] == -float("inf")
    # validation is restored afterwards
    with pytest.raises(ValueError):
        half.log_prob(z)


def test_model_samples_under_pyro():
    target = torch.tensor([0.46, 0.46, 0.05, 0.03], dtype=torch.float64)
    pyro.set_rng_seed(0)
    probs = level_set_model(prior64(), decoder, classifier, target, 10.0, num_particles=5)
    assert probs.shape == (5, K)


@pytest.mark.parametrize(
    "target, alpha, relaxation, message",
    [
        ([0.5, 0.5, 0.0, 0.0], 10.0, "dirichlet", "every target probability > 0"),
        ([0.25, 0.25, 0.25, 0.25], 0.0, "dirichlet", "alpha must be > 0"),
        ([0.25, 0.25, 0.25, 0.25], 1.0, "gamma", "unknown relaxation"),
    ],
)
def test_bad_model_inputs_raise_levelsets_error(target, alpha, relaxation, message):
    with pytest.raises(LevelsetsError, match=message):
        log_density_fn(prior64(), decoder, classifier, torch.tensor(target, dtype=torch.float64), alpha, relaxation)


# The gradients MALA uses: log_density_fn(..., gradients=True)


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

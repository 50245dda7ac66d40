"""Statistical tests: the sampler draws posteriors computed exactly by quadrature (tier c).

Worlds are tiny (1-D or 2-D latent, identity decoder, smooth classifier) so each run takes well
under a second; tolerances come from the Monte Carlo standard error (ArviZ's MCSE over particles
as chains, or replicate runs for mode shares).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from scipy import stats

from levelsets.inference import SamplerSettings, sample_level_set

Dist = torch.distributions
Z_SE = 4.0  # tolerance in standard errors


def normal_prior(d=1, loc=0.0):
    return Dist.Independent(
        Dist.Normal(torch.full((d,), loc, dtype=torch.float64), torch.ones(d, dtype=torch.float64)), 1
    )


def identity(z):
    return z


def sigmoid_classifier(a, b=0.0):
    def f(x):
        p1 = torch.sigmoid(a * x[:, 0] + b)
        return torch.stack([1 - p1, p1], dim=1)

    return f


def mcse_mean(trace: torch.Tensor) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import arviz as az

        ds = az.convert_to_dataset({"z": trace.numpy()})
        return az.mcse(ds, method="mean")["z"].values


def quadrature_1d(log_post, lo=-8.0, hi=8.0, n=40001):
    grid = np.linspace(lo, hi, n)
    lp = log_post(grid)
    w = np.exp(lp - lp.max())
    w /= w.sum()
    mean = (w * grid).sum()
    var = (w * (grid - mean) ** 2).sum()
    cdf = np.cumsum(w) - w / 2  # CDF at the grid points (half of each point's cell mass)
    return grid, mean, var, cdf


def dirichlet_loglik_2class(p1, target, alpha, clamp=1e-6):
    conc0 = alpha * np.maximum(1 - p1, clamp)
    conc1 = alpha * np.maximum(p1, clamp)
    return stats.beta.logpdf(target[0], conc0, conc1)


def settings(**kw):
    base = dict(particles=1000, steps=240, burn_in=120, samples=200, thin=4, device="cpu", progress=False, seed=11)
    base.update(kw)
    return SamplerSettings(**base)


def check_mean_and_cdf(result, grid, mean, cdf):
    trace = result.trace
    assert trace.shape == (result.settings.particles, result.settings.draws, 1)
    est = trace.mean().item()
    se = float(mcse_mean(trace)[0])
    assert abs(est - mean) < Z_SE * se, (est, mean, se)
    # KS of the final particle states against the exact CDF
    exact_cdf = lambda x: np.interp(x, grid, cdf)  # noqa: E731
    ks = stats.kstest(result.final_positions[:, 0].numpy(), exact_cdf)
    assert ks.pvalue > 1e-3, ks


@pytest.mark.slow
def test_dirichlet_1d_matches_quadrature():
    a, alpha = 3.0, 20.0
    target = np.array([0.8, 0.2])

    def log_post(z):
        p1 = 1 / (1 + np.exp(-a * z))
        return stats.norm.logpdf(z) + dirichlet_loglik_2class(p1, target, alpha)

    grid, mean, var, cdf = quadrature_1d(log_post)
    result = sample_level_set(normal_prior(), identity, sigmoid_classifier(a), target, settings(alpha=alpha))
    check_mean_and_cdf(result, grid, mean, cdf)
    # variance: SE of a variance estimate from n_eff draws ≈ var * sqrt(2 / n_eff), n_eff ≥ particles
    assert abs(result.final_positions.var().item() - var) < Z_SE * var * np.sqrt(2 / 1000)
    # independence proposals fitted to the population of a unimodal posterior are mostly accepted
    assert result.acceptance.mean().item() > 0.6
    # the random walk alone (no population moves) adapts its scale towards the target acceptance 0.3
    rw = sample_level_set(normal_prior(), identity, sigmoid_classifier(a), target,
                          settings(alpha=alpha, de_every=0, independence_every=0))
    check_mean_and_cdf(rw, grid, mean, cdf)
    assert 0.15 < rw.acceptance.mean().item() < 0.6


@pytest.mark.slow
def test_dirichlet_2d_three_classes_matches_quadrature():
    w = np.array([[2.0, -1.0, 0.0], [0.5, 1.5, -1.0]])
    wt = torch.tensor(w, dtype=torch.float64)
    target = np.array([0.5, 0.3, 0.2])
    alpha = 30.0

    def clf(x):
        return torch.softmax(x @ wt, dim=1)

    xs = np.linspace(-6, 6, 601)
    gx, gy = np.meshgrid(xs, xs, indexing="ij")
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    logits = pts @ w
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    conc = alpha * np.maximum(probs, 1e-6)
    from scipy.special import gammaln

    loglik = gammaln(conc.sum(1)) - gammaln(conc).sum(1) + ((conc - 1) * np.log(target)).sum(1)
    lp = stats.norm.logpdf(pts).sum(1) + loglik
    wts = np.exp(lp - lp.max())
    wts /= wts.sum()
    mean = (wts[:, None] * pts).sum(0)

    result = sample_level_set(normal_prior(2), identity, clf, target, settings(alpha=alpha))
    assert result.trace.shape == (1000, 30, 2)
    assert result.trace_probs.shape == (1000, 30, 3)
    est = result.trace.mean(dim=(0, 1)).numpy()
    se = mcse_mean(result.trace)
    assert np.all(np.abs(est - mean) < Z_SE * se), (est, mean, se)
    # marginal KS per coordinate
    for j in range(2):
        marg = wts.reshape(601, 601).sum(axis=1 - j)
        cdf = np.cumsum(marg) - marg / 2  # grid cells are 0.02 wide: evaluate the CDF mid-cell
        ks = stats.kstest(result.final_positions[:, j].numpy(), lambda x, c=cdf: np.interp(x, xs, c))
        assert ks.pvalue > 1e-3, (j, ks)


@pytest.mark.slow
def test_normal_relaxation_matches_quadrature():
    # per-class Normal constraints (not a pair target): p_l ~ N(f_l, sigma)
    a, sigma = 2.0, 0.05
    target = np.array([0.3, 0.7])

    def log_post(z):
        p1 = 1 / (1 + np.exp(-a * z))
        return stats.norm.logpdf(z) + stats.norm.logpdf(target[0], 1 - p1, sigma) + stats.norm.logpdf(target[1], p1, sigma)

    grid, mean, _, cdf = quadrature_1d(log_post)
    result = sample_level_set(
        normal_prior(), identity, sigmoid_classifier(a), target, settings(relaxation="normal", sigma=sigma)
    )
    check_mean_and_cdf(result, grid, mean, cdf)


@pytest.mark.slow
def test_normal_relaxation_pair_matches_quadrature():
    # two equal entries: Bayes-TrEx |p_a - p_b| observed 0 (no margin term for K = 2)
    a, sigma = 1.0, 0.05
    target = np.array([0.5, 0.5])

    def log_post(z):
        p1 = 1 / (1 + np.exp(-a * z))
        return stats.norm.logpdf(z, loc=1.0) + stats.norm.logpdf(0.0, np.abs(1 - 2 * p1), sigma)

    grid, mean, _, cdf = quadrature_1d(log_post)
    result = sample_level_set(
        normal_prior(loc=1.0), identity, sigmoid_classifier(a), target, settings(relaxation="normal")
    )
    check_mean_and_cdf(result, grid, mean, cdf)


@pytest.mark.slow
def test_bimodal_mode_mass_needs_and_gets_tempering():
    """Level set {z : f(z) = 0.5} = {-1.2, +1.2}; the prior N(0.6, 1) puts unequal mass near each.

    The valley between the modes has likelihood ~e^-40, so no random-walk chain crosses it after
    burn-in: with the random walk alone the share of particles in the right-hand mode is fixed by
    the burn-in. Tempered SMC must match the exact posterior mass of z > 0; the tolerance is 4
    standard errors, the SE taken as the larger of the binomial SE of all particles and the spread
    of replicate runs. After burn-in the independence sweeps carry particles across the valley
    (~99 % of them within 80 steps; ~17 % with differential evolution alone).
    """
    alpha = 60.0
    target = np.array([0.5, 0.5])
    c = 1.2

    def clf(x):
        p1 = torch.sigmoid(4.0 * (x[:, 0] ** 2 - c**2))
        return torch.stack([1 - p1, p1], dim=1)

    def log_post(z):
        p1 = 1 / (1 + np.exp(-4.0 * (z**2 - c**2)))
        return stats.norm.logpdf(z, loc=0.6) + dirichlet_loglik_2class(p1, target, alpha)

    grid, _, _, cdf = quadrature_1d(log_post)
    exact_right = 1 - np.interp(0.0, grid, cdf)
    n_particles = 1000

    def shares(tempering, de_every=2, independence_every=1):
        out, crossed = [], []
        for seed in range(4):
            result = sample_level_set(
                normal_prior(loc=0.6),
                identity,
                clf,
                target,
                settings(alpha=alpha, seed=seed, steps=200, burn_in=120, tempering=tempering, samples=10,
                         de_every=de_every, independence_every=independence_every),
            )
            out.append((result.final_positions[:, 0] > 0).double().mean().item())
            side = result.trace[:, :, 0] > 0
            crossed.append((side != side[:, :1]).any(dim=1).double().mean().item())
            # every particle ends on the level set, none stuck in the valley between the modes
            assert (result.final_probs[:, 1] - 0.5).abs().max() < 0.35
        out = np.array(out)
        se = max(np.sqrt(exact_right * (1 - exact_right) / (len(out) * n_particles)), out.std(ddof=1) / np.sqrt(len(out)))
        return out.mean(), se, np.mean(crossed)

    tempered_share, se, crossed = shares(True)
    assert abs(tempered_share - exact_right) < Z_SE * se, (tempered_share, exact_right, se)
    assert crossed > 0.9, crossed  # independence sweeps carry nearly every particle between the modes after burn-in
    # power check: plain random-walk MH from the prior keeps the prior's basin masses and misses the posterior
    plain_share, plain_se, plain_crossed = shares(False, de_every=0, independence_every=0)
    assert abs(plain_share - exact_right) > Z_SE * plain_se, (plain_share, exact_right, plain_se)
    assert plain_crossed == 0.0

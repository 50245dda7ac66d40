"""Diagnostics: ArviZ conversion, Δ, tolerance share, distinct count, R-hat/ESS, yield."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from levelsets.inference import (
    SamplerSettings,
    diagnostics,
    prior_rejection,
    sample_level_set,
    sampling_yield,
    summarize,
    to_inference_data,
)
from levelsets.inference.sampler import LevelSetResult
from levelsets.targets import parse_target

Dist = torch.distributions


def fake_result(trace, trace_probs, latents=None, probs=None, wall=2.0):
    n_part, draws, d = trace.shape
    latents = trace[:, -1] if latents is None else latents
    probs = trace_probs[:, -1] if probs is None else probs
    return LevelSetResult(
        latents=latents,
        probs=probs,
        particle_index=torch.arange(latents.shape[0]),
        final_positions=trace[:, -1],
        final_probs=trace_probs[:, -1],
        trace=trace,
        trace_probs=trace_probs,
        trace_log_lik=torch.zeros(n_part, draws, dtype=torch.float64),
        trace_log_prior=torch.zeros(n_part, draws, dtype=torch.float64),
        trace_accept=torch.full((n_part, draws), 0.3, dtype=torch.float64),
        acceptance=torch.full((n_part,), 0.25, dtype=torch.float64),
        scale=torch.ones(n_part, d, dtype=torch.float64),
        forward_evaluations=1000,
        wall_seconds=wall,
        settings=SamplerSettings(particles=n_part, samples=min(n_part, latents.shape[0]), progress=False),
    )


def test_delta_and_within_tolerance_by_hand():
    target = np.array([0.5, 0.5])
    probs = np.array([[0.5, 0.5], [0.6, 0.4], [0.2, 0.8]])
    # eq. 5: mean over samples and classes of |p - f|: (0 + 0.1 + 0.3) * 2 / 6
    assert diagnostics.deviation(probs, target) == pytest.approx(0.4 / 3)
    assert diagnostics.within_tolerance_share(probs, target, 0.05) == pytest.approx(1 / 3)
    assert diagnostics.within_tolerance_share(probs, target, 0.1 + 1e-12) == pytest.approx(2 / 3)
    assert diagnostics.distinct_count(np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 2.0]])) == 2


def test_target_classes_share_for_pair_targets_only():
    names = [str(i) for i in range(10)]
    t = parse_target("1vs7", names)
    probs = np.full((4, 10), 0.01)
    probs[0, [1, 7]] = 0.46
    probs[1, [1, 3]] = 0.46
    probs[2, [7, 1]] = [0.6, 0.32]
    probs[3, [2, 3]] = 0.46
    assert diagnostics.target_classes_share(probs, t) == pytest.approx(0.5)
    assert diagnostics.target_classes_share(probs, t.probs) == pytest.approx(0.5)  # detected from the vector
    assert diagnostics.target_classes_share(probs, parse_target("ambiguous", names)) is None


def test_inference_data_layout_and_rhat_detects_unmixed_chains():
    g = torch.Generator().manual_seed(0)
    n_part, draws, d = 8, 100, 2
    mixed = torch.randn(n_part, draws, d, generator=g, dtype=torch.float64)
    probs = torch.full((n_part, draws, 2), 0.5, dtype=torch.float64)
    idata = to_inference_data(fake_result(mixed, probs), latent_names=["w", "h"], class_names=["rocket", "house"])
    assert idata.posterior["z"].shape == (n_part, draws, d)
    assert list(idata.posterior["z"].coords["z_dim"].values) == ["w", "h"]
    assert idata.posterior["probs"].shape == (n_part, draws, 2)
    assert idata.sample_stats["lp"].shape == (n_part, draws)
    assert idata.sample_stats["acceptance_rate"].shape == (n_part, draws)
    assert idata.log_likelihood["p"].shape == (n_part, draws)
    s = summarize(fake_result(mixed, probs), [0.5, 0.5])
    assert s["rhat_max"] < 1.05
    # iid draws: bulk ESS close to the number of draws (800); its SE is a few percent
    assert 600 < s["ess_bulk_min"] < 1100
    # chains stuck at different offsets: R-hat far above 1
    stuck = mixed + torch.arange(n_part, dtype=torch.float64)[:, None, None] * 3
    assert summarize(fake_result(stuck, probs), [0.5, 0.5])["rhat_max"] > 1.5


def test_summarize_keys_are_json_ready():
    g = torch.Generator().manual_seed(1)
    trace = torch.randn(6, 20, 3, generator=g, dtype=torch.float64)
    probs = torch.softmax(torch.randn(6, 20, 2, generator=g, dtype=torch.float64), -1)
    s = summarize(fake_result(trace, probs), [0.5, 0.5], tolerance=0.1)
    for key in (
        "acceptance_rate",
        "delta",
        "within_tolerance",
        "distinct",
        "rhat_max",
        "ess_bulk_min",
        "ess_bulk_total",
        "ess_per_second",
        "target_classes_share",
        "forward_evaluations",
        "wall_seconds",
        "particle_steps_per_second",
    ):
        assert key in s
    assert s["acceptance_rate"] == pytest.approx(0.25)
    assert s["distinct"] == 6
    assert s["ess_per_second"] == pytest.approx(s["ess_bulk_min"] / 2.0)
    json.dumps(s)


def test_sampling_yield_on_a_real_run_beats_prior_rejection_for_tight_bands():
    prior = Dist.Independent(Dist.Normal(torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)), 1)

    def clf(x):
        p1 = torch.sigmoid(3 * x[:, 0] + x[:, 1] - 6.0)
        return torch.stack([1 - p1, p1], 1)

    target = np.array([0.3, 0.7])  # the level set lies in the prior's tail (3 z1 + z2 ≈ 6.8, 2.2 sd)
    s = SamplerSettings(particles=300, steps=120, burn_in=60, samples=100, thin=3, alpha=200.0, device="cpu", progress=False)
    res = sample_level_set(prior, lambda z: z, clf, target, s)
    pr = prior_rejection(prior, lambda z: z, clf, target, budget=res.forward_evaluations, tolerance=0.05, device="cpu")
    y = sampling_yield(res, pr, target, tolerances=(0.05, 0.01))
    assert set(y) == {"±0.05", "±0.01"}
    for band in y.values():
        assert band["mh_evaluations"] == band["prior_evaluations"] == res.forward_evaluations
        assert 0 <= band["mh_within"] <= 1
    # prior rejection's own count is exact bookkeeping
    assert y["±0.05"]["prior_accepted"] == pr.latents.shape[0]
    assert y["±0.01"]["prior_accepted"] <= y["±0.05"]["prior_accepted"]
    summary = summarize(res, target)
    assert summary["within_tolerance"] > 0.8
    assert y["±0.01"]["ratio"] > 1


@pytest.mark.parametrize("relaxation", ["dirichlet", "band"])
def test_sampler_trace_group_records_the_genealogy_and_schedule(tmp_path, relaxation):
    import arviz as az

    d = 2
    prior = Dist.Independent(Dist.Normal(torch.zeros(d, dtype=torch.float64), 1.0), 1)

    def classifier(z):
        f0 = torch.sigmoid(3 * z[:, 0])
        return torch.stack([f0, 1 - f0], dim=1)

    settings = SamplerSettings(particles=64, steps=30, burn_in=20, samples=10, relaxation=relaxation,
                               tolerance=0.1, alpha=50.0, progress=False, seed=3)
    result = sample_level_set(prior, lambda z: z, classifier, [0.5, 0.5], settings)
    idata = to_inference_data(result)
    path = tmp_path / "trace.nc"
    idata.to_netcdf(str(path), engine="h5netcdf")
    back = az.from_netcdf(str(path), engine="h5netcdf")
    trace = back.sampler_trace
    assert trace.sizes["step"] == settings.steps
    ancestors = trace["ancestors"].values
    assert ancestors[0] <= settings.particles and ancestors[-1] >= 1
    assert np.all(np.diff(ancestors) <= 0)  # a genealogy can only lose lines
    assert ancestors[-1] == result.burn_in_ancestors
    schedule = "level" if relaxation == "band" else "inv_temperature"
    values = trace[schedule].values
    if relaxation == "band":
        assert values[-1] <= 0.1 and np.all(np.diff(values) <= 0)  # levels only go down, to τ
        assert np.nanmax(trace["survival"].values) <= 1
    else:
        assert values[-1] == 1.0 and np.all(np.diff(values) >= 0)  # β rises to 1
    assert ("band" in back.posterior.attrs["sampler"]) == (relaxation == "band")


# ESS helpers (moved here from benchmarks/sampler_throughput.py: ArviZ bulk ESS, cross-seed ESS)


def _ar1(rng, chains, draws, d, rho):
    """Stationary AR(1) chains ``(chains, draws, d)`` with unit marginal variance."""
    x = np.empty((chains, draws, d))
    x[:, 0] = rng.standard_normal((chains, d))
    noise = rng.standard_normal((chains, draws, d)) * np.sqrt(1 - rho**2)
    for t in range(1, draws):
        x[:, t] = rho * x[:, t - 1] + noise[:, t]
    return x


def test_ess_bulk_is_what_summarize_reports():
    g = torch.Generator().manual_seed(1)
    trace = torch.randn(6, 20, 3, generator=g, dtype=torch.float64)
    probs = torch.softmax(torch.randn(6, 20, 2, generator=g, dtype=torch.float64), -1)
    s = summarize(fake_result(trace, probs), [0.5, 0.5])
    ess = diagnostics.ess_bulk(trace)
    assert ess.shape == (3,)
    assert ess.min() == s["ess_bulk_min"] and ess.sum() == pytest.approx(s["ess_bulk_total"])


def test_ess_bulk_of_ar1_chains_matches_the_exact_integrated_autocorrelation():
    # AR(1) with coefficient rho: ESS = n (1 - rho) / (1 + rho) exactly (n = all draws). The
    # estimate's relative standard error is about sqrt(2 (2M + 1) / n) for a truncation lag M ~ 10:
    # 4.6 % here, so 15 % is > 3 standard errors.
    rng = np.random.default_rng(0)
    for rho in (0.0, 0.5):
        z = _ar1(rng, 50, 400, 2, rho)
        exact = z.shape[0] * z.shape[1] * (1 - rho) / (1 + rho)
        np.testing.assert_allclose(diagnostics.ess_bulk(z), exact, rtol=0.15)
        assert diagnostics.ess_bulk_scalar(z[..., 0]) == pytest.approx(exact, rel=0.15)
        assert diagnostics.ess_bulk_scalar(z[..., 0]) == diagnostics.ess_bulk(z)[0]


def test_pooled_variance_is_the_law_of_total_variance_by_hand():
    # runs {-1, 1} and {1, 3}: means 0 and 2, variances 1 and 1; all four draws have variance 2
    pooled = diagnostics.pooled_variance([[0.0], [2.0]], [[1.0], [1.0]])
    assert pooled.shape == (1,) and pooled[0] == pytest.approx(np.var([-1.0, 1.0, 1.0, 3.0]))


def _chi2_band(dof: int, scale: float, p: float = 1e-3) -> tuple[float, float]:
    """Two-sided ``1 - p`` band of ``scale * dof / X`` with ``X ~ chi2(dof)``: the estimated ESS."""
    from scipy.stats import chi2

    return scale * dof / chi2.ppf(1 - p / 2, dof), scale * dof / chi2.ppf(p / 2, dof)


def test_cross_seed_ess_counts_shared_ancestors_not_draws():
    # K runs of 100 draws each; every run copies 5 independent N(0, 1) "ancestors" 20 times, as SMC
    # resampling does. The run mean has variance 1/5, so the ESS per run is 5, not 100; the
    # estimate is sigma^2 / s^2 with s^2 ~ (1/5) chi2(K - 1) / (K - 1): a chi-square band.
    rng = np.random.default_rng(3)
    k, ancestors, copies, d = 400, 5, 20, 2
    runs = np.repeat(rng.standard_normal((k, ancestors, d)), copies, axis=1)  # (K, 100, d)
    ess = diagnostics.cross_seed_ess(runs.mean(1), runs.var(1))
    assert ess.shape == (d,)
    sigma2 = diagnostics.pooled_variance(runs.mean(1), runs.var(1))
    low, high = _chi2_band(k - 1, ancestors)
    assert np.all(sigma2 > 0.9) and np.all(sigma2 < 1.1)  # unit variance, SE ~ 1.6 %
    assert np.all((ess > low * 0.9) & (ess < high * 1.1)), (ess, low, high)


def test_exact_mean_ess_counts_bias():
    rng = np.random.default_rng(4)
    k, n = 400, 50
    means = rng.standard_normal((k, 1)) / np.sqrt(n)  # unbiased runs of n independent draws
    low, high = _chi2_band(k, n)  # MSE against the exact mean: chi2 with K degrees of freedom
    ess = diagnostics.exact_mean_ess(means, [0.0], [1.0])
    assert ess.shape == (1,) and low < ess[0] < high
    # a bias b with no spread: MSE = b^2, so ESS = variance / b^2 exactly
    assert diagnostics.exact_mean_ess(np.full((8, 1), 0.5), [0.0], [1.0])[0] == pytest.approx(4.0)

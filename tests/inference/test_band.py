"""The band sampler against band masses and laws computable exactly (issue 11, item 3).

Worlds whose classifier depends on z only through one coordinate (or one projection u = w·z), so
the band {z : max_l |f_l − p_l| ≤ τ} is an interval (or two) in that coordinate: its prior mass is
a difference of CDFs, the band law of that coordinate a truncated prior, and every other direction
keeps the prior exactly. Tolerances come from the Monte Carlo error of the run itself.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import special, stats

from levelsets.inference import band
from levelsets.inference.sampler import SamplerSettings, sample_level_set

DEFAULTS = dict(steps=300, burn_in=200, relaxation="band", progress=False)


def logistic_world(d: int, shift: float = 0.0, slope: float = 4.0, direction: torch.Tensor | None = None):
    """f_0 = sigmoid(slope · (u − shift)), f_1 = 1 − f_0, with u = z_1 (or w·z)."""
    w = direction if direction is not None else torch.eye(d, dtype=torch.float64)[0]

    def classifier(z):
        u = z @ w.to(z)
        f0 = torch.sigmoid(slope * (u - shift))
        return torch.stack([f0, 1 - f0], dim=1)

    return (lambda z: z), classifier, w


def interval(p0: float, tol: float, slope: float, shift: float) -> tuple[float, float]:
    lo, hi = max(p0 - tol, 1e-12), min(p0 + tol, 1 - 1e-12)
    return shift + special.logit(lo) / slope, shift + special.logit(hi) / slope


def gaussian(d):
    return torch.distributions.Independent(torch.distributions.Normal(torch.zeros(d, dtype=torch.float64), 1.0), 1)


def test_deviation_is_the_max_abs_error_and_nan_is_outside():
    probs = torch.tensor([[0.5, 0.5], [0.9, 0.1], [float("nan"), 0.5]])
    dev = band.deviation(probs, torch.tensor([0.46, 0.54]))
    np.testing.assert_allclose(dev[:2].numpy(), [0.04, 0.44], atol=1e-7)
    assert math.isinf(float(dev[2]))


def test_gaussian_prior_is_recognized_and_others_are_not():
    g = band.gaussian_prior(gaussian(3))
    assert g is not None and g.scale.shape == (3,)
    mvn = torch.distributions.MultivariateNormal(torch.zeros(2), scale_tril=torch.tensor([[1.0, 0.0], [0.5, 2.0]]))
    g2 = band.gaussian_prior(mvn)
    assert g2 is not None and torch.equal(g2.scale, mvn.scale_tril)
    laplace = torch.distributions.Independent(torch.distributions.Laplace(torch.zeros(2), 1.0), 1)
    assert band.gaussian_prior(laplace) is None


def test_advance_keeps_the_quantile_resamples_within_islands_and_multiplies_the_estimate():
    gen = torch.Generator().manual_seed(0)
    n, islands = 40, 4
    dev = torch.arange(n, dtype=torch.float64)  # island b holds deviations 10b .. 10b+9
    probs = torch.zeros(n, 2)
    state = band.BandState(
        position=dev[:, None].clone(), log_prior=torch.zeros(n), probs=probs, deviation=dev, level=math.inf,
        log_mass=torch.zeros(islands, dtype=torch.float64), ancestors=torch.arange(n),
        log_step=torch.zeros(islands, dtype=torch.float64), spread=torch.ones(1), moves_at_level=3,
        adapt_count=0, frozen=False,
    )
    new, share = band.advance(state, tolerance=1e-3, fraction=0.25, generator=gen)
    assert new.level == pytest.approx(float(torch.quantile(dev, 0.25)))  # 9.75
    np.testing.assert_allclose(share.numpy(), [1.0, 0.0, 0.0, 0.0])
    assert torch.isinf(new.log_mass[1:]).all() and float(new.log_mass[0]) == 0.0
    assert bool((new.deviation <= new.level).all()) and new.moves_at_level == 0
    # island 0 keeps its own ten particles (each once); dead islands are refilled from survivors
    assert sorted(new.ancestors[:10].tolist()) == list(range(10))


@pytest.mark.slow
@pytest.mark.parametrize("world", ["gaussian", "laplace"])
def test_band_mass_and_law_of_a_one_dimensional_band(world):
    d, slope, p0, tol = 3, 4.0, 0.5, 0.05
    decoder, classifier, _ = logistic_world(d, slope=slope)
    lo, hi = interval(p0, tol, slope, 0.0)
    if world == "gaussian":
        prior, cdf, sd = gaussian(d), stats.norm.cdf, 1.0
    else:
        prior = torch.distributions.Independent(torch.distributions.Laplace(torch.zeros(d, dtype=torch.float64), 1.0), 1)
        cdf, sd = stats.laplace.cdf, math.sqrt(2.0)
    exact = cdf(hi) - cdf(lo)
    result = sample_level_set(prior, decoder, classifier, torch.tensor([p0, 1 - p0], dtype=torch.float64),
                              SamplerSettings(particles=2000, samples=100, tolerance=tol, seed=1, **DEFAULTS))
    est = result.band
    assert est["reached_tolerance"]
    assert abs(est["mass"] - exact) <= 3 * est["mass_se"], (est["mass"], est["mass_se"], exact)
    assert est["mass_se"] < 0.2 * exact  # and the estimate is informative
    z = result.final_positions.numpy()
    assert ((z[:, 0] >= lo - 1e-9) & (z[:, 0] <= hi + 1e-9)).all()
    # the free coordinates keep the prior: mean 0 and sd ± 4 Monte Carlo standard errors (2 x 2000 values)
    free = z[:, 1:].ravel()
    se_sd = sd / math.sqrt(2 * free.size) * (1.6 if world == "laplace" else 1.0)
    assert abs(free.mean()) < 4 * sd / math.sqrt(free.size)
    assert abs(free.std() - sd) < 4 * se_sd


@pytest.mark.slow
def test_thin_band_below_1e_5_is_found_and_its_mass_matches():
    slope, shift, p0, tol = 4.0, 4.6, 0.5, 0.05
    decoder, classifier, _ = logistic_world(2, slope=slope, shift=shift)
    lo, hi = interval(p0, tol, slope, shift)
    exact = stats.norm.sf(lo) - stats.norm.sf(hi)
    assert exact < 1e-5
    result = sample_level_set(gaussian(2), decoder, classifier, torch.tensor([p0, 1 - p0], dtype=torch.float64),
                              SamplerSettings(particles=1000, samples=100, tolerance=tol, seed=2, **DEFAULTS))
    est = result.band
    assert est["reached_tolerance"] and len(est["levels"]) >= 10
    assert abs(est["mass"] - exact) <= 3 * est["mass_se"], (est["mass"], est["mass_se"], exact)
    z1 = result.final_positions[:, 0].numpy()
    assert ((z1 >= lo) & (z1 <= hi)).all()
    # z1 within the band follows the truncated normal: KS against its exact CDF
    cdf = lambda x: (stats.norm.cdf(x) - stats.norm.cdf(lo)) / (stats.norm.cdf(hi) - stats.norm.cdf(lo))  # noqa: E731
    assert stats.kstest(np.unique(z1), cdf).pvalue > 1e-3


@pytest.mark.slow
def test_a_slab_thin_in_one_direction_and_wide_in_fifteen_gets_its_mass():
    """Two slabs 5e-6 wide in u = w·z through the bulk of a 16-d prior (mass 2.4e-6): each level halves
    their width, and the step size must follow (band.GAIN_FLOOR). Before it did, every move at the deep
    levels was rejected, 2–5 ancestors survived and the mass came out 3–80 standard errors low."""
    d, p0, tol = 16, 0.3, 2e-5
    w = torch.randn(d, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    w = w / w.norm()

    def classifier(z):
        f0 = torch.sigmoid(20 * ((z @ w.to(z)) ** 2 - 1))
        return torch.stack([f0, 1 - f0], dim=1)

    lo, hi = (1 + special.logit(p0 - tol) / 20) ** 0.5, (1 + special.logit(p0 + tol) / 20) ** 0.5
    exact = 2 * (stats.norm.cdf(hi) - stats.norm.cdf(lo))
    assert exact < 1e-5
    result = sample_level_set(gaussian(d), lambda z: z, classifier, torch.tensor([p0, 1 - p0], dtype=torch.float64),
                              SamplerSettings(particles=1000, samples=100, tolerance=tol, seed=1, **DEFAULTS))
    est = result.band
    assert est["reached_tolerance"]
    assert abs(est["mass"] - exact) <= 3 * est["mass_se"], (est["mass"], est["mass_se"], exact)
    assert result.burn_in_ancestors >= 20
    u = (result.final_positions @ w).abs().numpy()
    assert ((u >= lo) & (u <= hi)).all()

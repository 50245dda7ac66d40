"""The band sampler in any dimension: the projection world (issue 12, item 2; issue 11, item 3).

z ~ N(0, I_d); the classifier sees z only through u = w·z for a fixed unit vector w:
one-mode f_0 = sigmoid(4(u − 1)), two-mode f_0 = sigmoid(20(u² − 1)). With target (p, 1 − p) and
tolerance τ the band is one or two intervals of u, so u's band law is N(0, 1) truncated to them
(exact by quadrature), and every direction orthogonal to w stays exactly N(0, 1). Checked at
``levelsets sample``'s defaults (the sampler settings are read off :class:`levelsets.workflows.sample.SampleJob`
as ``levelsets sample`` builds them: the band, N = 1000, 300 steps, 200 burn-in, τ = 0.05) for
d ∈ {2, 16, 128, 512}, one- and two-mode (issue 12's "Done when" line), pooling the recorded draws
(particles = chains): the band's prior mass, E|u|, E u² and (two-mode) the share in the u > 0 mode
within 4 Monte Carlo standard errors, estimated from the spread between the sampler's independent
islands; the orthogonal directions' sd within ±0.03 of 1 and mean within ±0.03 of 0.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, special, stats

from levelsets.inference.sampler import SamplerSettings, sample_level_set

P0, TOL = 0.3, 0.05


def world(d: int, modes: int, seed: int = 0):
    w = torch.randn(d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    w = w / w.norm()

    def classifier(z):
        u = z @ w.to(z)
        s = 20 * (u**2 - 1) if modes == 2 else 4 * (u - 1)
        f0 = torch.sigmoid(s)
        return torch.stack([f0, 1 - f0], dim=1)

    return w, classifier


def u_intervals(modes: int) -> list[tuple[float, float]]:
    lo, hi = special.logit(P0 - TOL), special.logit(P0 + TOL)
    if modes == 1:
        return [(1 + lo / 4, 1 + hi / 4)]
    a, b = math.sqrt(1 + lo / 20), math.sqrt(1 + hi / 20)
    return [(-b, -a), (a, b)]


def exact_moments(modes: int) -> dict[str, float]:
    parts = u_intervals(modes)
    mass = sum(stats.norm.cdf(b) - stats.norm.cdf(a) for a, b in parts)
    m1 = sum(integrate.quad(lambda u: abs(u) * stats.norm.pdf(u), a, b)[0] for a, b in parts) / mass
    m2 = sum(integrate.quad(lambda u: u**2 * stats.norm.pdf(u), a, b)[0] for a, b in parts) / mass
    pos = sum(stats.norm.cdf(b) - stats.norm.cdf(a) for a, b in parts if a >= 0) / mass
    return {"mass": mass, "abs_u": m1, "u2": m2, "positive": pos}


def island_se(values: np.ndarray, islands: int) -> float:
    """SE of the mean of ``values`` (particles, draws) from the spread of the islands' means."""
    per = values.reshape(islands, -1).mean(axis=1)
    return float(per.std(ddof=1) / math.sqrt(islands))


CASES = [(d, modes) for modes in (1, 2) for d in (2, 16, 128, 512)]


def sample_defaults(seed: int) -> SamplerSettings:
    """The sampler settings ``levelsets sample --target 0.3,0.7`` uses by default (as ``workflows.sample._sample_one`` maps them)."""
    from levelsets.workflows.sample import SampleJob

    job = SampleJob(world="shapes", target=f"{P0},{1 - P0}", out="unused", progress=False)
    assert job.relaxation == "band" and job.tolerance == TOL  # the defaults
    return job.sampler_settings(seed=seed, device="cpu")


@pytest.mark.slow
@pytest.mark.parametrize("d, modes", CASES)
def test_projection_world_is_exact_in_any_dimension(d, modes):
    w, classifier = world(d, modes)
    prior = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(d, dtype=torch.float64), 1.0), 1)
    settings = sample_defaults(seed=d + modes)
    result = sample_level_set(prior, lambda z: z, classifier, torch.tensor([P0, 1 - P0], dtype=torch.float64), settings)
    exact = exact_moments(modes)
    band = result.band
    assert band["reached_tolerance"], band
    assert abs(band["mass"] - exact["mass"]) <= 4 * band["mass_se"], (band["mass"], band["mass_se"], exact["mass"])

    z = result.trace.numpy()  # (N, draws, d)
    u = z @ w.numpy()
    b = settings.islands
    for name, values in (("abs_u", np.abs(u)), ("u2", u**2), ("positive", (u > 0).astype(float))):
        if name == "positive" and modes == 1:
            continue
        se = max(island_se(values, b), 1e-4)
        assert abs(values.mean() - exact[name]) <= 4 * se, (name, values.mean(), exact[name], se)
    # the orthogonal directions: exactly N(0, 1) — sd within ±0.03 of 1, mean within ±0.03 of 0
    basis = np.linalg.qr(np.column_stack([w.numpy(), np.eye(d)[:, : d - 1]]))[0][:, 1:]
    ortho = (z @ basis).reshape(-1)
    assert abs(ortho.std() - 1.0) < 0.03, ortho.std()
    assert abs(ortho.mean()) < 0.03, ortho.mean()

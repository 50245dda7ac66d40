"""benchmarks/band_mass_check.py: defensive importance sampling recovers a band mass known exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from scipy import stats

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "band_mass_check.py"


def _slab(centre: float, half_width: float, n: int, seed: int) -> torch.Tensor:
    """n exact draws of N(0, I_2) restricted to |z_0 − centre| ≤ half_width (inverse-CDF on z_0)."""
    g = torch.Generator().manual_seed(seed)
    lo, hi = stats.norm.cdf(centre - half_width), stats.norm.cdf(centre + half_width)
    u = lo + (hi - lo) * torch.rand(n, generator=g, dtype=torch.float64)
    z0 = torch.as_tensor(stats.norm.ppf(u.numpy()))
    return torch.stack([z0, torch.randn(n, generator=g, dtype=torch.float64)], dim=1)


@pytest.mark.parametrize("seed", [0, 1])
def test_importance_mass_agrees_with_the_exact_mass_of_a_thin_slab(bench, seed):
    centre, half = 3.0, 0.01
    exact = stats.norm.cdf(centre + half) - stats.norm.cdf(centre - half)  # 8.9e-5
    prior = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(2, dtype=torch.float64), 1.0), 1)
    particles = _slab(centre, half, 500, seed)
    out = bench.importance_mass(prior, lambda z: (z[:, 0] - centre).abs(), half, particles, 20_000, seed=seed)
    assert out["draws"] == 20_000 and out["hits"] > 1_000  # q puts its mass where the band is
    assert out["mass_se"] < 0.1 * exact
    assert abs(out["mass"] - exact) <= 4 * out["mass_se"], (out, exact)


def test_importance_mass_refuses_a_bad_defensive_share(bench):
    prior = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(2), 1.0), 1)
    with pytest.raises(ValueError, match="defensive share"):
        bench.importance_mass(prior, lambda z: z[:, 0].abs(), 0.1, torch.zeros(5, 2), 10, seed=0, defensive=0.0)


def test_markdown_shows_both_estimates_and_how_far_apart(bench):
    row = {"prior": "vae", "target": "1vs7", "tolerance": 0.01, "seed": 0, "band": {"mass": 3e-8, "mass_se": 1e-8},
           "importance": {"mass": 2.5e-8, "mass_se": 2e-9, "hits": 4_000, "draws": 100_000}, "z": 0.49}
    line = bench.markdown([row]).splitlines()[2]
    assert line == "| vae | 1vs7 | 0.01 | 0 | 3e-08 ± 1e-08 | 2.5e-08 ± 2e-09 (4,000 of 100,000) | +0.5 | — | — |"


def test_markdown_adds_the_pooled_check(bench):
    pool = {"prior": "gan", "target": "1vs7", "tolerance": 0.01, "seeds": [0, 1, 2], "band_mean": 4e-8,
            "band_mean_se": 1.6e-8, "importance": {"mass": 5e-9, "mass_se": 1e-9, "hits": 30_000, "draws": 100_000},
            "z": 2.33}
    lines = bench.markdown([], [pool]).splitlines()
    assert lines[-1] == "| gan | 1vs7 | 0.01 | 0, 1, 2 | 4e-08 ± 2e-08 | 5e-09 ± 1e-09 (30,000 of 100,000) | +2.3 |"
    assert len(bench.markdown([]).splitlines()) == 2  # no pooled table without pooled checks


def test_markdown_shows_brute_force_rejection_with_its_draws(bench):
    row = {"prior": "gan", "target": "1vs7", "tolerance": 0.05, "seed": 0, "band": {"mass": 6.9e-4, "mass_se": 8e-5},
           "importance": {"mass": 5.9e-4, "mass_se": 2e-5, "hits": 7_078, "draws": 100_000}, "z": 1.3,
           "rejection": {"mass": 6.2e-4, "mass_se": 8e-5, "kept": 62, "evaluations": 100_000}, "z_rejection": -0.4}
    line = bench.markdown([row]).splitlines()[2]
    assert line.endswith("| +1.3 | 0.00062 ± 8e-05 (62 of 100,000) | -0.4 |"), line

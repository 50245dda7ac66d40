"""benchmarks/level_set_quality.py: the rare-band worlds are what their docstring says (exact masses)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from scipy import stats

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "level_set_quality.py"


@pytest.mark.parametrize("name", ["tail", "slab"])
def test_rare_world_classifier_sees_the_projection_through_the_image(bench, name):
    prior, decoder, classifier, target, tol, mass = bench.rare_world(name)
    z = prior.sample((500,))
    x = decoder(z)
    assert x.shape == (500, 1, bench.RARE_SIDE, bench.RARE_SIDE) and float(x.min()) >= 0 and float(x.max()) <= 1
    cfg = bench.RARE[name]
    g = torch.Generator().manual_seed(0)
    w = torch.randn(bench.RARE_DIM, generator=g, dtype=torch.float64)
    u = z @ (w / w.norm())
    arg = u**2 if cfg["modes"] == 2 else u
    torch.testing.assert_close(classifier(x)[:, 0], torch.sigmoid(cfg["slope"] * (arg - cfg["shift"])), atol=1e-6, rtol=0)
    assert mass < 1e-5 and target.tolist() == [cfg["p0"], 1 - cfg["p0"]]


@pytest.mark.parametrize("name", ["tail", "slab"])
def test_rare_world_exact_mass_matches_a_wider_band_by_monte_carlo(bench, name, monkeypatch):
    # the mass formula, checked where Monte Carlo can see it: the same world at a band 10^3-10^4 times wider
    cfg = dict(bench.RARE[name])
    cfg["tolerance"] = 0.2 if name == "tail" else 0.1
    monkeypatch.setitem(bench.RARE, name, cfg)
    prior, decoder, classifier, target, tol, mass = bench.rare_world(name)
    n = 200_000
    z = prior.sample((n,))
    inside = ((classifier(decoder(z)) - target).abs().max(dim=1).values <= tol).double()
    se = math.sqrt(mass * (1 - mass) / n)
    assert abs(float(inside.mean()) - mass) <= 4 * se + 1e-9, (float(inside.mean()), mass, se)


def test_rare_markdown_marks_a_lower_bound_when_rejection_found_nothing(bench):
    cell = {"world": "tail", "p0": 0.5, "tolerance": 0.05, "exact_mass": 1e-6, "seed": 0, "reference": "ref",
            "band": {"evaluations": 1000, "families": 8, "n": 10, "band": {"mass": 1e-6, "mass_se": 1e-7}, "mass_z": 0.0},
            "rejection": {"kept": 0, "families": 0}, "families_per_evaluation_ratio": 8.0}
    text = bench.rare_markdown([cell])
    assert "| ≥ 8× |" in text and "ref" in text
    assert stats.norm.sf(0) == 0.5  # scipy's normal is what the masses use


def test_intensity_markdown_reports_each_class_and_a_missing_class(bench):
    check = {"prior": "vae", "classes": [1, 7], "draws": 100, "confidence": 0.9,
             "rows": [{"class": 1, "real_intensity": 0.0771, "generated_intensity": 0.0757, "generated_n": 12, "ratio": 0.0757 / 0.0771},
                      {"class": 7, "real_intensity": 0.115, "generated_intensity": None, "generated_n": 0, "ratio": None}]}
    text = bench.intensity_markdown([check])
    assert "| vae | 1 | 0.0771 | 0.0757 (12) | 98% |" in text
    assert "| vae | 7 | 0.1150 | — | — |" in text
    assert bench.intensity_markdown([]) == ""


def test_render_joins_the_sections_of_a_record(bench):
    check = {"prior": "gan", "classes": [8], "draws": 10, "confidence": 0.9,
             "rows": [{"class": 8, "real_intensity": 0.15, "generated_intensity": 0.14, "generated_n": 3, "ratio": 0.14 / 0.15}]}
    text = bench.render({"rows": [], "settings": {"methods": ["band"]}, "rare": [], "intensity_check": [check]})
    assert text == bench.intensity_markdown([check])


def test_summary_averages_near_copies_over_seeds_and_shows_the_mean_over_picks(bench):
    def cell(seed, share, mean):
        row = {"families": 30, "families_mean": 31.0, "near_copy_share": share, "near_copy_share_mean": mean,
               "delta": 0.013, "within_tolerance": 1.0, "intensity_ratio": 0.75, "coverage": 0.1, "density": 0.5,
               "n": 100, "evaluations": 301_000, "kept": 150, "yield_": 5e-4}
        return {"prior": "gan", "target": "1vs7", "tolerance": 0.05, "seed": seed, "rejection": row}

    rows = bench.summarize([cell(0, 0.56, 0.40), cell(1, 0.24, 0.32)], ["rejection"])
    assert rows[0]["rejection_near_copy_share"] == pytest.approx(0.40)
    assert rows[0]["rejection_near_copy_share_mean"] == pytest.approx(0.36)
    assert "| 40% (36%) |" in bench.markdown(rows, ["rejection"])

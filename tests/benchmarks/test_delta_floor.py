"""benchmarks/delta_floor.py: the relaxation term against quadrature, the floor on functions with a known minimum."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import integrate, stats

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "delta_floor.py"



@pytest.mark.parametrize("alpha", [10.0, 100.0])
def test_relaxation_delta_matches_quadrature_for_two_classes(bench, alpha):
    # p = (0.5, 0.5): f_0 ~ Beta(α/2, α/2) and |f_1 - 0.5| = |f_0 - 0.5|, so Δ = E|X - 1/2|
    exact, _ = integrate.quad(lambda x: abs(x - 0.5) * stats.beta.pdf(x, alpha / 2, alpha / 2), 0, 1, points=[0.5])
    mc = bench.relaxation_delta(np.array([0.5, 0.5]), alpha, draws=200_000)
    assert mc == pytest.approx(exact, rel=0.01)


def test_relaxation_delta_shrinks_with_alpha(bench):
    p = np.full(10, 0.1)
    values = [bench.relaxation_delta(p, a, draws=20_000) for a in (100.0, 300.0, 1000.0)]
    assert values[0] > values[1] > values[2] > 0


class _Logits(torch.nn.Module):
    """Maps a 2-d "image" to 3 logits through a fixed matrix."""

    def __init__(self, rows):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor(rows, dtype=torch.float32))

    def forward(self, x):
        return x @ self.weight.T


def test_floor_reaches_zero_when_the_target_is_reachable(bench):
    # logits (z1, z2, 0): p = (0.5, 0.3, 0.2) is softmax at z = (log 2.5, log 1.5)
    p = np.array([0.5, 0.3, 0.2])
    out = bench.latent_floor(torch.nn.Identity(), _Logits([[1, 0], [0, 1], [0, 0]]), p, 2,
                             starts=32, steps=400, lr=0.05, radius=3.0, seed=0)
    assert out["min_delta"] < 1e-3
    np.testing.assert_allclose(out["z"], [np.log(2.5), np.log(1.5)], atol=0.02)
    np.testing.assert_allclose(out["probs"], p, atol=2e-3)


def test_floor_stops_at_the_known_minimum_of_an_unreachable_target(bench):
    # logits (z1, z1, 0): classes 0 and 1 always tie, f = (a, a, 1 - 2a); for p = (0.6, 0.2, 0.2)
    # Δ(a) = (|a - 0.6| + |a - 0.2| + |0.8 - 2a|) / 3 has its minimum 0.4 / 3 at a = 0.4
    p = np.array([0.6, 0.2, 0.2])
    out = bench.latent_floor(torch.nn.Identity(), _Logits([[1, 0], [1, 0], [0, 0]]), p, 2,
                             starts=32, steps=400, lr=0.05, radius=3.0, seed=0)
    assert out["min_delta"] == pytest.approx(0.4 / 3, abs=1e-3)
    assert out["min_delta"] >= 0.4 / 3 - 1e-6  # never below the true minimum
    np.testing.assert_allclose(out["probs"], [0.4, 0.4, 0.2], atol=5e-3)
    assert out["start_quantiles"]["0.01"] <= out["start_quantiles"]["0.5"]


def test_markdown_tables(bench):
    floor = {"min_delta": 0.0192, "probs": [0.1] * 10, "min_delta_within_radius": None}
    result = {
        "alphas": [100.0], "targets": ["ambiguous"], "prior": "vae", "relaxation": {"ambiguous": {"100.0": 0.0237}},
        "settings": {"draws": 1000, "starts": 5, "steps": 7, "lr": 0.05},
        "pairs": [{"generator_seed": 1, "classifier_seed": 0, "cards": {"classifier": {"heldout_accuracy": 0.983}}, "floor": {"ambiguous": floor},
                   "calibration": {"temperature": 1.0403}}],
    }
    md = bench.markdown(result)
    assert "| ambiguous | 2.37% | 1.83% |" in md
    assert "| 1 | 0 | 98.3% | 1.040 | ambiguous | 1.92% | — |" in md
    # every table row has as many cells as its header
    for block in md.split("\n\n"):
        rows = [r for r in block.splitlines() if r.startswith("|")]
        assert len({r.count("|") for r in rows}) <= 1, block


def test_markdown_without_calibration_has_no_temperature_column(bench):
    """Runs from before the calibration check (delta_floor_seeds.json) render without an empty column."""
    floor = {"min_delta": 0.0127, "probs": [0.1] * 10, "min_delta_within_radius": 0.0127}
    result = {
        "alphas": [100.0], "targets": ["ambiguous"], "prior": "vae", "relaxation": {"ambiguous": {"100.0": 0.0237}},
        "settings": {"draws": 1000, "starts": 5, "steps": 7, "lr": 0.05},
        "pairs": [{"generator_seed": 1, "classifier_seed": 0, "cards": {"classifier": {"heldout_accuracy": 0.983}},
                   "floor": {"ambiguous": floor}}],
    }
    md = bench.markdown(result)
    assert "temperature" not in md
    assert "| 1 | 0 | 98.3% | ambiguous | 1.27% | 1.27% |" in md
    for block in md.split("\n\n"):
        rows = [r for r in block.splitlines() if r.startswith("|")]
        assert len({r.count("|") for r in rows}) <= 1, block


@pytest.mark.parametrize("true_t", [0.5, 1.0, 2.0])
def test_fitted_temperature_recovers_the_generating_one(bench, true_t):
    # labels drawn from softmax(logits / T): the NLL-minimising temperature is T, up to sampling noise
    g = torch.Generator().manual_seed(0)
    logits = 3.0 * torch.randn(20_000, 5, generator=g, dtype=torch.float64)
    labels = torch.multinomial(torch.softmax(logits / true_t, dim=1), 1, generator=g)[:, 0]
    assert bench.fitted_temperature(logits, labels) == pytest.approx(true_t, rel=0.05)

"""Unit tests of adaptive tempering (``levelsets.inference.tempering``): the next inverse temperature
solves for the conditional ESS target; ESS of log weights."""

from __future__ import annotations

import math

import pytest
import torch

from levelsets.inference import tempering


def test_next_inverse_temperature_hits_cess_target():
    g = torch.Generator().manual_seed(0)
    ll = -50 * torch.rand(1000, generator=g, dtype=torch.float64)
    lw = torch.zeros(1000, dtype=torch.float64)
    beta = tempering.next_inv_temperature(0.0, lw, ll, 0.7)
    assert 0 < beta < 1
    assert tempering.conditional_ess(lw, ll, beta) == pytest.approx(700, rel=1e-6)
    # flat likelihood: straight to 1; min increment respected
    assert tempering.next_inv_temperature(0.2, lw, torch.zeros(1000, dtype=torch.float64), 0.7) == 1.0
    assert tempering.next_inv_temperature(0.0, lw, ll, 0.99, min_increment=0.5) == 0.5
    assert tempering.ess(lw) == pytest.approx(1000)
    assert tempering.ess(torch.tensor([0.0, -math.inf, -math.inf], dtype=torch.float64)) == pytest.approx(1.0)

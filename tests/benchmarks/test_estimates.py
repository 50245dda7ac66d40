"""benchmarks/estimates.py: a rejection run's yield with its binomial standard error, and estimates apart in SE."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "estimates.py"


def test_binomial_yield_matches_the_spread_of_simulated_runs(bench):
    y, se = bench.binomial_yield(30, 100_000)
    assert y == pytest.approx(3e-4) and se == pytest.approx(math.sqrt(30 * (1 - 3e-4)) / 1e5)
    runs = np.random.default_rng(0).binomial(100_000, 3e-4, size=4_000) / 100_000
    assert np.std(runs) == pytest.approx(se, rel=0.05)
    assert bench.binomial_yield(0, 0) == (0.0, 0.0)


def test_se_apart_is_signed_and_nan_without_error(bench):
    assert bench.se_apart(5.0, 3.0, 1.0, 4.0) == pytest.approx(0.8)
    assert bench.se_apart(1.0, 3.0, 5.0, 4.0) == pytest.approx(-0.8)
    assert math.isnan(bench.se_apart(1.0, 0.0, 2.0, 0.0))

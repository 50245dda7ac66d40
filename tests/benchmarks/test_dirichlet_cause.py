"""benchmarks/dirichlet_cause.py: the Dirichlet log-likelihood and the per-class penalty its docstring quotes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import optimize, special, stats

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "dirichlet_cause.py"


def test_log_lik_is_scipy_dirichlet(bench):
    target = torch.tensor([0.46, 0.46] + [0.01] * 8, dtype=torch.float64)
    probs = torch.softmax(torch.randn(5, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64), -1)
    ours = bench.dirichlet_log_lik(probs, target).numpy()
    ref = [stats.dirichlet.logpdf(target.numpy(), 100.0 * row) for row in probs.numpy()]
    np.testing.assert_allclose(ours, ref, rtol=1e-10)


def test_a_clean_image_pays_about_6_8_nats_per_ruled_out_class():
    # the docstring's claim: term(x) = (x - 1) log 0.01 - log Γ(x), x = α f_l, peaks near x = 0.23 and
    # lies 6.8 nats above its value at the clamp (x = α · 1e-6)
    term = lambda x: (x - 1) * np.log(0.01) - special.gammaln(x)  # noqa: E731
    best = optimize.minimize_scalar(lambda x: -term(x), bounds=(1e-4, 5), method="bounded")
    assert best.x == pytest.approx(0.23, abs=0.01)
    assert term(best.x) - term(100 * 1e-6) == pytest.approx(6.8, abs=0.05)
    assert term(best.x) == pytest.approx(2.2, abs=0.05) and term(1e-4) == pytest.approx(-4.6, abs=0.01)

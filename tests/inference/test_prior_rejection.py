"""Prior rejection at a classifier budget (``levelsets.inference.prior_rejection``), the honest baseline:
it keeps exactly the draws inside the band, at the binomial rate."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from levelsets.errors import LevelsetsError
from levelsets.inference import prior_rejection

Dist = torch.distributions


def normal_prior(d=2):
    return Dist.Independent(Dist.Normal(torch.zeros(d, dtype=torch.float64), torch.ones(d, dtype=torch.float64)), 1)


def identity(z):
    return z


def test_prior_rejection_keeps_exactly_the_band():
    def clf(x):
        p1 = torch.sigmoid(x[:, 0])
        return torch.stack([1 - p1, p1], 1)

    target = np.array([0.5, 0.5])
    res = prior_rejection(normal_prior(), identity, clf, target, budget=5000, tolerance=0.05, batch_size=700, seed=1, device="cpu")
    assert res.evaluations == 5000
    assert res.deviations.shape == (5000,)
    dev = (res.probs - torch.tensor(target)).abs().max(1).values
    assert (dev <= 0.05).all()
    assert res.latents.shape[0] == int((res.deviations <= 0.05).sum())
    # |sigmoid(z) - 0.5| <= 0.05  <=>  |z| <= logit(0.55); acceptance is binomial around its probability
    p = stats.norm.cdf(math.log(0.55 / 0.45)) * 2 - 1
    assert abs(res.acceptance_rate - p) < 4 * math.sqrt(p * (1 - p) / 5000)
    with pytest.raises(LevelsetsError):
        prior_rejection(normal_prior(), identity, clf, target, budget=0, tolerance=0.05)

"""The logistic class-pair transform τ of mixup labels (levelsets.softlabels.class_pair_transform)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from levelsets.errors import LevelsetsError
from levelsets.softlabels.class_pair_transform import (
    ClassPairTransform,
    fit_class_pair_transform,
    logistic,
)


def test_class_pair_transform_recovers_logistic_and_is_symmetric():
    rng = np.random.default_rng(0)
    obs = []
    for _ in range(200):
        lf = rng.uniform()
        obs.append((0, 2, lf, float(np.clip(logistic(lf, 12.0, 0.4) + rng.normal(0, 0.02), 0, 1))))
    for _ in range(200):  # the same curve observed in the other orientation
        lf = rng.uniform()
        obs.append((2, 0, 1 - lf, float(np.clip(1 - logistic(lf, 12.0, 0.4) + rng.normal(0, 0.02), 0, 1))))
    obs += [(1, 2, 0.5, 0.5), (1, 1, 0.3, 0.3)]  # too few points / same class: identity
    tau = fit_class_pair_transform(obs, num_classes=3)
    slope, centre = tau.params[(0, 2)]
    assert slope == pytest.approx(12.0, rel=0.1) and centre == pytest.approx(0.4, abs=0.01)
    assert (1, 2) not in tau.params
    assert tau.tau(0.3, 1, 2) == 0.3 and tau.tau(0.3, 1, 1) == 0.3
    assert tau.tau(0.3, 2, 0) == pytest.approx(1 - tau.tau(0.7, 0, 2))
    again = type(tau).from_dict(tau.to_dict())
    assert again.params == tau.params


def test_logistic_on_floats_arrays_and_tensors():
    assert logistic(0.4, 12.0, 0.4) == pytest.approx(0.5)
    assert logistic(1.0, 12.0, 0.4) == pytest.approx(1 / (1 + np.exp(-7.2)))
    lam = np.array([0.0, 0.25, 1.0])
    want = 1 / (1 + np.exp(-3.0 * (lam - 0.5)))
    np.testing.assert_allclose(logistic(lam, 3.0, 0.5), want)
    got = logistic(torch.tensor(lam), 3.0, 0.5)
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), want)


def test_tau_orientations_apply_and_json_form():
    tau = ClassPairTransform(num_classes=4, params={(1, 3): (8.0, 0.3)})
    assert tau.tau(0.6, 1, 3) == pytest.approx(logistic(0.6, 8.0, 0.3))
    assert tau.tau(0.6, 3, 1) == pytest.approx(1 - logistic(0.4, 8.0, 0.3))  # λ weighs class 3 here
    assert tau.tau(0.6, 0, 2) == 0.6 and tau.tau(0.6, 2, 2) == 0.6  # no data / same class: identity
    ci, cj = torch.tensor([1, 3, 0]), torch.tensor([3, 1, 2])
    got = tau.apply(0.6, ci, cj)
    assert got.dtype == torch.float32 and got.shape == (3,)
    np.testing.assert_allclose(got.numpy(), [tau.tau(0.6, 1, 3), tau.tau(0.6, 3, 1), 0.6], rtol=1e-6)
    assert tau.to_dict() == {"num_classes": 4, "pairs": [{"i": 1, "j": 3, "slope": 8.0, "centre": 0.3}]}
    assert ClassPairTransform.from_dict({"num_classes": 2}).params == {}


def test_fit_skips_pairs_with_too_few_points_and_checks_its_input():
    few = [(0, 1, 0.2, 0.1), (1, 0, 0.5, 0.5)]  # two points of pair (0, 1): below MIN_POINTS
    assert fit_class_pair_transform(few, num_classes=2).params == {}
    with pytest.raises(LevelsetsError, match=r"class pair \(0, 5\) is outside 0..2"):
        fit_class_pair_transform([(0, 5, 0.5, 0.5)], num_classes=3)
    with pytest.raises(LevelsetsError, match=r"mixing coefficients must be in \[0, 1\], got \(1.5, 0.5\)"):
        fit_class_pair_transform([(0, 1, 1.5, 0.5)], num_classes=3)

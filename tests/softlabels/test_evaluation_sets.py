"""Built-in evaluation sets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from levelsets.errors import LevelsetsError
from levelsets.softlabels.evaluation_sets import near_boundary_shapes


def test_near_boundary_shapes_are_near_the_boundary_and_seeded():
    s = near_boundary_shapes(64, seed=3, max_confidence=0.8, chunk=5000)
    assert s.images.shape == (64, 1, 64, 64) and s.labels.shape == (64, 2)
    assert s.images.min() >= 0 and s.images.max() <= 1
    np.testing.assert_allclose(s.labels.sum(1), 1.0)
    assert s.labels.max(1).max() <= 0.8
    assert s.class_names == ("rocket", "house")
    assert 0 < s.description["share_of_prior_kept"] < 1
    again = near_boundary_shapes(64, seed=3, max_confidence=0.8, chunk=5000)
    assert torch.equal(s.images, again.images)
    other = near_boundary_shapes(64, seed=4, max_confidence=0.8, chunk=5000)
    assert not np.allclose(other.labels, s.labels)
    # both classes are represented near the boundary
    assert (s.labels.argmax(1) == 0).any() and (s.labels.argmax(1) == 1).any()


def test_near_boundary_classes_follow_the_exact_posterior():
    s = near_boundary_shapes(4000, seed=7, max_confidence=0.9)
    assert s.classes.shape == (4000,) and set(np.unique(s.classes)) == {0, 1}
    # the generating class is drawn from p(c | z): its mean matches the posterior's house probability
    # within 4 standard errors of a Bernoulli mean
    p_house = s.labels[:, 1]
    se = np.sqrt((p_house * (1 - p_house)).sum()) / len(p_house)
    assert abs(s.classes.mean() - p_house.mean()) < 4 * se
    # and per example: houses are drawn more often where p(house | z) is high
    assert s.classes[p_house > 0.7].mean() > s.classes[p_house < 0.3].mean() + 0.3
    assert np.array_equal(s.classes, near_boundary_shapes(4000, seed=7, max_confidence=0.9).classes)


def test_near_boundary_rejects_bad_settings():
    with pytest.raises(LevelsetsError):
        near_boundary_shapes(0)
    with pytest.raises(LevelsetsError):
        near_boundary_shapes(5, max_confidence=0.4)


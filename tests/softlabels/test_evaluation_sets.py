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


def test_near_boundary_rejects_bad_settings():
    with pytest.raises(LevelsetsError):
        near_boundary_shapes(0)
    with pytest.raises(LevelsetsError):
        near_boundary_shapes(5, max_confidence=0.4)


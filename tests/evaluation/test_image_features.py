"""Greedy k-center selection and the covering radius in the sample-quality feature space (evaluation.image_features)."""

import numpy as np
import pytest

from levelsets.errors import LevelsetsError
from levelsets.evaluation.image_features import covering_radius, select_diverse
from levelsets.evaluation.sample_quality import visual_families


def test_k_center_spreads_more_than_random():
    # one big blob of 450 points and 9 small ones of 5: random picks land mostly in the big blob
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(10, 20)) * 3
    sizes = [450] + [5] * 9
    x = np.concatenate([c + 0.05 * rng.normal(size=(s, 20)) for c, s in zip(centres, sizes)])
    chosen = select_diverse(x, 10, seed=0)
    assert len(set(chosen.tolist())) == 10
    assert visual_families(x[chosen], threshold=1.0) == 10  # one per blob
    radius = covering_radius(x, chosen)
    random_radii = [covering_radius(x, np.random.default_rng(s).choice(len(x), 10, replace=False)) for s in range(20)]
    assert radius < min(random_radii)
    assert covering_radius(x, chosen) == pytest.approx(np.linalg.norm(x[:, None] - x[chosen][None], axis=2).min(1).max())
    assert not np.array_equal(select_diverse(x, 10, seed=1), chosen)  # the seed picks the start
    with pytest.raises(LevelsetsError):
        select_diverse(x, 0)
    with pytest.raises(LevelsetsError):
        select_diverse(x, len(x) + 1)


def test_k_center_takes_duplicates_last():
    x = np.repeat(np.eye(3), 4, axis=0)  # 3 distinct points, each 4 times
    chosen = select_diverse(x, 5, seed=0)
    assert len({tuple(x[i]) for i in chosen[:3]}) == 3 and len(set(chosen.tolist())) == 5

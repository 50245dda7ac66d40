"""The classes a quality reference is built from (evaluation.quality_references)."""

import numpy as np

from levelsets.evaluation.quality_references import target_classes


def test_target_classes():
    assert target_classes([0.01, 0.46, 0.01, 0.46, 0.06]) == (1, 3)
    assert target_classes([0.25] * 4) == (0, 1, 2, 3)
    confident = np.full(10, 0.01)
    confident[3] = 0.91
    assert target_classes(confident) == (3,)
    graded = np.full(10, 0.01)
    graded[1], graded[7] = 0.9 * 0.92, 0.1 * 0.92
    assert target_classes(graded) == (1, 7)

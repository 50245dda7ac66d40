"""The labelled-images record every dataset loader returns (``levelsets.data.labelled_images``)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from levelsets.data.labelled_images import LabelledImages


class Tiny(LabelledImages):
    image_shape: ClassVar[tuple[int, ...]] = (1, 2, 2)
    num_classes: ClassVar[int] = 3


def test_length_and_class_counts_include_empty_classes():
    data = Tiny(images=np.zeros((4, 1, 2, 2), np.float32), labels=np.array([0, 0, 2, 0]), source="test")
    assert len(data) == 4
    np.testing.assert_array_equal(data.class_counts, [3, 0, 1])
    assert data.class_counts.shape == (Tiny.num_classes,)


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((4, 2, 2)), np.zeros(4, int), r"images must have shape \(N, 1, 2, 2\), got \(4, 2, 2\)"),
    (np.zeros((4, 1, 2, 3)), np.zeros(4, int), r"images must have shape \(N, 1, 2, 2\)"),
    (np.zeros((4, 1, 2, 2)), np.zeros(3, int), r"labels must have shape \(4,\), got \(3,\)"),
])
def test_shapes_are_checked(images, labels, message):
    with pytest.raises(ValueError, match=message):
        Tiny(images=images, labels=labels, source="test")

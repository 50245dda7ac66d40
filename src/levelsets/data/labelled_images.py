"""The record every image dataset loader returns: images, their class labels, and where they came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np


@dataclass(frozen=True)
class LabelledImages:
    """A set of labelled images; subclasses fix :attr:`image_shape` and :attr:`num_classes`.

    Attributes
    ----------
    images:
        ``(N, *image_shape)`` float32 in [0, 1] (pixel value / 255).
    labels:
        ``(N,)`` int64 class indices ``0 … num_classes − 1``.
    source:
        Which data this is, in words (printed and written into every model card).
    """

    images: np.ndarray
    labels: np.ndarray
    source: str

    image_shape: ClassVar[tuple[int, ...]] = ()
    num_classes: ClassVar[int] = 0

    def __post_init__(self) -> None:
        if self.images.ndim != 1 + len(self.image_shape) or self.images.shape[1:] != self.image_shape:
            shape = ", ".join(str(s) for s in ("N", *self.image_shape))
            raise ValueError(f"images must have shape ({shape}), got {self.images.shape}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"labels must have shape ({self.images.shape[0]},), got {self.labels.shape}")

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def class_counts(self) -> np.ndarray:
        """``(num_classes,)`` int64 number of images per class."""
        return np.bincount(self.labels, minlength=self.num_classes)

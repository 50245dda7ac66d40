r"""The feature space of the sample-quality measures, its nearest-neighbour geometry, and diverse selection.

:data:`FEATURE_SPACE`: **the flattened pixels in [0, 1], Euclidean distance** (784 values for an
MNIST digit; no downsampling, see :func:`features`). :func:`select_diverse` picks spread-out
images in it (greedy k-center), :func:`covering_radius` says how well a choice covers the rest.
What the measures built on it mean: :mod:`levelsets.evaluation.sample_quality`.

References
----------
Gonzalez (1985), *Clustering to minimize the maximum intercluster distance* (greedy k-center).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from levelsets.errors import LevelsetsError

FEATURE_SPACE = "flattened pixels in [0, 1] (no downsampling), Euclidean distance"
"""The feature space every measure of this module uses, as reported."""


def features(images: Any) -> np.ndarray:
    """Map images to the feature space :data:`FEATURE_SPACE`.

    Parameters
    ----------
    images:
        ``(N, C, H, W)`` (or any ``(N, ...)``) numpy array or torch tensor with values in [0, 1].

    Returns
    -------
    numpy.ndarray
        ``(N, C·H·W)`` float64, the flattened pixels.

    Notes
    -----
    Downsampling (2×2 average pooling to 14×14 for MNIST) was measured on MNIST ``1vs7``: it
    lowers every distance by about the same factor, so τ and the family counts move together and
    the sampler-vs-rejection-vs-real ordering is unchanged; the plain pixels are kept as the simpler
    statement of "what a person sees".
    """
    arr = images.detach().float().cpu().numpy() if hasattr(images, "detach") else np.asarray(images)
    if arr.ndim < 2:
        raise LevelsetsError(f"images must have shape (N, ...), got {arr.shape}")
    return arr.reshape(arr.shape[0], -1).astype(np.float64)


def nearest_neighbour_distances(feats: np.ndarray, k: int = 1) -> np.ndarray:
    r"""Distance of every row to its k-th nearest *other* row.

    Parameters
    ----------
    feats:
        ``(M, D)`` features, M > k.
    k:
        Which neighbour (1 = the nearest).

    Returns
    -------
    numpy.ndarray
        ``(M,)`` float64, :math:`\mathrm{NND}_k(r_i)` (duplicates of a row count as neighbours
        at distance 0).
    """
    from sklearn.neighbors import NearestNeighbors

    if feats.shape[0] <= k:
        raise LevelsetsError(f"need more than {k} images for their {k}-th nearest neighbour, got {feats.shape[0]}")
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(feats).kneighbors(feats)
    return np.sort(dist, axis=1)[:, k]  # column 0 is the row itself (or a duplicate) at distance 0


def nearest_neighbour_threshold(feats: np.ndarray) -> float:
    """τ: the median over rows of ``feats`` ``(M, D)`` of the distance to the nearest other row."""
    if feats.shape[0] < 2:
        raise LevelsetsError("a reference needs at least 2 images")
    return float(np.median(nearest_neighbour_distances(feats, 1)))


def select_diverse(feats: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    r"""Greedy k-center (farthest-point) selection of ``n`` spread-out rows of ``feats`` ``(N, D)``.

    Starts from a seeded random row, then repeatedly adds the row farthest from those chosen,
    :math:`s_{t+1} = \arg\max_i \min_{j \le t} \lVert x_i - x_{s_j} \rVert`. The result's covering
    radius :math:`\max_i \min_j \lVert x_i - x_{s_j}\rVert` is at most twice the best possible
    (Gonzalez 1985). Duplicates are only picked once every distinct row is.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` int64 distinct indices, in the order chosen.
    """
    feats = np.asarray(feats, dtype=np.float64)
    total = feats.shape[0]
    if not 1 <= n <= total:
        raise LevelsetsError(f"cannot select {n} of {total} samples; ask for 1 to {total}")
    rng = np.random.default_rng(seed)
    chosen = [int(rng.integers(total))]
    dist = np.linalg.norm(feats - feats[chosen[0]], axis=1)
    dist[chosen[0]] = -1.0
    for _ in range(n - 1):
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(feats - feats[nxt], axis=1))
        dist[chosen] = -1.0
    return np.asarray(chosen, dtype=np.int64)


def covering_radius(feats: np.ndarray, chosen: np.ndarray) -> float:
    r"""The largest distance from a row of ``feats`` ``(N, D)`` to its nearest chosen row: :math:`\max_i\min_j d(x_i, x_{c_j})`."""
    from sklearn.metrics import pairwise_distances

    return float(pairwise_distances(feats, feats[np.asarray(chosen)]).min(axis=1).max())

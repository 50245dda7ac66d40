"""A small pre-activation ResNet for 1 × 28 × 28 digits (the classifier of the world ``mnist32``).

The same pre-activation residual blocks as seed 001's CIFAR-10 model
(:class:`~levelsets.classifiers.resnet.PreActBlock`, He et al. 2016: ``BN → ReLU → conv3×3 →
BN → ReLU → conv3×3`` plus the input, a 1 × 1 projection of the pre-activated input when the
block changes width or stride), arranged for MNIST: a 3 × 3 stem convolution on the 28 × 28
digit, three stages of ``blocks`` blocks with widths w, 2w, 4w and strides 1, 2, 2
(28 → 28 → 14 → 7 pixels), a final BN → ReLU, global average pooling and a linear layer.

With the defaults (w = 16, one block per stage: 8 weight layers, a "PreAct ResNet-8") it has
78 thousand parameters and 11 million multiply-adds per image (about 4× the zoo's
:class:`~levelsets.classifiers.cnn.MnistCNN`), and reaches ≈ 98 % on the 1,000 held-out offline
digits after 10 epochs on the 4,000 offline training digits.

Inputs are images in [0, 1]; the model standardizes them with MNIST's pixel mean and standard
deviation itself. Like the other classifiers it returns **logits** ``(N, K)``; its constructor
arguments are the checkpoint ``config`` (:func:`levelsets.classifiers.cnn.build_classifier`).
It is differentiable end to end, so gradients of its output with respect to the input image
(and, through a decoder, the latent) are available to gradient-based samplers.
"""

from __future__ import annotations

import torch
from torch import nn

from levelsets.classifiers.resnet import build_preact_layers, preact_logits

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
"""Pixel mean and standard deviation of the 60,000 MNIST training digits (values in [0, 1])."""


class MnistPreActResNet(nn.Module):
    """Pre-activation ResNet: ``(N, 1, 28, 28)`` images in [0, 1] → ``(N, num_classes)`` logits.

    Parameters
    ----------
    num_classes:
        Number of outputs (10 digits).
    width:
        Channels of the stem and the first stage (doubled at each of the two later stages).
    blocks:
        Pre-activation blocks per stage (1: 8 weight layers; 2: 14).
    normalize:
        Standardize inputs with :data:`MNIST_MEAN` / :data:`MNIST_STD` inside the model.
    """

    def __init__(self, num_classes: int = 10, width: int = 16, blocks: int = 1, normalize: bool = True) -> None:
        super().__init__()
        if width < 1 or blocks < 1 or num_classes < 2:
            raise ValueError(
                f"MnistPreActResNet needs width >= 1, blocks >= 1 and num_classes >= 2, got {width}, {blocks}, {num_classes}"
            )
        self.config = {"arch": "MnistPreActResNet", "num_classes": num_classes, "width": width, "blocks": blocks,
                       "normalize": normalize}
        self.normalize = normalize
        build_preact_layers(self, in_channels=1, width=width, strides=(1, 2, 2), blocks=blocks, num_classes=num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, num_classes)`` for images ``(N, 1, 28, 28)`` in [0, 1]."""
        if self.normalize:
            x = (x - MNIST_MEAN) / MNIST_STD
        return preact_logits(self, x)

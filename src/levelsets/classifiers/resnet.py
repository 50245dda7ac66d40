"""PreAct ResNet-18 for 32 × 32 × 3 images (seed 001's CIFAR-10 model; He et al. 2016).

Pre-activation residual blocks (He, Zhang, Ren & Sun, *Identity Mappings in Deep Residual
Networks*, 2016): each block computes ``BN → ReLU → conv3×3 → BN → ReLU → conv3×3`` and adds the
input; when the block changes width or stride, the shortcut is a 1 × 1 convolution applied to the
*pre-activated* input. ResNet-18 = a 3 × 3 stem convolution, four stages of two blocks with
widths w, 2w, 4w, 8w (w = 64) and strides 1, 2, 2, 2 (32 → 32 → 16 → 8 → 4 pixels), a final
BN → ReLU (the full pre-activation design; the mixup code seed 001 used omits it), global average
pooling and a linear layer: 11.2 million parameters, 0.56 billion multiply-adds per image.

Inputs are images in [0, 1] (as everywhere in levelsets: the sampler and FGSM work in pixel
units); the model standardizes them with CIFAR-10's per-channel mean and standard deviation
itself. Like the other classifiers it returns **logits** ``(N, K)``; its constructor arguments
are the checkpoint ``config``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
"""Per-channel mean and standard deviation of the CIFAR-10 training images (pixel values in [0, 1])."""


class PreActBlock(nn.Module):
    """One pre-activation basic block: ``x + conv(relu(bn(conv(relu(bn(x))))))``.

    Parameters
    ----------
    c_in, c_out:
        Input and output channels.
    stride:
        Stride of the first convolution (and of the projection shortcut).
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, stride=1, padding=1, bias=False)
        self.shortcut = (
            nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False) if stride != 1 or c_in != c_out else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        out = F.relu(self.bn1(x))
        skip = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + skip


def build_preact_layers(model: nn.Module, *, in_channels: int, width: int, strides: tuple[int, ...], blocks: int,
                        num_classes: int) -> None:
    """Give ``model`` a pre-activation ResNet body: ``stem`` (3 × 3 conv), ``stages`` (stage i has
    ``blocks`` blocks of width ``width · 2^i``, the first with ``strides[i]``), ``bn`` and ``linear``;
    convolutions He-initialized. These attribute names are the checkpoints' state-dict keys.
    """
    model.stem = nn.Conv2d(in_channels, width, 3, stride=1, padding=1, bias=False)
    stages = []
    c_in = width
    for i, stride in enumerate(strides):
        c_out = width * 2**i
        stages.append(nn.Sequential(PreActBlock(c_in, c_out, stride), *[PreActBlock(c_out, c_out, 1) for _ in range(blocks - 1)]))
        c_in = c_out
    model.stages = nn.Sequential(*stages)
    model.bn = nn.BatchNorm2d(c_in)
    model.linear = nn.Linear(c_in, num_classes)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def preact_logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Logits of a :func:`build_preact_layers` body for (already normalized) images ``x``."""
    out = F.relu(model.bn(model.stages(model.stem(x))))
    return model.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


class PreActResNet18(nn.Module):
    """PreAct ResNet-18: ``(N, 3, 32, 32)`` images in [0, 1] → ``(N, num_classes)`` logits.

    Parameters
    ----------
    num_classes:
        Number of outputs (10 for CIFAR-10).
    width:
        Channels of the stem and first stage (64 in the paper; smaller for quick tests).
    normalize:
        Standardize inputs with :data:`CIFAR10_MEAN` / :data:`CIFAR10_STD` inside the model.
    """

    def __init__(self, num_classes: int = 10, width: int = 64, normalize: bool = True) -> None:
        super().__init__()
        if width < 1 or num_classes < 2:
            raise ValueError(f"PreActResNet18 needs width >= 1 and num_classes >= 2, got {width}, {num_classes}")
        self.config = {"arch": "PreActResNet18", "num_classes": num_classes, "width": width, "normalize": normalize}
        self.normalize = normalize
        self.register_buffer("mean", torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CIFAR10_STD).view(1, 3, 1, 1), persistent=False)
        build_preact_layers(self, in_channels=3, width=width, strides=(1, 2, 2, 2), blocks=2, num_classes=num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, num_classes)`` for images ``(N, 3, H, W)`` in [0, 1] (H = W = 32)."""
        if self.normalize:
            x = (x - self.mean) / self.std
        return preact_logits(self, x)

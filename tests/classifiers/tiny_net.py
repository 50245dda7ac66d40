"""A 16-pixel, two-layer classifier for the prediction and training tests."""

from __future__ import annotations

import torch


class TinyNet(torch.nn.Module):
    """Flatten → Linear(16, 16) → ReLU → Linear(16, k): k logits for 1 × 4 × 4 images."""

    def __init__(self, k=2):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 16), torch.nn.ReLU(), torch.nn.Linear(16, k))

    def forward(self, x):
        return self.net(x)

"""Batch image augmentations for :func:`levelsets.classifiers.training.fit`, on the images' device.

Both take a batch ``(B, C, H, W)`` and draw their randomness from a CPU ``torch.Generator`` (the
run's), so a seeded run is reproducible on any device; the drawn offsets / coins are copied to the
images' device (a host-to-device copy, no device-to-host synchronization).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

AUGMENTATIONS = ("none", "shift", "shift-flip")
"""Names accepted by ``TrainSettings.augment``."""


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image of ``(B, C, H, W)`` by random integers in [-max_shift, max_shift] (zero fill).

    Done with one padded gather, no loop over images; offsets are drawn from ``generator``.
    """
    if max_shift <= 0:
        return x
    b, _, h, w = x.shape
    m = max_shift
    pad = F.pad(x, (m, m, m, m))
    off = torch.randint(0, 2 * m + 1, (2, b), generator=generator).to(x.device, non_blocking=True)
    rows = (torch.arange(h, device=x.device)[None, :] + off[0][:, None])  # (B, H)
    cols = (torch.arange(w, device=x.device)[None, :] + off[1][:, None])  # (B, W)
    idx_b = torch.arange(b, device=x.device)[:, None, None]
    out = pad.permute(0, 2, 3, 1)[idx_b, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def random_flip(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image of ``(B, C, H, W)`` left-right with probability 1/2 (coins from ``generator``)."""
    flip = (torch.rand(x.shape[0], generator=generator) < 0.5).to(x.device, non_blocking=True)
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def augment_batch(x: torch.Tensor, augment: str, max_shift: int, generator: torch.Generator | None) -> torch.Tensor:
    """Apply ``augment`` (one of :data:`AUGMENTATIONS`) to a batch ``(B, C, H, W)``: shift, then flip."""
    if augment in ("shift", "shift-flip"):
        x = random_shift(x, max_shift, generator)
    if augment == "shift-flip":
        x = random_flip(x, generator)
    return x

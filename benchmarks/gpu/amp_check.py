"""The CUDA training checks of ``benchmarks/gpu_check.py``: mixed precision in the loss, host syncs per epoch.

On a GPU the training loop (:func:`levelsets.classifiers.training.fit`) must run the loss under
float16 autocast (float32 with ``mixed_precision=False``) and read the loss back once per epoch, not
once per step: with ``torch.cuda.set_sync_debug_mode("warn")`` the number of synchronizing calls of
an epoch must not grow with its number of steps. These checks need CUDA; on any other device
:func:`amp_and_sync_check` says so and checks nothing (it is a GPU machine's check, run by
``gpu_check.py`` there, not a test that would be skipped everywhere else).
"""

from __future__ import annotations

import warnings
from typing import Any

import torch


class _TinyNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.net(x)


def _blobs(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.rand(n, 1, 4, 4, generator=g) * 0.8
    x[y == 0, :, :2] += 0.5
    x[y == 1, :, 2:] += 0.5
    return x, y


def amp_and_sync_check(device: torch.device) -> dict[str, Any]:
    """Run the checks on ``device``; returns what was seen and ``passed`` (None off CUDA, with the reason)."""
    if device.type != "cuda":
        return {"passed": None, "reason": f"needs a CUDA device (this run: {device.type})"}
    from levelsets.classifiers.training import SoftCrossEntropy, TrainSettings, fit

    seen: list[tuple[bool, str]] = []

    class Recording(SoftCrossEntropy):
        def loss(self, model, x, y, generator=None):  # noqa: D102
            seen.append((torch.is_autocast_enabled("cuda"), str(model(x).dtype)))
            return super().loss(model, x, y, generator)

    def syncs(steps: int, amp: bool = True) -> int:
        x, y = _blobs(16 * steps)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                fit(_TinyNet().to(device), torch.utils.data.TensorDataset(x, y), method=Recording(),
                    settings=TrainSettings(epochs=1, batch_size=16, progress=False, device=str(device), mixed_precision=amp))
            finally:
                torch.cuda.set_sync_debug_mode("default")
        return sum("synchroniz" in str(w.message) for w in caught)

    few, many = syncs(8), syncs(32)
    amp_seen = sorted(set(seen))
    seen.clear()
    syncs(4, amp=False)
    fp32_seen = sorted(set(seen))
    passed = few == many and amp_seen == [(True, "torch.float16")] and fp32_seen == [(False, "torch.float32")]
    return {"passed": passed, "syncs_8_steps": few, "syncs_32_steps": many, "autocast_with_amp": amp_seen,
            "autocast_without_amp": fp32_seen}

"""Device selection: CUDA when present, CPU otherwise."""

from __future__ import annotations

import torch

from levelsets.errors import LevelsetsError


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Return a :class:`torch.device` for ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    ``"auto"`` (or ``None``) picks CUDA when available and the CPU otherwise. Asking for a device
    that is not there is a user error, not a crash.
    """
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise LevelsetsError(f"unknown device {device!r}; use auto, cpu, cuda or cuda:N") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise LevelsetsError(f"device {device!r} asked for, but CUDA is not available here; use --device cpu")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise LevelsetsError(f"device {device!r} asked for, but MPS is not available here; use --device cpu")
    return dev


#: Images per classifier call on the CPU. Measured on 2 cores (MNIST CNN, torch 2.14):
#: chunks of 128–256 run ~1.5× faster than one batch of 1000, because the activations stay in
#: cache (see benchmarks/sampler_throughput.py).
CPU_FORWARD_BATCH = 256


def prepare_for_inference(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """Put ``module`` in eval mode on ``device``; on the CPU also in channels-last memory format.

    Channels-last lets oneDNN run the convolutions without layout conversions: about 1.5× more
    images/s for the project's CNNs on the CPU (no effect on results beyond float rounding).
    """
    module = module.to(device).eval()
    if device.type == "cpu":
        module = module.to(memory_format=torch.channels_last)
    return module


def forward_batch_size(device: torch.device) -> int | None:
    """Chunk size for classifier calls on ``device`` (``None``: one pass, as on a GPU)."""
    return CPU_FORWARD_BATCH if device.type == "cpu" else None

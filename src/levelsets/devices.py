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

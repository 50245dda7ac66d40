"""Predictions of a logits model over a tensor or dataset: probabilities and accuracy.

Used after every epoch of :func:`levelsets.classifiers.training.fit` and by evaluation code. The
forward passes run on the model's device in eval mode without gradients; outputs stay on that
device until one copy to the CPU at the end (no per-batch device-to-host synchronization).
"""

from __future__ import annotations

from typing import Any

import torch

from levelsets.devices import resolve_device


def as_tensors(data: Any) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(x, y)`` tensors if ``data`` exposes them (TensorDataset, ShapesDataset), else None."""
    tensors = getattr(data, "tensors", None)
    if isinstance(tensors, (tuple, list)) and len(tensors) == 2 and all(isinstance(t, torch.Tensor) for t in tensors):
        return tensors[0], tensors[1]
    return None


@torch.no_grad()
def predict_probs(
    model: torch.nn.Module,
    images: torch.Tensor,
    batch_size: int = 1024,
    device: str | torch.device = "auto",
) -> torch.Tensor:
    """Softmax probabilities ``(N, K)`` (float32, on the CPU) of a logits model, in eval mode.

    Parameters
    ----------
    model:
        Returns logits.
    images:
        ``(N, C, H, W)`` tensor (any device).
    batch_size:
        Images per forward pass.
    device:
        Where to run the model (``"auto"``: CUDA when present).
    """
    dev = resolve_device(device) if not isinstance(device, torch.device) else device
    was_training = model.training
    model.eval().to(dev)
    out = [torch.softmax(model(images[i : i + batch_size].to(dev).float()).float(), -1) for i in range(0, images.shape[0], batch_size)]
    model.train(was_training)
    if not out:
        return torch.empty(0, 0)
    return torch.cat(out).cpu()


def probs_and_labels(model: torch.nn.Module, data: Any, batch_size: int, device: str | torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`predict_probs` of a dataset's images ``(N, K)`` and its labels (``(N,)`` or ``(N, K)``, CPU)."""
    tensors = as_tensors(data)
    if tensors is None:
        xs, ys = zip(*[(x, torch.as_tensor(y)) for x, y in data], strict=True)
        tensors = (torch.stack(xs), torch.stack(ys))
    x, y = tensors
    return predict_probs(model, x, batch_size, device), y.cpu()


def accuracy(
    model: torch.nn.Module,
    data: torch.utils.data.Dataset | torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    batch_size: int = 1024,
    device: str | torch.device = "auto",
) -> float:
    """Share of examples whose argmax prediction equals the (argmax of the) label.

    Parameters
    ----------
    model:
        Returns logits.
    data:
        A dataset of ``(image, y)`` pairs, or an images tensor ``(N, C, H, W)`` with ``labels``.
    labels:
        ``(N,)`` integer classes or ``(N, K)`` soft labels when ``data`` is a tensor.
    """
    if isinstance(data, torch.Tensor):
        if labels is None:
            raise ValueError("accuracy(model, images, labels): labels are needed with an images tensor")
        probs, y = predict_probs(model, data, batch_size, device), labels.cpu()
    else:
        probs, y = probs_and_labels(model, data, batch_size, device)
    if probs.shape[0] == 0:
        return float("nan")
    target = y.argmax(-1) if y.dim() == 2 else y.long()
    return float((probs.argmax(-1) == target).double().mean())

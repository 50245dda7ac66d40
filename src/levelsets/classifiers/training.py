r"""The project's one training loop, built for soft labels.

:func:`fit` trains any ``torch.nn.Module`` that returns logits on a dataset of
``(image, soft label)`` pairs (a hard label is the one-hot soft label; integer class labels are
accepted and one-hot encoded). The objective is pluggable: a *method* is any object with

.. code-block:: python

    def loss(self, model, x, y, generator) -> torch.Tensor  # scalar

(see :mod:`levelsets.softlabels.methods` for mixup, label smoothing, Ent-WC, ...). The default is
the soft-label cross-entropy :math:`-\frac1B\sum_b\sum_k y_{bk}\log\operatorname{softmax}(f_\theta(x_b))_k`.

Optimizer: AdamW with a one-cycle learning-rate schedule (:func:`one_cycle`: warm-up then cosine decay), which
reaches good accuracy in few epochs. The device is auto-detected (CUDA when present, with mixed
precision through :func:`torch.autocast`); on the CPU training runs in float32.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from levelsets.devices import resolve_device
from levelsets.errors import LevelsetsError

AUGMENTATIONS = ("none", "shift", "shift-flip")
TRAIN_PROBE = 2048
"""Training examples re-evaluated after each epoch for ``TrainHistory.train_accuracy``."""


class _TensorPairs(torch.utils.data.TensorDataset):
    """A TensorDataset of (x, y) used for the training-accuracy probe."""


class TrainingMethod(Protocol):
    """What :func:`fit` needs from a training method."""

    def loss(self, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Scalar loss of ``model`` on images ``x`` ``(B, ...)`` with soft labels ``y`` ``(B, K)``."""
        ...


class SoftCrossEntropy:
    r"""Default method: :math:`-\frac1B\sum_b\sum_k y_{bk}\log\operatorname{softmax}(f_\theta(x_b))_k`."""

    name = "ce"

    def loss(self, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Soft-label cross-entropy averaged over the batch."""
        logp = F.log_softmax(model(x).float(), dim=-1)
        return -(y * logp).sum(dim=-1).mean()


@dataclass
class TrainSettings:
    """Settings of one training run (saved in every model card).

    Attributes
    ----------
    epochs:
        Passes over the training data (≥ 1).
    batch_size:
        Examples per optimizer step (≥ 1).
    lr:
        Peak learning rate of the one-cycle schedule (> 0).
    weight_decay:
        AdamW decoupled weight decay (≥ 0).
    seed:
        Seeds the model's dropout, the shuffling, augmentation and the method's generator.
    device:
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``...
    progress:
        Show a tqdm progress bar per epoch.
    augment:
        ``"none"``, ``"shift"``: move each image by a random integer offset of up to
        ``max_shift`` pixels in each direction (zero fill), per batch, on the device — the same
        as the usual random crop of a zero-padded image — or ``"shift-flip"``: that, then a
        horizontal flip of each image with probability 1/2 (the standard CIFAR-10 augmentation).
    max_shift:
        Largest shift in pixels for ``augment="shift"``.
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    device: str = "auto"
    progress: bool = True
    augment: str = "none"
    max_shift: int = 2

    def __post_init__(self) -> None:
        if int(self.epochs) < 1:
            raise LevelsetsError(f"epochs must be >= 1, got {self.epochs}")
        if int(self.batch_size) < 1:
            raise LevelsetsError(f"batch size must be >= 1, got {self.batch_size}")
        if not self.lr > 0:
            raise LevelsetsError(f"learning rate must be > 0, got {self.lr}")
        if self.weight_decay < 0:
            raise LevelsetsError(f"weight decay must be >= 0, got {self.weight_decay}")
        if self.augment not in AUGMENTATIONS:
            raise LevelsetsError(f"unknown augmentation {self.augment!r}; use one of {', '.join(AUGMENTATIONS)}")
        if self.max_shift < 0:
            raise LevelsetsError(f"max shift must be >= 0 pixels, got {self.max_shift}")


@dataclass
class TrainHistory:
    """Per-epoch record of a training run.

    Attributes
    ----------
    train_loss:
        Mean method loss per epoch.
    train_accuracy:
        Per epoch, the share of a fixed random subset of up to 2,048 training examples (not
        augmented, model in eval mode) whose predicted class equals the argmax of their label.
    eval_loss, eval_accuracy:
        Soft-label cross-entropy and accuracy on ``eval_data`` per epoch (empty without it).
    seconds:
        Wall-clock seconds of the whole run.
    device:
        Where it ran.
    """

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    eval_loss: list[float] = field(default_factory=list)
    eval_accuracy: list[float] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)


def _as_tensors(data: Any) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(x, y)`` tensors if ``data`` exposes them (TensorDataset, ShapesDataset), else None."""
    tensors = getattr(data, "tensors", None)
    if isinstance(tensors, (tuple, list)) and len(tensors) == 2 and all(isinstance(t, torch.Tensor) for t in tensors):
        return tensors[0], tensors[1]
    return None


def _soft(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Soft labels ``(B, K)`` float from soft labels or integer class indices ``(B,)``."""
    if y.dtype in (torch.int64, torch.int32, torch.int16, torch.uint8) or y.dim() == 1:
        return F.one_hot(y.long(), num_classes).float()
    return y.float()


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image of ``(B, C, H, W)`` by random integers in [-max_shift, max_shift] (zero fill).

    Done with one padded gather, no loop over images; offsets are drawn from ``generator``.
    """
    if max_shift <= 0:
        return x
    b, _, h, w = x.shape
    m = max_shift
    pad = F.pad(x, (m, m, m, m))
    off = torch.randint(0, 2 * m + 1, (2, b), generator=generator).to(x.device)
    rows = (torch.arange(h, device=x.device)[None, :] + off[0][:, None])  # (B, H)
    cols = (torch.arange(w, device=x.device)[None, :] + off[1][:, None])  # (B, W)
    idx_b = torch.arange(b, device=x.device)[:, None, None]
    out = pad.permute(0, 2, 3, 1)[idx_b, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def random_flip(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image of ``(B, C, H, W)`` left-right with probability 1/2 (coins from ``generator``)."""
    flip = (torch.rand(x.shape[0], generator=generator) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


@torch.no_grad()
def _num_outputs(model: torch.nn.Module, x: torch.Tensor) -> int:
    """K, the number of logits, from one example in eval mode (no batch-norm statistics update)."""
    was_training = model.training
    model.eval()
    k = int(model(x[:1]).shape[-1])
    model.train(was_training)
    return k


def one_cycle(total_steps: int, warmup: float = 0.2, floor: float = 0.01):
    r"""Learning-rate multiplier per step: linear warm-up, then cosine decay to ``floor``.

    For step :math:`s` of :math:`T`, with :math:`W = \max(1, \lfloor 0.2 T \rfloor)` warm-up steps:
    :math:`(s+1)/W` while :math:`s < W`, else
    :math:`f + (1-f)\,\tfrac12\big(1+\cos(\pi (s-W)/\max(1, T-W))\big)`.
    """
    warm = max(1, int(warmup * total_steps))
    rest = max(1, total_steps - warm)

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = min(1.0, (step - warm) / rest)
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def _batches(data: Any, batch_size: int, generator: torch.Generator, shuffle: bool):
    tensors = _as_tensors(data)
    if tensors is not None:
        x_all, y_all = tensors
        n = x_all.shape[0]
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            yield x_all[idx], y_all[idx]
        return
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator)
    yield from loader


def _num_batches(data: Any, batch_size: int) -> int:
    return (len(data) + batch_size - 1) // batch_size


def fit(
    model: torch.nn.Module,
    train: torch.utils.data.Dataset,
    *,
    settings: TrainSettings,
    method: TrainingMethod | None = None,
    eval_data: torch.utils.data.Dataset | None = None,
) -> TrainHistory:
    """Train ``model`` in place on ``(image, soft label)`` pairs.

    Parameters
    ----------
    model:
        Returns logits ``(B, K)``.
    train:
        Items ``(image, y)`` with ``y`` a soft label ``(K,)`` or an integer class. A
        ``TensorDataset`` (or anything with ``.tensors``) is batched by direct indexing (fast);
        other datasets go through a ``DataLoader``.
    settings:
        :class:`TrainSettings`.
    method:
        Training objective with ``loss(model, x, y, generator)``; default
        :class:`SoftCrossEntropy`.
    eval_data:
        Optional held-out ``(image, y)`` data evaluated after every epoch.

    Returns
    -------
    TrainHistory
        Losses and accuracies per epoch, wall time, device. The model is left in eval mode on
        the device it was trained on.

    Notes
    -----
    Seeds torch's global RNG with ``settings.seed`` (dropout) and draws shuffling, augmentation
    and the method's randomness from a private ``torch.Generator`` seeded the same way, so a run
    is reproducible. A final batch of a single example is skipped (batch norm needs two).
    """
    from levelsets.progress import progress_bar

    if len(train) == 0:
        raise LevelsetsError("the training set is empty; give at least one example")
    method = method or SoftCrossEntropy()
    device = resolve_device(settings.device)
    torch.manual_seed(settings.seed)
    gen = torch.Generator().manual_seed(settings.seed)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    steps_per_epoch = _num_batches(train, settings.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, one_cycle(settings.epochs * steps_per_epoch))
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    history = TrainHistory(device=str(device))
    start = time.perf_counter()
    num_classes: int | None = None
    probe_idx = torch.randperm(len(train), generator=torch.Generator().manual_seed(settings.seed))[:TRAIN_PROBE]
    probe = torch.utils.data.Subset(train, probe_idx.tolist()) if _as_tensors(train) is None else _TensorPairs(
        *(t[probe_idx] for t in _as_tensors(train))
    )
    for epoch in range(settings.epochs):
        model.train()
        total, loss_sum = 0, 0.0
        bar = progress_bar(
            _batches(train, settings.batch_size, gen, shuffle=True),
            total=steps_per_epoch,
            desc=f"epoch {epoch + 1}/{settings.epochs}",
            enabled=settings.progress,
            leave=True,
            unit="batch",
            dynamic_ncols=True,
        )
        for x, y in bar:
            x = x.to(device, non_blocking=True).float()
            if settings.augment in ("shift", "shift-flip"):
                x = random_shift(x, settings.max_shift, gen)
            if settings.augment == "shift-flip":
                x = random_flip(x, gen)
            if x.shape[0] == 1 and len(train) > 1:
                continue  # a lone last example: batch norm cannot train on a batch of one
            if num_classes is None:
                num_classes = _num_outputs(model, x) if y.dim() == 1 else int(y.shape[-1])
            y = _soft(y.to(device), num_classes)
            with torch.autocast(device_type="cuda", enabled=use_amp):
                loss = method.loss(model, x, y, gen)
            if not torch.isfinite(loss):
                raise LevelsetsError(f"training diverged (loss {float(loss.detach())} in epoch {epoch + 1}); lower --lr")
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            b = x.shape[0]
            loss_sum += float(loss.detach()) * b
            total += b
            bar.set_postfix(loss=f"{loss_sum / total:.4f}", refresh=False)
        history.train_loss.append(loss_sum / total)
        model.eval()
        history.train_accuracy.append(accuracy(model, probe, batch_size=512, device=device))
        if eval_data is not None:
            probs, labels = _probs_and_labels(model, eval_data, 512, device)
            soft = _soft(labels, probs.shape[-1])
            history.eval_loss.append(float(-(soft * probs.clamp_min(1e-12).log()).sum(-1).mean()))
            history.eval_accuracy.append(float((probs.argmax(-1) == soft.argmax(-1)).double().mean()))
        postfix = {"loss": f"{history.train_loss[-1]:.4f}", "train_acc": f"{history.train_accuracy[-1]:.4f}"}
        if history.eval_accuracy:
            postfix["heldout_acc"] = f"{history.eval_accuracy[-1]:.4f}"
        bar.set_postfix(postfix, refresh=False)
        bar.close()
    history.seconds = time.perf_counter() - start
    model.eval()
    return history


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
    out = [torch.softmax(model(images[i : i + batch_size].to(dev).float()).float(), -1).cpu() for i in range(0, images.shape[0], batch_size)]
    model.train(was_training)
    if not out:
        return torch.empty(0, 0)
    return torch.cat(out)


def _probs_and_labels(model, data, batch_size, device) -> tuple[torch.Tensor, torch.Tensor]:
    tensors = _as_tensors(data)
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
        probs, y = _probs_and_labels(model, data, batch_size, device)
    if probs.shape[0] == 0:
        return float("nan")
    target = y.argmax(-1) if y.dim() == 2 else y.long()
    return float((probs.argmax(-1) == target).double().mean())

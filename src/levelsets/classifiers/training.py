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
precision through :func:`torch.autocast` (float16) and a :class:`torch.amp.GradScaler`, and the fused
AdamW, which applies the scaler's inf/NaN check on the device); on the CPU training runs in float32,
with the same arithmetic as before the GPU work (same seed → bit-identical weights and history).

No host synchronization per step on a GPU: the batch losses are summed on the device and copied to
the host once per epoch (``TrainHistory.train_loss``), a non-finite loss is detected from that sum at
the end of the epoch (on the CPU, where a check costs nothing, at the step itself), and a progress
bar shows the running loss every :data:`LOSS_DISPLAY_EVERY` steps only. Augmentations
(:mod:`levelsets.classifiers.augmentation`) and per-epoch predictions
(:mod:`levelsets.classifiers.prediction`) live in their own modules; their names are re-exported here.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from levelsets.classifiers.augmentation import (
    AUGMENTATIONS,
    augment_batch,
    random_flip,
    random_shift,
)
from levelsets.classifiers.prediction import accuracy, as_tensors, predict_probs, probs_and_labels
from levelsets.devices import resolve_device
from levelsets.errors import LevelsetsError

__all__ = [
    "AUGMENTATIONS", "SoftCrossEntropy", "TrainHistory", "TrainSettings", "TrainingMethod", "accuracy", "fit",
    "one_cycle", "predict_probs", "random_flip", "random_shift",
]

TRAIN_PROBE = 2048
"""Training examples re-evaluated after each epoch for ``TrainHistory.train_accuracy``."""
LOSS_DISPLAY_EVERY = 50
"""With a progress bar, the running loss is shown every this many steps and at an epoch's last step
(each display is a host sync)."""


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
    mixed_precision:
        On CUDA, run the forward pass and loss under float16 :func:`torch.autocast` with a
        :class:`torch.amp.GradScaler` (default); ``False`` trains in float32 there too (the baseline
        of ``benchmarks/gpu_check.py``). Other devices always train in float32.
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
    mixed_precision: bool = True

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
    mixed_precision:
        Whether float16 autocast with a gradient scaler was used (CUDA with
        ``TrainSettings.mixed_precision``).
    """

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    eval_loss: list[float] = field(default_factory=list)
    eval_accuracy: list[float] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"
    mixed_precision: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)


def _soft(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Soft labels ``(B, K)`` float from soft labels or integer class indices ``(B,)``."""
    if y.dtype in (torch.int64, torch.int32, torch.int16, torch.uint8) or y.dim() == 1:
        return F.one_hot(y.long(), num_classes).float()
    return y.float()


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
    tensors = as_tensors(data)
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


class _RunningLoss:
    """Example-weighted sum of batch losses kept on the training device (no host sync per step).

    Accumulates in float64 (float32 on MPS, which has no float64): ``Σ_b loss_b · B_b`` and ``Σ_b B_b``;
    :meth:`mean` is the epoch's mean loss per example, the same float64 arithmetic as summing Python
    floats, so CPU results are unchanged.
    """

    def __init__(self, device: torch.device) -> None:
        self.dtype = torch.float32 if device.type == "mps" else torch.float64
        self.total = torch.zeros((), dtype=self.dtype, device=device)
        self.count = 0

    def add(self, loss: torch.Tensor, batch: int) -> None:
        """Add a batch's mean loss (scalar tensor on the device) for ``batch`` examples."""
        self.total += loss.to(self.dtype) * batch
        self.count += batch

    def mean(self) -> float:
        """Mean loss per example so far (one device-to-host copy); NaN before the first batch."""
        return float(self.total) / self.count if self.count else float("nan")


def _checks_each_step(device: torch.device) -> bool:
    """Whether :func:`fit` checks each step's loss for NaN/inf on the host: on the CPU only (free there;
    on an accelerator it would wait for the device every step, so the epoch's loss sum is checked).
    """
    return device.type == "cpu"


def _diverged(epoch: int) -> LevelsetsError:
    return LevelsetsError(f"training diverged (a non-finite loss in epoch {epoch + 1}); lower --lr")


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
    use_amp = device.type == "cuda" and settings.mixed_precision
    # fused AdamW takes GradScaler's inf check on the device (no host sync per step); CUDA only, so
    # the CPU keeps the same optimizer arithmetic as before.
    opt = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay, **({"fused": True} if device.type == "cuda" else {}))
    steps_per_epoch = _num_batches(train, settings.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, one_cycle(settings.epochs * steps_per_epoch))
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    check_each_step = _checks_each_step(device)
    history = TrainHistory(device=str(device), mixed_precision=use_amp)
    start = time.perf_counter()
    num_classes: int | None = None
    probe_idx = torch.randperm(len(train), generator=torch.Generator().manual_seed(settings.seed))[:TRAIN_PROBE]
    probe = torch.utils.data.Subset(train, probe_idx.tolist()) if as_tensors(train) is None else _TensorPairs(
        *(t[probe_idx] for t in as_tensors(train))
    )
    for epoch in range(settings.epochs):
        model.train()
        running = _RunningLoss(device)
        bar = progress_bar(
            _batches(train, settings.batch_size, gen, shuffle=True),
            total=steps_per_epoch,
            desc=f"epoch {epoch + 1}/{settings.epochs}",
            enabled=settings.progress,
            leave=True,
            unit="batch",
            dynamic_ncols=True,
        )
        for step, (x, y) in enumerate(bar):
            x = augment_batch(x.to(device, non_blocking=True).float(), settings.augment, settings.max_shift, gen)
            if x.shape[0] == 1 and len(train) > 1:
                continue  # a lone last example: batch norm cannot train on a batch of one
            if num_classes is None:
                num_classes = _num_outputs(model, x) if y.dim() == 1 else int(y.shape[-1])
            y = _soft(y, num_classes).to(device, non_blocking=True)  # one-hot where the labels are (CPU): no device-side check
            with torch.autocast(device_type="cuda", enabled=use_amp):
                loss = method.loss(model, x, y, gen)
            if check_each_step and not torch.isfinite(loss):
                raise _diverged(epoch)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            running.add(loss.detach(), x.shape[0])
            if settings.progress and ((step + 1) % LOSS_DISPLAY_EVERY == 0 or step + 1 == steps_per_epoch):
                bar.set_postfix(loss=f"{running.mean():.4f}", refresh=False)  # one host sync per LOSS_DISPLAY_EVERY steps
        epoch_loss = running.mean()  # the epoch's one device-to-host copy of the loss
        if not math.isfinite(epoch_loss):
            raise _diverged(epoch)
        history.train_loss.append(epoch_loss)
        model.eval()
        history.train_accuracy.append(accuracy(model, probe, batch_size=512, device=device))
        if eval_data is not None:
            probs, labels = probs_and_labels(model, eval_data, 512, device)
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

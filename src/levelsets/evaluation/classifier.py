r"""The evaluation suite of seed 001 §3.3.1 (plus KL and accuracy): a classifier's probabilities against labels.

General classifier evaluation (hard or soft labels), used by ``levelsets evaluate``, the loop and the
benchmarks; formerly ``levelsets.softlabels.evaluation`` (no re-export is kept: no notebook or doc used it).

For N evaluation images with soft labels :math:`P_{\mathrm{eval}}` (N, K) and model
probabilities :math:`m_\theta(x)` (N, K):

``ce``
    :math:`\frac1N\sum_n\sum_k -P_{\mathrm{eval}}(k\mid x_n)\log m_\theta(x_n)_k` (nats).
``calibration_rmse``
    RMSE calibration error with adaptive binning (Hendrycks et al. 2022): sort by confidence
    :math:`c_n = \max_k m_\theta(x_n)_k`, cut into consecutive bins of ``bin_size`` examples
    (the last bin takes the remainder), and return
    :math:`\sqrt{\sum_b \frac{|b|}{N}(\bar c_b - \bar a_b)^2}`, where :math:`a_n = 1` when
    :math:`\arg\max_k m_\theta(x_n)_k = \arg\max_k P_{\mathrm{eval}}(k\mid x_n)` ("correct").
``calibration_rmse_expected``
    the same with *expected* correctness :math:`a_n = P_{\mathrm{eval}}(\hat k_n\mid x_n)`, the
    label's probability of the predicted class :math:`\hat k_n`. With soft labels that are true
    class probabilities (the shapes world's exact posterior), the argmax rule scores the
    Bayes-optimal classifier as miscalibrated near the boundary (it is right "by argmax" with
    confidence ~0.6); the expected rule scores it 0 in expectation. Not in seed 001: reported
    as an extra.
``calibration_rmse_true_class``, ``accuracy_true_class``
    when the true class :math:`y_n` of each example is known (the shapes world's generating
    class): the argmax rule above against the one-hot true class, :math:`a_n = [\hat k_n = y_n]`
    — the usual calibration error of a classifier on labelled data. Its expectation over
    :math:`y_n \sim P_{\mathrm{eval}}(\cdot\mid x_n)` is what ``calibration_rmse_expected``
    estimates without the sampling noise, up to the binning.
``fgsm_ce``
    the CE above after a white-box FGSM attack (Goodfellow et al. 2014) at
    :math:`\ell_\infty = \epsilon` (default 4/255 for images in [0, 1]):
    :math:`x' = \mathrm{clip}_{[0,1]}(x + \epsilon\,\mathrm{sign}\nabla_x \mathrm{CE})`.
``accuracy``
    share of examples with :math:`a_n = 1`.
``kl``
    :math:`\frac1N\sum_n \mathrm{KL}(P_{\mathrm{ref}}(\cdot\mid x_n)\,\|\,m_\theta(x_n))`; the
    reference is the evaluation labels unless another is given (e.g. the shapes world's exact
    posterior).

References
----------
Collins, *Improving ML Systems by Eliciting and Incorporating Additional Human Knowledge*, §3.3.1;
Peterson et al. 2019 (FGSM at 4/255); Hendrycks et al. 2022 (adaptive-binning RMSE calibration).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy.special import rel_entr

from levelsets.errors import LevelsetsError
from levelsets.evaluation.evaluate_settings import (
    DEFAULT_BIN_SIZE,
    FGSM_EPSILON,
    EvaluationSettings,
)

PROB_FLOOR = 1e-12


def _as_array(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def cross_entropy(probs, labels) -> float:
    r"""Mean soft-label cross-entropy :math:`-\frac1N\sum_n\sum_k y_{nk}\log p_{nk}` (p floored at 1e-12)."""
    p, y = _as_array(probs), _as_array(labels)
    return float(-(y * np.log(np.clip(p, PROB_FLOOR, 1.0))).sum(axis=1).mean())


def kl_divergence(reference, probs) -> float:
    r"""Mean :math:`\mathrm{KL}(r\,\|\,p) = \frac1N\sum_n\sum_k r_{nk}\log(r_{nk} / p_{nk})`, in nats.

    ``reference`` and ``probs`` are ``(N, K)`` probability rows; 0 log 0 = 0, and p is floored at
    1e-12 (:data:`PROB_FLOOR`) so a zero prediction costs a large finite amount. The terms are
    :func:`scipy.special.rel_entr`.
    """
    r, p = _as_array(reference), _as_array(probs)
    return float(rel_entr(r, np.clip(p, PROB_FLOOR, 1.0)).sum(axis=1).mean())


def accuracy(probs, labels) -> float:
    """Share of examples whose predicted argmax equals the label's argmax."""
    p, y = _as_array(probs), _as_array(labels)
    return float((p.argmax(axis=1) == y.argmax(axis=1)).mean())


def adaptive_bins(n: int, bin_size: int = DEFAULT_BIN_SIZE) -> list[slice]:
    """Consecutive bins of ``bin_size`` sorted examples; the last bin takes the remainder (≥ 1 bin)."""
    if bin_size < 1:
        raise LevelsetsError(f"calibration bin size must be >= 1, got {bin_size}")
    count = max(1, n // bin_size)
    edges = [i * bin_size for i in range(count)] + [n]
    return [slice(edges[i], edges[i + 1]) for i in range(count)]


@dataclass
class ReliabilityBin:
    """One adaptive bin: mean confidence, accuracy and size."""

    confidence: float
    accuracy: float
    count: int


CORRECTNESS = ("argmax", "expected")


def reliability_bins(probs, labels, bin_size: int = DEFAULT_BIN_SIZE, *, correctness: str = "argmax") -> list[ReliabilityBin]:
    """Adaptive bins of (confidence, accuracy) pairs sorted by confidence.

    ``correctness="argmax"``: correct when the predicted argmax equals the label's argmax (seed
    001); ``"expected"``: the label's probability of the predicted class.
    """
    p, y = _as_array(probs), _as_array(labels)
    conf = p.max(axis=1)
    if correctness == "argmax":
        correct = (p.argmax(axis=1) == y.argmax(axis=1)).astype(np.float64)
    elif correctness == "expected":
        correct = y[np.arange(len(y)), p.argmax(axis=1)]
    else:
        raise LevelsetsError(f"unknown correctness rule {correctness!r}; use {' or '.join(CORRECTNESS)}")
    order = np.argsort(conf, kind="stable")
    conf, correct = conf[order], correct[order]
    return [
        ReliabilityBin(float(conf[s].mean()), float(correct[s].mean()), int(s.stop - s.start))
        for s in adaptive_bins(len(conf), bin_size)
        if s.stop > s.start
    ]


def calibration_rmse(probs, labels, bin_size: int = DEFAULT_BIN_SIZE, *, correctness: str = "argmax") -> float:
    r"""RMSE calibration error with adaptive binning (see the module docstring)."""
    bins = reliability_bins(probs, labels, bin_size, correctness=correctness)
    n = sum(b.count for b in bins)
    return float(np.sqrt(sum(b.count / n * (b.confidence - b.accuracy) ** 2 for b in bins)))


def true_class_metrics(probs, classes, bin_size: int = DEFAULT_BIN_SIZE) -> dict[str, float]:
    """``calibration_rmse_true_class`` and ``accuracy_true_class`` of probs ``(N, K)`` against true classes ``(N,)``.

    The argmax rule with the one-hot true class as the label (see the module docstring).
    """
    p = _as_array(probs)
    truth = _as_array(classes).astype(np.int64).reshape(-1)
    if truth.shape[0] != p.shape[0] or truth.min(initial=0) < 0 or truth.max(initial=0) >= p.shape[1]:
        raise LevelsetsError(f"true classes must be {p.shape[0]} integers in 0..{p.shape[1] - 1}, got shape {truth.shape}")
    onehot = np.eye(p.shape[1])[truth]
    return {"calibration_rmse_true_class": calibration_rmse(p, onehot, bin_size), "accuracy_true_class": accuracy(p, onehot)}


def _resolve(device) -> torch.device:
    from levelsets.devices import resolve_device

    return device if isinstance(device, torch.device) else resolve_device(device)


@torch.no_grad()
def model_probs(model: torch.nn.Module, images: torch.Tensor, *, batch_size: int = 512, device="auto") -> np.ndarray:
    """Softmax of a logits model on images (N, C, H, W), (N, K) float64, in eval mode."""
    dev = _resolve(device)
    model.eval().to(dev)
    out = [
        torch.softmax(model(images[i : i + batch_size].to(dev).float()).double(), dim=1).cpu()
        for i in range(0, images.shape[0], batch_size)
    ]
    return torch.cat(out).numpy()


def fgsm_attack(
    model: torch.nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epsilon: float = FGSM_EPSILON,
    batch_size: int = 512,
    device="auto",
) -> torch.Tensor:
    r"""FGSM adversarial images :math:`\mathrm{clip}_{[0,1]}(x + \epsilon\,\mathrm{sign}\,\nabla_x \mathrm{CE}(m_\theta(x), y))`.

    White-box: needs the model's input gradients (only the evaluation suite does this; the
    sampler treats classifiers as black boxes).

    Parameters
    ----------
    images:
        (N, C, H, W) in [0, 1].
    labels:
        (N, K) soft labels the CE is taken against.
    epsilon:
        ℓ∞ radius in pixel units of [0, 1] (4/255 by default).

    Returns
    -------
    torch.Tensor
        (N, C, H, W) adversarial images on the CPU.
    """
    from levelsets.softlabels.methods import soft_cross_entropy

    if epsilon < 0:
        raise LevelsetsError(f"FGSM epsilon must be >= 0, got {epsilon}")
    dev = _resolve(device)
    model.eval().to(dev)
    out = []
    for i in range(0, images.shape[0], batch_size):
        x = images[i : i + batch_size].to(dev).float().clone().requires_grad_(True)
        y = torch.as_tensor(labels[i : i + batch_size]).to(dev).float()
        loss = soft_cross_entropy(model(x), y, reduction="none").sum()
        (grad,) = torch.autograd.grad(loss, x)
        out.append((x + epsilon * grad.sign()).clamp(0.0, 1.0).detach().cpu())
    return torch.cat(out)


@dataclass
class EvaluationResult:
    """Metrics of one classifier on one evaluation set.

    Attributes
    ----------
    metrics:
        ``ce``, ``calibration_rmse``, ``fgsm_ce``, ``accuracy``, ``kl`` (see the module docstring),
        plus ``n``.
    bins:
        The reliability-diagram bins.
    settings:
        The :class:`EvaluationSettings` used.
    """

    metrics: dict[str, float]
    bins: list[ReliabilityBin] = field(default_factory=list)
    settings: EvaluationSettings = field(default_factory=EvaluationSettings)

    def to_dict(self) -> dict:
        """Plain-JSON form."""
        return {"metrics": self.metrics, "reliability_bins": [asdict(b) for b in self.bins], "settings": asdict(self.settings)}


def evaluate_classifier(
    model: torch.nn.Module,
    images: torch.Tensor,
    labels,
    *,
    reference=None,
    classes=None,
    settings: EvaluationSettings | None = None,
    device="auto",
) -> EvaluationResult:
    """Run the whole suite on one evaluation set.

    Parameters
    ----------
    model:
        Returns logits (B, K).
    images:
        (N, C, H, W) in [0, 1].
    labels:
        (N, K) evaluation soft labels.
    reference:
        (N, K) reference distribution for the KL (default: ``labels``).
    classes:
        (N,) true class indices, when known: adds ``calibration_rmse_true_class`` and
        ``accuracy_true_class``.
    settings:
        ε, bin size, batch size.
    """
    settings = settings or EvaluationSettings()
    y = _as_array(labels)
    images = torch.as_tensor(images).float()
    if images.shape[0] == 0:
        raise LevelsetsError("the evaluation set is empty")
    if y.ndim != 2 or y.shape[0] != images.shape[0]:
        raise LevelsetsError(f"{images.shape[0]} evaluation images but labels of shape {y.shape}")
    probs = model_probs(model, images, batch_size=settings.batch_size, device=device)
    if probs.shape[1] != y.shape[1]:
        raise LevelsetsError(f"the classifier has {probs.shape[1]} classes but the evaluation labels have {y.shape[1]}")
    adv = fgsm_attack(model, images, torch.as_tensor(y), epsilon=settings.epsilon, batch_size=settings.batch_size, device=device)
    adv_probs = model_probs(model, adv, batch_size=settings.batch_size, device=device)
    ref = y if reference is None else _as_array(reference)
    metrics = {
        "n": int(y.shape[0]),
        "ce": cross_entropy(probs, y),
        "calibration_rmse": calibration_rmse(probs, y, settings.bin_size),
        "calibration_rmse_expected": calibration_rmse(probs, y, settings.bin_size, correctness="expected"),
        "fgsm_ce": cross_entropy(adv_probs, y),
        "accuracy": accuracy(probs, y),
        "kl": kl_divergence(ref, probs),
        "mean_confidence": float(probs.max(axis=1).mean()),
    }
    if classes is not None:
        metrics.update(true_class_metrics(probs, classes, settings.bin_size))
    return EvaluationResult(metrics=metrics, bins=reliability_bins(probs, y, settings.bin_size), settings=settings)


def plot_reliability(result: EvaluationResult, path: str | Path, *, title: str = "") -> Path:
    """Write a reliability diagram PNG (accuracy vs mean confidence per adaptive bin), atomically."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, ax = plt.subplots(figsize=(4.2, 4.2), dpi=120)
    conf = [b.confidence for b in result.bins]
    acc = [b.accuracy for b in result.bins]
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfect calibration")
    ax.plot(conf, acc, marker="o", color="C0", label=f"model (RMSE {result.metrics['calibration_rmse']:.3f})")
    ax.set_xlabel("mean confidence in bin")
    ax.set_ylabel("accuracy in bin (argmax agrees with label)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(title or f"reliability, {result.metrics['n']} examples, {result.settings.bin_size} per bin", fontsize=9)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, format="png")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path

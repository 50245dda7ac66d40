r"""Training objectives for the project's training loop (seed 001 chapters 3–5).

Each method is an object with ``loss(model, x, y, generator) -> scalar tensor`` that
:func:`levelsets.classifiers.training.fit` calls once per batch: ``model(x)`` returns logits
(B, K), ``y`` is a batch of soft labels (B, K) (hard labels are one-hot), ``generator`` is the
seeded :class:`torch.Generator` of the run (``None`` → torch's global generator). Mixing methods
draw λ and the pairing from ``generator`` so that a run is reproducible.

=================  ====================================================================
method             loss on a batch
=================  ====================================================================
``SoftLabelCE``    :math:`-\frac1B\sum_b\sum_k y_{bk}\log f_\theta(x_b)_k`
``LabelSmoothing`` CE against :math:`(1-\beta)\,y + \beta/K`
``Mixup``          :math:`\lambda\sim\mathrm{Beta}(\alpha,\alpha)`, a random pairing π;
                   CE of :math:`\tilde x=\lambda x+(1-\lambda)x_\pi` against
                   :math:`\tilde y=\lambda_g y+(1-\lambda_g)y_\pi` with :math:`\lambda_g=\lambda`
                   (or :math:`\tau_{ij}(\lambda)`, appendix C); endpoints ``hard`` (one-hot of
                   the argmax) or ``soft`` (the labels as given, §5.2.3)
``MixMaxEnt``      CE on the clean batch :math:`-\;\eta\,\frac1{|P|}\sum_{b\in P}H(f_\theta(\tilde x_b))`,
                   P = the mixed pairs whose classes differ (Pinto et al. 2021); the entropy
                   term enters with a *minus* sign: the model is pushed to be unsure on mixes
``EntWC``          mixup, each mixed example's CE weighted by
                   :math:`w_b=\min(1,\max(\kappa,\log 2/H_\theta(\tilde x_b)))` (§5.2.2)
=================  ====================================================================

Human-confidence smoothing (§4.3.4) is a label transform, :func:`confidence_smoothing`.

References
----------
Collins, *Improving ML Systems by Eliciting and Incorporating Additional Human Knowledge*:
§4.1.2 (mixup), §4.3.4 (γ^ω), §5.2.1–5.2.3 (Mix-MaxEnt, Ent-WC with κ = 0.7 and α = 0.2,
soft endpoints), appendix B.2 (label smoothing), appendix C (τ).
Zhang et al. 2017, *mixup*; Pinto et al. 2021, *Mix-MaxEnt*.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from levelsets.errors import LevelsetsError

if TYPE_CHECKING:
    from levelsets.softlabels.class_pair_transform import ClassPairTransform

LOG2 = math.log(2.0)
_ENTROPY_FLOOR = 1e-12
METHOD_NAMES = ("ce", "label-smoothing", "mixup", "mix-maxent", "ent-wc")


def _upcast(logits: torch.Tensor) -> torch.Tensor:
    """Half-precision logits (autocast on CUDA) are upcast to float32; float32/64 are kept."""
    return logits if logits.dtype in (torch.float32, torch.float64) else logits.float()


def soft_cross_entropy(logits: torch.Tensor, y: torch.Tensor, *, reduction: str = "mean") -> torch.Tensor:
    r"""Cross-entropy against soft labels, :math:`-\sum_k y_k \log\mathrm{softmax}(z)_k`.

    Parameters
    ----------
    logits:
        (B, K).
    y:
        (B, K) soft labels (rows sum to 1).
    reduction:
        ``"mean"`` (scalar) or ``"none"`` (B,).
    """
    per_example = -(y * F.log_softmax(_upcast(logits), dim=1)).sum(dim=1)
    return per_example.mean() if reduction == "mean" else per_example


def predictive_entropy(logits: torch.Tensor) -> torch.Tensor:
    r"""Entropy of the softmax in nats, :math:`H = -\sum_k p_k \log p_k`, shape (B,)."""
    log_p = F.log_softmax(_upcast(logits), dim=1)
    return -(log_p.exp() * log_p).sum(dim=1)


def confidence_smoothing(y: np.ndarray | torch.Tensor, omega, gamma: float = 0.005):
    r"""Human-confidence smoothing (seed 001 §4.3.4): mix a label towards uniform by :math:`\gamma^\omega`.

    .. math:: s = \gamma^{\omega}, \qquad y' = (1 - s)\,y + s / K

    With confidence ω = 0 the label becomes uniform (s = 1); with ω = 1 only γ is smoothed away.

    Parameters
    ----------
    y:
        (K,) or (B, K) labels.
    omega:
        Confidence in [0, 1]: a scalar or (B,).
    gamma:
        Base γ in (0, 1); seed 001 used 0.005 (significant smoothing only when unconfident).

    Returns
    -------
    Same type and shape as ``y``.
    """
    if not 0.0 < gamma < 1.0:
        raise LevelsetsError(f"confidence smoothing gamma must be in (0, 1), got {gamma}")
    is_torch = isinstance(y, torch.Tensor)
    arr = y if is_torch else np.asarray(y, dtype=np.float64)
    om = torch.as_tensor(omega, dtype=arr.dtype, device=arr.device) if is_torch else np.asarray(omega, dtype=np.float64)
    if (om < 0).any() or (om > 1).any():
        raise LevelsetsError("confidence omega must be in [0, 1]")
    s = gamma**om
    if arr.ndim == 2 and s.ndim == 1:
        s = s[:, None]
    k = arr.shape[-1]
    return (1.0 - s) * arr + s / k


def _uniform_from(generator: torch.Generator | None) -> np.random.Generator:
    """Seed a NumPy generator from the torch generator (so Beta draws follow the run's seed)."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator).item())
    return np.random.default_rng(seed)


def sample_lambda(alpha: float, generator: torch.Generator | None) -> float:
    """Draw λ ~ Beta(α, α) from the run's generator."""
    return float(_uniform_from(generator).beta(alpha, alpha))


def random_pairing(batch_size: int, generator: torch.Generator | None) -> torch.Tensor:
    """Draw a random permutation π of the batch, (B,) int64 on the CPU."""
    return torch.randperm(batch_size, generator=generator)


def hard_endpoints(y: torch.Tensor) -> torch.Tensor:
    """One-hot of each label's argmax, (B, K), same dtype."""
    return F.one_hot(y.argmax(dim=1), y.shape[1]).to(y.dtype)


def mix_batch(
    x: torch.Tensor,
    y: torch.Tensor,
    lam: float,
    perm: torch.Tensor,
    *,
    lam_g: torch.Tensor | float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mix inputs and labels: :math:`\tilde x = \lambda x + (1-\lambda) x_\pi`, :math:`\tilde y = \lambda_g y + (1-\lambda_g) y_\pi`.

    Parameters
    ----------
    x:
        (B, ...) inputs.
    y:
        (B, K) endpoint labels.
    lam:
        Input mixing coefficient λ_f.
    perm:
        (B,) pairing π.
    lam_g:
        Label mixing coefficient, a scalar or (B,); defaults to λ_f.
    """
    perm = perm.to(x.device)
    x_mix = lam * x + (1.0 - lam) * x[perm]
    g = lam if lam_g is None else lam_g
    if isinstance(g, torch.Tensor) and g.ndim == 1:
        g = g.to(y.device, y.dtype)[:, None]
    y_mix = g * y + (1.0 - g) * y[perm]
    return x_mix, y_mix


@dataclass(frozen=True)
class SoftLabelCE:
    """Plain soft-label cross-entropy (the default method)."""

    name: str = "ce"

    def loss(self, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean soft-label CE of ``model(x)`` against ``y``."""
        return soft_cross_entropy(model(x), y)


@dataclass(frozen=True)
class LabelSmoothing:
    r"""CE against :math:`(1-\beta)\,y + \beta/K` (seed 001 appendix B.2; Szegedy et al. 2015).

    Attributes
    ----------
    beta:
        Smoothing factor in [0, 1]; seed 001 tuned 0.05.
    """

    beta: float = 0.05
    name: str = "label-smoothing"

    def __post_init__(self) -> None:
        if not 0.0 <= self.beta <= 1.0:
            raise LevelsetsError(f"label smoothing beta must be in [0, 1], got {self.beta}")

    def smooth(self, y: torch.Tensor) -> torch.Tensor:
        """Return the smoothed labels, (B, K)."""
        return (1.0 - self.beta) * y + self.beta / y.shape[1]

    def loss(self, model, x, y, generator=None) -> torch.Tensor:
        """Mean CE against the smoothed labels."""
        return soft_cross_entropy(model(x), self.smooth(y))


def _check_alpha(alpha: float) -> None:
    if not alpha > 0:
        raise LevelsetsError(f"mixup alpha must be > 0, got {alpha}")


def _check_endpoints(endpoints: str) -> None:
    if endpoints not in ("hard", "soft"):
        raise LevelsetsError(f"mixup endpoints must be 'hard' or 'soft', got {endpoints!r}")


@dataclass(frozen=True)
class Mixup:
    r"""mixup (Zhang et al. 2017) with hard or soft endpoints and an optional class-pair transform τ.

    Attributes
    ----------
    alpha:
        λ ~ Beta(α, α), one λ per batch.
    endpoints:
        ``"hard"``: one-hot of each label's argmax (classic mixup); ``"soft"``: the labels as
        given (seed 001 §5.2.3).
    transform:
        A fitted :class:`~levelsets.softlabels.class_pair_transform.ClassPairTransform`; when
        given, :math:`\lambda_g = \tau_{ij}(\lambda)` per pair (hard endpoints only).
    """

    alpha: float = 1.0
    endpoints: str = "hard"
    transform: ClassPairTransform | None = None
    name: str = "mixup"

    def __post_init__(self) -> None:
        _check_alpha(self.alpha)
        _check_endpoints(self.endpoints)
        if self.transform is not None and self.endpoints != "hard":
            raise LevelsetsError("the class-pair transform needs hard endpoints (it is indexed by the two classes)")

    def mixed(self, x, y, generator=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw λ and π and return the mixed batch (x̃, ỹ)."""
        lam = sample_lambda(self.alpha, generator)
        perm = random_pairing(x.shape[0], generator)
        ends = hard_endpoints(y) if self.endpoints == "hard" else y
        lam_g = None
        if self.transform is not None:
            ci = ends.argmax(dim=1)
            lam_g = self.transform.apply(lam, ci, ci[perm.to(ci.device)])
        return mix_batch(x, ends, lam, perm, lam_g=lam_g)

    def loss(self, model, x, y, generator=None) -> torch.Tensor:
        """Mean CE of the mixed batch against the mixed labels."""
        x_mix, y_mix = self.mixed(x, y, generator)
        return soft_cross_entropy(model(x_mix), y_mix)


@dataclass(frozen=True)
class MixMaxEnt:
    r"""Mix-MaxEnt (Pinto et al. 2021): CE on clean data minus η × entropy on between-class mixes.

    .. math:: L = \mathrm{CE}(f_\theta(x), y) - \eta\,\frac{1}{|P|}\sum_{b\in P} H(f_\theta(\tilde x_b))

    P holds the mixed examples whose two endpoints have different argmax classes (mixes of one
    class are not "between classes"); when P is empty the entropy term is 0.

    Attributes
    ----------
    alpha:
        λ ~ Beta(α, α); large α keeps mixes near 50/50 (seed 001 tuned α = 10).
    weight:
        η ≥ 0, the weight of the entropy term.
    """

    alpha: float = 10.0
    weight: float = 0.5
    name: str = "mix-maxent"

    def __post_init__(self) -> None:
        _check_alpha(self.alpha)
        if self.weight < 0:
            raise LevelsetsError(f"Mix-MaxEnt weight must be >= 0, got {self.weight}")

    def loss(self, model, x, y, generator=None) -> torch.Tensor:
        """CE(clean) − η·mean entropy(between-class mixes)."""
        lam = sample_lambda(self.alpha, generator)
        perm = random_pairing(x.shape[0], generator).to(x.device)
        cls = y.argmax(dim=1)
        between = cls != cls[perm]
        x_mix = lam * x + (1.0 - lam) * x[perm]
        logits = model(torch.cat([x, x_mix], dim=0))
        clean, mixed = logits[: x.shape[0]], logits[x.shape[0]:]
        ce = soft_cross_entropy(clean, y)
        if not bool(between.any()):
            return ce
        return ce - self.weight * predictive_entropy(mixed[between]).mean()


def ent_wc_weights(logits: torch.Tensor, kappa: float) -> torch.Tensor:
    r"""Ent-WC weights :math:`w = \min(1, \max(\kappa, \log 2 / H_\theta(\tilde x)))`, (B,).

    Entropy is in nats and floored at 1e-12 (a one-hot prediction gets weight 1).
    """
    h = predictive_entropy(logits).clamp_min(_ENTROPY_FLOOR)
    return torch.clamp(LOG2 / h, min=kappa, max=1.0)


@dataclass(frozen=True)
class EntWC:
    r"""mixup with the clamped entropy-weighted loss Ent-WC (seed 001 §5.2.2).

    .. math:: L = \frac1B\sum_b w_b\,\mathrm{CE}(f_\theta(\tilde x_b), \tilde y_b),\qquad
              w_b = \min\bigl(1, \max(\kappa, \log 2 / H_\theta(\tilde x_b))\bigr)

    Gradients flow through :math:`w_b` (the "incentive" the seed describes: with κ = 0 the model
    can lower the loss by predicting uniform labels); ``detach_weights=True`` treats the weights as
    constants instead. For K = 2, :math:`H \le \log 2` so every weight is 1 and Ent-WC is mixup.

    Attributes
    ----------
    alpha:
        λ ~ Beta(α, α); seed 001 tuned 0.2.
    kappa:
        Floor κ of the weight, in [0, 1]; seed 001 tuned 0.7.
    endpoints:
        ``"hard"`` or ``"soft"`` (as in :class:`Mixup`).
    """

    alpha: float = 0.2
    kappa: float = 0.7
    endpoints: str = "hard"
    detach_weights: bool = False
    transform: ClassPairTransform | None = None
    name: str = "ent-wc"

    def __post_init__(self) -> None:
        _check_alpha(self.alpha)
        _check_endpoints(self.endpoints)
        if not 0.0 <= self.kappa <= 1.0:
            raise LevelsetsError(f"Ent-WC kappa must be in [0, 1], got {self.kappa}")

    def loss(self, model, x, y, generator=None) -> torch.Tensor:
        """Weighted mean CE of the mixed batch."""
        mix = Mixup(alpha=self.alpha, endpoints=self.endpoints, transform=self.transform)
        x_mix, y_mix = mix.mixed(x, y, generator)
        logits = model(x_mix)
        weights = ent_wc_weights(logits, self.kappa)
        if self.detach_weights:
            weights = weights.detach()
        return (weights * soft_cross_entropy(logits, y_mix, reduction="none")).mean()


def make_method(
    name: str,
    *,
    alpha: float | None = None,
    beta: float = 0.05,
    kappa: float = 0.7,
    weight: float = 0.5,
    endpoints: str = "hard",
):
    """Build a method by its CLI name (``ce``, ``label-smoothing``, ``mixup``, ``mix-maxent``, ``ent-wc``).

    Parameters
    ----------
    name:
        One of :data:`METHOD_NAMES`.
    alpha:
        Beta(α, α) parameter for the mixing methods (defaults: mixup 1.0, Mix-MaxEnt 10, Ent-WC 0.2).
    beta:
        Label-smoothing factor.
    kappa:
        Ent-WC floor.
    weight:
        Mix-MaxEnt entropy weight η.
    endpoints:
        ``hard`` or ``soft`` endpoints for mixup / Ent-WC.
    """
    if name == "ce":
        return SoftLabelCE()
    if name == "label-smoothing":
        return LabelSmoothing(beta=beta)
    if name == "mixup":
        return Mixup(alpha=1.0 if alpha is None else alpha, endpoints=endpoints)
    if name == "mix-maxent":
        return MixMaxEnt(alpha=10.0 if alpha is None else alpha, weight=weight)
    if name == "ent-wc":
        return EntWC(alpha=0.2 if alpha is None else alpha, kappa=kappa, endpoints=endpoints)
    raise LevelsetsError(f"unknown --method {name!r}; choose one of {', '.join(METHOD_NAMES)}")

r"""Adaptive likelihood tempering for the SMC burn-in.

The burn-in moves a particle population through the bridge of densities

.. math:: \pi_\beta(z) \propto p(z)\, L(z)^\beta, \qquad 0 = \beta_0 < \beta_1 < \dots < \beta_m = 1,

starting from exact prior draws (β = 0). Moving from β to β' reweights particle i by the incremental
weight :math:`w_i = L(z_i)^{\beta' - \beta}` (no extra classifier call: log L is in the state). The
next β' is chosen by bisection so that the *conditional* effective sample size

.. math:: \mathrm{CESS}(\beta') = N \frac{\big(\sum_i W_i w_i\big)^2}{\sum_i W_i w_i^2}

(W the current normalized weights) equals ρ N with ρ ∈ (0, 1) (the sampler uses 0.999), or β' = 1 if that is
already reachable; a minimum increment guarantees β = 1 before a deadline. When the ordinary
ESS :math:`1/\sum_i W_i^2` falls below N/2 the population is resampled. Between reweightings every
particle makes an MH move that leaves :math:`\pi_{\beta'}` invariant, so the weighted population
stays a valid importance sample of :math:`\pi_{\beta'}` at each stage.

References
----------
Del Moral, Doucet & Jasra (2006), *Sequential Monte Carlo samplers*.
Zhou, Johansen & Aston (2016), *Toward automatic model comparison: an adaptive SMC approach* (CESS).
"""

from __future__ import annotations

import numpy as np
import torch

BISECTION_ITERATIONS = 40


def normalized_weights(log_weights: torch.Tensor) -> torch.Tensor:
    """W = softmax(log w), shape ``(N,)`` float64; all −inf gives equal weights."""
    lw = log_weights.to(torch.float64)
    if not bool(torch.isfinite(lw).any()):
        return torch.full_like(lw, 1.0 / lw.shape[0])
    return torch.softmax(lw, dim=0)


def ess(log_weights: torch.Tensor) -> float:
    r"""Effective sample size :math:`1 / \sum_i W_i^2` of log weights ``(N,)``."""
    w = normalized_weights(log_weights)
    return float(1.0 / (w**2).sum())


def _cess(w: np.ndarray, ll: np.ndarray, delta: float) -> float:
    finite = np.isfinite(ll)
    if delta == 0 or not finite.any():
        return float(w.shape[0]) if delta == 0 else 0.0
    inc = np.where(finite, delta * (ll - ll[finite].max()), -np.inf)
    v = np.exp(inc)
    den = float((w * v * v).sum())
    if den == 0.0:
        return 0.0
    return float(w.shape[0] * (w * v).sum() ** 2 / den)


def conditional_ess(log_weights: torch.Tensor, log_lik: torch.Tensor, delta: float) -> float:
    r"""CESS of the incremental weights :math:`L^{\delta}` given current log weights (both ``(N,)``)."""
    w = normalized_weights(log_weights).cpu().numpy()
    return _cess(w, log_lik.detach().to(torch.float64).cpu().numpy(), delta)


def next_inv_temperature(
    beta: float, log_weights: torch.Tensor, log_lik: torch.Tensor, cess_target: float, min_increment: float = 0.0
) -> float:
    """Next β' ∈ (β, 1] with CESS(β') ≈ ``cess_target`` · N, at least β + ``min_increment``.

    Parameters
    ----------
    beta:
        Current inverse temperature.
    log_weights, log_lik:
        Current log weights and log likelihoods, shape ``(N,)``.
    cess_target:
        ρ ∈ (0, 1): the fraction of N the conditional ESS should keep.
    min_increment:
        Smallest allowed step (to reach β = 1 by a deadline).
    """
    n = log_lik.shape[0]
    remaining = 1.0 - beta
    if remaining <= 0:
        return 1.0
    w = normalized_weights(log_weights).cpu().numpy()
    ll = log_lik.detach().to(torch.float64).cpu().numpy()
    goal = cess_target * n
    if _cess(w, ll, remaining) >= goal:
        return 1.0
    lo, hi = 0.0, remaining
    for _ in range(BISECTION_ITERATIONS):
        mid = 0.5 * (lo + hi)
        if _cess(w, ll, mid) >= goal:
            lo = mid
        else:
            hi = mid
    return min(1.0, beta + max(lo, min_increment))

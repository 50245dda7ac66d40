r"""Proposal-scale adaptation for the random walk, active during burn-in only.

The proposal of particle i is :math:`z' = z + k_i \, s \odot \varepsilon` with a per-particle step
size :math:`k_i` and a shared per-coordinate preconditioner :math:`s \in \mathbb{R}^d_{>0}`.

* :math:`\log k_i` follows a Robbins–Monro recursion towards a target acceptance rate
  :math:`a^\star` (0.234 is optimal for high-dimensional Gaussian targets, ~0.3–0.45 in low d):

  .. math:: \log k_i^{(t+1)} = \log k_i^{(t)} + \gamma_t \big(a_i^{(t)} - a^\star\big),
            \qquad \gamma_t = \gamma_0 (t + 1)^{-\kappa},

  with :math:`a_i^{(t)}` the Metropolis acceptance probability of step t (less noisy than the
  accept indicator), :math:`\kappa = 0.6` (so :math:`\sum \gamma_t = \infty`,
  :math:`\sum \gamma_t^2 < \infty`), and :math:`\log k` clipped to a safe range.
* :math:`s` is the standard deviation of the (weighted) particle population per coordinate,
  recomputed during burn-in — it puts the latent coordinates on a common scale (the shapes
  world's w, h, t differ by a factor of 5) — with a floor so a collapsed population cannot stall.

After burn-in the state is *frozen* (:func:`frozen_scale`) and never touched again, so the
post-burn-in chain is a time-homogeneous Metropolis–Hastings chain with an exact stationary law.

References
----------
Andrieu & Thoms (2008), *A tutorial on adaptive MCMC*, §4–5 (Robbins–Monro on the log scale).
Pyro's ``pyro.infer.mcmc.adaptation`` keeps adaptation in its own object, frozen after warm-up.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

LOG_SCALE_BOUNDS = (-12.0, 4.0)
"""Clip range of log k (k is relative to the preconditioner s)."""
PRECONDITIONER_FLOOR = 1e-3
"""Lowest allowed s_j, relative to the prior's per-coordinate standard deviation."""


class AdaptationState(NamedTuple):
    """Adaptation state of N particles."""

    log_scale: torch.Tensor
    """log k_i, shape ``(N,)``."""
    preconditioner: torch.Tensor
    """s, per-coordinate scale, shape ``(d,)``."""
    floor: torch.Tensor
    """Lower bound of s, shape ``(d,)``."""
    count: int
    """Number of Robbins–Monro updates made so far."""


def init(init_scale: float, prior_std: torch.Tensor, num_particles: int) -> AdaptationState:
    """Start with :math:`k_i = ` ``init_scale`` and s = the prior's per-coordinate std (shape ``(d,)``)."""
    log_scale = torch.full(
        (num_particles,), float(torch.log(torch.tensor(init_scale))), dtype=prior_std.dtype, device=prior_std.device
    )
    return AdaptationState(log_scale, prior_std.clone(), prior_std * PRECONDITIONER_FLOOR, 0)


def scale(state: AdaptationState) -> torch.Tensor:
    """Proposal standard deviation :math:`k_i s_j`, shape ``(N, d)``."""
    return torch.exp(state.log_scale)[:, None] * state.preconditioner[None, :]


def update(
    state: AdaptationState,
    acceptance_prob: torch.Tensor,
    target_accept: float,
    gamma0: float = 1.0,
    kappa: float = 0.6,
) -> AdaptationState:
    """One Robbins–Monro update of log k from the acceptance probabilities ``(N,)`` of the last step."""
    gamma = gamma0 * (state.count + 1) ** (-kappa)
    log_scale = (state.log_scale + gamma * (acceptance_prob.to(state.log_scale.dtype) - target_accept)).clamp(
        *LOG_SCALE_BOUNDS
    )
    return state._replace(log_scale=log_scale, count=state.count + 1)


def set_preconditioner(state: AdaptationState, position: torch.Tensor, weights: torch.Tensor | None = None) -> AdaptationState:
    """Set s to the (weighted) population standard deviation of ``position`` ``(N, d)``, floored.

    ``weights`` are normalized importance weights ``(N,)``; ``None`` means equal weights.
    """
    if weights is None:
        weights = torch.full((position.shape[0],), 1.0 / position.shape[0], dtype=position.dtype, device=position.device)
    w = weights.to(position.dtype)[:, None]
    mean = (w * position).sum(dim=0)
    var = (w * (position - mean) ** 2).sum(dim=0)
    return state._replace(preconditioner=torch.maximum(var.sqrt(), state.floor))


def resample(state: AdaptationState, indices: torch.Tensor) -> AdaptationState:
    """Children inherit their parent's step size after a resampling move (``indices`` ``(N,)``)."""
    return state._replace(log_scale=state.log_scale[indices])


def frozen_scale(state: AdaptationState) -> torch.Tensor:
    """Return the final proposal scale ``(N, d)``, used unchanged after burn-in."""
    return scale(state).clone()

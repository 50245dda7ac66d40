r"""Vectorized random-walk Metropolis–Hastings over N particles (pure functions, BlackJAX shape).

Each particle i targets the tempered density

.. math:: \pi_\beta(z) \propto p(z)\, L(z)^\beta, \qquad \log \pi_\beta = \log p(z) + \beta \log L(z),

with β = 1 the level-set posterior (seed 003, eq. 4). One :func:`step` proposes, for all particles
at once, :math:`z'_i = z_i + s_i \odot \varepsilon_i`, :math:`\varepsilon_i \sim \mathcal N(0, I_d)`
(a symmetric Gaussian random walk, so the Hastings correction cancels), evaluates the log density
of all proposals in ONE batched decoder + classifier pass, and accepts with probability

.. math:: a_i = \min\{1, \exp(\log \pi_\beta(z'_i) - \log \pi_\beta(z_i))\}

via ``torch.where(u < a, proposal, current)`` — no per-particle Python control flow, no ``.item()``.
A proposal whose log density is −inf or NaN is never accepted. An asymmetric proposal passes its
Hastings correction :math:`\log q(z_i \mid z'_i) - \log q(z'_i \mid z_i)`, which is added to the
log ratio (:mod:`levelsets.inference.independence` uses it).

References
----------
Booth et al., *Sampling Prediction-Matching Examples in Neural Networks*, §3 (Gaussian proposal kI).
Roberts, Gelman & Gilks (1997), *Weak convergence and optimal scaling of random walk Metropolis*.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from levelsets.inference.model import LogDensity


class RWState(NamedTuple):
    """State of N random-walk particles."""

    position: torch.Tensor
    """Current latents z, shape ``(N, d)``."""
    log_prior: torch.Tensor
    """log p(z), shape ``(N,)``."""
    log_lik: torch.Tensor
    """log L(z) (the relaxed likelihood at β = 1), shape ``(N,)``."""
    probs: torch.Tensor
    """Classifier probabilities at the current positions, shape ``(N, K)``."""
    grad_log_prior: torch.Tensor | None = None
    """∇ log p(z), ``(N, d)``, when the log density supplies gradients (:mod:`~levelsets.inference.mala`)."""
    grad_log_lik: torch.Tensor | None = None
    """∇ log L(z), ``(N, d)``, when the log density supplies gradients."""


class RWInfo(NamedTuple):
    """What one step did, per particle."""

    accepted: torch.Tensor
    """Whether the proposal was accepted, shape ``(N,)`` bool."""
    acceptance_prob: torch.Tensor
    """The Metropolis–Hastings acceptance probability min(1, π(z') q(z | z') / (π(z) q(z' | z))), shape ``(N,)``."""


Proposal = Callable[[torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]
"""``proposal(position (N, d), scale (N, d), generator) -> proposed position (N, d)``."""

Hastings = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``hastings(current (N, d), proposed (N, d)) -> log q(current | proposed) − log q(proposed | current)``, ``(N,)``."""


def gaussian_proposal(position: torch.Tensor, scale: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Isotropic (per-coordinate scaled) Gaussian random walk: ``position + scale * N(0, I)``."""
    noise = torch.randn(position.shape, generator=generator, device=position.device, dtype=position.dtype)
    return position + scale * noise


def tempered(log_prior: torch.Tensor, log_lik: torch.Tensor, inv_temperature: float) -> torch.Tensor:
    r"""Tempered log density :math:`\log p(z) + \beta \log L(z)`, shape ``(N,)``; β = 0 ignores L entirely."""
    if inv_temperature == 0:
        return log_prior.clone()
    return log_prior + inv_temperature * log_lik


def init(position: torch.Tensor, log_density: Callable[[torch.Tensor], LogDensity]) -> RWState:
    """Evaluate ``log_density`` at ``position`` (shape ``(N, d)``) and build the state (one forward pass)."""
    if position.ndim != 2:
        raise ValueError(f"position must have shape (N, d), got {tuple(position.shape)}")
    return RWState(position, *log_density(position))


def take(state: RWState, idx: torch.Tensor) -> RWState:
    """The particles ``idx`` (int64 ``(n,)``) of ``state``, as a new state of n particles."""
    return RWState(*(None if t is None else t[idx] for t in state))


def accept_reject(
    state: RWState,
    proposed: torch.Tensor,
    new: LogDensity,
    generator: torch.Generator,
    inv_temperature: float = 1.0,
    log_correction: torch.Tensor | None = None,
) -> tuple[RWState, RWInfo]:
    r"""The Metropolis–Hastings accept/reject of N proposals at once.

    Accepts :math:`z'_i` (``proposed`` ``(N, d)``, its log density ``new``) with probability
    :math:`\min\{1, \pi_\beta(z'_i)/\pi_\beta(z_i) \cdot e^{c_i}\}`, :math:`c_i` the Hastings
    correction ``log_correction`` ``(N,)`` (``None``: a symmetric proposal). NaN ratios are rejected.
    Every field of the state (gradients included, when present) is taken from the proposal where accepted.
    """
    log_ratio = tempered(new.log_prior, new.log_lik, inv_temperature) - tempered(
        state.log_prior, state.log_lik, inv_temperature
    )
    if log_correction is not None:
        log_ratio = log_ratio + log_correction.to(log_ratio.dtype)
    log_ratio = torch.where(torch.isnan(log_ratio), torch.full_like(log_ratio, float("-inf")), log_ratio)
    acceptance_prob = torch.exp(log_ratio.clamp(max=0.0))
    u = torch.rand(log_ratio.shape, generator=generator, device=proposed.device, dtype=proposed.dtype)
    accepted = u < acceptance_prob

    def pick(old: torch.Tensor | None, cand: torch.Tensor | None) -> torch.Tensor | None:
        if old is None or cand is None:
            return None
        keep = accepted.reshape(-1, *([1] * (old.ndim - 1)))
        return torch.where(keep, cand.to(old.dtype), old)

    return RWState(*(pick(o, c) for o, c in zip(state, (proposed, *new), strict=True))), RWInfo(accepted, acceptance_prob)


def broadcast_scale(scale: torch.Tensor | float, position: torch.Tensor) -> torch.Tensor:
    """Turn a scalar, ``(N,)`` or ``(N, d)`` proposal scale into shape ``(N, d)``."""
    s = torch.as_tensor(scale, dtype=position.dtype, device=position.device)
    if s.ndim == 1:
        if s.shape[0] != position.shape[0]:
            raise ValueError(f"scale of shape {tuple(s.shape)} does not match {position.shape[0]} particles")
        s = s[:, None]
    return s.expand(position.shape)


def step(
    state: RWState,
    log_density: Callable[[torch.Tensor], LogDensity],
    scale: torch.Tensor | float,
    generator: torch.Generator,
    inv_temperature: float = 1.0,
    proposal: Proposal = gaussian_proposal,
    hastings: Hastings | None = None,
) -> tuple[RWState, RWInfo]:
    r"""One Metropolis–Hastings step for all N particles at once.

    Parameters
    ----------
    state:
        Current :class:`RWState` (positions ``(N, d)``).
    log_density:
        Batched log density (see :func:`levelsets.inference.model.log_density_fn`); called once.
    scale:
        Proposal standard deviation: a scalar, ``(N,)`` (one per particle) or ``(N, d)``.
    generator:
        Source of all randomness of the step (proposal noise and the uniform for acceptance).
    inv_temperature:
        β in :math:`p(z) L(z)^\beta`; 1 is the posterior.
    proposal:
        Proposal function (default :func:`gaussian_proposal`); tests stub it.
    hastings:
        Hastings correction of an asymmetric ``proposal``; ``None`` for a symmetric one.

    Returns
    -------
    (RWState, RWInfo)
        The new state and per-particle acceptance information.
    """
    pos = state.position
    s = broadcast_scale(scale, pos)
    proposed = proposal(pos, s, generator)
    new = log_density(proposed)
    correction = hastings(pos, proposed) if hastings is not None else None
    return accept_reject(state, proposed, new, generator, inv_temperature, correction)

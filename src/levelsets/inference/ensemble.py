r"""Differential-evolution moves: proposals built from the particle population itself.

Why: after the tempered burn-in the N particles sit spread over the level set, but a Gaussian
random walk with a step size tuned for acceptance crosses a curved, thin level set only after
hundreds of steps (on the shapes world ~1,000). The population already *knows* the level set's
shape: the difference of two particles points along it, at its own length scale. Differential
evolution Markov chain (DE-MC, ter Braak 2006) proposes

.. math:: z'_i = z_i + \gamma\,(z_a - z_b) + \varepsilon_i, \qquad
          \varepsilon_i \sim \mathcal N\big(0, (\epsilon s)^2\big),

with a ≠ b drawn uniformly from the *other half* of the population and s the per-coordinate
preconditioner. The step-size :math:`\gamma = 2.38/\sqrt{2d}` is the random-walk optimum for a
Gaussian whose covariance is that of the population; every ``jump_every``-th move uses γ = 1, which
carries a particle exactly from a's region towards b's — a jump between separated parts of the
level set when both are populated.

Validity (why this is still an exact MCMC kernel for every particle): the population is split at
random into two halves A and B. Half A moves with B held fixed: given B, the proposal is symmetric —
(a, b) and (b, a) are equally likely, so :math:`q(z' \mid z) = q(z \mid z')` — and each particle of A
accepts with the plain Metropolis ratio, so the move leaves :math:`\pi_\beta(z_A \mid z_B) = \prod
\pi_\beta` invariant. Then B moves given the new A. The product target :math:`\prod_i \pi_\beta(z_i)`
is invariant under both half-moves, hence under the sweep (the "parallel ensemble" construction of
emcee / Goodman & Weare 2010). A sweep costs N classifier evaluations, in two batches of N/2 — the
same as one random-walk step.

Pure functions over :class:`~levelsets.inference.random_walk.RWState` (BlackJAX shape): the half
update *is* :func:`levelsets.inference.random_walk.step` with a DE proposal.

References
----------
ter Braak (2006), *A Markov chain Monte Carlo version of the genetic algorithm Differential
Evolution*, Statistics and Computing 16.
Goodman & Weare (2010), *Ensemble samplers with affine invariance* (the two-halves update).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from levelsets.inference import random_walk
from levelsets.inference.model import LogDensity

JITTER = 1e-3
"""ε: standard deviation of the added Gaussian noise, relative to the preconditioner s."""


def default_gamma(dim: int) -> float:
    r"""The DE multiplier :math:`\gamma = 2.38/\sqrt{2d}` of ter Braak (2006) for a d-dimensional latent."""
    return 2.38 / math.sqrt(2 * dim)


def de_proposal(others: torch.Tensor, gamma: float, jitter: torch.Tensor) -> random_walk.Proposal:
    """A DE proposal for particles moved against the fixed population ``others`` ``(M, d)``, M ≥ 2.

    Parameters
    ----------
    others:
        Positions of the particles held fixed during this half-move, ``(M, d)``.
    gamma:
        γ, the multiplier of the difference vector.
    jitter:
        Noise standard deviation per coordinate, ``(d,)``.

    Returns
    -------
    Proposal
        ``proposal(position (n, d), scale, generator) -> (n, d)``; ``scale`` is ignored (the move's
        size comes from the population). Symmetric given ``others``.
    """

    def propose(position: torch.Tensor, scale: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n, m = position.shape[0], others.shape[0]
        a = torch.randint(0, m, (n,), generator=generator, device=position.device)
        # b uniform over the other m − 1 members: shift by 1..m−1 modulo m, so b ≠ a.
        b = (a + torch.randint(1, m, (n,), generator=generator, device=position.device)) % m
        noise = torch.randn(position.shape, generator=generator, device=position.device, dtype=position.dtype)
        return position + gamma * (others[a] - others[b]) + jitter * noise

    return propose


def split_halves(n: int, generator: torch.Generator, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """A random split of ``range(n)`` into two halves (sizes ⌈n/2⌉ and ⌊n/2⌋), each int64."""
    perm = torch.randperm(n, generator=generator, device=device)
    half = (n + 1) // 2
    return perm[:half], perm[half:]


HalfMove = Callable[[random_walk.RWState, torch.Tensor], tuple[random_walk.RWState, random_walk.RWInfo]]
"""``move(moving half's state (n, ...), fixed half's positions (M, d)) -> (new state, info)``: one MH
step of the moving half whose proposal may depend on the fixed half (and nothing else)."""


def sweep(state: random_walk.RWState, generator: torch.Generator, move: HalfMove) -> tuple[random_walk.RWState, random_walk.RWInfo]:
    """The two-halves update: split the N particles at random, move half A given B, then B given the new A.

    Valid for any ``move`` that is an MH kernel for π given the fixed half (module docstring).
    Returns the new state and per-particle acceptance information in the original particle order.
    """
    n = state.position.shape[0]
    device = state.position.device
    accepted = torch.zeros(n, dtype=torch.bool, device=device)
    acceptance_prob = torch.zeros(n, dtype=state.position.dtype, device=device)
    fields = [None if t is None else t.clone() for t in state]  # gradients too, when the state has them
    half_a, half_b = split_halves(n, generator, device)
    for mv, fx in ((half_a, half_b), (half_b, half_a)):
        new, info = move(random_walk.take(random_walk.RWState(*fields), mv), fields[0][fx])
        for whole, part in zip(fields, new, strict=True):
            if whole is not None:
                whole[mv] = part
        accepted[mv], acceptance_prob[mv] = info.accepted, info.acceptance_prob.to(acceptance_prob.dtype)
    return random_walk.RWState(*fields), random_walk.RWInfo(accepted, acceptance_prob)


def step(
    state: random_walk.RWState,
    log_density: Callable[[torch.Tensor], LogDensity],
    preconditioner: torch.Tensor,
    generator: torch.Generator,
    inv_temperature: float = 1.0,
    gamma: float | None = None,
) -> tuple[random_walk.RWState, random_walk.RWInfo]:
    r"""One DE sweep over all N ≥ 4 particles: half A moves against B, then B against the new A.

    Parameters
    ----------
    state:
        Current :class:`~levelsets.inference.random_walk.RWState` (positions ``(N, d)``).
    log_density:
        Batched log density; called twice, on N/2 proposals each.
    preconditioner:
        s, per-coordinate scale ``(d,)``; only sets the jitter (:data:`JITTER` · s).
    generator:
        Source of all randomness (split, pairs, noise, acceptance uniforms).
    inv_temperature:
        β of :math:`\pi_\beta \propto p\,L^\beta`.
    gamma:
        γ; ``None`` for :func:`default_gamma`.

    Returns
    -------
    (RWState, RWInfo)
        New state and per-particle acceptance information, in the original particle order.
    """
    n, d = state.position.shape
    if n < 4:
        raise ValueError(f"a differential-evolution sweep needs at least 4 particles, got {n}")
    g = default_gamma(d) if gamma is None else float(gamma)
    jitter = (JITTER * preconditioner).to(state.position)

    def move(sub: random_walk.RWState, others: torch.Tensor) -> tuple[random_walk.RWState, random_walk.RWInfo]:
        return random_walk.step(sub, log_density, 1.0, generator, inv_temperature, de_proposal(others, g, jitter))

    return sweep(state, generator, move)

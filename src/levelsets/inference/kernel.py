r"""The level-set sampler as one state machine: ``init`` / ``step`` over a :class:`LevelSetState`.

Both algorithms of :func:`levelsets.inference.sampler.sample_level_set` — the tempered SMC burn-in
followed by frozen MH (or MALA) moves for the Dirichlet and Normal relaxations, and the
adaptive-level SMC for the band — are a kernel with two methods, in the shape of BlackJAX's
samplers:

* ``init(particles) -> LevelSetState`` from the N evaluated prior draws;
* ``step(state) -> (LevelSetState, LevelSetInfo)``: ONE batched move of all N particles (one
  decoder + classifier pass, plus a backward pass with gradient moves), with whatever the schedule
  asks for first — the next inverse temperature β and a resampling step (tempered), or the next
  level and the survivors' resampling (band) — and the adaptation of the step size until the
  kernel freezes.

A state whose ``sampling`` flag is set was produced by the *frozen* kernel: a time-homogeneous
MCMC kernel that leaves the target invariant, so the drivers record it as a draw.
:func:`~levelsets.inference.sampler.sample_level_set` and the Pyro wrapper
(:mod:`levelsets.inference.pyro_kernel`) are thin drivers over :func:`build_kernel`.

The kernels hold only static configuration (settings, log density, target, the random
generator); everything that changes from step to step is in the state. Randomness comes from
the kernel's ``torch.Generator`` (a stateful stream, where BlackJAX threads a key), so the same
seed gives the same run on the same device.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from levelsets.inference import (
    adaptation,
    band,
    ensemble,
    independence,
    mala,
    random_walk,
    resampling,
    tempering,
)
from levelsets.inference.model import LogDensity
from levelsets.inference.settings import SamplerSettings

GRADIENT_POPULATION_MAX_DIM = independence.MAX_DIM
"""With gradient moves, the DE and independence sweeps run only up to this latent dimension: above
it MALA alone (measured on the projection world, tests/inference/test_mala_projection.py)."""


class LevelSetState(NamedTuple):
    """Everything that changes while the level-set sampler runs."""

    t: int
    """Steps taken so far."""
    particles: random_walk.RWState | band.BandState
    """The N particles: positions ``(N, d)`` with their log densities and probabilities (band: also
    the islands' mass estimates and step sizes, :class:`~levelsets.inference.band.BandState`)."""
    schedule: float
    """Tempered: the inverse temperature β ∈ [0, 1]. Band: the current level ε (∞ before the first)."""
    ancestors: torch.Tensor
    """Index of the initial prior draw each particle descends from, ``(N,)`` int64."""
    sampling: bool
    """True when the last step was made by the frozen kernel (a draw to record)."""
    log_weights: torch.Tensor | None = None
    """Tempered: log importance weights ``(N,)`` float64 since the last resampling."""
    adapt: adaptation.AdaptationState | None = None
    """Tempered: per-particle step sizes and the population preconditioner (adapting in burn-in)."""
    scale: torch.Tensor | None = None
    """Tempered: the proposal scale ``(N, d)`` frozen at the end of burn-in."""
    moves_at_tolerance: int = 0
    """Band: moves made at the final level τ."""


class LevelSetInfo(NamedTuple):
    """What one :meth:`step` did."""

    accepted: torch.Tensor
    """Whether each particle's proposal was accepted, ``(N,)`` bool."""
    acceptance_prob: torch.Tensor
    """Metropolis–Hastings acceptance probability per particle, ``(N,)``."""
    kind: str
    """The move: ``"local"`` (random walk, MALA or pCN), ``"de"`` or ``"independence"``."""
    ess: torch.Tensor | float
    """Tempered: the population's ESS after this step's reweighting (N when none). Band: N."""
    resampled: bool
    """Whether the step resampled the particles (the genealogy changed)."""
    survival: float = math.nan
    """Band: share of particles kept by this step's level advance (NaN when none)."""
    level: dict[str, float] | None = None
    """Band: the level this step advanced to — ``step``, ``level``, ``survival``, ``log_mass``."""


@dataclass
class TemperedKernel:
    """Tempered SMC burn-in, then frozen MH / MALA (:mod:`levelsets.inference.sampler`'s docstring).

    Attributes are static: ``settings``, the batched ``log_density`` (with gradients when
    ``gradients``), the ``prior`` (for the initial preconditioner) and the ``generator``.
    """

    settings: SamplerSettings
    log_density: Callable[[torch.Tensor], LogDensity]
    prior: torch.distributions.Distribution
    generator: torch.Generator
    gradients: bool = False

    def population_moves(self, dim: int, n: int) -> tuple[bool, bool]:
        """``(DE allowed, independence allowed)`` for N = ``n`` particles in ``dim`` dimensions."""
        population = n >= 4 and (not self.gradients or dim <= GRADIENT_POPULATION_MAX_DIM)
        return population, population and self.settings.independence_every > 0 and dim <= independence.MAX_DIM

    def init(self, particles: random_walk.RWState) -> LevelSetState:
        """Start at β = 0 (β = 1 without tempering) with step sizes ``init_scale`` × the population sd."""
        from levelsets.inference.sampler import _prior_std

        s, z0 = self.settings, particles.position
        n = z0.shape[0]
        adapt = adaptation.init(s.init_scale, _prior_std(z0, self.prior), n)
        if n >= 2:
            adapt = adaptation.set_preconditioner(adapt, z0)
        return LevelSetState(
            t=0, particles=particles, schedule=0.0 if s.tempering else 1.0,
            ancestors=torch.arange(n, device=z0.device), sampling=False,
            log_weights=torch.zeros(n, dtype=torch.float64, device=z0.device), adapt=adapt,
            scale=adaptation.frozen_scale(adapt),
        )

    def _move(self, t: int, particles: random_walk.RWState, beta: float, scale: torch.Tensor,
              preconditioner: torch.Tensor) -> tuple[random_walk.RWState, random_walk.RWInfo, str]:
        s, gen = self.settings, self.generator
        n, d = particles.position.shape
        de_ok, independence_ok = self.population_moves(d, n)
        if independence_ok and beta >= 1.0 and t % s.independence_every == s.independence_every - 1:
            return (*independence.step(particles, self.log_density, preconditioner, gen, beta), "independence")
        if de_ok and s.de_every > 0 and t % s.de_every == s.de_every - 1:
            sweep = (t + 1) // s.de_every  # 1-based count of DE sweeps up to and including step t
            gamma = 1.0 if s.de_jump_every > 0 and sweep % s.de_jump_every == 0 else None
            return (*ensemble.step(particles, self.log_density, preconditioner, gen, beta, gamma), "de")
        step = mala.step if self.gradients else random_walk.step
        return (*step(particles, self.log_density, scale, gen, beta), "local")

    def step(self, state: LevelSetState) -> tuple[LevelSetState, LevelSetInfo]:
        """One step: in burn-in, reweight/resample towards the next β and adapt; after it, the frozen kernel."""
        s, gen = self.settings, self.generator
        t, particles, beta, adapt, log_w = state.t, state.particles, state.schedule, state.adapt, state.log_weights
        n = particles.position.shape[0]
        ancestors, scale, ess_now, resampled = state.ancestors, state.scale, float(n), False
        if t < s.burn_in:
            weights = None
            if s.tempering and beta < 1.0:
                deadline = max(1, math.ceil(s.tempering_fraction * s.burn_in))
                min_inc = (1.0 - beta) / max(deadline - t, 1)
                new_beta = tempering.next_inv_temperature(beta, log_w, particles.log_lik, s.cess_target, min_inc)
                ll = particles.log_lik.to(torch.float64)
                log_w = log_w + torch.where(torch.isfinite(ll), (new_beta - beta) * ll, torch.full_like(ll, float("-inf")))
                beta = new_beta
                ess_now = tempering.ess(log_w)
                weights = tempering.normalized_weights(log_w)
                if ess_now < n / 2 or beta >= 1.0:
                    idx = resampling.systematic(weights, n, gen)
                    particles, adapt, ancestors = random_walk.take(particles, idx), adaptation.resample(adapt, idx), ancestors[idx]
                    log_w, weights, resampled = torch.zeros_like(log_w), None, True
            if n >= 2:
                adapt = adaptation.set_preconditioner(adapt, particles.position, weights)
            particles, info, kind = self._move(t, particles, beta, adaptation.scale(adapt), adapt.preconditioner)
            if kind == "local":
                adapt = adaptation.update(adapt, info.acceptance_prob, mala.TARGET_ACCEPT if self.gradients else s.target_accept)
            if t == s.burn_in - 1:
                scale = adaptation.frozen_scale(adapt)
        else:
            particles, info, kind = self._move(t, particles, 1.0, scale, adapt.preconditioner)
        new = state._replace(t=t + 1, particles=particles, schedule=beta, ancestors=ancestors, sampling=t >= s.burn_in,
                             log_weights=log_w, adapt=adapt, scale=scale)
        return new, LevelSetInfo(info.accepted, info.acceptance_prob, kind, ess_now, resampled)

    def history(self, state: LevelSetState, info: LevelSetInfo, n_ancestors: Any) -> dict[str, Any]:
        """The per-step figures this kernel reports (``LevelSetResult.history``)."""
        return {"acceptance": info.acceptance_prob.mean(), "inv_temperature": state.schedule, "ess": info.ess,
                "log_scale": state.adapt.log_scale.mean(), "ancestors": n_ancestors}  # log_scale: constant once frozen

    def moves(self, dim: int, n: int, reason: str) -> dict[str, Any]:
        """Which moves this kernel makes (``LevelSetResult.moves``)."""
        de_ok, independence_ok = self.population_moves(dim, n)
        population = (["independence"] if independence_ok else []) + (["de"] if de_ok and self.settings.de_every > 0 else [])
        return {"setting": self.settings.moves, "gradients": self.gradients,
                "kernel": "MALA (preconditioned Langevin)" if self.gradients else "random walk (preconditioned)",
                "population": population, "reason": reason}


@dataclass
class BandKernel:
    """Adaptive-level SMC for the band, then frozen moves at τ (:mod:`levelsets.inference.band_sampler`)."""

    settings: SamplerSettings
    log_density: Callable[[torch.Tensor], LogDensity]
    prior: torch.distributions.Distribution
    generator: torch.Generator
    target: torch.Tensor

    def __post_init__(self) -> None:
        self.gaussian = band.gaussian_prior(self.prior)

    def cycle(self, dim: int) -> list[str]:
        """The moves cycled at τ. Above MAX_DIM a Gaussian prior keeps pCN alone: measured on the two-mode
        projection world at d = 128 / 512 (tests/inference/test_band_projection.py), the DE + pCN cycle
        shrinks the directions the classifier ignores to sd 0.956 / 0.960, pCN alone samples them exactly.
        """
        population = self.settings.population_moves and (self.gaussian is None or dim <= independence.MAX_DIM)
        if not population:
            return ["local"]
        return [m for m in band.POPULATION_MOVES if m != "independence" or dim <= independence.MAX_DIM]

    def init(self, particles: random_walk.RWState) -> LevelSetState:
        """Start at level ∞ with the N evaluated prior draws split into ``islands`` islands."""
        z0 = particles.position
        islands = min(self.settings.islands, z0.shape[0])
        state = band.init(z0, lambda z: LogDensity(particles.log_prior, particles.log_lik, particles.probs),
                          self.target, islands)
        return LevelSetState(t=0, particles=state, schedule=state.level, ancestors=state.ancestors, sampling=False)

    def step(self, state: LevelSetState) -> tuple[LevelSetState, LevelSetInfo]:
        """One step: advance the level every ``level_moves`` moves until τ; freeze after the burn-in; move."""
        s, gen, b, t = self.settings, self.generator, state.particles, state.t
        at_tolerance = b.level <= s.tolerance
        survival, record, resampled = math.nan, None, False
        if not at_tolerance and (t == 0 or b.moves_at_level >= s.level_moves):
            b, share = band.advance(b, s.tolerance, s.level_fraction, gen)
            survival, resampled = float(share.mean()), True
            record = {"step": t, "level": b.level, "survival": survival,
                      "log_mass": float(torch.logsumexp(b.log_mass, 0) - math.log(b.log_mass.shape[0]))}
            at_tolerance = b.level <= s.tolerance
        if at_tolerance and not b.frozen and t >= s.burn_in and state.moves_at_tolerance >= s.level_moves:
            b = band.freeze(b)
        if at_tolerance:
            cycle = self.cycle(b.position.shape[1])
            kind = cycle[state.moves_at_tolerance % len(cycle)]
            b, info = band.population_move(b, self.log_density, self.target, gen, self.gaussian, kind, s.target_accept)
        else:
            kind = "local"
            b, info = band.move(b, self.log_density, self.target, gen, self.gaussian, s.target_accept)
        new = state._replace(t=t + 1, particles=b, schedule=b.level, ancestors=b.ancestors, sampling=b.frozen,
                             moves_at_tolerance=state.moves_at_tolerance + int(at_tolerance))
        return new, LevelSetInfo(info.accepted, info.acceptance_prob, kind, float(b.position.shape[0]), resampled,
                                 survival, record)

    def history(self, state: LevelSetState, info: LevelSetInfo, n_ancestors: Any) -> dict[str, Any]:
        """The per-step figures this kernel reports (``LevelSetResult.history``)."""
        return {"acceptance": info.acceptance_prob.mean(), "level": state.schedule, "ancestors": n_ancestors,
                "log_step": state.particles.log_step.mean(), "survival": info.survival}

    def kernel_name(self) -> str:
        """The local move's name."""
        if self.gaussian is not None:
            return "preconditioned Crank-Nicolson (Gaussian prior)"
        return "random walk (population-preconditioned)"


Kernel = TemperedKernel | BandKernel


def build_kernel(
    settings: SamplerSettings,
    log_density: Callable[[torch.Tensor], LogDensity],
    prior: torch.distributions.Distribution,
    generator: torch.Generator,
    target: torch.Tensor,
    gradients: bool = False,
) -> Kernel:
    """The kernel of ``settings.relaxation``: :class:`BandKernel` for the band, else :class:`TemperedKernel`.

    ``log_density`` must supply gradients when ``gradients`` (``log_density_fn(..., gradients=True)``).
    """
    if settings.relaxation == "band":
        return BandKernel(settings, log_density, prior, generator, target)
    return TemperedKernel(settings, log_density, prior, generator, gradients)

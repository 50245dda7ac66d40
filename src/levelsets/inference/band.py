r"""Adaptive-level SMC for the *band* target: the prior restricted to a tolerance band.

Target. For a classifier f, a generator g and a target p on the simplex, the band of tolerance τ is

.. math:: B_\tau = \{z : D(z) \le \tau\}, \qquad D(z) = \max_l |f(g(z))_l - p_l|,

and the band target is the prior restricted to it, :math:`\pi(z) \propto p(z)\,\mathbf 1\{D(z) \le \tau\}`
— exactly what prior rejection at tolerance τ samples, so its images are as varied and as natural
as the generator's own. Its normalizing constant :math:`Z = P_{z \sim p}(D(z) \le \tau)`, the
*prior mass of the band* ("how often does this generator produce such images"), is estimated
along the way.

Algorithm (subset simulation / adaptive multilevel splitting, Au & Beck 2001, Cérou et al. 2012),
N particles in B independent *islands* of N/B, advancing in lock-step:

1. :func:`init`: :math:`z_i \sim p(z)`; level :math:`\varepsilon_0 = \infty`; :math:`\log \hat Z_b = 0`.
2. :func:`advance`: the next level is the pooled ρ-quantile of D over all N particles, floored at τ:
   :math:`\varepsilon_{j+1} = \max(\tau, q_\rho(D))`. Each island b keeps its survivors
   :math:`D \le \varepsilon_{j+1}`, multiplies its estimate by their share
   :math:`\hat p_{b,j} = \#\{i \in b : D_i \le \varepsilon_{j+1}\} / (N/B)`, and refills its N/B slots
   by resampling its survivors (systematic, equal weights) — within the island, so the islands'
   genealogies stay independent. An island with no survivor ends with :math:`\hat Z_b = 0`; its
   slots are refilled from the other islands' survivors (they stay valid draws of the level).
3. :func:`move`: one Metropolis–Hastings step per particle that leaves the prior restricted to the
   current level invariant. For a Gaussian prior N(μ, LLᵀ) the proposal is preconditioned
   Crank–Nicolson, :math:`z' = \mu + \sqrt{1-s^2}\,(z - \mu) + s L \xi`, which is reversible for
   the prior, so the acceptance is the indicator :math:`D(z') \le \varepsilon` alone and the
   directions the classifier ignores are sampled exactly whatever the dimension. Other priors get
   a random walk preconditioned by the population's spread, accepted with
   :math:`\min\{1, p(z')/p(z)\} \cdot \mathbf 1\{D(z') \le \varepsilon\}`. The step size s adapts per
   island (Robbins–Monro on the island's mean acceptance) until the sampler is :func:`freeze`-d.
   ``level_moves`` moves are made at each level before the next :func:`advance`.
4. Once the level is τ, the islands' estimates are final, and the particles may move together:
   :func:`population_move` cycles through an independence sweep from a kernel density estimate of
   the other half of the population (:mod:`levelsets.inference.independence`; up to its
   ``MAX_DIM`` latent dimensions), a differential-evolution sweep (:mod:`levelsets.inference.ensemble`)
   and the pCN / random-walk move — each an exact MH kernel for π, the first two reaching every
   populated part of the band in one move, which undoes the duplication that resampling left.
   After the burn-in the step size is frozen (the sampling phase): a time-homogeneous MCMC
   kernel for π on every particle.

Estimate. :math:`\hat Z_b = \prod_j \hat p_{b,j}`; the band mass is :math:`\hat Z = \frac1B \sum_b \hat Z_b`,
with standard error :math:`\operatorname{sd}_b(\hat Z_b) / \sqrt B` from the spread between the
independent islands — no assumption about the MCMC's autocorrelation. The levels are shared by
the islands (a pooled quantile, which keeps the adaptive levels' O(1/N) bias at the scale of the
whole population rather than of one island); that is the islands' only coupling.

Cost. Every :func:`move` is ONE batched decoder + classifier pass over the N particles;
:func:`advance` evaluates nothing. The number of levels is about :math:`\log Z / \log \rho`
(ρ = 0.5: ~11 levels for Z = 5e-4).

References
----------
Au & Beck (2001), *Estimation of small failure probabilities in high dimensions by subset simulation*.
Cérou, Del Moral, Furon & Guyader (2012), *Sequential Monte Carlo for rare event estimation*.
Cotter, Roberts, Stuart & White (2013), *MCMC methods for functions* (preconditioned Crank–Nicolson).
Dau & Chopin (2022), *Waste-free sequential Monte Carlo* (several moves per level, resampling only survivors).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch

from levelsets.inference.model import LogDensity

LOG_STEP_BOUNDS = (-30.0, 0.0)
"""Clip range of log s: the pCN step s lies in [1e-13, 1] (a band can be 5e-6 wide in a latent
direction: the slab world); the random walk's is relative to the spread."""
GAIN_FLOOR = 0.5
"""Lowest Robbins–Monro gain of the step-size adaptation before the freeze. Each level can shrink the
band's width by half, so the step must follow within the ``level_moves`` moves of a level: at the
earlier floor 50^-0.6 ≈ 0.096 it lagged (log s falls by ~0.03 a move at zero acceptance) and on the
slab world of ``benchmarks/level_set_quality.py --rare`` (prior mass 2.4e-6, 5e-6 wide) every move was
rejected, the islands collapsed to 2–5 ancestors and the mass came out 3–80 standard errors low;
at 0.5 the three seeds agree with the exact mass within one standard error (37–42 ancestors)."""
INIT_STEP = 0.5
"""Initial step size s (pCN: share of fresh prior noise; random walk: multiple of the population sd)."""


class BandState(NamedTuple):
    """State of the adaptive-level band sampler over N particles in B islands."""

    position: torch.Tensor
    """Latents z, ``(N, d)``."""
    log_prior: torch.Tensor
    """log p(z), ``(N,)``."""
    probs: torch.Tensor
    """Classifier probabilities f(g(z)), ``(N, K)``."""
    deviation: torch.Tensor
    """D(z) = max_l |f_l − p_l|, ``(N,)`` float64."""
    level: float
    """Current level ε (∞ before the first :func:`advance`)."""
    log_mass: torch.Tensor
    """log Ẑ_b per island so far, ``(B,)`` float64 (−inf for an island that ran out of survivors)."""
    ancestors: torch.Tensor
    """Index of the initial prior draw each particle descends from, ``(N,)`` int64."""
    log_step: torch.Tensor
    """log s per island, ``(B,)`` float64."""
    spread: torch.Tensor
    """Per-coordinate population sd, ``(d,)`` (the random walk's preconditioner)."""
    moves_at_level: int
    """Moves made since the last :func:`advance`."""
    adapt_count: int
    """Robbins–Monro updates made so far (0 after :func:`freeze` stops them)."""
    frozen: bool
    """True once the step size is frozen (sampling phase)."""


class BandInfo(NamedTuple):
    """What one :func:`move` did."""

    accepted: torch.Tensor
    """Whether each particle's proposal was accepted, ``(N,)`` bool."""
    acceptance_prob: torch.Tensor
    """MH acceptance probability per particle, ``(N,)``."""


class GaussianPrior(NamedTuple):
    """A Gaussian prior's mean ``(d,)`` and its square root: a lower Cholesky factor ``(d, d)``,
    or per-coordinate standard deviations ``(d,)`` for a diagonal covariance (pCN needs both).
    """

    loc: torch.Tensor
    scale: torch.Tensor

    def noise(self, standard: torch.Tensor) -> torch.Tensor:
        """Map N(0, I) draws ``(N, d)`` to N(0, Σ) draws."""
        scale = self.scale.to(standard)
        return standard * scale if scale.ndim == 1 else standard @ scale.T


def gaussian_prior(prior: torch.distributions.Distribution) -> GaussianPrior | None:
    """The mean and Cholesky factor of a Gaussian prior, or ``None`` for any other prior.

    Recognized: ``MultivariateNormal``, and ``Independent(Normal, 1)`` (diagonal covariance).
    """
    dist = torch.distributions
    if isinstance(prior, dist.MultivariateNormal):
        return GaussianPrior(prior.loc.reshape(-1), prior.scale_tril.reshape(prior.loc.numel(), -1))
    if isinstance(prior, dist.Independent) and isinstance(prior.base_dist, dist.Normal):
        base = prior.base_dist
        if prior.reinterpreted_batch_ndims == 1 and base.loc.ndim == 1:
            d = base.loc.shape[0]
            return GaussianPrior(base.loc.expand(d), base.scale.expand(d))
    return None


def deviation(probs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    r""":math:`D = \max_l |f_l - p_l|` per row of ``probs`` ``(N, K)``, float64 ``(N,)``; NaN rows → +inf."""
    dev = (probs.to(torch.float64) - target.to(torch.float64)).abs().max(dim=1).values
    return torch.where(torch.isnan(dev), torch.full_like(dev, float("inf")), dev)


def island_of(num_particles: int, islands: int, device: torch.device) -> torch.Tensor:
    """Island index of each particle, ``(N,)`` int64: contiguous blocks of N/B."""
    return torch.arange(num_particles, device=device) * islands // num_particles


def init(
    position: torch.Tensor,
    log_density: Callable[[torch.Tensor], LogDensity],
    target: torch.Tensor,
    islands: int,
) -> BandState:
    """Evaluate the N prior draws ``position`` ``(N, d)`` (one forward pass) and start at level ∞."""
    n, device = position.shape[0], position.device
    if not 1 <= islands <= n:
        raise ValueError(f"islands must lie in [1, N={n}], got {islands}")
    ld = log_density(position)
    zeros = torch.zeros(islands, dtype=torch.float64, device=device)
    return BandState(
        position=position,
        log_prior=ld.log_prior,
        probs=ld.probs,
        deviation=deviation(ld.probs, target),
        level=math.inf,
        log_mass=zeros,
        ancestors=torch.arange(n, device=device),
        log_step=zeros + math.log(INIT_STEP),
        spread=_spread(position),
        moves_at_level=0,
        adapt_count=0,
        frozen=False,
    )


def _spread(position: torch.Tensor) -> torch.Tensor:
    std = position.std(dim=0) if position.shape[0] > 1 else torch.ones_like(position[0])
    return torch.where(std > 0, std, torch.ones_like(std))


def _systematic_within(alive: torch.Tensor, island: torch.Tensor, islands: int, generator: torch.Generator) -> torch.Tensor:
    """For each slot i, the index of a survivor of its island (systematic, equal weights), ``(N,)``.

    Islands without survivors draw from the survivors of all islands.
    """
    n, device = alive.shape[0], alive.device
    per = torch.bincount(island, minlength=islands)
    counts = torch.bincount(island[alive], minlength=islands)
    idx = torch.empty(n, dtype=torch.int64, device=device)
    u = torch.rand(islands + 1, generator=generator, device=device, dtype=torch.float64)
    all_alive = torch.nonzero(alive).squeeze(1)
    for b in range(islands):
        slots = torch.nonzero(island == b).squeeze(1)
        if slots.numel() == 0:
            continue
        pool = torch.nonzero(alive & (island == b)).squeeze(1) if int(counts[b]) > 0 else all_alive
        m = int(per[b])
        positions = (torch.arange(m, device=device, dtype=torch.float64) + u[b]) / m
        idx[slots] = pool[(positions * pool.numel()).long().clamp(max=pool.numel() - 1)]
    return idx


def advance(state: BandState, tolerance: float, fraction: float, generator: torch.Generator) -> tuple[BandState, torch.Tensor]:
    r"""Move to the next level (step 2 of the module docstring); returns the state and :math:`\hat p_b` ``(B,)``.

    Raises ``RuntimeError`` when no particle at all lies at or below the new level (cannot happen:
    the level is a quantile of the particles' deviations, and D(z) = +inf rows are never kept).
    """
    dev = state.deviation
    n, islands = dev.shape[0], state.log_mass.shape[0]
    finite = dev[torch.isfinite(dev)]
    if finite.numel() == 0:
        raise RuntimeError("every particle's classifier output is NaN")
    q = float(torch.quantile(finite, min(fraction * n / finite.numel(), 1.0)))
    level = max(float(tolerance), q)
    alive = dev <= level
    island = island_of(n, islands, dev.device)
    per = torch.bincount(island, minlength=islands).to(torch.float64)
    share = torch.bincount(island[alive], minlength=islands).to(torch.float64) / per
    idx = _systematic_within(alive, island, islands, generator)
    new = state._replace(
        position=state.position[idx],
        log_prior=state.log_prior[idx],
        probs=state.probs[idx],
        deviation=dev[idx],
        level=level,
        log_mass=state.log_mass + torch.log(share),
        ancestors=state.ancestors[idx],
        spread=_spread(state.position[idx]),
        moves_at_level=0,
    )
    return new, share


def freeze(state: BandState) -> BandState:
    """Stop adapting the step size (the sampling phase's kernel is time-homogeneous)."""
    return state._replace(frozen=True)


def move(
    state: BandState,
    log_density: Callable[[torch.Tensor], LogDensity],
    target: torch.Tensor,
    generator: torch.Generator,
    gaussian: GaussianPrior | None,
    target_accept: float = 0.3,
    gain_floor: float = GAIN_FLOOR,
) -> tuple[BandState, BandInfo]:
    """One MH step of every particle for the prior restricted to ``state.level`` (step 3).

    The step size adapts (unless frozen) with the Robbins–Monro gain max((t + 1)^-0.6, ``gain_floor``).
    """
    z = state.position
    n, islands = z.shape[0], state.log_step.shape[0]
    island = island_of(n, islands, z.device)
    s = torch.exp(state.log_step)[island].to(z.dtype)[:, None]
    noise = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
    if gaussian is not None:
        loc = gaussian.loc.to(z)
        proposed = loc + torch.sqrt(1 - s**2) * (z - loc) + s * gaussian.noise(noise)
    else:
        proposed = z + s * state.spread[None, :] * noise
    new = log_density(proposed)
    dev = deviation(new.probs, target)
    inside = dev <= state.level
    if gaussian is not None:
        log_ratio = torch.where(torch.isfinite(new.log_prior), 0.0, float("-inf")).to(torch.float64)
    else:
        log_ratio = (new.log_prior - state.log_prior).to(torch.float64)
        log_ratio = torch.where(torch.isnan(log_ratio), float("-inf"), log_ratio)
    acceptance_prob = torch.where(inside, torch.exp(log_ratio.clamp(max=0.0)), torch.zeros_like(log_ratio))
    u = torch.rand(n, generator=generator, device=z.device, dtype=torch.float64)
    accepted = u < acceptance_prob
    keep = accepted[:, None]
    log_step, count = state.log_step, state.adapt_count
    if not state.frozen:
        mean_acc = torch.zeros(islands, dtype=torch.float64, device=z.device).index_add_(0, island, acceptance_prob)
        mean_acc = mean_acc / torch.bincount(island, minlength=islands).to(torch.float64)
        gain = max((count + 1) ** -0.6, gain_floor)  # a floor: levels change the target
        log_step = (log_step + gain * (mean_acc - target_accept)).clamp(*LOG_STEP_BOUNDS)
        count += 1
    new_state = state._replace(
        position=torch.where(keep, proposed, z),
        log_prior=torch.where(accepted, new.log_prior, state.log_prior),
        probs=torch.where(keep, new.probs.to(state.probs.dtype), state.probs),
        deviation=torch.where(accepted, dev, state.deviation),
        log_step=log_step,
        moves_at_level=state.moves_at_level + 1,
        adapt_count=count,
    )
    return new_state, BandInfo(accepted, acceptance_prob)


def level_density(log_density: Callable[[torch.Tensor], LogDensity], target: torch.Tensor, level: float
                  ) -> Callable[[torch.Tensor], LogDensity]:
    """``log_density`` whose likelihood is the level's indicator: log 1{D(z) ≤ level} (0 or −inf)."""

    def density(z: torch.Tensor) -> LogDensity:
        ld = log_density(z)
        inside = deviation(ld.probs, target) <= level
        log_lik = torch.where(inside, 0.0, float("-inf")).to(ld.log_prior.dtype)
        return LogDensity(ld.log_prior, log_lik, ld.probs)

    return density


POPULATION_MOVES = ("independence", "de", "local")
"""The cycle of moves at τ (:func:`population_move`)."""


def population_move(
    state: BandState,
    log_density: Callable[[torch.Tensor], LogDensity],
    target: torch.Tensor,
    generator: torch.Generator,
    gaussian: GaussianPrior | None,
    kind: str,
    target_accept: float = 0.3,
) -> tuple[BandState, BandInfo]:
    """One move at the final level by ``kind``: an independence sweep, a DE sweep, or :func:`move`.

    The sweeps use the whole population (the islands' estimates are final once the level is τ).
    """
    from levelsets.inference import ensemble, independence, random_walk

    if kind == "local" or state.position.shape[0] < 4:
        return move(state, log_density, target, generator, gaussian, target_accept)
    density = level_density(log_density, target, state.level)
    rw = random_walk.RWState(state.position, state.log_prior, torch.zeros_like(state.log_prior), state.probs)
    if kind == "independence":
        rw, info = independence.step(rw, density, state.spread, generator)
    elif kind == "de":
        rw, info = ensemble.step(rw, density, state.spread, generator)
    else:
        raise ValueError(f"unknown move {kind!r}; choose one of {', '.join(POPULATION_MOVES)}")
    new = state._replace(position=rw.position, log_prior=rw.log_prior, probs=rw.probs,
                         deviation=deviation(rw.probs, target), moves_at_level=state.moves_at_level + 1)
    return new, BandInfo(info.accepted, info.acceptance_prob.to(torch.float64))


class MassEstimate(NamedTuple):
    """The band's prior mass from the islands' estimates."""

    mass: float
    """Ẑ = mean over islands of Ẑ_b."""
    se: float
    """Standard error of Ẑ: sd over islands / √B (NaN with one island)."""
    log_mass: float
    """log Ẑ (−inf when every island died)."""
    log_se: float
    """Standard error of log Ẑ by the delta method, se / Ẑ."""
    islands: int
    """B."""


def mass_estimate(state: BandState) -> MassEstimate:
    """Pool the islands' estimates (module docstring, *Estimate*)."""
    z_b = torch.exp(state.log_mass)
    b = z_b.numel()
    mass = float(z_b.mean())
    se = float(z_b.std(unbiased=True) / math.sqrt(b)) if b > 1 else math.nan
    log_mass = math.log(mass) if mass > 0 else -math.inf
    return MassEstimate(mass, se, log_mass, se / mass if mass > 0 else math.nan, b)

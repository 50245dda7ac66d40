"""Settings of the level-set sampler (:func:`levelsets.inference.sampler.sample_level_set`), validated once.

The checks themselves live in :mod:`levelsets.sampler_checks` (torch-free), where the jobs whose
options feed the sampler run them too, before anything is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from levelsets.sampler_checks import MOVES, check_sampler_settings

__all__ = ["MOVES", "SamplerSettings"]


@dataclass
class SamplerSettings:
    """Settings of :func:`sample_level_set` (validated on construction, :func:`~levelsets.sampler_checks.check_sampler_settings`).

    Attributes
    ----------
    particles:
        N, particles advancing in lock-step (one batched forward pass per step).
    steps:
        T, total MH steps per particle, burn-in included.
    burn_in:
        Steps of tempering and adaptation before the chains are frozen and recorded.
    samples:
        n ≤ N, samples returned (resampled from the N final states).
    alpha:
        Dirichlet tolerance α > 0 (larger = tighter level set); not used by the band.
    relaxation:
        ``"band"`` (the prior restricted to max_l |f_l − p_l| ≤ ``tolerance``, sampled by
        adaptive-level SMC, :mod:`~levelsets.inference.band`), ``"dirichlet"`` (seed 003) or
        ``"normal"`` (Bayes-TrEx constraints).
    tolerance:
        τ of the band: max_l |f_l − p_l| ≤ τ (band only).
    level_fraction:
        ρ: each level of the band sampler keeps this share of the particles (band only).
    level_moves:
        MH moves at each level before the next (band only).
    islands:
        B independent islands of N/B particles; the band mass's standard error comes from their
        spread (band only; at most N are used).
    population_moves:
        At τ, cycle independence, differential-evolution and local moves over the whole population
        (band only; False = the local pCN / random-walk move alone, for ablations).
    thin:
        Keep every ``thin``-th post-burn-in state as a diagnostic draw.
    init_scale:
        Initial proposal step size k, relative to the prior's per-coordinate standard deviation.
    target_accept:
        Acceptance rate the step size adapts towards during burn-in.
    tempering:
        Tempered-SMC burn-in (recommended); False = plain adaptive MH from the prior.
    resampling:
        How the n returned samples are drawn from the N final states: ``systematic`` or ``multinomial``.
    seed:
        Seed of the sampler's explicit ``torch.Generator`` (and of the prior draws).
    device:
        ``auto``, ``cpu``, ``cuda``, ...
    progress:
        Show a progress bar.
    cess_target:
        ρ: each tempering step keeps a conditional ESS of ρ·N.
    tempering_fraction:
        β reaches 1 after at most this share of the burn-in; the rest adapts the scale at β = 1.
    clamp:
        Lower bound on the classifier probabilities inside the Dirichlet.
    sigma:
        σ of the Normal relaxation.
    de_every:
        Every ``de_every``-th step is a differential-evolution sweep (:mod:`~levelsets.inference.ensemble`)
        instead of a random-walk step; 0 = random walk only. Needs N ≥ 4 (ignored below).
    de_jump_every:
        Every ``de_jump_every``-th differential-evolution sweep uses γ = 1 (jumps between separated
        parts of the level set); 0 = never.
    moves:
        ``"auto"`` (default): gradient-based MALA moves (:mod:`~levelsets.inference.mala`) in place of
        the random walk when the relaxation is smooth (Dirichlet, Normal) and the decoder and
        classifier pass gradients to the latents, the black-box moves otherwise; ``"gradient"``:
        MALA or a one-line error saying why not; ``"black-box"``: never differentiate. Which was
        used, and why, is :attr:`LevelSetResult.moves`.
    independence_every:
        Once β = 1, every ``independence_every``-th step is an independence sweep from a kernel
        density estimate of the population (:mod:`~levelsets.inference.independence`), taking
        precedence over the other moves; 0 = never. Needs N ≥ 4 and a latent of at most
        :data:`~levelsets.inference.independence.MAX_DIM` dimensions (ignored otherwise).
    """

    particles: int = 1000
    steps: int = 500
    burn_in: int = 250
    samples: int = 100
    alpha: float = 100.0
    relaxation: str = "dirichlet"
    tolerance: float = 0.05
    level_fraction: float = 0.5
    level_moves: int = 5
    islands: int = 20
    population_moves: bool = True
    thin: int = 5
    init_scale: float = 0.5
    target_accept: float = 0.3
    tempering: bool = True
    resampling: str = "systematic"
    seed: int = 0
    device: str = "auto"
    progress: bool = True
    cess_target: float = 0.999
    tempering_fraction: float = 0.6
    clamp: float = 1e-6
    sigma: float = 0.05
    de_every: int = 2
    de_jump_every: int = 10
    independence_every: int = 1
    moves: str = "auto"

    def __post_init__(self) -> None:
        check_sampler_settings(vars(self))  # the one set of checks, shared with the jobs' options

    @property
    def draws(self) -> int:
        """Number of recorded post-burn-in draws per particle, ``(steps − burn_in) // thin``."""
        return (self.steps - self.burn_in) // self.thin

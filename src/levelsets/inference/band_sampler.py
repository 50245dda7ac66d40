r"""Driver of the band sampler (:mod:`levelsets.inference.band`): levels, then sampling at τ.

Schedule over ``steps`` moves (each one batched forward pass over the N particles):

* while the level is above τ: :func:`~levelsets.inference.band.advance` to the next level every
  ``level_moves`` moves (the first at step 0);
* once the level is τ: keep moving at τ, cycling through the population moves
  (:func:`~levelsets.inference.band.population_move`; ``population_moves=False`` keeps the local
  move alone, and so does a Gaussian prior above
  :data:`~levelsets.inference.independence.MAX_DIM` dimensions, where the differential-evolution
  sweeps were measured to shrink the directions the classifier ignores and pCN alone is exact); the step size adapts until step ``burn_in`` *and* at least
  ``level_moves`` moves at τ, then it is frozen and every ``thin``-th state is recorded as a draw
  (particles = chains, for ArviZ);
* if the budget ends before the level reaches τ, the result says so (``reached_tolerance`` False
  in its ``band`` record): the band is thinner than the budget can reach — raise ``steps``.

The n returned samples are drawn from the N final states without replacement (systematic
resampling with equal weights: n distinct particles).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch

from levelsets.inference import band, resampling
from levelsets.inference.history import StepHistory
from levelsets.inference.model import LogDensity


def run_band(
    prior: torch.distributions.Distribution,
    log_density: Callable[[torch.Tensor], LogDensity],
    z0: torch.Tensor,
    target: torch.Tensor,
    settings: Any,
    generator: torch.Generator,
    counter: Callable[[], int],
    *,
    on_step: Callable[..., None] | None = None,
) -> dict[str, Any]:
    """Run the band sampler from the prior draws ``z0`` ``(N, d)``; return the fields of a ``LevelSetResult``.

    ``settings`` is a :class:`~levelsets.inference.sampler.SamplerSettings` (``tolerance``,
    ``level_fraction``, ``level_moves``, ``islands``, ``steps``, ``burn_in``, ``thin``,
    ``target_accept``, ``samples``, ``progress``); ``counter()`` returns the classifier
    evaluations made so far.
    """
    from levelsets.progress import progress_bar

    s = settings
    start = time.perf_counter()
    n_part, d = z0.shape
    islands = min(s.islands, n_part)
    gaussian = band.gaussian_prior(prior)
    state = band.init(z0, log_density, target, islands)
    from levelsets.inference.independence import MAX_DIM

    # Above MAX_DIM a Gaussian prior keeps pCN alone at τ: measured on the two-mode projection world at
    # d = 128 / 512 (tests/inference/test_band_projection.py), the DE + pCN cycle shrinks the directions
    # the classifier ignores to sd 0.956 / 0.960, while pCN alone samples them exactly (1.002 / 0.999).
    population = s.population_moves and (gaussian is None or d <= MAX_DIM)
    cycle = [m for m in band.POPULATION_MOVES if m != "independence" or d <= MAX_DIM] if population else ["local"]
    k = state.probs.shape[1]
    history = StepHistory("acceptance", "level", "ancestors", "log_step", "survival")
    n_ancestors: torch.Tensor | float = float(n_part)
    levels: list[dict[str, float]] = []
    draws: list[tuple[torch.Tensor, ...]] = []
    window = torch.zeros(n_part, dtype=torch.float64, device=z0.device)
    accepted_total = torch.zeros(n_part, dtype=torch.float64, device=z0.device)
    sampling_steps = 0
    sampling_from: int | None = None
    moves_at_tolerance = 0
    bar = progress_bar(total=s.steps, desc="sampling (band)", unit="step", enabled=s.progress)
    for t in range(s.steps):
        at_tolerance = state.level <= s.tolerance
        survival = math.nan
        if not at_tolerance and (t == 0 or state.moves_at_level >= s.level_moves):
            state, share = band.advance(state, s.tolerance, s.level_fraction, generator)
            survival = float(share.mean())
            n_ancestors = torch.unique(state.ancestors).numel()
            levels.append({"step": t, "level": state.level, "survival": survival,
                           "log_mass": float(torch.logsumexp(state.log_mass, 0) - math.log(islands))})
            at_tolerance = state.level <= s.tolerance
        if at_tolerance and not state.frozen and t >= s.burn_in and moves_at_tolerance >= s.level_moves:
            state = band.freeze(state)
            sampling_from = t
        if at_tolerance:
            kind = cycle[moves_at_tolerance % len(cycle)]
            state, info = band.population_move(state, log_density, target, generator, gaussian, kind, s.target_accept)
        else:
            state, info = band.move(state, log_density, target, generator, gaussian, s.target_accept)
        moves_at_tolerance += int(at_tolerance)
        if state.frozen:
            acc = info.accepted.to(torch.float64)
            accepted_total += acc
            window += acc
            sampling_steps += 1
            if sampling_steps % s.thin == 0:
                draws.append((state.position.clone(), state.probs.clone(), state.log_prior.clone(), window / s.thin))
                window = torch.zeros_like(window)
        history.append(acceptance=info.acceptance_prob.mean(), level=state.level, ancestors=float(n_ancestors),
                       log_step=state.log_step.mean(), survival=survival)
        if on_step is not None:
            on_step(t, state, info, state.level)
        bar.update(1)
        if s.progress and t % 10 == 0:
            bar.set_postfix(level=f"{state.level:.3g}", accept=f"{history.last('acceptance'):.2f}", refresh=False)
    bar.close()
    if not draws:  # the budget ended before the sampling phase: record the final state once
        draws.append((state.position.clone(), state.probs.clone(), state.log_prior.clone(),
                      torch.zeros(n_part, dtype=torch.float64, device=z0.device)))
    trace = torch.stack([dr[0] for dr in draws], dim=1)
    trace_probs = torch.stack([dr[1] for dr in draws], dim=1)
    trace_lp = torch.stack([dr[2] for dr in draws], dim=1)
    trace_acc = torch.stack([dr[3] for dr in draws], dim=1)
    trace_ll = torch.where(band.deviation(trace_probs.reshape(-1, k), target).reshape(n_part, -1) <= s.tolerance,
                           0.0, float("-inf")).to(trace_lp.dtype)
    idx = resampling.resample(torch.ones(n_part, dtype=torch.float64, device=z0.device), s.samples, generator, "systematic")
    estimate = band.mass_estimate(state)
    step = torch.exp(state.log_step)[band.island_of(n_part, islands, z0.device)].to(z0.dtype)
    scale = step[:, None] * (torch.ones(d, dtype=z0.dtype, device=z0.device) if gaussian is not None else state.spread)[None, :]
    record = {
        "tolerance": float(s.tolerance),
        "reached_tolerance": bool(state.level <= s.tolerance),
        "final_level": float(state.level),
        "mass": estimate.mass,
        "mass_se": estimate.se,
        "log_mass": estimate.log_mass,
        "log_mass_se": estimate.log_se,
        "islands": estimate.islands,
        "levels": levels,
        "kernel": "preconditioned Crank-Nicolson (Gaussian prior)" if gaussian is not None else "random walk (population-preconditioned)",
        "moves_at_tolerance": cycle,
        "sampling_from_step": sampling_from,
        "final_ancestors": int(torch.unique(state.ancestors).numel()),
        "step_size": float(torch.exp(state.log_step).mean()),
    }
    return {
        "latents": state.position[idx],
        "probs": state.probs[idx],
        "particle_index": idx.to(torch.int64),
        "final_positions": state.position,
        "final_probs": state.probs,
        "trace": trace,
        "trace_probs": trace_probs,
        "trace_log_lik": trace_ll,
        "trace_log_prior": trace_lp,
        "trace_accept": trace_acc,
        "acceptance": accepted_total / max(sampling_steps, 1),
        "scale": scale,
        "forward_evaluations": counter(),
        "wall_seconds": time.perf_counter() - start,
        "history": history.to_dict(),
        "burn_in_ancestors": int(torch.unique(state.ancestors).numel()),
        "band": record,
    }

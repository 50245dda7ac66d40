r"""The band sampler's schedule (:class:`levelsets.inference.kernel.BandKernel`) and its result record.

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

from typing import TYPE_CHECKING, Any

import torch

from levelsets.inference import band

if TYPE_CHECKING:
    from levelsets.inference.kernel import BandKernel
    from levelsets.inference.sampler import Run


def band_result_fields(kernel: BandKernel, run: Run, reason: str) -> dict[str, Any]:
    """The trace, scale, band record and moves of a band run (``LevelSetResult`` fields).

    ``run`` is what :func:`levelsets.inference.sampler.drive` collected from ``kernel``.
    """
    s, state = kernel.settings, run.state.particles
    n_part, d = state.position.shape
    k = state.probs.shape[1]
    draws = run.draws
    if not draws:  # the budget ended before the sampling phase: record the final state once
        draws = [(state.position.clone(), state.probs.clone(), None, state.log_prior.clone(),
                  torch.zeros(n_part, dtype=torch.float64, device=state.position.device))]
    trace, trace_probs, trace_lp, trace_acc = (torch.stack([dr[i] for dr in draws], dim=1) for i in (0, 1, 3, 4))
    trace_ll = torch.where(band.deviation(trace_probs.reshape(-1, k), kernel.target).reshape(n_part, -1) <= s.tolerance,
                           0.0, float("-inf")).to(trace_lp.dtype)
    islands = state.log_mass.shape[0]
    estimate = band.mass_estimate(state)
    step = torch.exp(state.log_step)[band.island_of(n_part, islands, state.position.device)].to(state.position.dtype)
    ones = torch.ones(d, dtype=state.position.dtype, device=state.position.device)
    scale = step[:, None] * (ones if kernel.gaussian is not None else state.spread)[None, :]
    cycle = kernel.cycle(d)
    record = {
        "tolerance": float(s.tolerance),
        "reached_tolerance": bool(state.level <= s.tolerance),
        "final_level": float(state.level),
        "mass": estimate.mass,
        "mass_se": estimate.se,
        "log_mass": estimate.log_mass,
        "log_mass_se": estimate.log_se,
        "islands": estimate.islands,
        "levels": run.levels,
        "kernel": kernel.kernel_name(),
        "moves_at_tolerance": cycle,
        "sampling_from_step": run.sampling_from,
        "final_ancestors": int(torch.unique(state.ancestors).numel()),
        "step_size": float(torch.exp(state.log_step).mean()),
    }
    moves = {"setting": s.moves, "gradients": False, "kernel": record["kernel"],
             "population": [m for m in cycle if m != "local"], "reason": reason}
    return {"trace": trace, "trace_probs": trace_probs, "trace_log_lik": trace_ll, "trace_log_prior": trace_lp,
            "trace_accept": trace_acc, "scale": scale, "band": record, "moves": moves}

"""What a run of the level-set sampler returns (:func:`levelsets.inference.sampler.sample_level_set`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from levelsets.inference.settings import SamplerSettings


@dataclass
class LevelSetResult:
    """Output of :func:`sample_level_set`. N particles, n samples, d latent dims, K classes, D draws.

    Attributes
    ----------
    latents:
        Returned samples z, shape ``(n, d)``.
    probs:
        Classifier probabilities of the samples, ``(n, K)``.
    particle_index:
        Which particle each sample came from, ``(n,)`` int64.
    final_positions:
        Last state of every particle, ``(N, d)``.
    final_probs:
        Classifier probabilities at the last states, ``(N, K)``.
    trace:
        Thinned post-burn-in positions, ``(N, D, d)`` (particles = chains).
    trace_probs:
        Classifier probabilities along the trace, ``(N, D, K)``.
    trace_log_lik:
        log L along the trace, ``(N, D)``.
    trace_log_prior:
        log p(z) along the trace, ``(N, D)``.
    trace_accept:
        Share of accepted proposals in the ``thin`` steps ending at each draw, ``(N, D)``.
    acceptance:
        Post-burn-in acceptance rate per particle, ``(N,)``.
    scale:
        Frozen proposal standard deviation, ``(N, d)``.
    forward_evaluations:
        Images passed through the classifier (N per step, plus N at initialization).
    wall_seconds:
        Wall-clock time of the run.
    settings:
        The :class:`SamplerSettings` used.
    history:
        Per step, lists of floats. Tempered sampler: ``acceptance`` (mean acceptance probability),
        ``inv_temperature`` (β), ``ess`` (population ESS after reweighting), ``log_scale`` (mean
        log k), ``ancestors`` (initial draws with descendants). Band sampler: ``acceptance``,
        ``level`` (ε_j), ``survival`` (share kept by the level advance at that step, NaN
        elsewhere), ``log_step`` (mean log s), ``ancestors``. Written to ``trace.nc`` as the
        ``sampler_trace`` group (:func:`~levelsets.inference.diagnostics.to_inference_data`).
    burn_in_ancestors:
        How many of the N initial prior draws still have descendants after the burn-in's
        resampling steps (N when nothing was resampled). Far below N means the particles are *not*
        independent chains: they share a few ancestors, and an ESS that treats particles as
        independent chains (ArviZ, :func:`~levelsets.inference.diagnostics.summarize`) overstates
        the effective sample size of population averages. ``None`` for results made elsewhere.
    """

    latents: torch.Tensor
    probs: torch.Tensor
    particle_index: torch.Tensor
    final_positions: torch.Tensor
    final_probs: torch.Tensor
    trace: torch.Tensor
    trace_probs: torch.Tensor
    trace_log_lik: torch.Tensor
    trace_log_prior: torch.Tensor
    trace_accept: torch.Tensor
    acceptance: torch.Tensor
    scale: torch.Tensor
    forward_evaluations: int
    wall_seconds: float
    settings: SamplerSettings
    history: dict[str, list[float]] = field(default_factory=dict)
    burn_in_ancestors: int | None = None
    band: dict[str, Any] | None = None
    """Band runs only: tolerance, whether it was reached, the band's prior mass with its standard
    error (``mass``, ``mass_se``, ``log_mass``, ``log_mass_se``), the level trace, the kernel."""
    moves: dict[str, Any] | None = None
    """Which move kernels ran and why: ``setting`` (``SamplerSettings.moves``), ``gradients``
    (bool), ``kernel`` (the local move), ``population`` (the population moves), ``reason``."""

    @property
    def particle_steps_per_second(self) -> float:
        """N × T / wall seconds."""
        return self.settings.particles * self.settings.steps / max(self.wall_seconds, 1e-12)

    def settings_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-ready dict."""
        return asdict(self.settings)

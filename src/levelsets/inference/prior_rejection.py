r"""Prior rejection at a classifier budget: the honest baseline every sampler is compared with.

Draw :math:`z \sim p(z)`, keep the draws with :math:`\max_l |f(g(z))_l - p_l| \le \tau`: exact,
independent samples of the band target (:mod:`levelsets.inference.band`), at a yield equal to the
band's prior mass.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from levelsets.errors import LevelsetsError


@dataclass
class PriorRejectionResult:
    r"""Output of :func:`prior_rejection`.

    Attributes
    ----------
    latents:
        Accepted prior draws, ``(m, d)``.
    probs:
        Their classifier probabilities, ``(m, K)``.
    deviations:
        :math:`\max_l |f(x)_l - p_l|` of *every* evaluated draw, ``(evaluations,)`` (so the
        acceptance at any tolerance can be recomputed).
    evaluations:
        Images passed through the classifier.
    tolerance:
        The acceptance band used for ``latents``.
    wall_seconds:
        Wall-clock time.
    """

    latents: torch.Tensor
    probs: torch.Tensor
    deviations: torch.Tensor
    evaluations: int
    tolerance: float
    wall_seconds: float

    @property
    def acceptance_rate(self) -> float:
        """Accepted / evaluated."""
        return self.latents.shape[0] / max(self.evaluations, 1)


def prior_rejection(
    prior: torch.distributions.Distribution,
    decoder: Callable[[torch.Tensor], torch.Tensor],
    classifier: Callable[[torch.Tensor], torch.Tensor],
    target: Any,
    *,
    budget: int,
    tolerance: float = 0.05,
    batch_size: int = 1000,
    generator: torch.Generator | None = None,
    seed: int = 0,
    device: str | torch.device = "auto",
) -> PriorRejectionResult:
    r"""Baseline: draw :math:`z \sim p(z)` and keep those with :math:`\max_l |f(g(z))_l - p_l| \le` tolerance.

    The kept draws are exact, independent samples of the prior restricted to the tolerance band —
    the reference the MH sampler's yield is compared with (:func:`levelsets.inference.diagnostics.sampling_yield`).

    Parameters
    ----------
    prior, decoder, classifier, target:
        As in :func:`sample_level_set`.
    budget:
        Number of classifier evaluations (prior draws) to spend.
    tolerance:
        Acceptance band on the max-abs deviation.
    batch_size:
        Draws per batched forward pass.
    generator:
        If given, the seed of the prior draws is taken from it; otherwise ``seed`` is used.
    seed:
        Seed when no generator is given.
    device:
        Device of the target and the draws.
    """
    from levelsets.devices import resolve_device

    if int(budget) != budget or budget < 1:
        raise LevelsetsError(f"budget must be an integer ≥ 1, got {budget}")
    if batch_size < 1:
        raise LevelsetsError(f"batch_size must be ≥ 1, got {batch_size}")
    if not tolerance > 0:
        raise LevelsetsError(f"tolerance must be > 0, got {tolerance}")
    dev = resolve_device(device) if not isinstance(device, torch.device) else device
    p = _target(target, dev)
    if generator is not None:
        seed = int(torch.randint(0, 2**62, (), generator=generator))
    start = time.perf_counter()
    kept_z, kept_p, devs = [], [], []
    done = 0
    batch = 0
    while done < budget:
        b = min(batch_size, budget - done)
        z = _draws(prior, b, seed + 7919 * batch, dev)
        with torch.no_grad():
            probs = classifier(decoder(z))
        dev_max = (probs.to(torch.float64) - p).abs().max(dim=1).values
        keep = dev_max <= tolerance
        kept_z.append(z[keep])
        kept_p.append(probs[keep])
        devs.append(dev_max)
        done += b
        batch += 1
    return PriorRejectionResult(
        latents=torch.cat(kept_z),
        probs=torch.cat(kept_p),
        deviations=torch.cat(devs),
        evaluations=done,
        tolerance=float(tolerance),
        wall_seconds=time.perf_counter() - start,
    )


def _target(target: Any, device: torch.device) -> torch.Tensor:
    from levelsets.inference.sampler import _target_tensor

    return _target_tensor(target, device)


def _draws(prior: torch.distributions.Distribution, n: int, seed: int, device: torch.device) -> torch.Tensor:
    from levelsets.inference.sampler import _prior_draws

    return _prior_draws(prior, n, seed, device)

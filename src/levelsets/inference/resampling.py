r"""Resampling schemes: draw n ancestor indices from normalized weights W (shape ``(N,)``).

Both are unbiased: the expected number of copies of particle i is :math:`n W_i`.

* **systematic** — one uniform :math:`u \sim U[0, 1)`, points :math:`(u + j)/n`, j = 0..n−1, read off
  the cumulative weights. With equal weights and n ≤ N it returns n *distinct* particles (evenly
  spaced), so no duplicates are introduced when none are needed; it has the lowest variance of the
  usual schemes. It is still a with-replacement scheme (a particle with :math:`W_i > 1/n` is copied).
* **multinomial** — n independent categorical draws (plain resampling with replacement, seed 003 §3).

References
----------
Douc, Cappé & Moulines (2005), *Comparison of resampling schemes for particle filtering*.
"""

from __future__ import annotations

import torch

from levelsets.errors import LevelsetsError

RESAMPLING = ("systematic", "multinomial")


def _normalized(weights: torch.Tensor) -> torch.Tensor:
    w = weights.to(torch.float64)
    return w / w.sum()


def systematic(weights: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Systematic resampling: ``n`` indices into ``weights`` (``(N,)``, non-negative), int64 ``(n,)``."""
    w = _normalized(weights)
    u = torch.rand((), generator=generator, device=w.device, dtype=torch.float64)
    points = (u + torch.arange(n, device=w.device, dtype=torch.float64)) / n
    cdf = torch.cumsum(w, dim=0)
    cdf[-1] = 1.0
    idx = torch.searchsorted(cdf, points, right=True)
    return idx.clamp(max=w.shape[0] - 1)


def multinomial(weights: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Multinomial resampling (independent draws with replacement): int64 indices ``(n,)``."""
    w = _normalized(weights)
    return torch.multinomial(w, n, replacement=True, generator=generator)


def resample(weights: torch.Tensor, n: int, generator: torch.Generator, method: str = "systematic") -> torch.Tensor:
    """Dispatch to :func:`systematic` or :func:`multinomial` by name."""
    if method == "systematic":
        return systematic(weights, n, generator)
    if method == "multinomial":
        return multinomial(weights, n, generator)
    raise LevelsetsError(f"unknown resampling {method!r}; choose one of {', '.join(RESAMPLING)}")

"""Stub log densities for the unit tests of the moves and their adaptation (tier a).

``make_density(log_prior_fn, log_lik_fn=None)`` returns a ``log_density(z)`` for ``z`` of shape
(N, d) giving :class:`~levelsets.inference.model.LogDensity` with two classes (sigmoid of the first
coordinate) and recording the shape of every batch it was called with in ``.calls``.
"""

from __future__ import annotations

import torch

from levelsets.inference.model import LogDensity

N, D, K = 64, 3, 2


def make_density(log_prior_fn, log_lik_fn=None):
    calls = []

    def log_density(z: torch.Tensor) -> LogDensity:
        calls.append(z.shape)
        lp = log_prior_fn(z)
        ll = log_lik_fn(z) if log_lik_fn else torch.zeros(z.shape[0], dtype=z.dtype)
        probs = torch.stack([torch.sigmoid(z[:, 0]), 1 - torch.sigmoid(z[:, 0])], dim=1)
        return LogDensity(lp, ll, probs)

    log_density.calls = calls
    return log_density


def gen(seed=0):
    g = torch.Generator()
    g.manual_seed(seed)
    return g

r"""The logistic class-pair transform τ of seed 001 appendix C.

Humans shown a mixed image :math:`\tilde x = \lambda_f x_i + (1-\lambda_f) x_j` infer a mixing
coefficient :math:`\lambda_h` that is not linear in :math:`\lambda_f` (seed 001 Fig. 4.4). For each
class pair we fit a logistic

.. math:: \tau_{ij}(\lambda) = \frac{1}{1 + \exp(-s_{ij}(\lambda - c_{ij}))}

to the observations :math:`(\lambda_f, \lambda_h)` with :func:`scipy.optimize.curve_fit`
(:math:`\lambda` is the weight of class i), and mixup then uses :math:`\lambda_g = \tau_{ij}(\lambda_f)`
for the labels. Pairs are stored once with i < j; the other orientation follows from symmetry,
:math:`\tau_{ji}(\lambda) = 1 - \tau_{ij}(1 - \lambda)`. Pairs without data, and i = j, use the
identity :math:`\lambda_g = \lambda_f` (classic mixup).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import torch

from levelsets.errors import LevelsetsError

MIN_POINTS = 3
"""Observations needed to fit a pair (two parameters)."""


def logistic(lam, slope: float, centre: float):
    """τ(λ) = 1 / (1 + exp(−slope (λ − centre))); works on floats, arrays and tensors."""
    if isinstance(lam, torch.Tensor):
        return torch.sigmoid(slope * (lam - centre))
    return 1.0 / (1.0 + np.exp(-slope * (np.asarray(lam, dtype=np.float64) - centre)))


@dataclass
class ClassPairTransform:
    """Fitted logistic parameters per class pair.

    Attributes
    ----------
    num_classes:
        K.
    params:
        ``{(i, j): (slope, centre)}`` with i < j.
    """

    num_classes: int
    params: dict[tuple[int, int], tuple[float, float]] = field(default_factory=dict)

    def tau(self, lam: float, i: int, j: int) -> float:
        """λ_g for one pair (i = class weighted by λ)."""
        if i == j:
            return float(lam)
        if i < j:
            p = self.params.get((i, j))
            return float(lam) if p is None else float(logistic(lam, *p))
        p = self.params.get((j, i))
        return float(lam) if p is None else float(1.0 - logistic(1.0 - lam, *p))

    def apply(self, lam: float, ci: torch.Tensor, cj: torch.Tensor) -> torch.Tensor:
        """Vector of λ_g for a batch of class pairs, (B,) float32 on ``ci``'s device."""
        values = [self.tau(lam, int(a), int(b)) for a, b in zip(ci.tolist(), cj.tolist(), strict=True)]
        return torch.tensor(values, dtype=torch.float32, device=ci.device)

    def to_dict(self) -> dict:
        """Plain-JSON form."""
        return {
            "num_classes": self.num_classes,
            "pairs": [{"i": i, "j": j, "slope": s, "centre": c} for (i, j), (s, c) in sorted(self.params.items())],
        }

    @classmethod
    def from_dict(cls, data: dict) -> ClassPairTransform:
        """Inverse of :meth:`to_dict`."""
        params = {(int(p["i"]), int(p["j"])): (float(p["slope"]), float(p["centre"])) for p in data.get("pairs", [])}
        return cls(num_classes=int(data["num_classes"]), params=params)


def fit_class_pair_transform(
    observations: Iterable[tuple[int, int, float, float]],
    num_classes: int,
) -> ClassPairTransform:
    r"""Fit τ for every class pair with at least :data:`MIN_POINTS` observations.

    Parameters
    ----------
    observations:
        ``(i, j, lambda_f, lambda_h)``: classes of the two endpoints, the generating coefficient
        (weight of class i) and the human-inferred one, both in [0, 1].
    num_classes:
        K.

    Returns
    -------
    ClassPairTransform
        Observations of (j, i) are folded into (i, j) as :math:`(1-\lambda_f, 1-\lambda_h)`.
    """
    from scipy.optimize import curve_fit

    grouped: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    for i, j, lf, lh in observations:
        i, j = int(i), int(j)
        if not (0 <= i < num_classes and 0 <= j < num_classes):
            raise LevelsetsError(f"class pair ({i}, {j}) is outside 0..{num_classes - 1}")
        if not (0.0 <= lf <= 1.0 and 0.0 <= lh <= 1.0):
            raise LevelsetsError(f"mixing coefficients must be in [0, 1], got ({lf}, {lh})")
        if i == j:
            continue
        if i < j:
            grouped[(i, j)].append((float(lf), float(lh)))
        else:
            grouped[(j, i)].append((1.0 - float(lf), 1.0 - float(lh)))
    params: dict[tuple[int, int], tuple[float, float]] = {}
    for pair, points in grouped.items():
        if len(points) < MIN_POINTS:
            continue
        xs, ys = np.asarray(points).T
        try:
            (slope, centre), _ = curve_fit(
                logistic, xs, ys, p0=(6.0, 0.5), bounds=([0.0, -1.0], [200.0, 2.0]), maxfev=10_000
            )
        except RuntimeError:
            continue  # no convergence: the pair keeps the identity
        params[pair] = (float(slope), float(centre))
    return ClassPairTransform(num_classes=num_classes, params=params)

"""Two small estimates the benchmark scripts share: a rejection run's yield, and how far apart two estimates are.

Imported by the scripts by name (``benchmarks/`` is on the path of a script run from it, and of the tests).
"""

from __future__ import annotations

import math


def binomial_yield(kept: int, draws: int) -> tuple[float, float]:
    """A prior-rejection run's yield k / B (its brute-force band mass) and the binomial standard error √(k(1 − k/B)) / B.

    Both are 0 for a run with no draws.
    """
    if draws <= 0:
        return 0.0, 0.0
    y = kept / draws
    return y, math.sqrt(kept * (1 - y)) / draws


def se_apart(a: float, sa: float, b: float, sb: float) -> float:
    """(a − b) in combined standard errors, (a − b) / √(sa² + sb²); NaN when both standard errors are 0."""
    s = math.hypot(sa, sb)
    return (a - b) / s if s > 0 else math.nan

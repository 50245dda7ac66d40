"""Check (d): the ESS of population averages from K independent seeds, and against an exact mean.

The estimators are :func:`levelsets.inference.diagnostics.cross_seed_ess` and
:func:`~levelsets.inference.diagnostics.exact_mean_ess`; this module assembles the benchmark's
JSON from the per-run dicts of :mod:`.runners` (``trace_mean``, ``trace_var``, ``seed``, seconds).
"""

from __future__ import annotations

import numpy as np


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or None when either is missing or ``b`` is not positive."""
    return a / b if a is not None and b is not None and b > 0 else None


def empirical_ess(runs: list[dict]) -> dict:
    """ESS per run from the spread of run means across independent seeds (min over latent dims).

    With K runs of equal length, σ²_j = mean within-run variance + variance of the run means
    (law of total variance) and ``ESS_emp = min_j σ²_j / Var_seeds(mean_j)`` (``ddof=1``). With K ≈ 8
    the estimate is good to about a factor of 1.5–2 (a χ² with K − 1 degrees of freedom).
    """
    from levelsets.inference.diagnostics import cross_seed_ess, pooled_variance

    means = np.array([r["trace_mean"] for r in runs])
    variances = np.array([r["trace_var"] for r in runs])
    k = means.shape[0]
    sigma2 = pooled_variance(means, variances)
    per_dim = cross_seed_ess(means, variances)
    wall = float(np.mean([r["wall_seconds"] for r in runs]))
    cpu = float(np.mean([r["cpu_seconds"] for r in runs]))
    ess = float(per_dim.min())
    return {
        "runs": k,
        "seeds": [r["seed"] for r in runs],
        "ess_per_run": ess,
        "ess_per_run_per_dim": per_dim.tolist(),
        "arviz_ess_bulk_min_per_run": [r["ess_bulk_min"] for r in runs],
        "mean_wall_seconds": wall,
        "mean_cpu_seconds": cpu,
        "ess_per_second": ess / wall,
        "ess_per_cpu_second": ess / cpu,
        "run_means": means.tolist(),
        "pooled_variance": sigma2.tolist(),
    }


def against_exact(summary: dict, exact: dict) -> None:
    """Add the bias of the run means and the ESS that counts bias, ``σ² / MSE``, to an :func:`empirical_ess` dict."""
    from levelsets.inference.diagnostics import exact_mean_ess

    means = np.array(summary["run_means"])
    mu = np.array(exact["mean"])
    per_dim = exact_mean_ess(means, mu, exact["variance"])
    summary["bias_of_grand_mean"] = (means.mean(0) - mu).tolist()
    summary["standard_error_of_grand_mean"] = (means.std(0, ddof=1) / np.sqrt(len(means))).tolist()
    summary["ess_exact_per_run_per_dim"] = per_dim.tolist()
    summary["ess_exact_per_run"] = float(per_dim.min())
    summary["ess_exact_per_cpu_second"] = float(per_dim.min()) / summary["mean_cpu_seconds"]
    summary["ess_exact_per_second"] = float(per_dim.min()) / summary["mean_wall_seconds"]

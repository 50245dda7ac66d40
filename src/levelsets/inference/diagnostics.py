r"""Diagnostics of a level-set run: ArviZ data, Δ, tolerance share, R-hat, ESS, sampling yield.

Layers: array functions (:func:`deviation`, :func:`within_tolerance_share`, :func:`distinct_count`)
at the core; ArviZ does R-hat and ESS (:func:`to_inference_data`, :func:`ess_bulk`); the ESS of
population averages from independent runs (:func:`cross_seed_ess`, :func:`exact_mean_ess`);
:func:`summarize` and :func:`sampling_yield` assemble JSON-ready dicts.

Caveat on R-hat: particles are chains. A multimodal posterior that the tempered burn-in has split
correctly across modes shows a large R-hat when single chains do not switch modes after burn-in
(the sampler without its independence sweeps, ``independence_every=0``): R-hat then measures
*between-mode* mixing of individual chains, not whether the population as a whole is right. With
the sweeps (default) chains switch between populated modes and R-hat comes close to 1; it still
cannot see a mode no particle found. Read it alongside ``target_classes_share`` and Δ.

Caveat on ESS: ArviZ's ESS treats the particles as *independent* chains. After the tempered-SMC
burn-in they are not: resampling leaves all N particles descended from a few initial draws
(``burn_in_ancestors``; tens of 1000 on the MNIST world), and the independence sweeps make
particles exchange positions. When chains stay in their regions (R-hat ≫ 1) the bulk ESS saturates
at about N whatever the run length. The spread of population means across independent seeds
(benchmarks/sampler_throughput.py, ``--replicates``) is the check for population averages.

References
----------
Booth et al., *Sampling Prediction-Matching Examples in Neural Networks*, eq. 5 (Δ).
Vehtari et al. (2021), *Rank-normalization, folding, and localization: an improved R-hat*.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

PAIR_TOLERANCE = 1e-9


def _np(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(getattr(x, "probs", x))


def deviation(probs: Any, target: Any) -> float:
    r"""Δ of seed 003 eq. 5: :math:`\frac{1}{nK}\sum_i\sum_l |p_l - f(x_i)_l|` for probs ``(n, K)``."""
    pr, tg = _np(probs).astype(np.float64), _np(target).astype(np.float64)
    return float(np.abs(pr - tg[None, :]).mean()) if pr.shape[0] else float("nan")


def max_deviation(probs: Any, target: Any) -> np.ndarray:
    r""":math:`\max_l |f(x_i)_l - p_l|` per sample, shape ``(..., )`` for probs ``(..., K)``."""
    pr, tg = _np(probs).astype(np.float64), _np(target).astype(np.float64)
    return np.abs(pr - tg).max(axis=-1)


def within_tolerance_share(probs: Any, target: Any, tolerance: float = 0.05) -> float:
    r"""Share of samples with :math:`\max_l |f(x_i)_l - p_l| \le` ``tolerance``."""
    m = max_deviation(probs, target)
    return float((m <= tolerance).mean()) if m.size else float("nan")


def distinct_count(latents: Any) -> int:
    """Count the distinct rows of ``latents`` ``(n, d)``."""
    z = _np(latents)
    return int(np.unique(z, axis=0).shape[0]) if z.shape[0] else 0


def target_pair_of(target: Any) -> tuple[int, int] | None:
    """Find the class pair of an AvsB target (``Target.classes`` of length 2, or two equal largest entries)."""
    classes = getattr(target, "classes", None)
    if classes is not None and len(classes) == 2:
        return (int(min(classes)), int(max(classes)))
    tg = _np(target).astype(np.float64)
    if tg.shape[0] < 3:
        return None
    order = np.argsort(-tg, kind="stable")
    a, b, c = order[0], order[1], order[2]
    if abs(tg[a] - tg[b]) <= PAIR_TOLERANCE and tg[b] - tg[c] > PAIR_TOLERANCE:
        return (int(min(a, b)), int(max(a, b)))
    return None


def target_classes_share(probs: Any, target: Any) -> float | None:
    """Share of samples whose two most probable classes are the target's pair (AvsB only, else None)."""
    pair = target_pair_of(target)
    if pair is None:
        return None
    pr = _np(probs)
    if pr.shape[0] == 0:
        return float("nan")
    top2 = np.sort(np.argsort(-pr, axis=1)[:, :2], axis=1)
    return float(((top2[:, 0] == pair[0]) & (top2[:, 1] == pair[1])).mean())


def _arviz():
    """Import ArviZ without its import-time FutureWarning about the 1.x refactor."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz as az
    return az


def to_inference_data(result: Any, latent_names: Sequence[str] | None = None, class_names: Sequence[str] | None = None):
    """ArviZ ``InferenceData`` of a :class:`~levelsets.inference.sampler.LevelSetResult`.

    ``posterior``: ``z`` (chain = particle, draw, z_dim) and ``probs`` (chain, draw, class);
    ``sample_stats``: ``lp`` (log joint) and ``acceptance_rate`` (share accepted in the thinning
    window); ``log_likelihood``: ``p`` (log L of the observed target); all (chain, draw). ``az.summary``, ``az.rhat``, ``az.plot_trace`` work on it.
    """
    az = _arviz()
    z = _np(result.trace)
    probs = _np(result.trace_probs)
    d, k = z.shape[-1], probs.shape[-1]
    latent_names = list(latent_names) if latent_names is not None else [f"z{i + 1}" for i in range(d)]
    class_names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    ll = _np(result.trace_log_lik).astype(np.float64)
    lp = _np(result.trace_log_prior).astype(np.float64) + ll
    band = getattr(result, "band", None)
    sampler = ("levelsets adaptive-level SMC (band) + population MH at the tolerance" if band
               else "levelsets tempered-SMC burn-in + parallel RW-MH")
    with warnings.catch_warnings():
        # (particles, draws) with more particles than draws is intended here.
        warnings.filterwarnings("ignore", message="More chains")
        idata = az.from_dict(
            posterior={"z": z, "probs": probs},
            sample_stats={"lp": lp, "acceptance_rate": _np(result.trace_accept)},
            log_likelihood={"p": ll},
            coords={"z_dim": latent_names, "class": class_names},
            dims={"z": ["z_dim"], "probs": ["class"]},
        )
    idata.posterior.attrs.update(sampler=sampler, particles_are_chains=1)  # from_dict drops its attrs= (ArviZ 0.23)
    trace = sampler_trace(result)
    if trace is not None:
        idata.add_groups(sampler_trace=trace)
    return idata


def sampler_trace(result: Any):
    """The population's per-step record as an ``xarray.Dataset`` over ``step`` (None without one).

    One value per sampler step for the whole population — not per chain, so it is not part of
    ``sample_stats``: acceptance, ancestors (initial prior draws that still have descendants: the
    genealogy), and the schedule: β and the population ESS (tempered sampler) or the level ε_j and
    the share of particles each level advance kept (band sampler). See
    :class:`~levelsets.inference.sampler.LevelSetResult` ``history``.
    """
    import xarray as xr

    history = getattr(result, "history", None) or {}
    if not history:
        return None
    steps = len(next(iter(history.values())))
    data = {name: ("step", np.asarray(values, dtype=np.float64)) for name, values in history.items() if len(values) == steps}
    return xr.Dataset(data, coords={"step": np.arange(steps)})


def ess_bulk(draws: Any) -> np.ndarray:
    """ArviZ's bulk ESS per latent dim of draws ``(chains, draws, d)``; returns shape ``(d,)``.

    Particles (or independent runs) are the chains; with one chain ArviZ splits it in two halves.
    Unlike :func:`summarize` there is no minimum number of draws (ArviZ returns NaN where it cannot
    estimate). The same caveat as the module's applies: chains are assumed independent.
    """
    az = _arviz()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "More chains than draws" and short-chain RuntimeWarnings
        data = az.convert_to_dataset({"z": _np(draws)})
        return np.asarray(az.ess(data, method="bulk")["z"].values, dtype=float)


def ess_bulk_scalar(values: Any) -> float:
    """ArviZ's bulk ESS of one scalar quantity recorded as ``(chains, draws)`` (e.g. the log density)."""
    return float(ess_bulk(_np(values)[..., None])[0])


def pooled_variance(run_means: Any, run_variances: Any) -> np.ndarray:
    r"""Variance of one draw pooled over K runs: :math:`\bar v_j + \frac{K-1}{K}\,\mathrm{Var}_k(m_{kj})`.

    ``run_means`` and ``run_variances`` ``(K, d)`` (each run's mean and population variance of its
    draws, ``ddof=0``); returns ``(d,)``: the law of total variance over equally long runs.
    """
    means = _np(run_means).astype(np.float64)
    k = means.shape[0]
    return _np(run_variances).astype(np.float64).mean(0) + means.var(0, ddof=1) * (k - 1) / k


def cross_seed_ess(run_means: Any, run_variances: Any) -> np.ndarray:
    r"""Effective sample size per run from the spread of run means across K independent seeds.

    For K runs of equal length with means :math:`m_{kj}` and within-run variances :math:`v_{kj}`
    (both ``(K, d)``), with :math:`\sigma^2_j` the :func:`pooled_variance`,
    :math:`\mathrm{ESS}_j = \sigma^2_j / \mathrm{Var}_k(m_{kj})` (``ddof=1``); returns shape ``(d,)``.
    Unlike ArviZ's ESS it does not assume the chains *within* a run are independent (SMC resampling
    makes them descend from few ancestors). With K ≈ 8 it is good to about a factor 1.5–2 (the
    variance estimate is a χ² with K − 1 degrees of freedom).
    """
    between = _np(run_means).astype(np.float64).var(0, ddof=1)
    return pooled_variance(run_means, run_variances) / np.maximum(between, 1e-300)


def exact_mean_ess(run_means: Any, exact_mean: Any, exact_variance: Any) -> np.ndarray:
    r"""ESS per run that counts bias as well as variance: :math:`\sigma^2_j / \mathrm{MSE}_j`.

    ``run_means`` ``(K, d)``; ``exact_mean`` :math:`\mu` and ``exact_variance`` :math:`\sigma^2`
    ``(d,)`` of the posterior (e.g. by quadrature);
    :math:`\mathrm{MSE}_j = \mathrm{mean}_k (m_{kj} - \mu_j)^2`. Returns ``(d,)``.
    """
    means = _np(run_means).astype(np.float64)
    mu, var = _np(exact_mean).astype(np.float64), _np(exact_variance).astype(np.float64)
    mse = ((means - mu) ** 2).mean(0)
    return var / np.maximum(mse, 1e-300)


def _rhat_ess(result: Any) -> tuple[float, float, float]:
    az = _arviz()
    z = _np(result.trace)
    if z.shape[1] < 4:
        return float("nan"), float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="More chains")
        data = az.convert_to_dataset({"z": z})
    rhat = az.rhat(data, method="rank")["z"].values
    ess = az.ess(data, method="bulk")["z"].values
    return float(np.nanmax(rhat)), float(np.nanmin(ess)), float(np.nansum(ess))


def summarize(result: Any, target: Any, tolerance: float = 0.05) -> dict[str, Any]:
    """JSON-ready diagnostics of a run.

    Returns
    -------
    dict
        ``acceptance_rate`` (post-burn-in, mean over particles); ``delta`` (eq. 5 over the returned
        samples); ``within_tolerance`` (share of returned samples with max-abs deviation ≤
        ``tolerance``); ``tolerance``; ``distinct`` (distinct returned samples); ``samples``;
        ``rhat_max`` (rank-normalized split R-hat, max over latent dims, particles as chains);
        ``ess_bulk_min`` (min over latent dims of bulk ESS); ``ess_bulk_total`` (sum over latent
        dims); ``ess_per_second`` (``ess_bulk_min`` / wall seconds); ``target_classes_share``
        (AvsB targets, else None); ``forward_evaluations``; ``wall_seconds``;
        ``particle_steps_per_second``; ``final_delta`` (Δ over all N final states);
        ``burn_in_ancestors`` (distinct initial draws with descendants after burn-in, or None; see
        the module's caveat on ESS).
    """
    rhat, ess_min, ess_total = _rhat_ess(result)
    wall = float(result.wall_seconds)
    return {
        "acceptance_rate": float(_np(result.acceptance).mean()),
        "delta": deviation(result.probs, target),
        "within_tolerance": within_tolerance_share(result.probs, target, tolerance),
        "tolerance": float(tolerance),
        "distinct": distinct_count(result.latents),
        "samples": int(result.latents.shape[0]),
        "rhat_max": rhat,
        "ess_bulk_min": ess_min,
        "ess_bulk_total": ess_total,
        "ess_per_second": ess_min / wall if wall > 0 else float("nan"),
        "target_classes_share": target_classes_share(result.probs, target),
        "final_delta": deviation(result.final_probs, target),
        "forward_evaluations": int(result.forward_evaluations),
        "wall_seconds": wall,
        "particle_steps_per_second": float(result.particle_steps_per_second),
        "burn_in_ancestors": getattr(result, "burn_in_ancestors", None),
    }


def sampling_yield(
    result: Any, prior_result: Any, target: Any, tolerances: Sequence[float] = (0.05, 0.01)
) -> dict[str, Any]:
    r"""Effective samples within tolerance per classifier evaluation: MH vs prior rejection.

    For MH, :math:`Y = \mathrm{ESS}_{\text{bulk,min}} \cdot s_\epsilon / E`, with
    :math:`s_\epsilon` the share of recorded draws within the band ε and E all classifier
    evaluations of the run (burn-in included). For prior rejection the accepted draws are
    independent, so :math:`Y = \#\{\text{within } \epsilon\} / E`.

    Returns
    -------
    dict
        Keyed by ``"±0.05"`` etc.: ``mh``, ``prior``, ``ratio`` (mh / prior; inf when prior found
        none), ``mh_within`` (share), ``prior_accepted`` (count).
    """
    _, ess_min, _ = _rhat_ess(result)
    dev_mh = max_deviation(result.trace_probs, target).reshape(-1)
    dev_prior = _np(prior_result.deviations)
    out: dict[str, Any] = {}
    for eps in tolerances:
        share = float((dev_mh <= eps).mean()) if dev_mh.size else float("nan")
        mh = ess_min * share / max(result.forward_evaluations, 1)
        accepted = int((dev_prior <= eps).sum())
        prior = accepted / max(int(prior_result.evaluations), 1)
        out[f"±{eps:g}"] = {
            "mh": mh,
            "prior": prior,
            "ratio": (mh / prior) if prior > 0 else float("inf"),
            "mh_within": share,
            "prior_accepted": accepted,
            "mh_evaluations": int(result.forward_evaluations),
            "prior_evaluations": int(prior_result.evaluations),
        }
    return out

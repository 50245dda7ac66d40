r"""Sharded sampling: the N particles of one level set split across K Ray actors, then pooled.

Design. Shard k runs the *unchanged* single-process sampler
(:func:`~levelsets.inference.sampler.sample_level_set`) on :math:`N_k \approx N/K` particles with its
own seed :math:`s_k` (derived from the run's seed by :class:`numpy.random.SeedSequence`, so shards
are independent streams), in its own actor process with a fixed torch thread count. Nothing is
exchanged while the shards run: no per-step communication, one message in (the models, the target
and the settings) and one out (the shard's result) per shard. The K results are pooled into one
:class:`~levelsets.inference.sampler.LevelSetResult` of N particles, which
:mod:`levelsets.workflows.sample` writes exactly like a single-process run.

Why pooling is exact.

* **Band** (``relaxation="band"``). Each shard is an adaptive-level SMC sampler whose final
  population is a set of (correlated) draws of the same band target
  :math:`\pi(z) \propto p(z)\,\mathbf 1\{D(z) \le \tau\}` with *equal weights*, and whose islands
  give independent estimates :math:`\hat Z_b` of the band's prior mass. The shards are independent
  runs, so the union of their populations, with equal weights, is again an equal-weight particle
  approximation of π (consistent as every :math:`N_k \to \infty`; the MH moves at τ leave π
  invariant particle by particle), and the :math:`K B_k` islands of all shards are independent
  estimates of the same Z: the pooled mass is their mean and its standard error their standard
  deviation over :math:`\sqrt{\sum_k B_k}` — the single-process estimator with more islands,
  computed exactly from each shard's mean and standard error (:func:`pool_band_mass`). The
  islands' count per shard is the run's ``islands`` divided by K, so the island size is that of
  a single-process run and the pooled estimate uses as many islands as it would.
* **Dirichlet / Normal** (tempered SMC, then MH at β = 1). Each shard ends its burn-in with a
  resampling step at β = 1 (all weights equal) and then runs a π-invariant MH kernel, so each
  shard's final population is an equal-weight approximation of the *same* π. Combining
  independent SMC runs by their evidence estimates :math:`\hat Z_k` is needed when the runs'
  weights differ (it is the unbiased way to merge weighted populations); here every shard
  targets π with equal weights, so the equal-weight union is a consistent approximation of π
  with the same O(1/N_k) burn-in bias per shard as a single run of :math:`N_k` particles
  (this is why a shard should keep hundreds of particles; the MH phase at β = 1 then removes
  most of it, as tested against quadrature).

The returned samples: shard k returns :math:`n_k` of its final states (the run's ``samples``
split like the particles, :math:`n_k \le N_k`), drawn by the single-process rule (systematic
resampling with equal weights); their union is a stratified equal-weight draw of n from the
pooled population. ``particle_index`` indexes the pooled population (shard k's particles are
rows :math:`\sum_{j<k} N_j` onwards). ``K = 1`` runs no actor at all: the result is the
single-process sampler's, bit for bit.

Communication per run: K copies of the models (one object-store object, fetched once per node)
and the K results (O(N·D·d) floats of trace); none per step. See ``docs/sweeps.md`` for the
plan at 100 GPUs.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from levelsets.errors import LevelsetsError
from levelsets.inference.sampler import LevelSetResult, SamplerSettings, sample_level_set


def shard_sizes(total: int, shards: int) -> list[int]:
    """Split ``total`` into ``shards`` sizes differing by at most one (the first ones get the remainder)."""
    base, extra = divmod(total, shards)
    return [base + (k < extra) for k in range(shards)]


def shard_seeds(seed: int, shards: int) -> list[int]:
    """Independent 63-bit seeds of the K shards, derived from the run's ``seed`` (SeedSequence spawning)."""
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> 1) for child in np.random.SeedSequence(seed).spawn(shards)]


def shard_settings(settings: SamplerSettings, shards: int) -> list[SamplerSettings]:
    """The K shards' sampler settings: N, n and the islands split, own seeds, no progress bar.

    Raises
    ------
    LevelsetsError
        ``shards`` < 1, or more shards than particles.
    """
    if int(shards) != shards or shards < 1:
        raise LevelsetsError(f"--shards must be an integer ≥ 1 (got {shards})")
    if shards > settings.particles:
        raise LevelsetsError(f"--shards ({shards}) cannot exceed --particles ({settings.particles}); "
                             "each shard needs particles (hundreds, for an accurate burn-in)")
    sizes, wanted, seeds = shard_sizes(settings.particles, shards), shard_sizes(settings.samples, shards), shard_seeds(settings.seed, shards)
    islands = max(1, settings.islands // shards)
    # a shard asked for 0 samples (n < K) draws 1, which pool_results drops again
    return [replace(settings, particles=n_k, samples=max(1, s_k), seed=seed_k, islands=islands, progress=False)
            for n_k, s_k, seed_k in zip(sizes, wanted, seeds)]


def pool_band_mass(means: Sequence[float], ses: Sequence[float], islands: Sequence[int]) -> dict[str, float]:
    r"""Pool K shards' band-mass estimates as one estimate over all their islands.

    Shard k reports the mean :math:`m_k` of its :math:`B_k` island estimates and the standard
    error :math:`e_k = s_k/\sqrt{B_k}` (:math:`s_k` their sample sd). Over all
    :math:`B = \sum B_k` islands: :math:`\hat Z = \sum_k B_k m_k / B` and
    :math:`s^2 = [\sum_k (B_k - 1) s_k^2 + B_k (m_k - \hat Z)^2] / (B - 1)`, SE :math:`s/\sqrt B`
    — exactly what :func:`levelsets.inference.band.mass_estimate` gives for the union of the
    islands. A shard with one island has no :math:`s_k` (NaN); it contributes through its mean.

    Returns
    -------
    dict
        ``mass``, ``mass_se``, ``log_mass``, ``log_mass_se`` (relative SE), ``islands``.
    """
    m, b = np.asarray(means, dtype=float), np.asarray(islands, dtype=float)
    s2 = np.nan_to_num(np.asarray(ses, dtype=float) ** 2 * b)  # s_k² = e_k² B_k
    total = b.sum()
    mass = float((b * m).sum() / total)
    within = float(((b - 1) * s2).sum())
    between = float((b * (m - mass) ** 2).sum())
    se = math.sqrt((within + between) / (total - 1) / total) if total > 1 else math.nan
    return {"mass": mass, "mass_se": se, "log_mass": math.log(mass) if mass > 0 else -math.inf,
            "log_mass_se": se / mass if mass > 0 else math.nan, "islands": int(total)}


def _pool_history(histories: Sequence[dict[str, list[float]]], weights: Sequence[int]) -> dict[str, list[float]]:
    """Per step: ``ancestors`` summed over shards, every other series the particle-weighted mean (NaNs skipped)."""
    pooled: dict[str, list[float]] = {}
    w = np.asarray(weights, dtype=float)
    for key in histories[0]:
        values = np.array([h[key] for h in histories], dtype=float)  # (K, T)
        if key == "ancestors":
            pooled[key] = values.sum(0).tolist()
            continue
        mask = np.isfinite(values)
        num = (np.where(mask, values, 0.0) * w[:, None]).sum(0)
        den = (mask * w[:, None]).sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            pooled[key] = np.where(den > 0, num / den, math.nan).tolist()
    return pooled


def _pool_band(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    mass = pool_band_mass([r["mass"] for r in records], [r["mass_se"] for r in records], [r["islands"] for r in records])
    first = records[0]
    return {
        **first,
        "reached_tolerance": all(r["reached_tolerance"] for r in records),
        "final_level": max(r["final_level"] for r in records),
        **mass,
        "levels": [{**level, "shard": k} for k, r in enumerate(records) for level in r["levels"]],
        "sampling_from_step": max((r["sampling_from_step"] for r in records if r["sampling_from_step"] is not None),
                                  default=None),
        "final_ancestors": sum(r["final_ancestors"] for r in records),
        "step_size": float(np.mean([r["step_size"] for r in records])),
        "shards": [{key: r[key] for key in ("mass", "mass_se", "islands", "final_level", "reached_tolerance")}
                   for r in records],
    }


def pool_results(results: Sequence[LevelSetResult], settings: SamplerSettings, *, wall_seconds: float) -> LevelSetResult:
    """Pool K shards' results (run with :func:`shard_settings`) into one result of N particles (module docstring).

    Particle-indexed arrays are concatenated in shard order; traces keep the last D draws of every
    shard, D the fewest any shard recorded (band shards start recording when they reach τ, which
    may differ by a few steps); ``forward_evaluations`` is summed; ``wall_seconds`` is the
    caller's wall clock over the parallel run.
    """
    offsets = np.cumsum([0] + [r.final_positions.shape[0] for r in results])
    draws = min(r.trace.shape[1] for r in results)
    wanted = shard_sizes(settings.samples, len(results))  # the samples each shard contributes

    def cat(name: str, last_draws: bool = False) -> torch.Tensor:
        parts = [getattr(r, name) for r in results]
        if last_draws:
            parts = [p[:, p.shape[1] - draws:] for p in parts]
        return torch.cat(parts, dim=0)

    def cat_samples(name: str) -> torch.Tensor:
        return torch.cat([getattr(r, name)[:n_k] for r, n_k in zip(results, wanted)], dim=0)

    band = None
    if results[0].band is not None:
        band = _pool_band([r.band for r in results])
    ancestors = [r.burn_in_ancestors for r in results]
    return LevelSetResult(
        latents=cat_samples("latents"),
        probs=cat_samples("probs"),
        particle_index=torch.cat([r.particle_index[:n_k] + int(off) for r, n_k, off in zip(results, wanted, offsets)]),
        final_positions=cat("final_positions"),
        final_probs=cat("final_probs"),
        trace=cat("trace", True),
        trace_probs=cat("trace_probs", True),
        trace_log_lik=cat("trace_log_lik", True),
        trace_log_prior=cat("trace_log_prior", True),
        trace_accept=cat("trace_accept", True),
        acceptance=cat("acceptance"),
        scale=cat("scale"),
        forward_evaluations=sum(r.forward_evaluations for r in results),
        wall_seconds=wall_seconds,
        settings=settings,
        history=_pool_history([r.history for r in results], [r.settings.particles for r in results]),
        burn_in_ancestors=None if None in ancestors else sum(ancestors),
        band=band,
    )


def _to_cpu(result: LevelSetResult) -> LevelSetResult:
    moved = {name: value.cpu() for name, value in vars(result).items() if isinstance(value, torch.Tensor)}
    return replace(result, **moved)


class ShardWorker:
    """A Ray actor holding one copy of the models; :meth:`sample` runs one shard on them."""

    def __init__(self, models: tuple[Any, Any, Any], threads: int) -> None:
        torch.set_num_threads(threads)
        self.prior, self.decoder, self.classifier = models

    def sample(self, target: Any, settings: SamplerSettings) -> LevelSetResult:
        """Run the single-process sampler on this shard's settings; tensors come back on the CPU."""
        cpu = time.process_time()
        result = sample_level_set(self.prior, self.decoder, self.classifier, target, settings)
        self.cpu_seconds = time.process_time() - cpu
        return _to_cpu(result)

    def last_cpu_seconds(self) -> float:
        """CPU seconds of this actor's process during its last :meth:`sample` (for benchmarks)."""
        return self.cpu_seconds

    def threads(self) -> int:
        """The actor's torch thread count (for tests and benchmarks)."""
        return torch.get_num_threads()


def sample_sharded(
    prior: torch.distributions.Distribution,
    decoder: Callable[[torch.Tensor], torch.Tensor],
    classifier: Callable[[torch.Tensor], torch.Tensor],
    target: Any,
    settings: SamplerSettings | None = None,
    *,
    shards: int = 1,
    threads: int = 1,
    gpus: float = 0.0,
    address: str | None = None,
    timings: dict[str, Any] | None = None,
) -> LevelSetResult:
    """:func:`~levelsets.inference.sampler.sample_level_set` with the N particles split over K Ray actors.

    Parameters
    ----------
    prior, decoder, classifier, target, settings:
        As for :func:`~levelsets.inference.sampler.sample_level_set`; the three models are shipped
        to the actors by pickling (cloudpickle: closures and modules work).
    shards:
        K. ``1`` calls the single-process sampler in this process (bit-identical to it, no Ray).
    threads:
        torch threads (and Ray CPUs) per actor.
    gpus:
        Ray GPUs per actor (fractions share a GPU); the models then run on each actor's GPU when
        ``settings.device`` is ``auto`` or ``cuda``.
    address:
        ``None``: use the Ray already initialized in this process, else start a local cluster with
        at least K·``threads`` CPUs and stop it afterwards; ``auto`` / ``HOST:PORT``: join one.
    timings:
        If given, filled with ``startup_seconds`` (cluster, actors, models), ``sampling_seconds``
        (the parallel run, = the result's ``wall_seconds``), and per shard ``shard_seconds`` (wall)
        and ``shard_cpu_seconds`` (CPU time of the actor's process).

    Returns
    -------
    LevelSetResult
        N pooled particles, ``settings.samples`` samples (module docstring for the pooling rules).
    """
    s = settings or SamplerSettings()
    parts = shard_settings(s, shards)
    if shards == 1:
        return sample_level_set(prior, decoder, classifier, target, s)
    from levelsets.workflows.ray_cluster import ray_cluster

    started = time.perf_counter()
    with ray_cluster(address, num_cpus=max(os.cpu_count() or 1, shards * threads)):
        import ray

        cpus = ray.cluster_resources().get("CPU", 0.0)
        if cpus < shards * threads:  # the actors would wait for CPUs forever
            raise LevelsetsError(f"{shards} shards × {threads} threads need {shards * threads} CPUs; the Ray cluster "
                                 f"has {cpus:g}; use fewer --shards or a larger cluster")
        worker = ray.remote(ShardWorker).options(num_cpus=threads, num_gpus=gpus)
        models = ray.put((prior, decoder, classifier))
        actors = [worker.remote(models, threads) for _ in parts]
        ray.get([actor.threads.remote() for actor in actors])  # every actor is up and holds the models
        target_cpu = target.cpu() if isinstance(target, torch.Tensor) else target
        begun = time.perf_counter()
        refs = [actor.sample.remote(target_cpu, part) for actor, part in zip(actors, parts)]
        try:
            results = ray.get(refs)
            sampling = time.perf_counter() - begun
            if timings is not None:
                timings.update(startup_seconds=begun - started, sampling_seconds=sampling,
                               shard_seconds=[r.wall_seconds for r in results],
                               shard_cpu_seconds=ray.get([actor.last_cpu_seconds.remote() for actor in actors]))
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if getattr(exc, "cause", None) is not None else exc
            if isinstance(cause, LevelsetsError):
                raise LevelsetsError(str(cause)) from None
            raise
        finally:
            for actor in actors:
                ray.kill(actor)
    pooled = pool_results(results, s, wall_seconds=sampling)
    from levelsets.devices import resolve_device

    device = resolve_device(s.device)  # where the single-process sampler would have left the tensors
    return replace(pooled, **{k: v.to(device) for k, v in vars(pooled).items() if isinstance(v, torch.Tensor)})

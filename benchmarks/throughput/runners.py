"""The three timed stages at one N: (a) the forward pass, (b) our MH sampler, (c) Pyro's NUTS.

Each returns a JSON-ready dict with wall and CPU seconds and the load average before it ran; ESS
is ArviZ's bulk ESS (:func:`levelsets.inference.diagnostics.ess_bulk`), min over latent dims.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from .machine import load_average
from .worlds import BenchWorld


def forward_throughput(w: BenchWorld, n: int, device: torch.device, min_seconds: float) -> dict:
    """Images/s of ``w.classifier(w.decoder(z))`` at batch n (after one warm-up batch), per wall and CPU second."""
    z = w.prior.sample((n,)).to(device)
    with torch.no_grad():
        w.classifier(w.decoder(z))
        reps, start, cpu0 = 0, time.perf_counter(), time.process_time()
        while True:
            w.classifier(w.decoder(z))
            reps += 1
            if device.type == "cuda":
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds and reps >= 2:
                break
        cpu = time.process_time() - cpu0
    return {"wall": n * reps / elapsed, "cpu": n * reps / max(cpu, 1e-9), "batches": reps, "wall_seconds": elapsed}

def run_mh(w: BenchWorld, target, n: int, steps: int, burn: int, thin: int, device: torch.device, seed: int,
           **overrides) -> dict:
    """Our sampler at N = n: particle-steps/s (wall and CPU), time share of the forward pass, ESS, Δ.

    ``overrides`` are further :class:`~levelsets.inference.SamplerSettings` (the ablation's
    ``independence_every=0``); they are recorded in the result.
    """
    from levelsets.inference import SamplerSettings, sample_level_set, summarize
    from levelsets.inference.diagnostics import ess_bulk, ess_bulk_scalar

    forward_seconds = 0.0

    def timed(fn):
        def inner(x):
            nonlocal forward_seconds
            t0 = time.perf_counter()
            out = fn(x)
            if device.type == "cuda":
                torch.cuda.synchronize()
            forward_seconds += time.perf_counter() - t0
            return out

        return inner

    s = SamplerSettings(
        particles=n,
        steps=steps,
        burn_in=burn,
        samples=min(100, n),
        thin=thin,
        device=str(device),
        progress=False,
        seed=seed,
        **overrides,
    )
    load0 = load_average()
    cpu0 = time.process_time()
    res = sample_level_set(w.prior, timed(w.decoder), timed(w.classifier), target.probs, s)
    cpu = time.process_time() - cpu0
    summ = summarize(res, target)
    z = res.trace.detach().cpu().numpy()
    ess = ess_bulk(z)
    lp = (res.trace_log_lik + res.trace_log_prior).detach().cpu().numpy().astype(np.float64)
    flat = z.reshape(-1, z.shape[-1]).astype(np.float64)
    return {
        "particles": n,
        "steps": steps,
        "burn_in": burn,
        "thin": thin,
        "draws_per_particle": s.draws,
        "seed": seed,
        "wall_seconds": res.wall_seconds,
        "cpu_seconds": cpu,
        "load_average_before": load0,
        "particle_steps_per_second": res.particle_steps_per_second,
        "particle_steps_per_cpu_second": n * steps / max(cpu, 1e-9),
        "forward_share_of_wall": forward_seconds / res.wall_seconds,
        "forward_evaluations": res.forward_evaluations,
        "ess_bulk_min": summ["ess_bulk_min"],
        "ess_bulk_median": float(np.nanmedian(ess)),
        "ess_bulk_per_dim": ess.tolist(),
        "ess_bulk_log_density": ess_bulk_scalar(lp),
        "ess_per_second": summ["ess_per_second"],
        "ess_per_cpu_second": summ["ess_bulk_min"] / max(cpu, 1e-9),
        "rhat_max": summ["rhat_max"],
        "burn_in_ancestors": summ["burn_in_ancestors"],
        "beta_reaches_1_at_step": next((i for i, b in enumerate(res.history["inv_temperature"]) if b >= 1.0), None),
        "acceptance_rate": summ["acceptance_rate"],
        "delta": summ["delta"],
        "within_tolerance": summ["within_tolerance"],
        "target_classes_share": summ["target_classes_share"],
        "trace_mean": flat.mean(0).tolist(),
        "trace_var": flat.var(0).tolist(),
        "overrides": overrides,
    }


def run_nuts(w: BenchWorld, target, warmup: int, samples: int, seed: int, max_tree_depth: int = 10) -> dict:
    """Pyro NUTS on one chain, one particle, on the same Pyro model; warm-up included in the time."""
    import pyro
    from pyro.infer import MCMC, NUTS

    from levelsets.inference import level_set_model
    from levelsets.inference.diagnostics import (
        deviation,
        ess_bulk,
        target_classes_share,
        within_tolerance_share,
    )

    if w.diff_decoder is None or w.diff_classifier is None:
        return {"skipped": "decoder or classifier is not differentiable (NUTS needs gradients)"}
    pyro.set_rng_seed(seed)
    tgt = torch.as_tensor(target.probs, dtype=torch.float32)

    def model():
        return level_set_model(w.prior, w.diff_decoder, w.diff_classifier, tgt, 100.0, num_particles=1)

    kernel = NUTS(model, max_tree_depth=max_tree_depth)
    mcmc = MCMC(kernel, num_samples=samples, warmup_steps=warmup, disable_progbar=True)
    load0 = load_average()
    start, cpu0 = time.perf_counter(), time.process_time()
    mcmc.run()
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    z = mcmc.get_samples(group_by_chain=True)["z"].detach()  # (1, samples, 1, d)
    z = z.reshape(1, samples, -1)
    ess = ess_bulk(z.cpu().numpy())
    ess_min = float(np.nanmin(ess))
    with torch.no_grad():
        probs = w.classifier(w.decoder(z[0]))
    flat = z[0].cpu().numpy().astype(np.float64)
    return {
        "warmup": warmup,
        "samples": samples,
        "max_tree_depth": max_tree_depth,
        "seed": seed,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "load_average_before": load0,
        "iterations_per_second": (warmup + samples) / wall,
        "samples_per_second": samples / wall,
        "samples_per_cpu_second": samples / max(cpu, 1e-9),
        "ess_bulk_min": ess_min,
        "ess_bulk_per_dim": ess.tolist(),
        "ess_per_second": ess_min / wall,
        "ess_per_cpu_second": ess_min / max(cpu, 1e-9),
        "delta": deviation(probs, target),
        "within_tolerance": within_tolerance_share(probs, target),
        "target_classes_share": target_classes_share(probs, target),
        "trace_mean": flat.mean(0).tolist(),
        "trace_var": flat.var(0).tolist(),
    }

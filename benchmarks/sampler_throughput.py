"""Throughput of the level-set sampler vs the forward pass and vs Pyro NUTS (issue 2, item 10).

For N in {100, 1000, 10000} particles, on one world and one machine, in one run:

(a) **forward**: batched throughput of decoder + classifier (images/s, batch N), timed just before
    and just after the MH run at that N (the mean is reported; both are stored). It times exactly
    the two callables the sampler is given: for ``mnist``/``shapes`` the World's ``decoder`` and
    ``classifier`` from :func:`levelsets.worlds.load_world` (on the CPU: CNNs in channels-last
    memory format, classifier called in chunks of ``levelsets.devices.forward_batch_size`` = 256);
    for ``synthetic`` the same preparation is applied (``prepare_for_inference``,
    ``forward_batch_size``), so the MH/forward ratio is apples to apples.
(b) **MH**: our sampler (tempered-SMC burn-in + vectorized RW-MH) at the same N: particle-steps/s,
    the forward pass's share of its wall time, and bulk ESS/s. ESS is ArviZ's bulk ESS of the
    thinned post-burn-in trace with particles as chains, **min over latent dims** (the conservative
    standard summary; median and the ESS of the log density are stored too), divided by the wall
    seconds of the *whole* run, burn-in included.
(c) **NUTS**: Pyro's stock NUTS (default settings, max tree depth 10) on ONE chain of the same
    Pyro model (one particle, same prior, decoder, classifier, target, α), as the peer tool
    (Bayes-TrEx) runs it: samples/s and ESS/s, warm-up included in the time. Its ESS is the same
    estimator (ArviZ bulk, min over dims) on its single chain (ArviZ splits it in two halves).
    NUTS needs gradients through decoder and classifier; only this baseline takes them.
(d) optional ``--replicates K`` (at the reference N = 1000): K independent seeds of MH and of NUTS,
    and an **empirical ESS** per run from the spread of the run means across seeds,
    ``ESS_emp = min_j σ²_j / Var_seeds(mean_j)`` (σ²_j pooled over all runs of that method). It
    checks the ArviZ estimate, which assumes independent chains (see "Findings"). On the ``shapes``
    world (d = 3) the posterior mean is also computed exactly by midpoint quadrature on a grid
    (``--quadrature-step``), and (d) adds the bias of each method and
    ``ESS_exact = min_j σ²_j / mean_seeds((mean_j − μ_j)²)``, which counts bias as well as variance.

On a loaded machine the most robust MH-vs-forward figure is the *forward share of the MH wall time*
(measured inside the run, so contention hits numerator and denominator alike): MH/forward ≈ that
share, if a forward call runs as fast inside the sampler as in isolation.

Peak memory: the process's maximum resident set size (``resource.getrusage``), read after each
stage; it is monotone, so a row bounds everything run so far (and the NUTS figure everything).
Throughput is reported per wall second and per CPU second of this process, with the load
average: on a shared machine, run with ``--threads 1`` and read the CPU-second columns.

Settings and why (defaults):

* MH ``--steps 300 --burn-in 200 --thin 1``: what ``levelsets sample`` runs, so the figures are
  what a user gets. Every post-burn-in draw is kept: thinning to ~20 draws per chain *inflates*
  ArviZ's ESS (MNIST, N=1000: 1750 with 20 draws vs 1145 with 100), because with few draws per
  chain the autocorrelation sum is truncated early.
* NUTS ``--nuts-warmup 200 --nuts-samples 500``: with 100 + 100 the single-chain ESS ranged from
  1.4 to 19 over three seeds on MNIST (noise); 500 draws give a usable estimate and amortize the
  warm-up as the MH run amortizes its burn-in. A longer NUTS run can only help NUTS.
* ``--threads 1`` on a shared machine (two threads on two busy cores ran the synthetic forward
  pass 40× slower per CPU second in a smoke run); the default (torch's) on a quiet machine.

* ``--ablation`` (with ``--replicates``): the same MH runs with ``independence_every=0`` — what the
  independence sweeps contribute, measured in the same run on the same models.

Findings (numbers: benchmarks/results/sampler_throughput_<world>.md):

1. Without the independence sweeps, ArviZ's bulk ESS of the MH run **saturates at about N**,
   whatever the run length: R-hat is 3–4 on MNIST, the particles sit in different parts of the
   level set and rarely cross between them within the run, so each chain counts as about one
   independent value, and MH ESS/s by this measure is ∝ 1 / steps (at 100 steps the MNIST ratio read
   79×, at 300 steps 30×, with the *same* sampler). With the sweeps (default) single chains move
   between the populated parts: MNIST R-hat 1.10 and ArviZ ESS 6,726 at N = 1000 (ablation, same
   run: 3.86 and 1,167).
2. ArviZ's figure is not an honest effective sample size of population averages either: the
   tempered-SMC burn-in resamples the population, and all N particles descend from a few prior draws
   (``LevelSetResult.burn_in_ancestors``: ~40 of 1000 on MNIST). Stage (d) measures what ArviZ
   cannot: the spread of population means across independent seeds.
3. Stage (d), MNIST 1-vs-7 per run: ~2 effective draws for the first sampler (random walk only),
   ~58 with differential-evolution sweeps and CESS 0.999 (earlier models), and on today's models
   9.9 without and **2,449 with the independence sweeps** (ablation, same run). On shapes: ~80 →
   ~2,500 → 10,312, and the population mean's bias against quadrature fell from 0.14 posterior sd
   (first sampler) to 0.001 ± 0.003.
4. NUTS's single-chain ESS has the mirror-image blind spot — one chain cannot see the regions it
   never visits — and is noisy (2.0 to 22.6 across 8 seeds at 500 draws on today's MNIST models;
   3.5 to 98 on the earlier ones). Its runs scatter across seeds (seed 3 sits in another region;
   on the earlier models seed 7 settled in the prior's far tail), so its cross-seed ESS is ~1–3
   per run; its grand mean over 8 seeds still agrees with MH's (last coordinate −2.77 ± 0.17 vs
   −2.74). The cross-seed measure is agreement, not correctness: MNIST has no exact answer.
5. The MNIST models were retrained between the 2026-11-23 and 2026-12-02 runs (training is not
   bit-reproducible across thread counts). NUTS mixes worse on the new ones (ArviZ ESS/CPU-s 0.17
   instead of 1.13), so even the sampler without the sweeps reads 140× on them (30× before);
   the ablation is the attribution.

Results at N = 1000, one 2-CPU machine, ``--threads 1``, per CPU second (the .md files have
the rest):

* MH particle-steps/s over forward images/s: MNIST 1.11 (0.86 in an earlier run of the same code
  on a busier machine), shapes 0.87, synthetic 1.01 (previous sampler, not re-run). The sweeps'
  kernel density costs ~20 % at N = 1000 and more at N = 10000 (shapes 0.64);
* the issue's measure (ArviZ ESS/s, one NUTS run): MNIST 626×, shapes 3744×, synthetic 171×
  (previous sampler); pooled over 8 seeds: MNIST 1408×, shapes 4870×, synthetic 7×;
* cross-seed ESS/s: MNIST 2146×, shapes 1482× (1272× counting the bias against quadrature),
  synthetic 0.7× (previous sampler: its MH runs disagreed across seeds, 1.8 effective draws per run).

So the goal "MH ESS/s ≥ 100× NUTS" is met on MNIST and shapes by every measure; the synthetic
random-CNN world was not re-run with the sweeps.

Usage::

    python benchmarks/sampler_throughput.py --world synthetic            # full run
    python benchmarks/sampler_throughput.py --world mnist --threads 1 --replicates 8 --ablation --resume
    python benchmarks/sampler_throughput.py --quick --out /tmp/bench     # smoke run (tests)

Writes ``<out>/sampler_throughput_<world>.json`` (everything) and ``.md`` (the README table, with a
``.md.json`` sidecar); ``--quick`` adds ``_quick`` to the names. ``--resume`` continues a killed run
from ``<name>.partial.json`` (finished stages keep the figures of the process that measured them).

Worlds: ``synthetic`` = an MNIST-sized conv decoder (5-d latent -> 1x28x28) and a small CNN with
fixed random weights (no training, no data); ``shapes`` / ``mnist`` load the trained models through
``levelsets.worlds.load_world`` (training them first if missing; ``LEVELSETS_HOME`` chooses the
model home).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
REFERENCE_PARTICLES = 1000
GOAL_MH_OVER_FORWARD = 0.8
GOAL_ESS_OVER_NUTS = 100.0
ABLATION = {"independence_every": 0}
"""``--ablation``: the sampler settings that turn the independence sweeps off."""
NOT_IN_FINGERPRINT = ("particles", "replicates", "out", "resume", "quadrature_step", "ablation")
"""Settings that do not change a stage's result: a ``--resume`` may differ in them."""


def peak_rss_mb() -> float:
    """Process peak resident set size in MiB (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def load_average() -> list[float] | None:
    """1-, 5- and 15-minute load averages (None where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


class SyntheticDecoder(torch.nn.Module):
    """5-d latent -> (1, 28, 28) image in [0, 1]; the layout of a small MNIST VAE decoder."""

    def __init__(self, latent_dim: int = 5) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(latent_dim, 64 * 7 * 7)
        self.up1 = torch.nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)
        self.up2 = torch.nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fc(z)).view(-1, 64, 7, 7)
        return torch.sigmoid(self.up2(torch.relu(self.up1(h))))


class SyntheticCNN(torch.nn.Module):
    """A small MNIST-style CNN (2 conv + 2 dense layers), 10 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 32, 3, padding=1)
        self.c2 = torch.nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = torch.nn.Linear(64 * 7 * 7, 128)
        self.fc2 = torch.nn.Linear(128, 10)
        self.register_buffer("shift", torch.zeros(10))
        self.register_buffer("gain", torch.ones(()))

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.max_pool2d(torch.relu(self.c1(x)), 2)
        h = torch.max_pool2d(torch.relu(self.c2(h)), 2)
        return self.fc2(torch.relu(self.fc1(h.flatten(1))))

    def calibrate(self, x: torch.Tensor, spread: float = 3.0) -> None:
        """Standardize the logits over prior images so predictions vary with z (random weights alone
        give near-uniform probabilities, and then no level set is reachable)."""
        logits = self.raw(x)
        self.shift.copy_(logits.mean(0))
        self.gain.copy_(spread / (logits - logits.mean(0)).std())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.raw(x) - self.shift) * self.gain


class BenchWorld(NamedTuple):
    """What the three stages need: the sampler's callables and NUTS's differentiable versions.

    (A NamedTuple, not a dataclass: the tests load this file with ``importlib`` without registering
    it in ``sys.modules``, which dataclasses need.)
    """

    prior: torch.distributions.Distribution
    decoder: Callable[[torch.Tensor], torch.Tensor]
    """The decoder the sampler is given (no gradients needed)."""
    classifier: Callable[[torch.Tensor], torch.Tensor]
    """The black-box classifier the sampler is given (images -> probabilities)."""
    diff_decoder: Callable[[torch.Tensor], torch.Tensor] | None
    """The same decoder with gradients (NUTS only); None when there is none."""
    diff_classifier: Callable[[torch.Tensor], torch.Tensor] | None
    """The same classifier with gradients, images -> probabilities (NUTS only)."""
    class_names: tuple[str, ...]
    target_spec: str
    data: str
    forward: str
    """How the forward pass runs (memory format, chunking), for the record."""


def build_world(name: str, device: torch.device) -> BenchWorld:
    """Load a world; for ``synthetic`` build the fixed random models, prepared as the worlds are."""
    from levelsets.classifiers.black_box import as_probability_fn
    from levelsets.devices import forward_batch_size, prepare_for_inference

    chunk = forward_batch_size(device)
    layout = "channels-last" if device.type == "cpu" else "default layout"
    forward = f"decoder + classifier as the sampler calls them: CNNs in {layout}, classifier in chunks of {chunk or 'all'}"
    if name == "synthetic":
        torch.manual_seed(0)
        dec = SyntheticDecoder().to(device).eval()
        cnn = SyntheticCNN().to(device).eval()
        for p in list(dec.parameters()) + list(cnn.parameters()):
            p.requires_grad_(False)
        prior = torch.distributions.Independent(
            torch.distributions.Normal(torch.zeros(5, device=device), torch.ones(5, device=device)), 1
        )
        with torch.no_grad():
            cnn.calibrate(dec(prior.sample((2000,))))
        dec = prepare_for_inference(dec, device)
        cnn = prepare_for_inference(cnn, device)

        @torch.no_grad()
        def decoder(z):
            return dec(z)

        classifier = as_probability_fn(cnn, num_classes=10, device=device, logits=True, batch_size=chunk)
        # pick the pair target from the two classes the random CNN predicts most often
        with torch.no_grad():
            top = torch.softmax(cnn(dec(prior.sample((2000,)))), 1).argmax(1)
        counts = torch.bincount(top, minlength=10)
        a, b = sorted(int(i) for i in torch.argsort(counts, descending=True)[:2])
        return BenchWorld(
            prior=prior,
            decoder=decoder,
            classifier=classifier,
            diff_decoder=dec,
            diff_classifier=lambda x: torch.softmax(cnn(x), 1),
            class_names=tuple(str(i) for i in range(10)),
            target_spec=f"{a}vs{b}",
            data="synthetic: MNIST-sized conv decoder (5-d latent) + small CNN, fixed random weights (seed 0)",
            forward=forward,
        )
    from levelsets.logs import enable
    from levelsets.worlds import load_world

    enable()  # levelsets' notes (models trained on first use) on stderr
    world = load_world(name, device=device)
    if name == "shapes":
        from levelsets.generative import shapes

        diff_dec = shapes.render  # the world's decoder is ``lambda z: shapes.render(z)``; it is differentiable
    else:
        diff_dec = getattr(world.decoder, "__wrapped__", None)  # the undecorated (no no_grad) decoder
    module = getattr(world.classifier, "__wrapped__", None)
    diff_clf = (lambda x: torch.softmax(module(x), 1)) if isinstance(module, torch.nn.Module) else None
    return BenchWorld(
        prior=world.prior,
        decoder=world.decoder,
        classifier=world.classifier,
        diff_decoder=diff_dec,
        diff_classifier=diff_clf,
        class_names=world.class_names,
        target_spec="ambiguous" if name == "shapes" else "1vs7",
        data=world.data,
        forward=forward,
    )


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


def _ess_bulk(z: np.ndarray) -> np.ndarray:
    """ArviZ bulk ESS per latent dim of draws ``(chains, draws, d)``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import arviz as az

        data = az.convert_to_dataset({"z": z})
        return np.asarray(az.ess(data, method="bulk")["z"].values, dtype=float)


def _ess_scalar(x: np.ndarray) -> float:
    """ArviZ bulk ESS of a scalar ``(chains, draws)``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import arviz as az

        return float(az.ess(az.convert_to_dataset({"x": x}), method="bulk")["x"].values)


def run_mh(w: BenchWorld, target, n: int, steps: int, burn: int, thin: int, device: torch.device, seed: int,
           **overrides) -> dict:
    """Our sampler at N = n: particle-steps/s (wall and CPU), time share of the forward pass, ESS, Δ.

    ``overrides`` are further :class:`~levelsets.inference.SamplerSettings` (the ablation's
    ``independence_every=0``); they are recorded in the result.
    """
    from levelsets.inference import SamplerSettings, sample_level_set, summarize

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
    ess = _ess_bulk(z)
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
        "ess_bulk_log_density": _ess_scalar(lp),
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
    ess = _ess_bulk(z.cpu().numpy())
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


def empirical_ess(runs: list[dict]) -> dict:
    """ESS per run from the spread of run means across independent seeds (min over latent dims).

    With K runs of equal length, σ²_j = mean within-run variance + variance of the run means
    (law of total variance) and ``ESS_emp = min_j σ²_j / Var_seeds(mean_j)`` (``ddof=1``). With K ≈ 8
    the estimate is good to about a factor of 1.5–2 (a χ² with K − 1 degrees of freedom).
    """
    means = np.array([r["trace_mean"] for r in runs])
    variances = np.array([r["trace_var"] for r in runs])
    k = means.shape[0]
    between = means.var(0, ddof=1)
    sigma2 = variances.mean(0) + between * (k - 1) / k
    per_dim = sigma2 / np.maximum(between, 1e-300)
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


def shapes_quadrature(w: BenchWorld, target, step: float) -> dict:
    """Exact mean and variance of the shapes world's level-set posterior by midpoint quadrature.

    The grid covers w, h ∈ (0, 70] and t ∈ (0, 16] (4 prior standard deviations above every class
    mean) with cells of side ``step``; the log density is the sampler's own
    (:func:`levelsets.inference.log_density_fn`, the same prior, decoder, classifier and α).
    Halving the step from 0.6 to 0.4 moves the mean by ≤ 0.03.
    """
    from levelsets.generative import shapes
    from levelsets.inference import log_density_fn

    upper = [max(m[j] + 4 * sd[j] for m, sd in zip(shapes.CLASS_MU, shapes.CLASS_SIGMA)) for j in range(3)]
    axes = [np.arange(step / 2, u, step) for u in upper]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3).astype(np.float32)
    log_density = log_density_fn(w.prior, w.decoder, w.classifier, torch.as_tensor(target.probs, dtype=torch.float64), 100.0)
    start, cpu0 = time.perf_counter(), time.process_time()
    lp = []
    for i in range(0, len(grid), 20000):
        out = log_density(torch.from_numpy(grid[i : i + 20000]))
        lp.append((out.log_prior.double() + out.log_lik.double()).cpu().numpy())
    logp = np.concatenate(lp)
    finite = np.isfinite(logp)
    weights = np.where(finite, np.exp(logp - logp[finite].max()), 0.0)
    weights /= weights.sum()
    mean = (weights[:, None] * grid).sum(0)
    var = (weights[:, None] * (grid - mean) ** 2).sum(0)
    return {
        "step": step,
        "points": int(len(grid)),
        "upper": upper,
        "mean": mean.tolist(),
        "variance": var.tolist(),
        "max_cell_weight": float(weights.max()),
        "wall_seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu0,
    }


def against_exact(summary: dict, exact: dict) -> None:
    """Add the bias of the run means and the ESS that counts bias, ``σ² / MSE``, to an :func:`empirical_ess` dict."""
    means = np.array(summary["run_means"])
    mu, var = np.array(exact["mean"]), np.array(exact["variance"])
    mse = ((means - mu) ** 2).mean(0)
    per_dim = var / np.maximum(mse, 1e-300)
    summary["bias_of_grand_mean"] = (means.mean(0) - mu).tolist()
    summary["standard_error_of_grand_mean"] = (means.std(0, ddof=1) / np.sqrt(len(means))).tolist()
    summary["ess_exact_per_run_per_dim"] = per_dim.tolist()
    summary["ess_exact_per_run"] = float(per_dim.min())
    summary["ess_exact_per_cpu_second"] = float(per_dim.min()) / summary["mean_cpu_seconds"]
    summary["ess_exact_per_second"] = float(per_dim.min()) / summary["mean_wall_seconds"]


def machine_info(device: torch.device) -> dict:
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b is not None and b > 0 else None


def _fmt(x, spec: str = ".3g", none: str = "—") -> str:
    return none if x is None else format(x, spec)


def markdown(record: dict) -> str:
    """The README table: a/b/c per N, the goals at the reference N, the ESS check, the load."""
    m, st = record["machine"], record["settings"]
    lines = [
        f"**{record['world']}** world, target `{record['target']['spec']}`; {record['data']}.",
        f"Machine: {m['platform']}, {m['cpus']} CPUs, {m['torch_threads']} torch thread(s), {m['device']}; "
        f"load average {record['load_average']['start']} at start, {record['load_average']['end']} at end "
        "(1/5/15 min; > CPUs means other processes competed — prefer the per-CPU-second columns).",
        f"Forward pass (a): {record['forward']}. MH (b): {st['steps']} steps ({st['burn_in']} tempered-SMC burn-in), "
        f"thin {st['thin']}, α = 100, seed {st['seed']}. NUTS (c): Pyro defaults, 1 chain, "
        f"{st['nuts_warmup']} warm-up + {st['nuts_samples']} samples, warm-up included in its time.",
        "",
        "| N | (a) fwd img/s | (a) fwd img/CPU-s | (b) MH particle-steps/s | (b) MH p-steps/CPU-s | MH/fwd | MH/fwd (CPU) "
        "| fwd share of MH time | (b) MH ESS/s | (b) MH ESS/CPU-s | ESS (ArviZ, min dim) | R-hat max | burn-in ancestors "
        "| Δ | peak RSS MiB |",
        "|---" * 15 + "|",
    ]
    for r in record["rows"]:
        mh = r["mh"]
        lines.append(
            f"| {r['particles']} | {r['forward_images_per_second']:.0f} | {r['forward_images_per_cpu_second']:.0f} "
            f"| {mh['particle_steps_per_second']:.0f} | {mh['particle_steps_per_cpu_second']:.0f} "
            f"| {r['mh_over_forward']:.2f} | {r['mh_over_forward_cpu']:.2f} | {mh['forward_share_of_wall']:.2f} "
            f"| {mh['ess_per_second']:.1f} | {mh['ess_per_cpu_second']:.1f} | {mh['ess_bulk_min']:.0f} "
            f"| {mh['rhat_max']:.2f} | {mh['burn_in_ancestors']} | {mh['delta']:.4f} | {r['peak_rss_mib']:.0f} |"
        )
    nuts = record["nuts"]
    lines.append("")
    if "skipped" in nuts:
        lines.append(f"(c) NUTS: skipped — {nuts['skipped']}.")
    else:
        lines += [
            "| (c) NUTS, 1 chain | it/s | samples/s | samples/CPU-s | ESS (ArviZ, min dim) | ESS/s | ESS/CPU-s | Δ | peak RSS MiB |",
            "|---" * 9 + "|",
            f"| seed {nuts['seed']} | {nuts['iterations_per_second']:.2f} | {nuts['samples_per_second']:.2f} "
            f"| {nuts['samples_per_cpu_second']:.2f} | {nuts['ess_bulk_min']:.1f} | {nuts['ess_per_second']:.3f} "
            f"| {nuts['ess_per_cpu_second']:.3f} | {nuts['delta']:.4f} | {record['peak_rss_mib']:.0f} |",
        ]
    g = record["ratios"]
    ref = g["reference_particles"]
    lines += [
        "",
        f"Goals at N = {ref}:",
        f"- MH particle-steps/s ≥ {GOAL_MH_OVER_FORWARD} × forward images/s: **{_fmt(g['mh_over_forward'], '.2f')}** "
        f"(per CPU second {_fmt(g['mh_over_forward_cpu'], '.2f')}; forward pass = "
        f"{_fmt(g['forward_share_of_mh_wall'], '.0%')} of the MH wall time).",
        f"- MH ESS/s ≥ {GOAL_ESS_OVER_NUTS:g} × NUTS ESS/s, ArviZ bulk ESS min over dims (the issue's measure): "
        f"**{_fmt(g['ess_over_nuts'], '.0f')}×** (per CPU second {_fmt(g['ess_over_nuts_cpu'], '.0f')}×).",
    ]
    rep = record.get("replicates")
    if rep:
        mh_e, nuts_e = rep["mh"], rep.get("nuts")
        if nuts_e:
            lines.append(
                f"- The same measure with ESS/CPU-s pooled over all {mh_e['runs']} seeds of each method (NUTS's single-chain "
                f"ESS ranged {min(nuts_e['arviz_ess_bulk_min_per_run']):.1f}–{max(nuts_e['arviz_ess_bulk_min_per_run']):.1f}): "
                f"**{_fmt(rep['arviz_ess_over_nuts_cpu_pooled'], '.0f')}×**."
            )
        lines.append(
            f"- Check (d), empirical ESS from {mh_e['runs']} independent seeds per method (spread of run means): "
            f"MH {mh_e['ess_per_run']:.1f} per run (ArviZ said ~{np.median(mh_e['arviz_ess_bulk_min_per_run']):.0f}), "
            + (
                f"NUTS {nuts_e['ess_per_run']:.1f} per run (ArviZ said ~{np.median(nuts_e['arviz_ess_bulk_min_per_run']):.0f}); "
                f"empirical ESS/CPU-s ratio MH/NUTS **{_fmt(rep['ess_over_nuts_cpu'], '.1f')}×** "
                f"(per wall second {_fmt(rep['ess_over_nuts'], '.1f')}×)."
                if nuts_e
                else "NUTS skipped."
            )
        )
        exact = rep.get("exact")
        if exact:
            lines.append(
                f"- Against the exact posterior mean (quadrature, grid step {exact['step']}, mean "
                f"{np.round(exact['mean'], 2).tolist()}): bias of the grand mean over seeds MH "
                f"{np.round(mh_e['bias_of_grand_mean'], 2).tolist()} (SE {np.round(mh_e['standard_error_of_grand_mean'], 2).tolist()})"
                + (
                    f", NUTS {np.round(nuts_e['bias_of_grand_mean'], 2).tolist()} "
                    f"(SE {np.round(nuts_e['standard_error_of_grand_mean'], 2).tolist()}); ESS counting bias "
                    f"(σ²/MSE) MH {mh_e['ess_exact_per_run']:.1f} and NUTS {nuts_e['ess_exact_per_run']:.1f} per run: "
                    f"ratio of ESS/CPU-s **{_fmt(rep.get('ess_exact_over_nuts_cpu'), '.1f')}×**."
                    if nuts_e
                    else "."
                )
            )
    abl = record.get("ablation")
    if abl:
        r0 = abl["run"]
        line = (
            f"- Ablation, the same sampler without independence moves (`independence_every=0`), seed {r0['seed']}: "
            f"R-hat {r0['rhat_max']:.2f}, ArviZ ESS {r0['ess_bulk_min']:.0f}, {r0['particle_steps_per_cpu_second']:.0f} "
            f"particle-steps/CPU-s, {r0['ess_per_cpu_second']:.1f} ESS/CPU-s: {_fmt(abl['ess_over_nuts_cpu'], '.0f')}× NUTS; "
            f"with the moves {_fmt(abl['with_over_without_arviz_ess_cpu'], '.1f')}× more ArviZ ESS per CPU second"
        )
        if abl.get("replicates"):
            line += (
                f"; empirical ESS {abl['replicates']['ess_per_run']:.1f} per run over {abl['replicates']['runs']} seeds "
                f"(with the moves {_fmt(abl.get('with_over_without_empirical_ess_cpu'), '.1f')}× more per CPU second)"
            )
        lines.append(line + ".")
    lines += [
        "",
        "ESS: ArviZ bulk ESS with particles as chains (MH) or of the single chain (NUTS), min over latent dims, "
        "per second of the whole run (burn-in / warm-up included). It assumes independent chains although all "
        "particles descend from the few 'burn-in ancestors', and with R-hat ≫ 1 (particles staying in different parts "
        "of the level set) it saturates at ≈ N whatever the run length; check (d) measures the spread of run means "
        "across seeds instead. See the benchmark's docstring.",
    ]
    return "\n".join(lines) + "\n"


def print_summary(record: dict) -> None:
    rows, m = record["rows"], record["machine"]
    print(
        f"\nworld {record['world']}, target {record['target']['spec']} | {m['platform']}, {m['cpus']} CPUs, "
        f"{m['torch_threads']} torch threads, {m['device']} | load avg start {record['load_average']['start']}, "
        f"end {record['load_average']['end']}"
    )
    print(f"forward pass: {record['forward']}")
    print(
        "columns: (a) fwd = decoder+classifier images/s at batch N; (b) MH = particle-steps/s of the sampler; "
        "MH/fwd = (b)/(a) (goal ≥ 0.8 at N=1000); share = forward pass share of MH wall time; "
        "ESS/s = ArviZ bulk ESS (min dim) / whole-run seconds; anc = distinct prior draws left after burn-in"
    )
    head = (
        f"{'N':>6} {'fwd img/s':>10} {'fwd/CPU-s':>10} {'MH p-st/s':>10} {'MH/CPU-s':>9} {'MH/fwd':>7} {'(CPU)':>6} "
        f"{'share':>6} {'ESS/s':>8} {'ESS/CPU-s':>9} {'ESS':>6} {'R-hat':>6} {'anc':>5} {'Δ':>7} {'MiB':>6}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        mh = r["mh"]
        print(
            f"{r['particles']:>6} {r['forward_images_per_second']:>10.0f} {r['forward_images_per_cpu_second']:>10.0f} "
            f"{mh['particle_steps_per_second']:>10.0f} {mh['particle_steps_per_cpu_second']:>9.0f} "
            f"{r['mh_over_forward']:>7.2f} {r['mh_over_forward_cpu']:>6.2f} {mh['forward_share_of_wall']:>6.2f} "
            f"{mh['ess_per_second']:>8.1f} {mh['ess_per_cpu_second']:>9.1f} {mh['ess_bulk_min']:>6.0f} "
            f"{mh['rhat_max']:>6.2f} {mh['burn_in_ancestors']:>5} {mh['delta']:>7.4f} {r['peak_rss_mib']:>6.0f}"
        )
    nuts = record["nuts"]
    if "skipped" in nuts:
        print(f"(c) NUTS (1 chain): skipped — {nuts['skipped']}")
    else:
        print(
            f"(c) NUTS (1 chain, {nuts['warmup']} warm-up + {nuts['samples']} samples): {nuts['iterations_per_second']:.2f} it/s, "
            f"{nuts['samples_per_second']:.2f} samples/s ({nuts['samples_per_cpu_second']:.2f}/CPU-s), ESS {nuts['ess_bulk_min']:.1f}, "
            f"ESS/s {nuts['ess_per_second']:.3f} ({nuts['ess_per_cpu_second']:.3f}/CPU-s), Δ {nuts['delta']:.4f}"
        )
    g = record["ratios"]
    print(
        f"at N={g['reference_particles']}: MH/fwd {_fmt(g['mh_over_forward'], '.2f')} (CPU {_fmt(g['mh_over_forward_cpu'], '.2f')}; "
        f"goal ≥ {GOAL_MH_OVER_FORWARD}); MH ESS/s over NUTS {_fmt(g['ess_over_nuts'], '.0f')}× "
        f"(CPU {_fmt(g['ess_over_nuts_cpu'], '.0f')}×; goal ≥ {GOAL_ESS_OVER_NUTS:g}×)"
    )
    rep = record.get("replicates")
    if rep:
        nuts_e = rep.get("nuts")
        if nuts_e:
            print(f"issue's measure pooled over all seeds (ESS/CPU-s): {_fmt(rep['arviz_ess_over_nuts_cpu_pooled'], '.0f')}×")
        print(
            f"(d) empirical ESS per run from {rep['mh']['runs']} seeds: MH {rep['mh']['ess_per_run']:.1f}"
            + (f", NUTS {nuts_e['ess_per_run']:.1f}" if nuts_e else "")
            + f"; empirical ESS/CPU-s ratio MH/NUTS {_fmt(rep['ess_over_nuts_cpu'], '.1f')}× (wall {_fmt(rep['ess_over_nuts'], '.1f')}×)"
        )
        if rep.get("exact"):
            print(
                f"(d) exact mean {np.round(rep['exact']['mean'], 3).tolist()}; bias MH {np.round(rep['mh']['bias_of_grand_mean'], 2).tolist()}"
                + (f", NUTS {np.round(nuts_e['bias_of_grand_mean'], 2).tolist()}" if nuts_e else "")
                + f"; ESS counting bias per run MH {rep['mh']['ess_exact_per_run']:.1f}"
                + (f", NUTS {nuts_e['ess_exact_per_run']:.1f}; ratio {_fmt(rep.get('ess_exact_over_nuts_cpu'), '.1f')}×" if nuts_e else "")
            )


class Checkpoint:
    """Stage results saved as they finish, so ``--resume`` can continue a killed run.

    A full run with ``--replicates`` takes about an hour on a shared 2-CPU machine; each finished
    stage (one MH row, one NUTS run, one replicate) is written to ``<out>/<name>.partial.json``
    with a fingerprint of the settings that change results, and reused only when it matches. The
    file is removed when the run completes.
    """

    def __init__(self, path: Path, fingerprint: dict, resume: bool) -> None:
        self.path, self.fingerprint, self.stages = path, fingerprint, {}
        if resume and path.is_file():
            saved = json.loads(path.read_text())
            if saved.get("fingerprint") == fingerprint:
                self.stages = saved.get("stages", {})
                print(f"resuming: {len(self.stages)} finished stage(s) from {path}", file=sys.stderr)

    def run(self, key: str, fn: Callable[[], dict]) -> dict:
        """Return the saved result of stage ``key``, or compute, save and return it."""
        if key in self.stages:
            return self.stages[key]
        value = fn()
        from levelsets.artifacts import to_jsonable, write_json

        self.stages[key] = to_jsonable(value)
        write_json(self.path, {"fingerprint": self.fingerprint, "stages": self.stages})
        return self.stages[key]

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", choices=["synthetic", "shapes", "mnist"], default="synthetic")
    parser.add_argument("--particles", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--steps", type=int, default=300, help="MH steps per particle, burn-in included (default: levelsets sample's)")
    parser.add_argument("--burn-in", type=int, default=None, help="default: 200 with the default steps (levelsets sample's), else half the steps")
    parser.add_argument("--thin", type=int, default=1, help="keep every thin-th post-burn-in state as a draw")
    parser.add_argument("--nuts-warmup", type=int, default=200)
    parser.add_argument("--nuts-samples", type=int, default=500)
    parser.add_argument("--nuts-max-tree-depth", type=int, default=10, help="Pyro's default is 10")
    parser.add_argument(
        "--replicates", type=int, default=0, help="K ≥ 3: empirical-ESS check at the reference N with K seeds per method"
    )
    parser.add_argument(
        "--quadrature-step", type=float, default=0.6, help="shapes + --replicates: grid step of the exact posterior mean"
    )
    parser.add_argument(
        "--ablation", action="store_true",
        help="also run the sampler without independence moves (independence_every=0) at the reference N, "
        "with the replicates' seeds: what the independence moves contribute, measured in the same run",
    )
    parser.add_argument("--forward-seconds", type=float, default=2.0, help="minimum timing window per batch size")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "results", help="directory for the JSON and markdown results")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run: N in {20, 50}, few steps")
    parser.add_argument("--resume", action="store_true", help="reuse the finished stages of a killed run with the same settings")
    args = parser.parse_args(argv)

    from levelsets.artifacts import provenance, to_jsonable, write_json, write_sidecar
    from levelsets.devices import resolve_device
    from levelsets.targets import parse_target

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.particles, args.steps, args.forward_seconds = [20, 50], 12, 0.05
        args.nuts_warmup, args.nuts_samples, args.nuts_max_tree_depth = 5, 8, 4
    if args.burn_in is None:
        args.burn_in = 200 if args.steps == 300 else args.steps // 2
    if args.replicates and args.replicates < 3:
        parser.error("--replicates needs at least 3 seeds")
    device = resolve_device(args.device)
    load_start = load_average()
    w = build_world(args.world, device)
    target = parse_target(w.target_spec, w.class_names)

    name = f"sampler_throughput_{args.world}{'_quick' if args.quick else ''}"
    fingerprint = {k: v for k, v in vars(args).items() if k not in NOT_IN_FINGERPRINT}
    checkpoint = Checkpoint(Path(args.out) / f"{name}.partial.json", to_jsonable(fingerprint), args.resume)

    def row_for(n: int) -> dict:
        before = forward_throughput(w, n, device, args.forward_seconds)
        mh = run_mh(w, target, n, args.steps, args.burn_in, args.thin, device, args.seed)
        after = forward_throughput(w, n, device, args.forward_seconds)
        fwd = {k: 0.5 * (before[k] + after[k]) for k in ("wall", "cpu")}
        return {
                "particles": n,
                "forward_images_per_second": fwd["wall"],
                "forward_images_per_cpu_second": fwd["cpu"],
                "forward_before_mh": before,
                "forward_after_mh": after,
                "mh": mh,
                "mh_over_forward": mh["particle_steps_per_second"] / fwd["wall"],
                "mh_over_forward_cpu": mh["particle_steps_per_cpu_second"] / fwd["cpu"],
                "peak_rss_mib": peak_rss_mb(),
                "cuda_peak_mib": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None,
            }

    rows = []
    for n in args.particles:
        rows.append(checkpoint.run(f"row {n}", lambda n=n: row_for(n)))
        fwd = {"wall": rows[-1]["forward_images_per_second"], "cpu": rows[-1]["forward_images_per_cpu_second"]}
        mh = rows[-1]["mh"]
        print(
            f"N={n}: forward {fwd['wall']:.0f} img/s ({fwd['cpu']:.0f}/CPU-s), MH {mh['particle_steps_per_second']:.0f} "
            f"particle-steps/s ({mh['particle_steps_per_cpu_second']:.0f}/CPU-s), forward share of MH wall time "
            f"{mh['forward_share_of_wall']:.2f}, ESS {mh['ess_bulk_min']:.0f}, load {load_average()}",
            file=sys.stderr,
        )

    def nuts_for(seed: int) -> dict:
        return checkpoint.run(
            f"nuts {seed}", lambda: run_nuts(w, target, args.nuts_warmup, args.nuts_samples, seed, args.nuts_max_tree_depth)
        )

    nuts = nuts_for(args.seed)
    ref = next((r for r in rows if r["particles"] == REFERENCE_PARTICLES), rows[-1])
    nuts_ess, nuts_ess_cpu = nuts.get("ess_per_second"), nuts.get("ess_per_cpu_second")
    ratios = {
        "reference_particles": ref["particles"],
        "mh_over_forward": ref["mh_over_forward"],
        "mh_over_forward_cpu": ref["mh_over_forward_cpu"],
        "forward_share_of_mh_wall": ref["mh"]["forward_share_of_wall"],
        "ess_over_nuts": _ratio(ref["mh"]["ess_per_second"], nuts_ess),
        "ess_over_nuts_cpu": _ratio(ref["mh"]["ess_per_cpu_second"], nuts_ess_cpu),
        "goal_mh_over_forward": GOAL_MH_OVER_FORWARD,
        "goal_ess_over_nuts": GOAL_ESS_OVER_NUTS,
    }

    replicates = None
    if args.replicates:
        seeds = [args.seed + i for i in range(1, args.replicates)]
        n_ref = ref["particles"]
        mh_runs = [ref["mh"]]
        for seed in seeds:
            mh_runs.append(
                checkpoint.run(
                    f"mh {n_ref} {seed}", lambda s=seed: run_mh(w, target, n_ref, args.steps, args.burn_in, args.thin, device, s)
                )
            )
            print(f"replicate MH seed {seed}: mean {np.round(mh_runs[-1]['trace_mean'], 2)}", file=sys.stderr)
        replicates = {"particles": n_ref, "mh": empirical_ess(mh_runs)}
        if "skipped" not in nuts:
            nuts_runs = [nuts]
            for seed in seeds:
                nuts_runs.append(nuts_for(seed))
                print(f"replicate NUTS seed {seed}: mean {np.round(nuts_runs[-1]['trace_mean'], 2)}", file=sys.stderr)
            replicates["nuts"] = empirical_ess(nuts_runs)
            # the issue's measure with NUTS's noisy single-chain ESS pooled over all its seeds
            pooled = sum(r["ess_bulk_min"] for r in nuts_runs) / sum(r["cpu_seconds"] for r in nuts_runs)
            mh_pooled = sum(r["ess_bulk_min"] for r in mh_runs) / sum(r["cpu_seconds"] for r in mh_runs)
            replicates["nuts_arviz_ess_per_cpu_second_pooled"] = pooled
            replicates["mh_arviz_ess_per_cpu_second_pooled"] = mh_pooled
            replicates["arviz_ess_over_nuts_cpu_pooled"] = mh_pooled / pooled if pooled > 0 else None
        if args.world == "shapes":
            exact = checkpoint.run(
                f"quadrature {args.quadrature_step}", lambda: shapes_quadrature(w, target, args.quadrature_step)
            )
            replicates["exact"] = exact
            against_exact(replicates["mh"], exact)
            if "nuts" in replicates:
                against_exact(replicates["nuts"], exact)
                replicates["ess_exact_over_nuts_cpu"] = _ratio(
                    replicates["mh"]["ess_exact_per_cpu_second"], replicates["nuts"]["ess_exact_per_cpu_second"]
                )
        nuts_e = replicates.get("nuts")
        replicates["ess_over_nuts"] = _ratio(replicates["mh"]["ess_per_second"], nuts_e and nuts_e["ess_per_second"])
        replicates["ess_over_nuts_cpu"] = _ratio(
            replicates["mh"]["ess_per_cpu_second"], nuts_e and nuts_e["ess_per_cpu_second"]
        )

    ablation = None
    if args.ablation:
        n_ref = ref["particles"]
        seeds = [args.seed + i for i in range(max(args.replicates, 1))]
        off = [
            checkpoint.run(
                f"ablation {n_ref} {seed}",
                lambda s=seed: run_mh(w, target, n_ref, args.steps, args.burn_in, args.thin, device, s, **ABLATION),
            )
            for seed in seeds
        ]
        ablation = {"settings": ABLATION, "particles": n_ref, "run": off[0]}
        ablation["ess_over_nuts_cpu"] = _ratio(off[0]["ess_per_cpu_second"], nuts_ess_cpu)
        ablation["with_over_without_arviz_ess_cpu"] = _ratio(ref["mh"]["ess_per_cpu_second"], off[0]["ess_per_cpu_second"])
        if len(off) >= 3:
            ablation["replicates"] = empirical_ess(off)
            if replicates:
                ablation["with_over_without_empirical_ess_cpu"] = _ratio(
                    replicates["mh"]["ess_per_cpu_second"], ablation["replicates"]["ess_per_cpu_second"]
                )
        print(
            f"ablation (independence_every=0), N={n_ref}: ESS {off[0]['ess_bulk_min']:.0f}, R-hat {off[0]['rhat_max']:.2f}, "
            f"{off[0]['particle_steps_per_cpu_second']:.0f} p-steps/CPU-s",
            file=sys.stderr,
        )

    record = {
        "world": args.world,
        "data": w.data,
        "forward": w.forward,
        "target": target.to_dict(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine_info(device),
        "load_average": {"start": load_start, "end": load_average()},
        "rows": rows,
        "nuts": nuts,
        "ratios": ratios,
        "replicates": replicates,
        "ablation": ablation,
        "peak_rss_mib": peak_rss_mb(),
        "provenance": provenance(settings=vars(args), seed=args.seed, data=w.data),
    }
    print_summary(record)
    path = Path(args.out) / f"{name}.json"
    write_json(path, record)
    md_path = Path(args.out) / f"{name}.md"
    md_path.write_text(markdown(record))
    write_sidecar(md_path, {"made_from": f"{name}.json", **record["provenance"]})
    checkpoint.finish()
    print(f"\nwrote {path} and {md_path}")
    return record


if __name__ == "__main__":
    main()

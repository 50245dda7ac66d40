"""The run as a whole: a row per N (forward, MH, forward), NUTS, the reference ratios, check (d), ablation.

Every stage goes through the :class:`~.resume.Checkpoint`, so a killed run resumes with the
finished stages' figures. :func:`measure` returns the record's measured part; the CLI
(``benchmarks/sampler_throughput.py``) adds the settings, machine and provenance and writes it.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from . import ABLATION, GOAL_ESS_OVER_NUTS, GOAL_MH_OVER_FORWARD, REFERENCE_PARTICLES
from .machine import load_average, peak_rss_mb
from .quadrature import shapes_quadrature
from .replicates import against_exact, empirical_ess, ratio
from .resume import Checkpoint
from .runners import forward_throughput, run_mh, run_nuts
from .worlds import BenchWorld


def measure(args: argparse.Namespace, w: BenchWorld, target, device: torch.device, checkpoint: Checkpoint) -> dict:
    """Run every stage the options ask for; returns ``rows``, ``nuts``, ``ratios``, ``replicates``, ``ablation``."""
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
        "ess_over_nuts": ratio(ref["mh"]["ess_per_second"], nuts_ess),
        "ess_over_nuts_cpu": ratio(ref["mh"]["ess_per_cpu_second"], nuts_ess_cpu),
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
            # the measure with NUTS's noisy single-chain ESS pooled over all its seeds
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
                replicates["ess_exact_over_nuts_cpu"] = ratio(
                    replicates["mh"]["ess_exact_per_cpu_second"], replicates["nuts"]["ess_exact_per_cpu_second"]
                )
        nuts_e = replicates.get("nuts")
        replicates["ess_over_nuts"] = ratio(replicates["mh"]["ess_per_second"], nuts_e and nuts_e["ess_per_second"])
        replicates["ess_over_nuts_cpu"] = ratio(
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
        ablation["ess_over_nuts_cpu"] = ratio(off[0]["ess_per_cpu_second"], nuts_ess_cpu)
        ablation["with_over_without_arviz_ess_cpu"] = ratio(ref["mh"]["ess_per_cpu_second"], off[0]["ess_per_cpu_second"])
        if len(off) >= 3:
            ablation["replicates"] = empirical_ess(off)
            if replicates:
                ablation["with_over_without_empirical_ess_cpu"] = ratio(
                    replicates["mh"]["ess_per_cpu_second"], ablation["replicates"]["ess_per_cpu_second"]
                )
        print(
            f"ablation (independence_every=0), N={n_ref}: ESS {off[0]['ess_bulk_min']:.0f}, R-hat {off[0]['rhat_max']:.2f}, "
            f"{off[0]['particle_steps_per_cpu_second']:.0f} p-steps/CPU-s",
            file=sys.stderr,
        )
    return {"rows": rows, "nuts": nuts, "ratios": ratios, "replicates": replicates, "ablation": ablation}

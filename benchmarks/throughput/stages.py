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


class Stages:
    """The stages of one run, each saved through the checkpoint under its own key."""

    def __init__(self, args: argparse.Namespace, w: BenchWorld, target, device: torch.device, checkpoint: Checkpoint) -> None:
        self.args, self.w, self.target, self.device, self.checkpoint = args, w, target, device, checkpoint

    def mh(self, n: int, seed: int, **overrides) -> dict:
        """One MH run at N = n (not checkpointed: the callers name the stage)."""
        a = self.args
        return run_mh(self.w, self.target, n, a.steps, a.burn_in, a.thin, self.device, seed, **overrides)

    def row(self, n: int) -> dict:
        """Stage (a) + (b) at N = n: forward pass before and after the MH run, and their ratio."""
        w, device, seconds = self.w, self.device, self.args.forward_seconds
        before = forward_throughput(w, n, device, seconds)
        mh = self.mh(n, self.args.seed)
        after = forward_throughput(w, n, device, seconds)
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

    def rows(self) -> list[dict]:
        """A row per ``--particles`` N, each reported on stderr as it finishes."""
        rows = []
        for n in self.args.particles:
            rows.append(self.checkpoint.run(f"row {n}", lambda n=n: self.row(n)))
            fwd = {"wall": rows[-1]["forward_images_per_second"], "cpu": rows[-1]["forward_images_per_cpu_second"]}
            mh = rows[-1]["mh"]
            print(
                f"N={n}: forward {fwd['wall']:.0f} img/s ({fwd['cpu']:.0f}/CPU-s), MH {mh['particle_steps_per_second']:.0f} "
                f"particle-steps/s ({mh['particle_steps_per_cpu_second']:.0f}/CPU-s), forward share of MH wall time "
                f"{mh['forward_share_of_wall']:.2f}, ESS {mh['ess_bulk_min']:.0f}, load {load_average()}",
                file=sys.stderr,
            )
        return rows

    def nuts(self, seed: int) -> dict:
        """Stage (c): one NUTS run."""
        a = self.args
        return self.checkpoint.run(
            f"nuts {seed}", lambda: run_nuts(self.w, self.target, a.nuts_warmup, a.nuts_samples, seed, a.nuts_max_tree_depth)
        )

    def replicates(self, ref: dict, nuts: dict) -> dict:
        """Check (d) at the reference N: ``--replicates`` seeds of each method (the first is the main run)."""
        args, checkpoint = self.args, self.checkpoint
        seeds = [args.seed + i for i in range(1, args.replicates)]
        n_ref = ref["particles"]
        mh_runs = [ref["mh"]]
        for seed in seeds:
            mh_runs.append(checkpoint.run(f"mh {n_ref} {seed}", lambda s=seed: self.mh(n_ref, s)))
            print(f"replicate MH seed {seed}: mean {np.round(mh_runs[-1]['trace_mean'], 2)}", file=sys.stderr)
        replicates = {"particles": n_ref, "mh": empirical_ess(mh_runs)}
        if "skipped" not in nuts:
            nuts_runs = [nuts]
            for seed in seeds:
                nuts_runs.append(self.nuts(seed))
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
                f"quadrature {args.quadrature_step}", lambda: shapes_quadrature(self.w, self.target, args.quadrature_step)
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
        return replicates

    def ablation(self, ref: dict, nuts: dict, replicates: dict | None) -> dict:
        """``--ablation``: the reference N without independence sweeps, with the replicates' seeds."""
        n_ref = ref["particles"]
        seeds = [self.args.seed + i for i in range(max(self.args.replicates, 1))]
        off = [self.checkpoint.run(f"ablation {n_ref} {seed}", lambda s=seed: self.mh(n_ref, s, **ABLATION)) for seed in seeds]
        ablation = {"settings": ABLATION, "particles": n_ref, "run": off[0]}
        ablation["ess_over_nuts_cpu"] = ratio(off[0]["ess_per_cpu_second"], nuts.get("ess_per_cpu_second"))
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
        return ablation


def reference_ratios(ref: dict, nuts: dict) -> dict:
    """The goals at the reference N: MH over the forward pass, MH ArviZ ESS/s over NUTS's."""
    return {
        "reference_particles": ref["particles"],
        "mh_over_forward": ref["mh_over_forward"],
        "mh_over_forward_cpu": ref["mh_over_forward_cpu"],
        "forward_share_of_mh_wall": ref["mh"]["forward_share_of_wall"],
        "ess_over_nuts": ratio(ref["mh"]["ess_per_second"], nuts.get("ess_per_second")),
        "ess_over_nuts_cpu": ratio(ref["mh"]["ess_per_cpu_second"], nuts.get("ess_per_cpu_second")),
        "goal_mh_over_forward": GOAL_MH_OVER_FORWARD,
        "goal_ess_over_nuts": GOAL_ESS_OVER_NUTS,
    }


def measure(args: argparse.Namespace, w: BenchWorld, target, device: torch.device, checkpoint: Checkpoint) -> dict:
    """Run every stage the options ask for; returns ``rows``, ``nuts``, ``ratios``, ``replicates``, ``ablation``."""
    stages = Stages(args, w, target, device, checkpoint)
    rows = stages.rows()
    nuts = stages.nuts(args.seed)
    ref = next((r for r in rows if r["particles"] == REFERENCE_PARTICLES), rows[-1])
    replicates = stages.replicates(ref, nuts) if args.replicates else None
    ablation = stages.ablation(ref, nuts, replicates) if args.ablation else None
    return {"rows": rows, "nuts": nuts, "ratios": reference_ratios(ref, nuts), "replicates": replicates, "ablation": ablation}

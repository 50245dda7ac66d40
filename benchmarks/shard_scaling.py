"""Sharded sampling: particle-steps/s of K = 2 Ray shards vs K = 1, one torch thread each (issue 13, item 3).

One run measures, on the same models and the same N, alternating so that a change in the
machine's load hits both alike:

* **K = 1**: the single-process sampler (:func:`levelsets.inference.sampler.sample_level_set`) in
  this process with one torch thread — what ``levelsets sample`` runs;
* **K = 2**: :func:`levelsets.workflows.shards.sample_sharded` with two Ray actors of one torch
  thread each, N/2 particles per actor. Timed from dispatching the two shards to pooling their
  results (``sampling_seconds``: includes shipping the results back and pooling); the cluster
  start and the actors' start-up (models shipped once) are reported apart (``startup_seconds``).

Reported: particle-steps/s = N × T / seconds for each K and repeat, and the ratio K=2 / K=1 per
repeat and its median; also particle-steps per CPU second (this process for K = 1, the sum over
the actors' processes for K = 2) and its ratio, the *efficiency* of sharding: independent of how
many cores the neighbours leave us, K × efficiency is the ratio K shards reach on K idle cores
(if memory bandwidth does not bind). The issue's goal is a ratio ≥ 1.6 at N = 10,000 on this 2-core machine.
**The machine is shared**: other engineers' jobs run on the same two cores, so the load average
(``os.getloadavg()``, before and after every measurement) is stored beside every figure; a load
above 2 means the two shards do not get two cores to themselves and the ratio says more about
the neighbours than about sharding. Read the ratio together with the load.

Usage::

    python benchmarks/shard_scaling.py                        # MNIST VAE, N = 10,000, 40 steps, 2 repeats
    python benchmarks/shard_scaling.py --world shapes --steps 20 --repeats 1   # a quick check

Writes ``benchmarks/results/shard_scaling_<world>.json`` (with provenance) and ``.md`` (the table of
docs/sweeps.md, rendered from the JSON by :func:`markdown`, with a ``.md.json`` sidecar).

Plan for 100 GPUs (the written plan of issue 13, item 3; also in docs/sweeps.md)
-------------------------------------------------------------------------------
Sharding as built is *embarrassingly parallel*: K shards are K independent samplers of the same
target (band: adaptive-level SMC islands; Dirichlet: tempered SMC + MH), pooled once at the end
(equal-weight union; band mass = mean over all islands, SE from their spread). On 100 GPUs:

* **Layout.** ``ray start --head`` on one node, ``ray start --address HEAD:6379`` on the others;
  ``sample_sharded(..., shards=100, gpus=1)`` places one actor per GPU. Each actor holds one copy
  of the generator and classifier and runs N/100 particles (10^6 particles → 10^4 per GPU: one
  batched forward pass per step, well inside a GPU's batch sweet spot).
* **Communication per step: none.** Every step is local to its GPU (decoder + classifier on
  N/100 particles, MH accept, resampling within the shard). Per run: the models once per node
  (object store; a VAE decoder + CNN is ~1–20 MB), the settings and target (bytes), and one result
  per shard at the end: final positions and probabilities (N/100 × (d + K) floats), the n/100
  samples, and the thinned trace (N/100 × D × (d + K + 3) floats — 10^4 × 20 × 20 × 8 B ≈ 32 MB per
  shard; pass ``thin`` larger or drop the trace for 10^6 particles).
* **Cost of independence.** Each shard's adaptive levels (band) and tempering schedule
  (Dirichlet) come from its own N/100 particles: the O(1/N_k) bias of adaptive SMC is that of a
  10^4-particle run, not of a 10^6-particle one. For the band mass this is negligible next to its
  Monte Carlo error at 10^4 particles per shard; for the population moves (independence and DE
  sweeps) the proposal is fitted to the shard's own population, which at 10^4 particles covers
  the level set's modes as well as a whole single-GPU run does today.
* **If cross-shard coupling is ever wanted** (one set of levels / temperatures for all 10^6
  particles, or population moves that see every shard): per step, an all-reduce of the
  deviation quantile (band: a histogram of D, ~1 KB per shard, or the shard's ρ-quantile and
  count — 2 floats) or of the incremental-weight sums for the ESS bisection (Dirichlet: ~30
  bisection rounds × 2 floats); resampling across shards then moves particles between GPUs
  (expected N/100 × d floats per shard when islands are unbalanced). With NCCL (``torch.distributed``
  inside Ray actors, or Ray collective) that is ~100 µs per step at this message size, against a
  forward pass of ~10 ms: affordable, but not needed for exactness, so not built.
* **Failure.** A dead actor loses its shard; ``sample_sharded`` raises (no partial pooling), and
  a sweep cell (``levelsets sweep --shards``) is retried by Ray as a whole.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def markdown(record: dict) -> str:
    """The docs table: particle-steps/s of K = 1 and K shards per repeat, their ratio and its efficiency."""
    runs, k = record["runs"], record["shards"]
    single = [r for r in runs if r["shards"] == 1]
    sharded = [r for r in runs if r["shards"] == k]
    loads = [r[key][0] for r in runs for key in ("load_before", "load_after")]
    startup = [r["startup_seconds"] for r in sharded]
    repeats = len(single)
    head = "| | " + " | ".join(f"repeat {r['repeat']}" for r in single) + " |"
    lines = [
        f"Measured on {record['provenance']['created'][:10]} ({record['world']} world, target {record['target']}, "
        f"{record['relaxation']}, N = {record['particles']:,}, {record['steps']} steps, {repeats} alternating "
        f"repeat{'s' if repeats != 1 else ''}; 1-minute load average {min(loads):.1f}–{max(loads):.1f} around the "
        f"measurements, on {record['cpu_count']} CPUs):",
        "",
        head,
        "|---" * (repeats + 1) + "|",
        "| K = 1, particle-steps/s | " + " | ".join(f"{r['particle_steps_per_second']:,.0f}" for r in single) + " |",
        f"| K = {k}, particle-steps/s | " + " | ".join(f"{r['particle_steps_per_second']:,.0f}" for r in sharded) + " |",
        f"| ratio K = {k} / K = 1 | " + " | ".join(f"**{x:.2f}**" for x in record["ratio_per_repeat"]) + " |",
        "| ratio per CPU second | " + " | ".join(f"{x:.2f}" for x in record["cpu_efficiency_per_repeat"]) + " |",
        "",
        f"Median ratio **{record['ratio_median']:.2f}×** (goal ≥ {record['goal_ratio']:g}×); Ray's start-up "
        f"({min(startup):.1f}–{max(startup):.1f} s, the models shipped once to the actors) is reported apart.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", default="mnist", help="mnist (VAE prior) or shapes")
    parser.add_argument("--target", default=None, help="default: 1vs7 (mnist), ambiguous (shapes)")
    parser.add_argument("--particles", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--burn-in", type=int, default=30)
    parser.add_argument("--relaxation", default="band")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    import ray

    from levelsets.artifacts import provenance, write_json, write_sidecar
    from levelsets.inference.sampler import SamplerSettings, sample_level_set
    from levelsets.logs import enable
    from levelsets.seeding import seed_everything
    from levelsets.targets import parse_target
    from levelsets.workflows.ray_cluster import ray_cluster
    from levelsets.workflows.shards import sample_sharded
    from levelsets.worlds import class_names, load_world

    torch.set_num_threads(1)
    seed_everything(args.seed)
    enable()  # levelsets' notes (models trained on first use) on stderr
    world = load_world(args.world, device="cpu")
    target = parse_target(args.target or ("1vs7" if args.world == "mnist" else "ambiguous"), class_names(args.world))
    target_t = torch.as_tensor(target.probs, dtype=torch.float32)
    settings = SamplerSettings(particles=args.particles, steps=args.steps, burn_in=args.burn_in,
                               samples=min(100, args.particles), relaxation=args.relaxation, seed=args.seed,
                               device="cpu", progress=False)
    work = args.particles * args.steps
    runs: list[dict] = []
    with ray_cluster(None, num_cpus=max(os.cpu_count() or 1, args.shards)):
        for rep in range(args.repeats):
            before = _load()
            started, cpu = time.perf_counter(), time.process_time()
            single = sample_level_set(world.prior, world.decoder, world.classifier, target_t, settings)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            runs.append({"repeat": rep, "shards": 1, "seconds": seconds, "particle_steps_per_second": work / seconds,
                         "cpu_seconds": cpu, "particle_steps_per_cpu_second": work / cpu,
                         "load_before": before, "load_after": _load(), "evaluations": single.forward_evaluations})
            print(f"K=1 repeat {rep}: {work / seconds:,.0f} particle-steps/s ({seconds:.1f} s, load {before} → {_load()})")
            before = _load()
            timings: dict = {}
            sharded = sample_sharded(world.prior, world.decoder, world.classifier, target_t, settings,
                                     shards=args.shards, threads=1, timings=timings)
            seconds = timings["sampling_seconds"]
            runs.append({"repeat": rep, "shards": args.shards, "seconds": seconds,
                         "particle_steps_per_second": work / seconds, "startup_seconds": timings["startup_seconds"],
                         "shard_seconds": timings["shard_seconds"], "cpu_seconds": sum(timings["shard_cpu_seconds"]),
                         "particle_steps_per_cpu_second": work / sum(timings["shard_cpu_seconds"]),
                         "load_before": before, "load_after": _load(),
                         "evaluations": sharded.forward_evaluations})
            print(f"K={args.shards} repeat {rep}: {work / seconds:,.0f} particle-steps/s ({seconds:.1f} s + "
                  f"{timings['startup_seconds']:.1f} s start-up; shards {[round(s, 1) for s in timings['shard_seconds']]} s; "
                  f"load {before} → {_load()})")
        resources = {k: v for k, v in ray.cluster_resources().items() if k in ("CPU", "GPU")}
    ratios = [b["particle_steps_per_second"] / a["particle_steps_per_second"]
              for a, b in zip(runs[::2], runs[1::2])]
    cpu_ratios = [b["particle_steps_per_cpu_second"] / a["particle_steps_per_cpu_second"]
                  for a, b in zip(runs[::2], runs[1::2])]
    record = {
        "world": args.world, "target": target.spec, "relaxation": args.relaxation, "particles": args.particles,
        "steps": args.steps, "shards": args.shards, "torch_threads_per_shard": 1, "runs": runs,
        "ratio_per_repeat": ratios, "ratio_median": statistics.median(ratios), "goal_ratio": 1.6,
        "cpu_efficiency_per_repeat": cpu_ratios, "cpu_efficiency_median": statistics.median(cpu_ratios),
        "ideal_ratio_from_cpu_efficiency": args.shards * statistics.median(cpu_ratios),
        "cpu_count": os.cpu_count(), "ray_resources": resources,
        "note": "shared 2-core machine: other engineers' jobs load it; read the ratio with load_before/load_after",
        "provenance": provenance(settings=vars(args), seed=args.seed, data=world.data),
    }
    path = args.out or RESULTS / f"shard_scaling_{args.world}.json"
    write_json(path, record)
    md_path = path.with_suffix(".md")
    md_path.write_text(markdown(record))
    write_sidecar(md_path, {"made_from": path.name, **record["provenance"]})
    print(f"ratio K={args.shards}/K=1 per repeat {[round(r, 2) for r in ratios]}, median {record['ratio_median']:.2f} "
          f"(goal ≥ 1.6); per CPU second {[round(r, 2) for r in cpu_ratios]} (so ≤ "
          f"{record['ideal_ratio_from_cpu_efficiency']:.2f} with {args.shards} idle cores); load average now {_load()}; "
          f"wrote {path}")
    return record


if __name__ == "__main__":
    main()

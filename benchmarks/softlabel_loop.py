r"""Soft-label methods vs the closed level-set loop on the shapes world (issue 4, item 7).

For each seed, on the same recipe (ShapesCNN, ``--n-train`` base shapes with hard labels, the zoo's
epochs and optimizer) and the same held-out sets:

* **hard labels** — soft-label CE on one-hot labels (this is also round 0 of the loop);
* **label smoothing**, **mixup**, **Mix-MaxEnt**, **Ent-WC** — :mod:`levelsets.softlabels.methods`
  with their default settings, on the same hard-labelled base data;
* **loop (truth)** — :func:`levelsets.loop.run_loop` with the ``truth`` labeler: each round samples
  level sets of the previous round's classifier (ambiguous and the 0.25 / 0.75 class-pair targets),
  labels the samples by the world's exact posterior p(class | z), adds them to the training data
  and retrains from scratch; rounds 1..R are reported.

Metrics (all from :func:`levelsets.loop.evaluate_round`): on a held-out set drawn near the class
boundary (max_c p(c | z) ≤ 0.9, labelled by the exact posterior, each shape carrying the class
that generated it) — KL(exact ‖ classifier), CE, CE after FGSM at ℓ∞ = 4/255, argmax agreement
with the Bayes classifier, and the RMSE calibration error with adaptive binning (seed 001:
"correct" when the argmax agrees with the label's argmax) three ways: against the true classes
(the usual calibration error on labelled data; the done-when measure), with expected correctness
(the exact posterior's probability of the predicted class: the same in expectation, without the
sampling noise of the classes), and against the exact posterior's argmax (which rewards
over-confidence near the boundary: the exact posterior itself scores ~0.3 there); on ordinary
held-out shapes from the prior with their true classes — accuracy and RMSE calibration error.

Every cell is the mean over seeds ± the half-width of a 95% Student-t interval. The issue's
"done when" check compares the loop's last round with round 0 *within each seed* (paired): the
relative KL reduction, the change in each calibration error and the change in held-out accuracy,
each with its own interval.

Usage::

    python benchmarks/softlabel_loop.py                       # full run, 3 seeds (~15-25 min on 2 busy cores)
    python benchmarks/softlabel_loop.py --seeds 0 1 2 3 4 --workers 2
    python benchmarks/softlabel_loop.py --quick --out /tmp/b  # smoke run (seconds)
    python benchmarks/softlabel_loop.py --reaggregate benchmarks/results/softlabel_loop.json  # table only

A last row evaluates the exact posterior itself (KL 0): it shows what each metric scores for a
perfect classifier of this world — in particular that the calibration error against the
posterior's argmax is far from 0 for it on the near-boundary set (it is right by argmax everywhere
while its confidence is ~0.7), whereas against the true classes it is small (sampling noise only)
and with expected correctness exactly 0.

Writes ``<out>/softlabel_loop.json`` (settings, per-seed rows, aggregates, provenance) and
``<out>/softlabel_loop.md`` (the README table), and prints the table.
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

METRICS = (
    ("kl", "KL(exact‖f) ↓"),
    ("ce", "CE ↓"),
    ("calibration_rmse_true_class", "calib. RMSE, true classes ↓"),
    ("calibration_rmse_expected", "calib. RMSE, expected ↓"),
    ("calibration_rmse", "calib. RMSE vs posterior argmax ↓"),
    ("fgsm_ce", "FGSM CE ↓"),
    ("accuracy", "acc. near boundary ↑"),
    ("heldout_accuracy", "held-out acc. ↑"),
    ("heldout_calibration_rmse", "held-out calib. RMSE ↓"),
)
CALIBRATION_CHECKS = {
    "calibration_rmse_true_class": "calibration RMSE near the boundary, true classes (the done-when measure)",
    "calibration_rmse_expected": "calibration RMSE near the boundary, expected correctness",
    "heldout_calibration_rmse": "calibration RMSE on held-out shapes from the prior (true classes)",
    "calibration_rmse": "calibration RMSE near the boundary against the posterior's argmax (rewards over-confidence)",
}
"""Calibration measures compared between the loop's last round and round 0, first = the one the issue is judged by."""
BASELINES = (
    ("label-smoothing", "label smoothing"),
    ("mixup", "mixup"),
    ("mix-maxent", "Mix-MaxEnt"),
    ("ent-wc", "Ent-WC"),
)
FULL = {"rounds": 3, "n_train": 4000, "epochs": None, "samples_per_target": 300, "particles": 600, "steps": 150,
        "burn_in": 100, "alpha": 50.0, "augment_repeat": 1, "eval_size": 2000, "heldout_size": 4000}
QUICK = {"rounds": 1, "n_train": 300, "epochs": 1, "samples_per_target": 8, "particles": 16, "steps": 8,
         "burn_in": 4, "alpha": 50.0, "augment_repeat": 1, "eval_size": 100, "heldout_size": 100}


def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom."""
    from scipy import stats

    return float(stats.t.ppf(0.975, df))


def mean_ci(values: list[float]) -> dict[str, float]:
    r"""Mean and 95% interval half-width :math:`t_{0.975,n-1}\,s/\sqrt n` (NaN for n = 1)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return {"mean": mean, "ci95": float("nan"), "n": n}
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return {"mean": mean, "ci95": t_quantile_975(n - 1) * sd / math.sqrt(n), "n": n}


def run_seed(seed: int, settings: dict[str, Any], workdir: str, threads: int) -> dict[str, Any]:
    """All methods for one seed; returns {method key: metrics} and timings."""
    import torch

    torch.set_num_threads(threads)
    from levelsets.loop import LoopSettings, evaluate_round, loop_eval_sets, run_loop
    from levelsets.softlabels.soft_training import train_with_soft_labels

    work = Path(workdir) / f"seed{seed}"
    started = time.perf_counter()
    loop = run_loop(LoopSettings(world="shapes", labeler="truth", seed=seed, device="cpu", out=work / "loop",
                                 overwrite=True, progress=False, **settings))
    rows: dict[str, dict[str, float]] = {}
    for row in loop.table:
        key = "hard" if row["round"] == 0 else f"loop_round_{row['round']}"
        rows[key] = {k: float(row[k]) for k, _ in METRICS}
    loop_seconds = time.perf_counter() - started
    sets = loop_eval_sets("shapes", eval_size=settings["eval_size"], heldout_size=settings["heldout_size"], seed=seed)
    extra = {"epochs": settings["epochs"]} if settings["epochs"] else {}
    for method, _ in BASELINES:
        model, _card = train_with_soft_labels("shapes", method=method, n_train=settings["n_train"], seed=seed, device="cpu",
                                              out=work / method / "model.pt", progress=False,
                                              n_heldout=settings["heldout_size"], **extra)
        metrics = evaluate_round(model, sets, "cpu")
        rows[method] = {k: float(metrics[k]) for k, _ in METRICS}
    return {"seed": seed, "rows": rows, "loop_seconds": loop_seconds, "seconds": time.perf_counter() - started}


def bayes_reference(seed: int, settings: dict[str, Any]) -> dict[str, float]:
    """The metrics of the exact posterior itself used as the classifier (a floor, not a method).

    KL is 0 and argmax agreement 1 by construction; FGSM does not apply (NaN): the exact
    posterior is a function of the latents, not of the pixels.
    """
    from levelsets.evaluation.classifier import (
        calibration_rmse,
        cross_entropy,
        kl_divergence,
        true_class_metrics,
    )
    from levelsets.loop import loop_eval_sets

    sets = loop_eval_sets("shapes", eval_size=settings["eval_size"], heldout_size=settings["heldout_size"], seed=seed)
    near = sets.near_labels
    held = true_class_metrics(sets.heldout_posteriors, sets.heldout_classes)
    return {
        "kl": kl_divergence(near, near),
        "ce": cross_entropy(near, near),
        "calibration_rmse_true_class": true_class_metrics(near, sets.near_classes)["calibration_rmse_true_class"],
        "calibration_rmse_expected": calibration_rmse(near, near, correctness="expected"),
        "calibration_rmse": calibration_rmse(near, near),
        "fgsm_ce": float("nan"),
        "accuracy": 1.0,
        "heldout_accuracy": held["accuracy_true_class"],
        "heldout_calibration_rmse": held["calibration_rmse_true_class"],
    }


def method_order(rounds: int, *, reference: bool = False) -> list[tuple[str, str]]:
    """(key, display name) of every table row, in order."""
    rows = [("hard", "hard labels (CE) = loop round 0"), *BASELINES,
            *[(f"loop_round_{r}", f"loop, truth labels, round {r}") for r in range(1, rounds + 1)]]
    return [*rows, ("bayes", "reference: exact posterior p(c|z)")] if reference else rows


def aggregate(per_seed: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    """Mean ± CI per method and metric, and the paired done-when checks (last round vs round 0)."""
    table = {}
    for key, _ in method_order(rounds, reference=all("bayes" in s["rows"] for s in per_seed)):
        table[key] = {m: mean_ci([s["rows"][key][m] for s in per_seed]) for m, _ in METRICS}
    last = f"loop_round_{rounds}"
    kl_reduction = [1.0 - s["rows"][last]["kl"] / s["rows"]["hard"]["kl"] for s in per_seed]
    d_cal = {m: [s["rows"][last][m] - s["rows"]["hard"][m] for s in per_seed]
             for m in CALIBRATION_CHECKS}
    d_acc = [100.0 * (s["rows"][last]["heldout_accuracy"] - s["rows"]["hard"]["heldout_accuracy"]) for s in per_seed]
    checks = {
        "kl_relative_reduction": mean_ci(kl_reduction),
        "calibration_change": {m: mean_ci(v) for m, v in d_cal.items()},
        "heldout_accuracy_change_points": mean_ci(d_acc),
    }
    checks["kl_reduction_at_least_30pct"] = {
        "mean": checks["kl_relative_reduction"]["mean"] >= 0.30,
        "every_seed": all(v >= 0.30 for v in kl_reduction),
    }
    checks["calibration_lower"] = {m: {"mean": mean_ci(v)["mean"] < 0, "every_seed": all(x < 0 for x in v)}
                                   for m, v in d_cal.items()}
    checks["accuracy_drop_at_most_1_point"] = {"mean": checks["heldout_accuracy_change_points"]["mean"] >= -1.0,
                                               "every_seed": all(v >= -1.0 for v in d_acc)}
    return {"table": table, "done_when": checks}


def _missing(value: float | None) -> bool:
    """NaN in memory; ``null`` once written to JSON (strict JSON has no NaN)."""
    return value is None or math.isnan(value)


def _cell(stat: dict[str, float]) -> str:
    if _missing(stat["mean"]):
        return "—"
    if _missing(stat["ci95"]):
        return f"{stat['mean']:.4f}"
    return f"{stat['mean']:.4f} ± {stat['ci95']:.4f}"


def markdown(result: dict[str, Any]) -> str:
    """The README table plus the done-when lines."""
    rounds = result["settings"]["rounds"]
    agg = result["aggregate"]
    seeds = result["seeds"]
    head = ["method", *[name for _, name in METRICS]]
    lines = [
        f"Shapes world, {len(seeds)} seeds ({', '.join(map(str, seeds))}); mean ± 95% t-interval half-width. "
        f"Near-boundary held-out set: {result['settings']['eval_size']} shapes with max_c p(c|z) ≤ 0.9, labelled by "
        f"the exact posterior; held-out: {result['settings']['heldout_size']} shapes from the prior. "
        f"Base data: {result['settings']['n_train']} hard-labelled shapes; loop adds "
        f"{result['settings']['samples_per_target']} samples × 3 targets per round.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for key, name in method_order(rounds, reference="bayes" in agg["table"]):
        lines.append("| " + " | ".join([name, *[_cell(agg["table"][key][m]) for m, _ in METRICS]]) + " |")
    dw = agg["done_when"]
    cal = dw["calibration_change"]
    lines += [
        "",
        f"Paired, loop round {rounds} vs round 0 (per seed, then mean ± 95% CI):",
        f"- KL(exact‖f) relative reduction: {_pct(dw['kl_relative_reduction'])} "
        f"(≥ 30%: mean {_yes(dw['kl_reduction_at_least_30pct']['mean'])}, every seed {_yes(dw['kl_reduction_at_least_30pct']['every_seed'])})",
        *[f"- change in {label}: {_cell(cal[m])} (lower: mean {_yes(dw['calibration_lower'][m]['mean'])}, "
          f"every seed {_yes(dw['calibration_lower'][m]['every_seed'])})"
          for m, label in CALIBRATION_CHECKS.items()],
        f"- change in held-out accuracy: {dw['heldout_accuracy_change_points']['mean']:+.2f} ± "
        f"{dw['heldout_accuracy_change_points']['ci95']:.2f} points (drop ≤ 1 point: mean "
        f"{_yes(dw['accuracy_drop_at_most_1_point']['mean'])}, every seed {_yes(dw['accuracy_drop_at_most_1_point']['every_seed'])})",
    ]
    return "\n".join(lines) + "\n"


def _pct(stat: dict[str, float]) -> str:
    ci = "" if math.isnan(stat["ci95"]) else f" ± {100 * stat['ci95']:.1f}"
    return f"{100 * stat['mean']:.1f}%{ci}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse arguments, run every seed, write JSON + markdown, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rounds", type=int, default=None, help="Loop rounds after round 0 (default 3; quick 1).")
    parser.add_argument("--n-train", type=int, default=None, help="Hard-labelled base shapes (default 4000).")
    parser.add_argument("--samples-per-target", type=int, default=None)
    parser.add_argument("--augment-repeat", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="Tiny settings, two seeds: a smoke run for tests.")
    parser.add_argument("--workers", type=int, default=1,
                        help="Seeds run in parallel: Ray tasks on a local cluster of workers × threads CPUs.")
    parser.add_argument("--threads", type=int, default=1, help="Torch threads per process.")
    parser.add_argument("--workdir", type=Path, default=None, help="Where classifiers and runs go (default: a temp dir).")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--reaggregate", type=Path, default=None,
                        help="Recompute the reference row, aggregates and table from a previous JSON (no training).")
    args = parser.parse_args(argv)

    from levelsets.artifacts import provenance, write_json, write_sidecar

    started = time.perf_counter()
    if args.reaggregate is not None:
        import json

        previous = json.loads(args.reaggregate.read_text())
        settings, seeds, per_seed = previous["settings"], previous["seeds"], previous["per_seed"]
        args.quick = previous["quick"]
        started -= previous["wall_seconds"]
    else:
        settings = dict(QUICK if args.quick else FULL)
        for name in ("rounds", "n_train", "samples_per_target", "augment_repeat"):
            if getattr(args, name) is not None:
                settings[name] = getattr(args, name)
        seeds = args.seeds if not (args.quick and args.seeds == [0, 1, 2]) else [0, 1]
        if len(seeds) < 2:
            parser.error("give at least two seeds (intervals need them)")
        with tempfile.TemporaryDirectory(prefix="softlabel_loop_") as tmp:
            workdir = str(args.workdir or tmp)
            if args.workers > 1:
                # the seeds as Ray tasks, like a sweep's cells
                from levelsets.workflows.task_map import map_tasks

                per_seed = map_tasks(functools.partial(run_seed, settings=settings, workdir=workdir, threads=args.threads),
                                     seeds, threads=args.threads, num_cpus=args.workers * args.threads,
                                     progress=True, desc="seeds")
            else:
                per_seed = []
                for seed in seeds:
                    print(f"seed {seed} ...", file=sys.stderr, flush=True)
                    per_seed.append(run_seed(seed, settings, workdir, args.threads))
    for record in per_seed:
        record["rows"]["bayes"] = bayes_reference(record["seed"], settings)
    result: dict[str, Any] = {
        "benchmark": "softlabel_loop",
        "quick": args.quick,
        "seeds": seeds,
        "settings": settings,
        "metrics": dict(METRICS),
        "per_seed": per_seed,
        "wall_seconds": time.perf_counter() - started,
    }
    result["aggregate"] = aggregate(per_seed, settings["rounds"])
    result.update(provenance(settings=settings, seed=seeds[0], data="shapes world (exact generative process; no external data)",
                             workers=args.workers, threads=args.threads))
    name = "softlabel_loop_quick" if args.quick else "softlabel_loop"
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / f"{name}.json", result)
    md = markdown(result)
    (args.out / f"{name}.md").write_text(md)
    write_sidecar(args.out / f"{name}.md", {"made_from": f"{name}.json", **provenance(settings=settings, seed=seeds[0])})
    print(md)
    return result


if __name__ == "__main__":
    main()

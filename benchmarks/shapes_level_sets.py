"""Seed 003's shapes level sets: ``levelsets sample --world shapes --relaxation dirichlet`` per target.

For the targets ``ambiguous`` (β = 0.5), ``confident:house`` and ``confident:rocket``, at seed 0 and
``levelsets sample``'s defaults (1,000 particles × 300 steps, the shapes world's α = 300) with seed
003's Dirichlet relaxation, run through :func:`levelsets.workflows.sample.run_sample_job` with
``--compare-prior``: the mean predicted probability of "house", the mean confidence max_l f_l
against seed 003's goals (0.47–0.53 for ``ambiguous``, ≥ 0.95 for the confident targets), the
exact posterior mean p(house | z) of the samples (the shapes world knows it in closed form), Δ,
and the yield against prior rejection at the same classifier budget (effective samples within
±0.05 and ±0.01 per evaluation, :func:`levelsets.inference.diagnostics.sampling_yield`).

Outputs ``benchmarks/results/shapes_level_sets.{json,md}`` (``benchmarks/render_results.py``
re-renders the ``.md``). Usage::

    python benchmarks/shapes_level_sets.py                       # minutes on 2 cores (trains the shapes CNN if missing)
    python benchmarks/shapes_level_sets.py --quick --out /tmp/s  # tiny settings (tests)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TARGETS = (("ambiguous", (0.47, 0.53)), ("confident:house", (0.95, 1.0)), ("confident:rocket", (0.95, 1.0)))
QUICK = {"particles": 40, "steps": 12, "burn_in": 6, "samples": 10}


def figures(summary: dict[str, Any], goal: tuple[float, float]) -> dict[str, Any]:
    """The figures of one shapes run, read from its ``summary.json``."""
    confidence = summary["mean_confidence"]
    return {"target": summary["target"]["spec"], "alpha": summary["alpha"], "seed": summary["seed"],
            "particles": summary["particles"], "steps": summary["steps"],
            "mean_house": summary["mean_probs"]["house"], "mean_confidence": confidence, "goal": list(goal),
            "meets_goal": goal[0] <= confidence <= goal[1],
            "exact_house": summary["exact_posterior_mean"]["house"], "delta": summary["delta"],
            "compare_prior": summary.get("compare_prior"), "wall_seconds": summary["wall_seconds"]}


def _f(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _goal(goal: list[float]) -> str:
    return f"goal ≥ {goal[0]:g}" if goal[1] >= 1 else f"goal {goal[0]:g}–{goal[1]:g}"


def markdown(record: dict[str, Any]) -> str:
    """The shapes table and the yield against prior rejection."""
    rows = record["rows"]
    lines = ["| target | α | mean f(x)_house | mean confidence max_l f_l | exact posterior mean p(house \\| z) | Δ |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        confidence = f"{r['mean_confidence']:.3f}"
        lines.append(f"| `{r['target']}` | {r['alpha']:g} | {r['mean_house']:.3f} | "
                     f"{f'**{confidence}**' if r['meets_goal'] else confidence} ({_goal(r['goal'])}) | "
                     f"{r['exact_house']:.3f} | {r['delta']:.1%} |")
    first = rows[0]
    lines += ["", f"Seed {first['seed']}, N = {first['particles']:,}, {first['steps']} steps, `--relaxation dirichlet`; "
              f"run of {record['provenance']['created'][:10]} (`benchmarks/shapes_level_sets.py`). Bold: meets seed 003's goal.",
              "", "Yield against prior rejection (`--compare-prior`: effective samples within the band per classifier "
              "evaluation, the same budget for both):", "",
              "| target | band | MH | prior rejection | MH / prior | rejection keeps |", "|---|---|---|---|---|---|"]
    for r in rows:
        for band, y in (r["compare_prior"] or {}).items():
            kept = y["prior_accepted"] / y["prior_evaluations"]
            ratio = "—" if y["ratio"] is None else f"{y['ratio']:.2g}×"
            lines.append(f"| `{r['target']}` | {band} | {_f(y['mh'])} | {_f(y['prior'])} | {ratio} | {kept:.1%} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny settings (tests)")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE.parent / "src"))
    from results_io import save_results

    from levelsets.artifacts import provenance
    from levelsets.workflows.sample import SampleJob, run_sample_job

    rows = []
    with tempfile.TemporaryDirectory(prefix="shapes_level_sets_") as work:
        for target, goal in TARGETS:
            job = SampleJob(world="shapes", target=target, relaxation="dirichlet", compare_prior=True, seed=0,
                            out=Path(work) / target.replace(":", "-"), progress=False, **(QUICK if args.quick else {}))
            result = run_sample_job(job)
            rows.append(figures(json.loads((result.out / "summary.json").read_text()), goal))
            print(f"{target}: confidence {rows[-1]['mean_confidence']:.3f}, {rows[-1]['wall_seconds']:.0f} s", flush=True)
    record = {"benchmark": "shapes_level_sets", "rows": rows,
              "provenance": provenance(settings={"targets": [t for t, _ in TARGETS], "relaxation": "dirichlet",
                                                 "sample_options": QUICK if args.quick else "levelsets sample defaults"},
                                       seed=0, data="shapes world (rendered from its exact generative process)")}
    name = "shapes_level_sets_quick" if args.quick else "shapes_level_sets"
    save_results(args.out, name, record, markdown(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())

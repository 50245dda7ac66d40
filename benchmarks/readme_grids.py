"""The README's sample grids and their figures: four ``levelsets sample --target 1vs7 --seed 0`` jobs.

VAE and GAN prior × ``--relaxation band`` (the default) and ``--relaxation dirichlet`` (seed 003's
posterior), each at ``levelsets sample``'s defaults (1,000 particles × 300 steps), run through the
Python API (:func:`levelsets.workflows.sample.run_sample_job`) on the cached models. Each run's
``grid.png`` is copied to ``docs/images/`` under the name the README shows it by, and
``benchmarks/results/readme_grids.json`` gets each run's figures, read from its ``summary.json``:
visual families of n (effective, largest family's share) and intensity against real 1s and 7s, Δ,
share within ±0.05 and, for the band, its prior mass ± standard error — with the provenance (date,
commit, versions, machine, load average). ``benchmarks/render_results.py`` renders the README's
caption table from that JSON (:func:`markdown`) and ``tests/benchmarks/test_render_results.py``
checks the README's copy is verbatim.

Usage::

    python benchmarks/readme_grids.py                      # the four runs (minutes on 2 cores)
    python benchmarks/readme_grids.py --quick --out /tmp/g # tiny settings; images and JSON go to --out

``--quick`` writes nothing under ``docs/`` or ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
IMAGES = ROOT / "docs" / "images"
TARGET, SEED = "1vs7", 0

#: (prior, relaxation, the image's file name in docs/images/ — the names the README uses).
RUNS = (
    ("vae", "band", "mnist_1vs7_vae_band_grid.png"),
    ("vae", "dirichlet", "mnist_1vs7_vae_grid.png"),
    ("gan", "band", "mnist_1vs7_gan_band_grid.png"),
    ("gan", "dirichlet", "mnist_1vs7_gan_grid.png"),
)
QUICK = {"particles": 40, "steps": 12, "burn_in": 6, "samples": 10}


def figures(summary: dict[str, Any]) -> dict[str, Any]:
    """The figures of one run that the README quotes, read from its ``summary.json``."""
    quality, band = summary["quality"], summary.get("band") or {}
    return {
        "prior": summary["prior"],
        "relaxation": summary["relaxation"],
        "target": summary["target"]["spec"],
        "seed": summary["seed"],
        "n": quality["n"],
        "families": quality["families"],
        "effective_families": quality["effective_families"],
        "largest_family_share": quality["largest_family_share"],
        "near_copy_share": quality.get("near_copy_share"),
        "reference_near_copy_share": quality.get("reference_near_copy_share"),
        "intensity_ratio": quality["intensity_ratio"],
        "quality_reference": quality["reference"],
        "reference_families": quality.get("reference_families"),
        "reference_subset": quality.get("reference_subset"),
        "delta": summary["delta"],
        "within_tolerance": summary["within_tolerance"],
        "tolerance": summary["tolerance"],
        "target_classes_share": summary.get("target_classes_share"),
        "burn_in_ancestors": summary.get("burn_in_ancestors"),
        "acceptance_rate": summary.get("acceptance_rate"),
        "rhat_max": summary.get("rhat_max"),
        "ess_bulk_min": summary.get("ess_bulk_min"),
        "band_mass": band.get("mass"),
        "band_mass_se": band.get("mass_se"),
        "particles": summary["particles"],
        "steps": summary["steps"],
        "wall_seconds": summary["wall_seconds"],
    }


def mass_text(mass: float | None, se: float | None) -> str:
    """``3.3e-4 ± 0.6e-4``: a mass and its standard error in the mass's power of ten ("—" without one)."""
    if mass is None or not mass > 0:
        return "—"
    exponent = int(f"{mass:.1e}".split("e")[1])
    scale = 10.0**exponent
    return f"{mass / scale:.1f}e{exponent} ± {se / scale:.1f}e{exponent}"


def one_in(mass: float) -> str:
    """``3,000``: 1 / mass to two significant figures, with thousands separators."""
    return f"{float(f'{1 / mass:.2g}'):,.0f}"


def _label(row: dict[str, Any]) -> str:
    options = ([] if row["prior"] == "vae" else [f"--prior {row['prior']}"]) + (
        [] if row["relaxation"] == "band" else [f"--relaxation {row['relaxation']}"])
    return f"`{' '.join(options)}`" if options else "defaults (VAE, band)"


def markdown(record: dict[str, Any]) -> str:
    """The README's caption table of the four grids, the real digits' yardstick and what the band masses mean."""
    rows = record["rows"]
    first, tol = rows[0], rows[0]["tolerance"]
    lines = [
        f"| `levelsets sample --target {first['target']} --seed {first['seed']}` | visual families of n "
        f"(effective; largest family) | near copies | intensity vs real | Δ | within ±{tol:g} | band prior mass ± SE |",
        "|---" * 7 + "|",
    ]
    for r in rows:
        families = f"{r['families']} of {r['n']}"
        if r["relaxation"] == "band":
            families = f"**{families}**"
        largest = round(r["largest_family_share"] * r["n"])
        copies = "—" if r.get("near_copy_share") is None else f"{r['near_copy_share']:.0%}"
        lines.append(f"| {_label(r)} | {families} ({r['effective_families']:.1f}; {largest} of {r['n']}) | {copies} "
                     f"| {r['intensity_ratio']:.0%} | {r['delta']:.2%} | {r['within_tolerance']:.0%} "
                     f"| {mass_text(r['band_mass'], r['band_mass_se'])} |")
    prose = []
    if first.get("reference_families") is not None:
        copies = first.get("reference_near_copy_share")
        prose.append(f"As a yardstick, {first['reference_subset']} real {_pair(first['target'])} form "
                     f"{first['reference_families']} visual families"
                     + ("." if copies is None else f", {copies:.0%} of them near copies (closer to another image than "
                        "95 % of real digits are to their nearest neighbour)."))
    band = [r for r in rows if r["band_mass"]]
    if band:
        odds = " and ".join(f"one in {one_in(r['band_mass'])} for the {r['prior'].upper()}" for r in band)
        prose.append(f"The band's prior mass is how often the generator makes such an image: {odds}.")
    prose.append(f"Run of {record['provenance']['created'][:10]} (`benchmarks/readme_grids.py`).")
    return "\n".join(lines) + "\n\n" + textwrap.fill(" ".join(prose), width=100) + "\n"


def _pair(target: str) -> str:
    """``1vs7`` → ``1s and 7s``."""
    a, _, b = target.partition("vs")
    return f"{a}s and {b}s" if b else f"images of {target}"


def _commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def run(quick: bool, image_dir: Path, work: Path) -> list[dict[str, Any]]:
    """Run the four jobs in ``work``, copy each grid to ``image_dir``; return their figures."""
    import json

    from levelsets.workflows.sample import SampleJob, run_sample_job

    rows = []
    for prior, relaxation, image in RUNS:
        out = work / f"{prior}-{relaxation}"
        settings = QUICK if quick else {}
        job = SampleJob(target=TARGET, prior=prior, relaxation=relaxation, seed=SEED, out=out, progress=False, **settings)
        result = run_sample_job(job)
        summary = json.loads((result.out / "summary.json").read_text())
        shutil.copyfile(result.out / "grid.png", image_dir / image)
        rows.append({**figures(summary), "image": f"docs/images/{image}" if image_dir == IMAGES else str(image_dir / image)})
        print(f"{prior} {relaxation}: {rows[-1]['families']} families, Δ {rows[-1]['delta']:.2%}, "
              f"{rows[-1]['wall_seconds']:.0f} s", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny settings (tests); writes only under --out")
    ap.add_argument("--out", type=Path, default=None, help="where the JSON (and with --quick the images) go")
    args = ap.parse_args(argv)
    if args.quick and args.out is None:
        ap.error("--quick needs --out (it never writes under docs/ or benchmarks/results/)")
    sys.path.insert(0, str(ROOT / "src"))
    from levelsets.artifacts import provenance, write_json

    results = args.out or HERE / "results"
    image_dir = args.out if args.quick else IMAGES
    results.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="readme_grids_") as work:
        rows = run(args.quick, image_dir, Path(work))
    settings = {"target": TARGET, "runs": [{"prior": p, "relaxation": r} for p, r, _ in RUNS],
                "sample_options": QUICK if args.quick else "levelsets sample defaults"}
    record = {"benchmark": "readme_grids", "rows": rows,
              "load_average": {"start": list(load_start), "end": list(os.getloadavg())},
              "provenance": provenance(settings=settings, seed=SEED, data=rows[0]["quality_reference"], commit=_commit())}
    name = "readme_grids_quick" if args.quick else "readme_grids"
    write_json(results / f"{name}.json", record)
    text = markdown(record)
    (results / f"{name}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

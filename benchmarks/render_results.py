"""Render the benchmark tables of the documentation from the results JSON, so no figure is retyped.

Every ``benchmarks/results/<name>.md`` that a page under ``docs/`` includes (``--8<--``) is made
from JSON here, by the benchmark script's own ``markdown`` writer (the scripts write the same file
when they run). Made here: ``sampler_throughput_summary.md`` (one row per world, from the three
throughput JSON files), ``level_set_quality_summary.md`` (the README's band vs rejection table),
``mnist32_world.md`` and ``mnist32_readme.md`` (docs/worlds.md's table and the README's sentence on
the 32-d world, from its runs and the README grids' 5-d run), ``independence_sweeps.md``
(docs/sampler.md's measurement, from the MNIST throughput JSON) and ``results_provenance.md``
(every measured JSON's date, command and load). The README cannot include files, so it holds copies
of rendered snippets (tables and sentences), which ``tests/benchmarks/test_render_results.py``
checks are verbatim. Nothing is measured: this only re-renders what the JSON holds, so it takes
seconds. Each file written gets a ``.md.json`` sidecar naming the JSON it was made from.

Usage::

    python benchmarks/render_results.py           # rewrite the stale .md files (and their sidecars)
    python benchmarks/render_results.py --check   # list the stale ones; exit 1 if any

``tests/benchmarks/test_render_results.py`` runs the check, and checks that every results snippet
the docs include is rendered here.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import textwrap
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from estimates import binomial_yield, se_apart

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
THROUGHPUT_WORLDS = ("mnist", "shapes", "synthetic")
MNIST32_SOURCES = ("mnist32_world.json", "mnist32_world_0731.json", "readme_grids.json")


@cache
def script(name: str) -> ModuleType:
    """The benchmark script ``benchmarks/<name>.py`` as a module (its ``main`` is not run)."""
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def throughput_summary(records: dict[str, dict[str, Any]]) -> str:
    """One row per world: the throughput goal and the ESS ratios vs NUTS, per CPU second, at N = 1,000.

    ``records`` maps a world name to its ``sampler_throughput_<world>.json``. Columns: MH
    particle-steps per forward-pass image (goal ≥ 0.8); MH ESS/s over NUTS ESS/s with ArviZ's bulk
    ESS of one NUTS run and, in brackets, pooled over the replicate seeds; the cross-seed ESS ratio
    (spread of run means; with quadrature, counting bias too); the ablation without independence
    sweeps (ArviZ ratio, and cross-seed ESS per run without vs with the sweeps).
    """
    lines = [
        "| world | measured (load average at start → end) | MH / forward pass, per CPU-s (goal ≥ 0.8) "
        "| ESS/s vs NUTS, ArviZ: one NUTS run (pooled over seeds) | ESS/s vs NUTS, cross-seed "
        "| without the independence sweeps (same run): ArviZ / cross-seed ESS per run |",
        "|---" * 6 + "|",
    ]
    for world, record in records.items():
        g, rep, abl = record["ratios"], record.get("replicates") or {}, record.get("ablation")
        load = record["load_average"]
        pooled = rep.get("arviz_ess_over_nuts_cpu_pooled")
        arviz = f"**{_fmt(g['ess_over_nuts_cpu'], '.0f')}×**" + (f" ({pooled:.0f}×)" if pooled is not None else "")
        cross = "—"
        if rep.get("ess_over_nuts_cpu") is not None:
            value = rep["ess_over_nuts_cpu"]
            cross = f"**{value:.0f}×**" if value >= 10 else f"{value:.1f}×"
            if rep.get("ess_exact_over_nuts_cpu") is not None:
                cross += f" ({rep['ess_exact_over_nuts_cpu']:.0f}× counting bias vs quadrature)"
        ablation = "not run"
        if abl:
            ablation = f"{_fmt(abl['ess_over_nuts_cpu'], '.0f')}×"
            if abl.get("replicates") and rep.get("mh"):
                ablation += f" / {abl['replicates']['ess_per_run']:.1f} vs {rep['mh']['ess_per_run']:,.0f}"
        lines.append(
            f"| {world}, {record['target']['spec']} | {record['provenance']['created'][:10]} "
            f"({load['start'][0]:.1f} → {load['end'][0]:.1f}) | **{_fmt(g['mh_over_forward_cpu'], '.2f')}** "
            f"| {arviz} | {cross} | {ablation} |"
        )
    return "\n".join(lines) + "\n"


def _percent(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f} %"


def level_set_quality_summary(record: dict[str, Any], dirichlet: dict[str, Any], tolerance: float = 0.05) -> str:
    """The README's table: band vs prior rejection at ±``tolerance`` per prior × target, and the Dirichlet.

    ``record`` is ``level_set_quality.json`` (means over its seeds), ``dirichlet`` a run with the
    Dirichlet method (``level_set_quality_dirichlet_seed0.json``). Each cell: visual families of the n
    returned (and, in brackets, averaged over every pick of n the method could have returned) · Δ ·
    share within ±τ · intensity relative to real digits of the target's classes.
    """
    def cell(row: dict[str, Any] | None, method: str, bold: bool = False) -> str:
        if row is None or row.get(f"{method}_families") is None:
            return "—"
        mean = row.get(f"{method}_families_mean")
        families = f"{row[f'{method}_families']:.1f}" + ("" if mean is None else f" ({mean:.1f})")
        delta = "—" if row[f"{method}_delta"] is None else f"{100 * row[f'{method}_delta']:.2f} %"
        return (f"{f'**{families}**' if bold else families} of {row[f'{method}_n']:.0f} · {delta} · "
                f"{_percent(row[f'{method}_within_tolerance'])} · {_percent(row[f'{method}_intensity_ratio'])}")

    old = {(r["prior"], r["target"]): r for r in dirichlet["rows"] if r["tolerance"] == tolerance}
    old_seeds = ", ".join(str(s) for s in sorted({s for r in dirichlet["rows"] for s in r["seeds"]}))
    lines = [
        f"| prior × target | band (default): families of n (mean over picks) · Δ · within ±{tolerance:g} · intensity "
        f"| prior rejection, same budget | Dirichlet (old default; seed {old_seeds}, "
        f"run of {dirichlet['created'][:10]}) |",
        "|---" * 4 + "|",
    ]
    rows = sorted((r for r in record["rows"] if r["tolerance"] == tolerance),
                  key=lambda r: (r["prior"] != "vae", r["prior"], r["target"]))
    for r in rows:
        lines.append(f"| {r['prior'].upper()} {r['target']} | {cell(r, 'band', bold=True)} | {cell(r, 'rejection')} "
                     f"| {cell(old.get((r['prior'], r['target'])), 'dirichlet')} |")
    return "\n".join(lines) + "\n"


def near_copies_findings(record: dict[str, Any], longer: dict[str, Any] | None = None, tolerance: float = 0.05) -> str:
    """The README's paragraph on near copies, band vs rejection, from ``level_set_quality`` runs that recorded them.

    ``record``: a run at ``levelsets sample``'s budget; ``longer``: the same cells at a larger ``--steps``
    (both methods at that budget), or None. Shares are the means over every pick of 100 and over seeds.
    """
    def cells(rec: dict[str, Any]) -> list[dict[str, Any]]:
        return sorted((r for r in rec["rows"] if r["tolerance"] == tolerance
                       and r.get("band_near_copy_share_mean") is not None and r.get("rejection_near_copy_share_mean") is not None),
                      key=lambda r: (r["prior"] != "vae", r["prior"], r["target"]))

    def listing(rows: list[dict[str, Any]]) -> str:
        return ", ".join(f"{r['prior'].upper()} {r['target']} {r['band_near_copy_share_mean']:.0%} vs "
                         f"{r['rejection_near_copy_share_mean']:.0%}" for r in rows)

    def excess(rows: list[dict[str, Any]]) -> str:
        points = max(round(100 * r["band_near_copy_share_mean"]) - round(100 * r["rejection_near_copy_share_mean"])
                     for r in rows)  # of the percentages as printed
        return f"{points} point{'' if abs(points) == 1 else 's'}"

    rows = cells(record)
    seeds = ", ".join(str(s) for s in record["seed"])
    real = [c["band"]["reference_near_copy_share"] for c in record["cells"] if c["band"].get("reference_near_copy_share") is not None]
    text = (f"**Near copies.** Families do not see everything: the share of samples with a near copy (closer than "
            f"95 % of real digits are to their nearest neighbour; among as many real digits of the target's classes: "
            f"{min(real):.0%}–{max(real):.0%}), averaged over every pick of 100 each method could return and over seeds "
            f"{seeds} (run of {record['created'][:10]}), band vs rejection at {record['settings']['steps']} steps: "
            f"{listing(rows)} — the band's at most {excess(rows)} above rejection's. The generators "
            "themselves repeat: rejection's exact draws of the band hold these near copies too. ")
    if longer is not None and cells(longer):
        lrows = cells(longer)
        text += (f"The excess is mixing that {record['settings']['steps']} steps leave unfinished after the last "
                 f"level's resampling: at `--steps {longer['settings']['steps']}` (both methods at that budget; run of "
                 f"{longer['created'][:10]}) it reads {listing(lrows)}, at most {excess(lrows)}. ")
    return text.rstrip() + "\n"


def level_set_quality_findings(record: dict[str, Any], rare: dict[str, Any], mass_check: dict[str, Any] | None = None,
                               tolerance: float = 0.05) -> str:
    """The README's reading of ``level_set_quality.json`` (and the ``--rare`` run), every figure computed here.

    Families: the band's pick-averaged count over rejection's, per prior × target; Δ: the largest excess of
    the band's over rejection's; masses: each run's band mass against rejection's binomial yield, in combined
    standard errors; intensity: both methods' range where it falls under 80 % of real, next to the
    generators' confident images of the same classes (``intensity_check``); the thin band: families per
    evaluation against rejection pooled over seeds; the rare bands: families, the per-evaluation bound,
    the mass against the exact one; ``mass_check`` (``band_mass_check.json``): the thin band's mass against
    importance sampling.
    """
    rows = sorted((r for r in record["rows"] if r["tolerance"] == tolerance),
                  key=lambda r: (r["prior"] != "vae", r["prior"], r["target"]))
    ratios = ", ".join(f"{r['prior'].upper()} {r['target']} {r['band_families_mean'] / r['rejection_families_mean']:.0%}"
                       for r in rows)
    delta = max(r["band_delta"] - r["rejection_delta"] for r in rows)
    zs = []
    for c in record["cells"]:
        if c["tolerance"] == tolerance and c["band"]["band"]["reached_tolerance"]:
            y, sy = binomial_yield(c["rejection"]["kept"], c["rejection"]["evaluations"])
            zs.append(se_apart(c["band"]["band"]["mass"], c["band"]["band"]["mass_se"], y, sy))
    within = sum(abs(z) <= 2 for z in zs)
    worst = max(zs, key=abs)
    dim = [r for r in rows if r["band_intensity_ratio"] < 0.8 or r["rejection_intensity_ratio"] < 0.8]
    lo = min(min(r["band_intensity_ratio"], r["rejection_intensity_ratio"]) for r in dim) if dim else None
    hi = max(max(r["band_intensity_ratio"], r["rejection_intensity_ratio"]) for r in dim) if dim else None
    checks = {(c["prior"], row["class"]): row["ratio"] for c in record.get("intensity_check") or [] for row in c["rows"]}
    dim_classes = sorted({int(k) for r in dim for k in r["target"].split("vs")})
    confident = [checks[(r["prior"], k)] for r in dim for k in dim_classes if checks.get((r["prior"], k)) is not None]
    text = [f"Means over seeds {', '.join(str(s) for s in record['seed'])} (run of {record['created'][:10]}). "
            "The visual families among 100 images vary from one pick of 100 to the next, so the brackets "
            "average every pick each method could have returned. Against rejection the band keeps "
            f"{ratios} of its visual families, with Δ at most {100 * max(delta, 0):.2f} points above rejection's; "
            f"its prior-mass estimates are within two combined standard errors of rejection's yields in {within} "
            f"of {len(zs)} runs (largest gap {worst:+.1f})."]
    classes = " and ".join(f"{k}s" for k in sorted({int(k) for r in dim for k in r["target"].split("vs")}))
    if dim:
        names = " and ".join(f"{r['prior'].upper()} {r['target']}" for r in dim)
        dim_cells = [c for c in record["cells"] if c["tolerance"] == tolerance
                     and any((c["prior"], c["target"]) == (r["prior"], r["target"]) for r in dim)]
        ink = {m: statistics.fmean(c[m]["mean_intensity"] for c in dim_cells) for m in ("band", "rejection")}
        real_ink = {row["class"]: row["real_intensity"] for c in record.get("intensity_check") or [] for row in c["rows"]}
        per_class = ", ".join(f"{k}s {real_ink[k]:.3f}" for k in dim_classes if k in real_ink)
        text.append(f" On {names} neither method reaches 80 % of the brightness of real {classes} "
                    f"({lo:.0%}–{hi:.0%}: mean pixel value {ink['band']:.3f} for the band, {ink['rejection']:.3f} for "
                    f"rejection, against {dim_cells[0]['band']['reference_mean_intensity']:.3f} for the real digits"
                    f"{f' — {per_class}' if per_class else ''}), yet the generators are not faint: their confident images of "
                    f"{classes} carry {min(confident):.0%}–{max(confident):.0%} of the real digits' ink "
                    "(`--intensity-check`, table in docs/benchmarks.md).")
        if dim_classes == [1, 7]:
            text.append(" A digit the CNN finds half 1, half 7 is a 1 with a hook — about a 1's ink, less than a 7's — "
                        "and the band samples exactly the generator's images at that prediction, as rejection does.")
    thin = [r for r in record["rows"] if r["tolerance"] < tolerance and r.get("rejection_kept_total") is not None]
    for r in thin:
        band = r["band_families"] / r["band_evaluations"]
        bound = max(r["rejection_kept_total"], 1) / r["rejection_evaluations_total"]
        masses = [m for m in r["band_mass"] if m == m]
        group = [c["rejection"] for c in record["cells"] if c["prior"] == r["prior"] and "seconds" in c["rejection"]]
        rate = sum(g["evaluations"] for g in group) / sum(g["seconds"] for g in group)
        need = 5 / statistics.fmean(masses)
        text.append(f" At ±{r['tolerance']:g} ({r['prior'].upper()} {r['target']}) the band returns "
                    f"{r['band_families']:.1f} families of 100 per {r['band_evaluations']:,.0f} evaluations, all within "
                    f"±{r['tolerance']:g}, where rejection kept {r['rejection_kept_total']} of "
                    f"{r['rejection_evaluations_total']:,} draws (≥ {band / bound:.0f}× the families per evaluation); "
                    f"its mass estimates, {min(masses):.1g}–{max(masses):.1g}, are beyond a brute-force check here: "
                    f"five expected hits need ~{need:.0e} draws, {need / rate / 3600:.0f} h at the {rate:,.0f} "
                    "draws/s rejection ran at.")
        checks = [c for c in (mass_check or {}).get("rows", [])
                  if (c["prior"], c["target"], c["tolerance"]) == (r["prior"], r["target"], r["tolerance"])]
        if checks:
            text.append(_mass_check_sentence(checks, [p for p in (mass_check or {}).get("pooled") or []
                                                      if (p["prior"], p["tolerance"]) == (r["prior"], r["tolerance"])]))
    if rare.get("rare"):
        text.append("\n\n**Where rejection is hopeless** (`--rare`: projection worlds rendered as 16 × 16 images, "
                    "16-d latent, exact band masses; run of " + rare["created"][:10] + "):")
        for name in sorted({c["world"] for c in rare["rare"]}, reverse=True):
            cells = [c for c in rare["rare"] if c["world"] == name]
            fam = [c["band"]["families"] for c in cells]
            ratio = min(c["families_per_evaluation_ratio"] for c in cells)
            z = max(abs(c["band"]["mass_z"]) for c in cells)
            text.append(f" {name} (mass {cells[0]['exact_mass']:.1e}): {min(fam)}–{max(fam)} visual families of 100, "
                        f"rejection keeps {min(c['rejection']['kept'] for c in cells)}–"
                        f"{max(c['rejection']['kept'] for c in cells)} images (≥ {ratio:.0f}× the families per "
                        f"evaluation in every run), mass within {z:.1f} standard errors of exact in all {len(cells)} runs;")
        text[-1] = text[-1][:-1] + "."
    return "".join(text) + "\n"


def _mass_check_sentence(checks: list[dict[str, Any]], pools: list[dict[str, Any]]) -> str:
    """The findings' sentence on ``band_mass_check.json``: the band's masses against importance sampling.

    Importance sampling reads low where its proposal misses part of the band (the missed part's rare,
    large weights seldom appear). A proposal fitted to all runs' particles reading higher than every
    one-run proposal (by more than two of its standard errors) says each run's particles missed parts
    that another's reached — the sentence says so, and compares the band's mean with the pooled estimate.
    """
    draws = "/".join(f"{d:,}" for d in sorted({c["importance"]["draws"] for c in checks}))
    est = [c["importance"]["mass"] for c in checks]
    text = (" A second, unbiased estimate — importance sampling with a proposal fitted to a run's final particles "
            f"(`benchmarks/band_mass_check.py`, which re-runs each seed; {draws} evaluations each) — reads {min(est):.1g}–{max(est):.1g} "
            f"from one run's particles")
    if not pools:
        zs = [c["z"] for c in checks]
        return text + (f", within two combined standard errors of the band's estimate in {sum(abs(z) <= 2 for z in zs)} "
                       f"of {len(zs)} runs (largest gap {max(zs, key=abs):+.1f}).")
    for p in pools:
        i = p["importance"]
        text += f", {i['mass']:.1g} ± {i['mass_se']:.0e} from all {len(p['seeds'])} runs' particles together"
        if i["mass"] > max(est) + 2 * i["mass_se"]:
            text += (": each run's particles miss parts of the band another's reached, where importance sampling "
                     "reads low, so this is a lower bound")
        within = "within" if abs(p["z"]) <= 2 else "not within"
        text += (f"; the band's mean over the runs, {p['band_mean']:.1g} ± {p['band_mean_se']:.0e}, is {p['z']:+.1f} "
                 f"standard errors from it ({within} two)")
    return text + "."


def _mnist32(head: dict[str, Any], first: dict[str, Any], grids: dict[str, Any]) -> dict[str, Any]:
    """The figures docs/worlds.md and the README quote for ``mnist32``: the latest run, the two rejection runs, the 5-d VAE."""
    run = head["runs"][0]
    compare = next(r["rejection"] for r in first["runs"] if r.get("rejection"))
    long = first["long_rejection"]
    mass, se = run["band"]["mass"], run["band"]["mass_se"]
    short_yield, short_se = binomial_yield(compare["kept"], compare["evaluations"])
    five = next(r for r in grids["rows"] if r["prior"] == "vae" and r["relaxation"] == "band")
    return {"run": run, "mass": mass, "se": se, "long": long, "compare": compare, "short": (short_yield, short_se),
            "long_apart": se_apart(mass, se, long["yield"], long["yield_se"]),
            "short_apart": se_apart(mass, se, short_yield, short_se),
            "rejections_apart": se_apart(long["yield"], long["yield_se"], short_yield, short_se), "five": five}


def mnist32_table(head: dict[str, Any], first: dict[str, Any], grids: dict[str, Any]) -> str:
    """docs/worlds.md's table: the ``mnist32`` 1-vs-7 band beside the 5-d VAE's, and two prior-rejection runs.

    ``head`` is ``mnist32_world.json`` (the latest run, re-scored against real digits), ``first``
    ``mnist32_world_0731.json`` (the rejection runs: 1,000,000 draws, and ``--compare-prior`` at the run's
    budget), ``grids`` ``readme_grids.json`` (the 5-d VAE's band, seed 0).
    """
    f = _mnist32(head, first, grids)
    five, s, band, real = f["five"], f["run"]["summary"], f["run"]["band"], f["run"]["quality_real"]
    mass = script("readme_grids").mass_text
    long, compare = f["long"], f["compare"]
    rows = [
        ("Δ (mean \\|p − f(x)\\|) · within ±0.05 · 1 and 7 the top two",
         f"{s['delta']:.2%} · {s['within_tolerance']:.0%} · {s['target_classes_share']:.0%}",
         f"{five['delta']:.2%} · {five['within_tolerance']:.0%} · {five['target_classes_share']:.0%}"),
        ("band prior mass ± SE (`band.mass`, `band.mass_se`)",
         f"**{mass(f['mass'], f['se'])}** (log {band['log_mass']:.2f} ± {band['log_mass_se']:.2f}; "
         f"{band['levels']} levels, {band['islands']} islands)", mass(five["band_mass"], five["band_mass_se"])),
        (f"prior rejection, {long['budget']:,} evaluations (`benchmarks/mnist32_world.py --rejection`)",
         f"{long['kept']} kept: yield **{mass(long['yield'], long['yield_se'])}** (band {f['long_apart']:+.1f} SE)", "—"),
        (f"prior rejection, {compare['evaluations']:,} evaluations (`--compare-prior`)",
         f"{compare['kept']} kept: yield {mass(*f['short'])} (band {f['short_apart']:+.1f} SE; "
         f"the two rejection runs {f['rejections_apart']:+.1f} SE apart)", "—"),
        ("visual families of 100 · effective · largest family, against real 1s and 7s",
         f"**{real['families']}** · {real['effective_families']:.1f} · {real['largest_family_share']:.0%}",
         f"{five['families']} · {five['effective_families']:.1f} · {five['largest_family_share']:.0%}"),
        ("mean intensity vs real 1s and 7s", f"{real['intensity_ratio']:.0%}", f"{five['intensity_ratio']:.0%}"),
        ("ancestors of the final population (of 1,000) · distinct latents",
         f"{s['burn_in_ancestors']} · {s['distinct']}", f"{five['burn_in_ancestors']} · —"),
        ("acceptance at τ · max split R-hat · min bulk ESS",
         f"{s['acceptance_rate']:.2f} · {s['rhat_max']:.1f} · {s['ess_bulk_min']:,.0f}",
         f"{five['acceptance_rate']:.2f} · {five['rhat_max']:.1f} · {five['ess_bulk_min']:,.0f}"),
    ]
    lines = ["| diagnostic (`summary.json`) | mnist32, seed 0 | the 5-d `mnist` VAE, seed 0 (README) |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    text = (f"mnist32: `levelsets sample --world mnist32 --target 1vs7 --seed 0`, summary of {s['created'][:16].replace('T', ' ')} UTC, "
            f"{s['wall_seconds']:.0f} s of sampling; families and intensity re-scored against {real['reference']} "
            f"(`benchmarks/mnist32_world.py`). Rejection: runs of {first['runs'][0]['summary']['created'][:10]} "
            "(they depend only on the world's models). 5-d VAE: `benchmarks/readme_grids.py`, run of "
            f"{grids['provenance']['created'][:10]}. SE combines both estimates' standard errors.")
    return "\n".join(lines) + "\n\n" + textwrap.fill(text, width=100) + "\n"


def mnist32_readme(head: dict[str, Any], first: dict[str, Any], grids: dict[str, Any]) -> str:
    """The README's sentence on ``mnist32`` (the same figures as :func:`mnist32_table`)."""
    f = _mnist32(head, first, grids)
    mass = script("readme_grids").mass_text
    s, real, long = f["run"]["summary"], f["run"]["quality_real"], f["long"]
    text = (f"Its 1-vs-7 band (seed 0): Δ {s['delta']:.2%}, band mass {mass(f['mass'], f['se'])} (a {long['budget']:,}-draw "
            f"rejection run: {mass(long['yield'], long['yield_se'])}), {real['families']} visual families of 100 against "
            f"real 1s and 7s (the 5-d VAE: {f['five']['families']}).")
    return textwrap.fill(text, width=100) + "\n"


def independence_sweeps(record: dict[str, Any]) -> str:
    """docs/sampler.md's measurement of the independence sweeps: the throughput benchmark's ablation, one world."""
    row = next(r for r in record["rows"] if r["particles"] == record["ratios"]["reference_particles"])
    mh, abl = row["mh"], record["ablation"]
    fewer = 1 - mh["particle_steps_per_cpu_second"] / abl["run"]["particle_steps_per_cpu_second"]
    text = (f"Measured at `levelsets sample`'s settings (N = {mh['particles']:,}, {mh['steps']} steps) on "
            f"the {record['world']} world, target {record['target']['spec']}, in one run of the throughput benchmark "
            f"({record['provenance']['created'][:10]}), with the sweeps and without them: R-hat "
            f"{mh['rhat_max']:.2f} (without: {abl['run']['rhat_max']:.2f}), ArviZ ESS {mh['ess_bulk_min']:,.0f} "
            f"({abl['run']['ess_bulk_min']:,.0f}), and the spread of population means across "
            f"{record['replicates']['mh']['runs']} seeds gives {record['replicates']['mh']['ess_per_run']:,.0f} effective "
            f"draws per run ({abl['replicates']['ess_per_run']:.1f}), for {fewer:.0%} fewer particle-steps per CPU second.")
    return textwrap.fill(text, width=100) + "\n"


def created(record: dict[str, Any]) -> str | None:
    """When a results JSON was measured: its provenance's date, or (a record of runs) its first run's."""
    prov = record.get("provenance") or record
    runs = record.get("runs") or [{}]
    return prov.get("created") or (runs[0].get("summary") or {}).get("created")


def results_provenance(names: list[str]) -> str:
    """One row per results JSON the documentation renders: its date, command, machine and load average."""
    lines = ["| results JSON | measured | command | machine | load average (1 min) |", "|---|---|---|---|---|"]
    for name in names:
        record = _json(name)
        prov = record.get("provenance") or record
        machine = prov.get("machine") or record.get("machine") or {}
        load = record.get("load_average") or record.get("load_average_now")
        if isinstance(load, dict):
            ends = [v for k, v in load.items() if k in ("start", "before", "end", "after") and v]
            load = f"{ends[0][0]:.1f} → {ends[-1][0]:.1f}" if ends else "—"
        elif isinstance(load, list):
            load = f"{load[0]:.1f} (when the JSON was written)"
        command = (prov.get("command") or "").split(" (")[0].strip()
        cpus = f"{machine.get('cpus')} CPUs" if machine.get("cpus") else "—"
        lines.append(f"| `{name}` | {(created(record) or '—')[:10]} | `{command}` | {cpus} | {load or '—'} |")
    return "\n".join(lines) + "\n"


def _json(name: str) -> dict[str, Any]:
    return json.loads((RESULTS / name).read_text())


def _level_set_quality(name: str) -> Callable[[], str]:
    def render() -> str:
        return script("level_set_quality").render(_json(f"{name}.json"))

    return render


def _by_writer(stem: str, source: str, unpack: Callable[[dict], tuple] = lambda r: (r,)) -> Callable[[], str]:
    def render() -> str:
        return script(stem).markdown(*unpack(_json(source)))

    return render


#: Each rendered file: (the JSON files it is made from, the function that makes its text).
RENDERERS: dict[str, tuple[tuple[str, ...], Callable[[], str]]] = {
    **{f"sampler_throughput_{w}.md": ((f"sampler_throughput_{w}.json",),
                                      _by_writer("sampler_throughput", f"sampler_throughput_{w}.json"))
       for w in THROUGHPUT_WORLDS},
    "sampler_throughput_summary.md": (
        tuple(f"sampler_throughput_{w}.json" for w in THROUGHPUT_WORLDS),
        lambda: throughput_summary({w: _json(f"sampler_throughput_{w}.json") for w in THROUGHPUT_WORLDS}),
    ),
    "level_set_quality_summary.md": (
        ("level_set_quality.json", "level_set_quality_dirichlet_seed0.json"),
        lambda: level_set_quality_summary(_json("level_set_quality.json"), _json("level_set_quality_dirichlet_seed0.json")),
    ),
    **{f"{n}.md": ((f"{n}.json",), _level_set_quality(n))
       for n in ("level_set_quality", "level_set_quality_dirichlet_seed0", "level_set_quality_rare",
                 "level_set_quality_copies", "level_set_quality_steps600")},
    "level_set_quality_findings.md": (
        ("level_set_quality.json", "level_set_quality_rare.json", "band_mass_check.json"),
        lambda: level_set_quality_findings(_json("level_set_quality.json"), _json("level_set_quality_rare.json"),
                                           _json("band_mass_check.json")),
    ),
    "level_set_quality_near_copies.md": (
        ("level_set_quality_copies.json", "level_set_quality_steps600.json"),
        lambda: near_copies_findings(_json("level_set_quality_copies.json"), _json("level_set_quality_steps600.json")),
    ),
    "dirichlet_cause.md": (("dirichlet_cause.json",),
                           _by_writer("dirichlet_cause", "dirichlet_cause.json", lambda r: (r["rows"],))),
    "table1.md": (("table1.json",), _by_writer("table1", "table1.json")),
    **{f"{n}.md": ((f"{n}.json",), _by_writer("delta_floor", f"{n}.json")) for n in ("delta_floor", "delta_floor_seeds")},
    "softlabel_loop.md": (("softlabel_loop.json",), _by_writer("softlabel_loop", "softlabel_loop.json")),
    "shard_scaling_mnist.md": (("shard_scaling_mnist.json",), _by_writer("shard_scaling", "shard_scaling_mnist.json")),
    "elicitation_load.md": (("elicitation_load.json",), _by_writer("elicitation_load", "elicitation_load.json")),
    "readme_grids.md": (("readme_grids.json",), _by_writer("readme_grids", "readme_grids.json")),
    **{f"{n}.md": ((f"{n}.json",), _by_writer("band_mass_check", f"{n}.json", lambda r: (r["rows"], r.get("pooled"))))
       for n in ("band_mass_check", "band_mass_check_wide")},
    "main_command.md": (("main_command.json",), _by_writer("main_command", "main_command.json")),
    "mala_projection.md": (("mala_projection.json",), _by_writer("mala_projection", "mala_projection.json")),
    "model_cards.md": (("model_cards.json",), _by_writer("model_cards", "model_cards.json")),
    "shapes_level_sets.md": (("shapes_level_sets.json",), _by_writer("shapes_level_sets", "shapes_level_sets.json")),
    **{f"{name}.md": (MNIST32_SOURCES, lambda fn=fn: fn(*(_json(n) for n in MNIST32_SOURCES)))
       for name, fn in (("mnist32_world", mnist32_table), ("mnist32_readme", mnist32_readme))},
    "independence_sweeps.md": (("sampler_throughput_mnist.json",),
                               lambda: independence_sweeps(_json("sampler_throughput_mnist.json"))),
}
_MEASURED = tuple(sorted({source for sources, _ in RENDERERS.values() for source in sources}))
RENDERERS["results_provenance.md"] = (_MEASURED, lambda: results_provenance(list(_MEASURED)))


def render(name: str) -> str:
    """The text ``benchmarks/results/<name>`` should hold, made from its JSON now."""
    return RENDERERS[name][1]()


def stale() -> list[str]:
    """The rendered files whose text differs from what their JSON renders to now (or that are missing)."""
    out = []
    for name in RENDERERS:
        path = RESULTS / name
        if not path.exists() or path.read_text() != render(name):
            out.append(name)
    return out


def write(name: str) -> Path:
    """Rewrite ``results/<name>`` from its JSON, with a sidecar naming the JSON and this script."""
    sys.path.insert(0, str(HERE.parent / "src"))
    from levelsets.artifacts import provenance, write_sidecar

    sources = RENDERERS[name][0]
    path = RESULTS / name
    path.write_text(render(name))
    measured = {source: _json(source).get("provenance") or {k: _json(source).get(k) for k in ("created", "command")}
                for source in sources}
    write_sidecar(path, {"made_from": sources[0] if len(sources) == 1 else list(sources),
                         "rendered_by": "benchmarks/render_results.py", **provenance(),
                         "measured": measured})
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only list the stale files; exit 1 if any")
    args = parser.parse_args(argv)
    names = stale()
    if args.check:
        for name in names:
            print(f"stale: benchmarks/results/{name} (run python benchmarks/render_results.py)")
        return 1 if names else 0
    for name in names:
        print(f"wrote {write(name)}")
    if not names:
        print("every rendered file is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())

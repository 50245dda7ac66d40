"""The throughput benchmark's outputs in words: the markdown table (``<name>.md``) and the console summary.

Both only read a finished record (the JSON the run writes), so ``benchmarks/render_results.py``
re-renders the ``.md`` from the JSON without measuring anything.
"""

from __future__ import annotations

import numpy as np

from . import GOAL_ESS_OVER_NUTS, GOAL_MH_OVER_FORWARD


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

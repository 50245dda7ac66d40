r"""An independent check of the band sampler's prior-mass estimate where brute force cannot reach: importance sampling.

The ±0.01 band of MNIST 1vs7 has prior mass ~3e-8: brute-force prior rejection needs ~1e8 draws (~20 h on
this 2-core VM) to see five hits. This script checks the band's estimate Ẑ (the product of the levels'
survival fractions, :mod:`levelsets.inference.band`) against a second, unbiased estimator of the same
mass built on different arithmetic — defensive importance sampling (Hesterberg 1995):

.. math:: \hat Z_{IS} = \frac1M \sum_{i=1}^{M} \mathbf 1\{D(z_i) \le \tau\}\,\frac{p(z_i)}{q(z_i)}, \qquad
          q = (1 - w)\,q_{KDE} + w\,p, \quad z_i \sim q \text{ i.i.d.},

with :math:`q_{KDE}` the kernel mixture of :mod:`levelsets.inference.independence` fitted to the band
sampler's final particles and w = ``--defensive`` the prior's share, which bounds every weight by 1/w.
Ẑ_IS is unbiased for any such q, and its standard error comes from M independent draws — no levels,
no MCMC. What the two estimators share is the particles q is fitted to: a part of the band that no
particle reached would be proposed only by the prior component (rarely), so this checks the level
product's arithmetic and its adaptive-level bias, not whether the sampler found every part of the band.
For that, a last check per prior fits q to the final particles of all its seeds' runs together: a part
one run missed and another reached shows up as a higher pooled Ẑ_IS than the runs' own.

Where brute force *can* reach (±0.05, mass ~5e-4), ``--tolerances 0.05`` also reports prior rejection at
the same number of classifier evaluations as the IS check, so the check itself is checked. On a GPU the
brute force itself is within reach at ±0.01: ``--rejection-draws 300000000 --device cuda`` runs prior
rejection there (the band and the IS check stay on the CPU, as in ``levelsets sample``'s default figures).

Usage::

    python benchmarks/band_mass_check.py                                   # vae, gan × seeds 0 1 2 at ±0.01
    python benchmarks/band_mass_check.py --tolerances 0.05 --seeds 0       # the check of the check
    python benchmarks/band_mass_check.py --rejection-draws 300000000 --device cuda --batch-size 65536
    python benchmarks/band_mass_check.py --quick --out /tmp/q              # tiny settings (tests)
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from estimates import binomial_yield, se_apart

HERE = Path(__file__).resolve().parent
DEFENSIVE = 0.1
"""w: the prior's share of the proposal; every importance weight p/q is at most 1/w."""


def importance_mass(prior: torch.distributions.Distribution, deviation: Callable[[torch.Tensor], torch.Tensor],
                    tolerance: float, particles: torch.Tensor, draws: int, seed: int,
                    defensive: float = DEFENSIVE, batch: int = 4096) -> dict[str, Any]:
    """Ẑ_IS of the prior mass of {z : deviation(z) ≤ tolerance} (module docstring), with its standard error.

    Parameters
    ----------
    prior:
        p, a batched distribution over ``(d,)`` latents (``log_prob`` of ``(M, d)`` gives ``(M,)``).
    deviation:
        z ``(M, d)`` → D(z) ``(M,)`` (one classifier evaluation per row).
    particles:
        ``(N, d)``, N ≥ 2, points of the band that q's kernels are centred on.
    draws:
        M, proposals drawn from q (= classifier evaluations).
    defensive:
        w in (0, 1].
    """
    from levelsets.inference import independence

    if not 0 < defensive <= 1 or particles.shape[0] < 2:
        raise ValueError(f"need a defensive share in (0, 1] and at least 2 particles, got {defensive} and {particles.shape[0]}")
    centres = particles.to(torch.float64)
    mixture = independence.fit(centres, centres.std(dim=0).clamp_min(1e-12))
    gen = torch.Generator().manual_seed(seed)
    total = total_sq = 0.0
    hits = 0
    for start in range(0, draws, batch):
        m = min(batch, draws - start)
        from_prior = torch.rand(m, generator=gen, dtype=torch.float64) < defensive
        with torch.random.fork_rng():
            torch.manual_seed(seed * 1_000_003 + start)
            z_prior = prior.sample((m,)).to(torch.float64)
        z = torch.where(from_prior[:, None], z_prior, independence.sample(mixture, m, gen))
        log_p = prior.log_prob(z.to(particles.dtype)).to(torch.float64)
        log_q = torch.logaddexp(math.log1p(-defensive) + independence.log_prob(mixture, z) if defensive < 1
                                else torch.full_like(log_p, -math.inf), math.log(defensive) + log_p)
        inside = deviation(z.to(particles.dtype)) <= tolerance
        w = torch.where(inside, torch.exp(log_p - log_q), torch.zeros_like(log_p))
        total += float(w.sum())
        total_sq += float((w * w).sum())
        hits += int(inside.sum())
    mean = total / draws
    var = max(total_sq / draws - mean * mean, 0.0) * draws / max(draws - 1, 1)
    return {"mass": mean, "mass_se": math.sqrt(var / draws), "draws": draws, "hits": hits, "defensive": defensive,
            "kernels": int(centres.shape[0])}


def _mnist(prior_name: str, target_spec: str, device: str = "cpu"):
    """The MNIST world of ``prior_name``, the target's ``(K,)`` vector, and z ↦ D(z) through decoder and CNN."""
    from levelsets.inference import band
    from levelsets.targets import parse_target
    from levelsets.worlds import load_world

    world = load_world("mnist", prior_name, device=device, seed=0, progress=False)
    target = torch.as_tensor(parse_target(target_spec, world.class_names).probs, dtype=torch.float32, device=device)

    def deviation(z: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return band.deviation(world.classifier(world.decoder(z)).float(), target)

    return world, target, deviation


def run(prior_name: str, target_spec: str, tolerance: float, seed: int, draws: int, particles: int, steps: int,
        burn_in: int, rejection_draws: int = 0, device: str = "cpu", batch_size: int = 4096) -> tuple[dict[str, Any], torch.Tensor]:
    """One band run at ``levelsets sample``'s settings, then Ẑ_IS from its final particles, and prior rejection
    with ``rejection_draws`` prior draws on ``device`` (none when 0).

    Returns the row and the run's final particles ``(N, d)``.
    """
    from levelsets.inference.prior_rejection import prior_rejection
    from levelsets.inference.sampler import SamplerSettings, sample_level_set

    world, target, deviation = _mnist(prior_name, target_spec)
    start = time.perf_counter()
    settings = SamplerSettings(particles=particles, steps=steps, burn_in=burn_in, samples=min(100, particles), seed=seed,
                               relaxation="band", tolerance=tolerance, progress=False, device="cpu")
    result = sample_level_set(world.prior, world.decoder, world.classifier, target, settings)
    row: dict[str, Any] = {"prior": prior_name, "target": target_spec, "tolerance": tolerance, "seed": seed,
                           "band": {k: result.band[k] for k in ("mass", "mass_se", "reached_tolerance", "islands")},
                           "band_evaluations": result.forward_evaluations, "band_seconds": time.perf_counter() - start}

    start = time.perf_counter()
    row["importance"] = importance_mass(world.prior, deviation, tolerance, result.final_positions, draws, 20_000 + seed)
    row["importance"]["seconds"] = time.perf_counter() - start
    row["z"] = se_apart(row["band"]["mass"], row["band"]["mass_se"], row["importance"]["mass"], row["importance"]["mass_se"])
    if rejection_draws > 0:
        start = time.perf_counter()
        brute, brute_target, _ = _mnist(prior_name, target_spec, device) if device != "cpu" else (world, target, None)
        base = prior_rejection(brute.prior, brute.decoder, brute.classifier, brute_target, budget=rejection_draws,
                               tolerance=tolerance, batch_size=batch_size, seed=30_000 + seed, device=device)
        y, se = binomial_yield(int(base.latents.shape[0]), base.evaluations)
        row["rejection"] = {"mass": y, "mass_se": se, "kept": int(base.latents.shape[0]), "evaluations": base.evaluations,
                            "device": device, "seconds": time.perf_counter() - start}
        row["z_rejection"] = se_apart(row["importance"]["mass"], row["importance"]["mass_se"], y, se)
    return row, result.final_positions


def pooled(rows: list[dict[str, Any]], particles: list[torch.Tensor], draws: int, seed: int) -> dict[str, Any]:
    """Ẑ_IS with q fitted to the final particles of all ``rows``' runs together (one prior, target and τ).

    One run's particles may miss parts of the band that another's reached; where q misses mass, Ẑ_IS is
    low far more often than high (its rare large weights). Next to it: the runs' band estimates pooled
    (their mean, with the standard error of a mean of independent estimates).
    """
    first = rows[0]
    world, _, deviation = _mnist(first["prior"], first["target"])
    out = importance_mass(world.prior, deviation, first["tolerance"], torch.cat(particles), draws, seed)
    masses = [r["band"]["mass"] for r in rows]
    band_se = math.sqrt(sum(r["band"]["mass_se"] ** 2 for r in rows)) / len(rows)
    return {"prior": first["prior"], "target": first["target"], "tolerance": first["tolerance"],
            "seeds": [r["seed"] for r in rows], "importance": out, "band_mean": sum(masses) / len(masses),
            "band_mean_se": band_se, "z": se_apart(sum(masses) / len(masses), band_se, out["mass"], out["mass_se"])}


def markdown(rows: list[dict[str, Any]], pools: list[dict[str, Any]] | None = None) -> str:
    lines = ["| prior | target | ±τ | seed | band sampler: mass ± SE | importance sampling: mass ± SE (hits of draws) "
             "| apart (SE) | prior rejection: mass ± SE (kept of draws) | IS vs rejection (SE) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        b, i, rej = r["band"], r["importance"], r.get("rejection")
        rej_text = "—" if rej is None else f"{rej['mass']:.2g} ± {rej['mass_se']:.1g} ({rej['kept']:,} of {rej['evaluations']:,})"
        lines.append(f"| {r['prior']} | {r['target']} | {r['tolerance']:g} | {r['seed']} | {b['mass']:.2g} ± {b['mass_se']:.1g} "
                     f"| {i['mass']:.2g} ± {i['mass_se']:.1g} ({i['hits']:,} of {i['draws']:,}) | {r['z']:+.1f} | {rej_text} "
                     f"| {'—' if rej is None else format(r['z_rejection'], '+.1f')} |")
    if pools:
        lines += ["", "| prior | target | ±τ | seeds | band sampler: mean of the runs' masses ± SE "
                  "| importance sampling, q on all runs' particles: mass ± SE (hits of draws) | apart (SE) |",
                  "|---|---|---|---|---|---|---|"]
        for p in pools:
            i = p["importance"]
            lines.append(f"| {p['prior']} | {p['target']} | {p['tolerance']:g} | {', '.join(map(str, p['seeds']))} "
                         f"| {p['band_mean']:.2g} ± {p['band_mean_se']:.1g} | {i['mass']:.2g} ± {i['mass_se']:.1g} "
                         f"({i['hits']:,} of {i['draws']:,}) | {p['z']:+.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--priors", nargs="+", default=["vae", "gan"])
    ap.add_argument("--target", default="1vs7")
    ap.add_argument("--tolerances", nargs="+", type=float, default=[0.01])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--draws", type=int, default=100_000, help="M, proposals (classifier evaluations) of each IS check")
    ap.add_argument("--rejection-draws", type=int, default=None,
                    help="prior draws of brute-force rejection (default: --draws at ±0.05 and wider, none below)")
    ap.add_argument("--device", default="cpu", help="where prior rejection runs (cpu, cuda, ...)")
    ap.add_argument("--batch-size", type=int, default=4096, help="prior rejection's batch")
    ap.add_argument("--quick", action="store_true", help="tiny settings (tests)")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--name", default=None, help="results file stem (default: band_mass_check)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE.parent / "src"))
    from results_io import save_results

    from levelsets.artifacts import provenance

    particles, steps, burn_in = (40, 30, 10) if args.quick else (1000, 300, 200)
    draws = 2_000 if args.quick else args.draws
    torch.set_num_threads(min(2, torch.get_num_threads()))
    rows, pools = [], []
    for tol in args.tolerances:
        for prior_name in args.priors:
            group, positions = [], []
            for seed in args.seeds:
                print(f"{prior_name} {args.target} ±{tol:g} seed {seed} ...", flush=True)
                brute = args.rejection_draws if args.rejection_draws is not None else (draws if tol >= 0.05 else 0)
                row, final = run(prior_name, args.target, tol, seed, draws, particles, steps, burn_in, brute, args.device,
                                 args.batch_size)
                group.append(row)
                positions.append(final)
            rows += group
            if len(group) > 1:
                print(f"{prior_name} {args.target} ±{tol:g}: q on the pooled particles ...", flush=True)
                pools.append(pooled(group, positions, draws, 40_000))
    record = provenance(settings={"particles": particles, "steps": steps, "burn_in": burn_in, "draws": draws,
                                  "defensive": DEFENSIVE, "target": args.target, "tolerances": args.tolerances,
                                  "rejection_draws": args.rejection_draws, "device": args.device},
                        seed=args.seeds, data="MNIST world (offline models)")
    record["rows"], record["pooled"] = rows, pools
    save_results(args.out, args.name or ("band_mass_check_quick" if args.quick else "band_mass_check"), record,
                 markdown(rows, pools))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

r"""How low can Table 1's Δ go? The two limits of a level-set sample's deviation (MNIST world).

Seed 003's quality metric is :math:`\Delta = \frac{1}{nK}\sum_i\sum_l |p_l - f(g(z_i))_l|`. A sample
mean of Δ is bounded below by two things this script measures separately:

1. **The relaxation.** The likelihood :math:`\mathrm{Dir}(p;\ \alpha f)` tolerates deviations of
   the classifier's output f from the target p on the scale of a Dirichlet with concentration α.
   With a perfect generator/classifier pair and a perfect sampler, f would spread like
   :math:`\mathrm{Dir}(\alpha p)` and Δ would be :math:`E|f - p|` under it — estimated here by
   Monte Carlo for each target and α. This term does not depend on any model.
2. **The models' floor.** :math:`\min_z \Delta(z)` for one latent: no sample mean can be lower at
   any α. Estimated by Adam on :math:`\Delta(z)` through decoder and classifier (differentiable
   here, although the sampler never uses gradients) from ``--starts`` prior draws for ``--steps``
   steps, keeping each start's best iterate; also the best point with :math:`|z| \le 3`.

3. **Calibration is not a lever.** Temperature scaling (Guo et al. 2017) would soften an
   over-confident classifier and lower the floor; the script fits the temperature T that minimises
   the CNN's negative log-likelihood on the held-out digits. T ≈ 1 means the CNN is already
   calibrated there, so a calibrated classifier would have the same floor.

Model pairs: the cached default VAE/GAN and CNN (seed 0, trained on first use like
``levelsets sample``) and, with ``--vae-seeds`` / ``--classifier-seeds``, the same recipes trained
with other seeds into a scratch directory (VAE seed v with CNN seed 0; CNN seed c with VAE seed 0).

Usage::

    python benchmarks/delta_floor.py                                   # default pair, 3 targets (~5 min)
    python benchmarks/delta_floor.py --vae-seeds 0 1 2 3 --classifier-seeds 0 1 2 --targets ambiguous
    python benchmarks/delta_floor.py --quick --out /tmp/f              # smoke run (seconds)

Writes ``<out>/delta_floor.json`` (settings, per pair and target: floor, best point, probabilities,
quantiles over starts, the models' cards; the relaxation table; provenance) and
``<out>/delta_floor.md`` (``--name`` changes the stem), and prints the tables.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

PAPER_VAE = {"ambiguous": 0.0183, "1vs7": 0.0622, "8vs9": 0.0766}
"""Seed 003's Table 1, VAE column."""
FULL = {"starts": 500, "steps": 800, "lr": 0.05, "radius": 3.0, "draws": 200_000}
QUICK = {"starts": 16, "steps": 20, "lr": 0.05, "radius": 3.0, "draws": 2_000}


def relaxation_delta(probs: np.ndarray, alpha: float, draws: int, seed: int = 0) -> float:
    r"""Monte Carlo :math:`E|f - p|` (mean over classes) for :math:`f \sim \mathrm{Dir}(\alpha p)`."""
    rng = np.random.default_rng(seed)
    f = rng.dirichlet(alpha * np.asarray(probs, dtype=np.float64), size=draws)
    return float(np.abs(f - probs).mean())


def latent_floor(decoder: torch.nn.Module, classifier: torch.nn.Module, probs: np.ndarray, latent_dim: int, *,
                 starts: int, steps: int, lr: float, radius: float, seed: int) -> dict[str, Any]:
    r"""Minimise :math:`\Delta(z) = \frac1K\sum_l |f(g(z))_l - p_l|` by Adam from ``starts`` N(0, I) draws.

    Returns the smallest Δ over all iterates, the best latent and its class probabilities, the
    same restricted to :math:`|z| \le` ``radius``, and quantiles of each start's best Δ.
    """
    for module in (decoder, classifier):
        module.eval().requires_grad_(False)
    target = torch.as_tensor(probs, dtype=torch.float32)
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(starts, latent_dim, generator=gen).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    best = torch.full((starts,), float("inf"))
    best_z = z.detach().clone()
    best_in = torch.full((starts,), float("inf"))
    best_in_z = z.detach().clone()
    for step in range(steps + 1):
        delta = (torch.softmax(classifier(decoder(z)), dim=-1) - target).abs().mean(dim=-1)
        with torch.no_grad():
            d, zd = delta.detach(), z.detach()
            better = d < best
            best, best_z[better] = torch.where(better, d, best), zd[better]
            inside = (zd.norm(dim=-1) <= radius) & (d < best_in)
            best_in, best_in_z[inside] = torch.where(inside, d, best_in), zd[inside]
        if step == steps:
            break
        opt.zero_grad()
        delta.sum().backward()
        opt.step()
    i, j = int(best.argmin()), int(best_in.argmin())
    with torch.no_grad():
        p_best = torch.softmax(classifier(decoder(torch.stack([best_z[i], best_in_z[j]]))), dim=-1)
    return {
        "min_delta": float(best[i]),
        "z": best_z[i].tolist(),
        "z_norm": float(best_z[i].norm()),
        "probs": [round(float(x), 4) for x in p_best[0]],
        "min_delta_within_radius": float(best_in[j]) if torch.isfinite(best_in[j]) else None,
        "probs_within_radius": [round(float(x), 4) for x in p_best[1]],
        "start_quantiles": {str(q): float(best.quantile(q)) for q in (0.01, 0.1, 0.5)},
    }


def fitted_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    r"""The temperature T > 0 minimising the NLL of ``softmax(logits / T)`` for ``labels`` (LBFGS on log T)."""
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    z, y = logits.detach().to(torch.float64), labels.to(torch.int64)
    opt = torch.optim.LBFGS([log_t], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(z / log_t.exp(), y)
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.detach().exp())


def heldout_temperature(classifier: torch.nn.Module) -> dict[str, float]:
    """Fitted temperature and held-out NLL at T = 1 and at the fitted T, on the offline held-out digits."""
    from levelsets.data.mnist import load_mnist

    heldout = load_mnist("heldout")
    with torch.no_grad():
        logits = classifier.eval()(torch.as_tensor(heldout.images)).to(torch.float64)
    labels = torch.as_tensor(heldout.labels)
    t = fitted_temperature(logits, labels)
    nll = lambda temp: float(torch.nn.functional.cross_entropy(logits / temp, labels))  # noqa: E731
    return {"temperature": t, "nll_at_1": nll(1.0), "nll_at_fitted": nll(t), "digits": int(labels.numel())}


def _models(prior: str, vae_seed: int, classifier_seed: int, workdir: Path):
    """(decoder, classifier, cards) for one pair: the cached models for seed 0, else trained into ``workdir``."""
    from levelsets.classifiers.zoo import get_classifier, load_classifier, train_classifier
    from levelsets.generative.zoo import get_generator, load_generator, train_generator

    if classifier_seed == 0:
        clf, ccard = get_classifier("mnist", device="cpu")
    else:
        path = workdir / f"classifier_seed{classifier_seed}" / "model.pt"
        if not path.is_file():
            train_classifier("mnist", seed=classifier_seed, device="cpu", out=path, progress=False)
        clf, ccard = load_classifier(path, "mnist", device="cpu")
    if vae_seed == 0:
        dec, gcard = get_generator(prior, "mnist", device="cpu", progress=False)
    else:
        path = workdir / f"{prior}_seed{vae_seed}" / "model.pt"
        if not path.is_file():
            train_generator(prior, "mnist", seed=vae_seed, device="cpu", out=path.parent, progress=False)
        dec, gcard = load_generator(path, prior)
    return dec, clf, {"classifier": _card(ccard), "generator": _card(gcard)}


def _card(card: dict[str, Any]) -> dict[str, Any]:
    keep = ("path", "seed", "data", "heldout_accuracy", "heldout_losses", "final_losses", "epochs")
    return {k: card[k] for k in keep if k in card}


def markdown(result: dict[str, Any]) -> str:
    """Two tables: the relaxation term per target and α, and the floor per model pair and target."""
    alphas, targets = result["alphas"], result["targets"]
    lines = ["Relaxation term: E|f − p| for f ~ Dir(α p) (no model; Monte Carlo, "
             f"{result['settings']['draws']:,} draws).", "",
             "| target | " + " | ".join(f"α = {a:g}" for a in alphas) + " | paper (VAE) |",
             "|" + "---|" * (len(alphas) + 2)]
    for t in targets:
        cells = [f"{100 * result['relaxation'][t][str(a)]:.2f}%" for a in alphas]
        paper = f"{100 * PAPER_VAE[t]:.2f}%" if t in PAPER_VAE else "—"
        lines.append(f"| {t} | " + " | ".join(cells) + f" | {paper} |")
    s = result["settings"]
    # runs from before the calibration check have no temperatures: no empty column for them
    calibrated = any("calibration" in pair for pair in result["pairs"])
    lines += ["", f"Models' floor: min over latents of Δ(z) ({result['prior'].upper()} decoder + CNN; Adam from "
              f"{s['starts']} prior draws × {s['steps']} steps, lr {s['lr']}).", "",
              "| VAE seed | CNN seed | CNN held-out acc. | " + ("CNN fitted temperature | " if calibrated else "")
              + "target | floor min Δ | within ‖z‖ ≤ 3 | best point's probabilities |",
              "|---" * (8 if calibrated else 7) + "|"]
    for pair in result["pairs"]:
        acc = pair["cards"]["classifier"].get("heldout_accuracy")
        temp = pair.get("calibration", {}).get("temperature")
        for t in targets:
            f = pair["floor"][t]
            inside = "—" if f["min_delta_within_radius"] is None else f"{100 * f['min_delta_within_radius']:.2f}%"
            lines.append(f"| {pair['generator_seed']} | {pair['classifier_seed']} | "
                         f"{'—' if acc is None else f'{100 * acc:.1f}%'} | "
                         + (f"{'—' if temp is None else f'{temp:.3f}'} | " if calibrated else "")
                         + f"{t} | {100 * f['min_delta']:.2f}% | {inside} | "
                         + ", ".join(f"{x:.3f}" for x in f["probs"]) + " |")
    if calibrated:
        lines += ["", "Fitted temperature: the T minimising the CNN's NLL of softmax(logits / T) on the held-out digits; "
                  "T ≈ 1 means the CNN is already calibrated there, so temperature scaling would not lower the floor."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse arguments, measure both limits, write JSON + markdown, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prior", choices=("vae", "gan"), default="vae")
    parser.add_argument("--targets", nargs="+", default=["ambiguous", "1vs7", "8vs9"])
    parser.add_argument("--alphas", type=float, nargs="+", default=[100.0, 300.0, 1000.0])
    parser.add_argument("--vae-seeds", type=int, nargs="+", default=[0], help="Generator training seeds (with CNN seed 0).")
    parser.add_argument("--classifier-seeds", type=int, nargs="+", default=[0], help="CNN training seeds (with generator seed 0).")
    parser.add_argument("--starts", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0, help="Seed of the starts and of the Monte Carlo draws.")
    parser.add_argument("--threads", type=int, default=1, help="Torch threads.")
    parser.add_argument("--quick", action="store_true", help="Tiny settings: a smoke run for tests.")
    parser.add_argument("--workdir", type=Path, default=None, help="Where models of other seeds are trained (default: temp).")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--name", default=None, help="Output file stem (default delta_floor, or delta_floor_quick).")
    args = parser.parse_args(argv)

    from levelsets.artifacts import provenance, write_json, write_sidecar
    from levelsets.softlabels.class_sets import MNIST_CLASSES
    from levelsets.targets import parse_target

    torch.set_num_threads(args.threads)
    settings = dict(QUICK if args.quick else FULL)
    for name in ("starts", "steps"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    targets = {t: parse_target(t, MNIST_CLASSES).probs for t in args.targets}
    pairs = list(dict.fromkeys([(v, 0) for v in args.vae_seeds] + [(0, c) for c in args.classifier_seeds]))  # (0, 0) once
    started = time.perf_counter()
    relaxation = {t: {str(a): relaxation_delta(p, a, settings["draws"], args.seed) for a in args.alphas} for t, p in targets.items()}
    records = []
    calibrations: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="delta_floor_") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for v, c in pairs:
            dec, clf, cards = _models(args.prior, v, c, workdir)
            floor = {}
            for t, p in targets.items():
                t0 = time.perf_counter()
                floor[t] = latent_floor(dec, clf, p, 5, starts=settings["starts"], steps=settings["steps"], lr=settings["lr"],
                                        radius=settings["radius"], seed=args.seed)
                floor[t]["seconds"] = time.perf_counter() - t0
                print(f"{args.prior} seed {v}, CNN seed {c}, {t}: floor Δ = {100 * floor[t]['min_delta']:.2f}%", flush=True)
            if c not in calibrations:  # a property of the CNN: once per classifier seed, not per pair
                calibrations[c] = heldout_temperature(clf)
                print(f"CNN seed {c}: fitted temperature on held-out digits {calibrations[c]['temperature']:.3f}", flush=True)
            records.append({"generator_seed": v, "classifier_seed": c, "cards": cards, "floor": floor, "calibration": calibrations[c]})
    result: dict[str, Any] = {
        "benchmark": "delta_floor", "quick": args.quick, "prior": args.prior, "targets": list(targets),
        "target_probs": {t: p.tolist() for t, p in targets.items()}, "alphas": args.alphas, "settings": settings,
        "relaxation": relaxation, "pairs": records, "wall_seconds": time.perf_counter() - started,
    }
    data = sorted({r["cards"]["classifier"].get("data", "?") for r in records} | {r["cards"]["generator"].get("data", "?") for r in records}, key=str)
    result.update(provenance(settings=settings, seed=args.seed, data=data, threads=args.threads))
    name = args.name or ("delta_floor_quick" if args.quick else "delta_floor")
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / f"{name}.json", result)
    md = markdown(result)
    (args.out / f"{name}.md").write_text(md)
    write_sidecar(args.out / f"{name}.md", {"made_from": f"{name}.json", **provenance(settings=settings, seed=args.seed)})
    print(md)
    return result


if __name__ == "__main__":
    main()

"""Throughput of the level-set sampler vs the forward pass and vs Pyro NUTS (issue 2, item 10).

For N in {100, 1000, 10000} particles, on one world and one machine:

(a) raw batched forward throughput of decoder + classifier (images/s, batch N, no_grad);
(b) our sampler (tempered-SMC burn-in + vectorized RW-MH): particle-steps/s and bulk ESS/s
    (ESS: ArviZ bulk ESS, min over latent dims, particles as chains; per wall second of the whole
    run, burn-in included);
(c) Pyro's stock NUTS on ONE chain of the same model (one particle), as the peer tool runs it:
    samples/s and ESS/s (warm-up included in the time). NUTS needs gradients through decoder and
    classifier, which only this baseline uses.

Throughput is reported per wall second and per CPU second of this process: on a shared machine
the CPU-second ratio (with ``--threads 1``) and the forward pass's share of the sampler's wall
time are the contention-robust measures of sampler overhead.

Peak memory is the process's maximum resident set size (``resource.getrusage``), read after each
stage (it is monotone, so it bounds everything run so far), plus torch's CUDA peak when on a GPU.

Usage::

    python benchmarks/sampler_throughput.py --world synthetic            # full run
    python benchmarks/sampler_throughput.py --world mnist --particles 100 1000 10000
    python benchmarks/sampler_throughput.py --quick --out /tmp/bench     # smoke run (tests)

Worlds: ``synthetic`` = an MNIST-sized conv decoder (5-d latent -> 1x28x28) and a small CNN with
fixed random weights (no training, no data); ``shapes`` / ``mnist`` load the trained models through
``levelsets.worlds.load_world`` (training them first if missing).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent


def peak_rss_mb() -> float:
    """Process peak resident set size in MiB (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


class SyntheticDecoder(torch.nn.Module):
    """5-d latent -> (1, 28, 28) image in [0, 1]; the layout of a small MNIST VAE decoder."""

    def __init__(self, latent_dim: int = 5) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(latent_dim, 64 * 7 * 7)
        self.up1 = torch.nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)
        self.up2 = torch.nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fc(z)).view(-1, 64, 7, 7)
        return torch.sigmoid(self.up2(torch.relu(self.up1(h))))


class SyntheticCNN(torch.nn.Module):
    """A small MNIST-style CNN (2 conv + 2 dense layers), 10 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 32, 3, padding=1)
        self.c2 = torch.nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = torch.nn.Linear(64 * 7 * 7, 128)
        self.fc2 = torch.nn.Linear(128, 10)
        self.register_buffer("shift", torch.zeros(10))
        self.register_buffer("gain", torch.ones(()))

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.max_pool2d(torch.relu(self.c1(x)), 2)
        h = torch.max_pool2d(torch.relu(self.c2(h)), 2)
        return self.fc2(torch.relu(self.fc1(h.flatten(1))))

    def calibrate(self, x: torch.Tensor, spread: float = 3.0) -> None:
        """Standardize the logits over prior images so predictions vary with z (random weights alone
        give near-uniform probabilities, and then no level set is reachable)."""
        logits = self.raw(x)
        self.shift.copy_(logits.mean(0))
        self.gain.copy_(spread / (logits - logits.mean(0)).std())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.raw(x) - self.shift) * self.gain


def build_world(name: str, device: torch.device):
    """Return (prior, decoder, classifier, diff_decoder, diff_classifier, class_names, target_spec, description)."""
    from levelsets.classifiers.black_box import as_probability_fn

    if name == "synthetic":
        torch.manual_seed(0)
        dec = SyntheticDecoder().to(device).eval()
        cnn = SyntheticCNN().to(device).eval()
        for p in list(dec.parameters()) + list(cnn.parameters()):
            p.requires_grad_(False)
        prior = torch.distributions.Independent(
            torch.distributions.Normal(torch.zeros(5, device=device), torch.ones(5, device=device)), 1
        )
        with torch.no_grad():
            cnn.calibrate(dec(prior.sample((2000,))))

        @torch.no_grad()
        def decoder(z):
            return dec(z)

        classifier = as_probability_fn(cnn, num_classes=10, logits=True)
        # pick the pair target from the two classes the random CNN predicts most often
        with torch.no_grad():
            top = torch.softmax(cnn(dec(prior.sample((2000,)))), 1).argmax(1)
        counts = torch.bincount(top, minlength=10)
        a, b = sorted(int(i) for i in torch.argsort(counts, descending=True)[:2])
        return (
            prior,
            decoder,
            classifier,
            dec,
            lambda x: torch.softmax(cnn(x), 1),
            tuple(str(i) for i in range(10)),
            f"{a}vs{b}",
            "synthetic: MNIST-sized conv decoder (5-d latent) + small CNN, fixed random weights (seed 0)",
        )
    from levelsets.worlds import load_world

    world = load_world(name, device=device, echo=lambda m: print(m, file=sys.stderr))
    diff_dec = getattr(world.decoder, "__wrapped__", None)
    module = getattr(world.classifier, "__wrapped__", None)
    diff_clf = (lambda x: torch.softmax(module(x), 1)) if isinstance(module, torch.nn.Module) else None
    target = "ambiguous" if name == "shapes" else "1vs7"
    return world.prior, world.decoder, world.classifier, diff_dec, diff_clf, world.class_names, target, world.data


def forward_throughput(prior, decoder, classifier, n: int, device: torch.device, min_seconds: float) -> dict:
    """Images/s of decoder + classifier at batch n (after one warm-up batch), per wall and per CPU second."""
    z = prior.sample((n,)).to(device)
    with torch.no_grad():
        classifier(decoder(z))
        reps, start, cpu0 = 0, time.perf_counter(), time.process_time()
        while True:
            classifier(decoder(z))
            reps += 1
            if device.type == "cuda":
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds and reps >= 2:
                break
        cpu = time.process_time() - cpu0
    return {"wall": n * reps / elapsed, "cpu": n * reps / max(cpu, 1e-9)}


def run_mh(prior, decoder, classifier, target, n: int, steps: int, device: torch.device, seed: int) -> dict:
    """Our sampler at N = n: particle-steps/s (wall and CPU), time share of the forward pass, ESS, Δ."""
    from levelsets.inference import SamplerSettings, sample_level_set, summarize

    forward_seconds = 0.0

    def timed(fn):
        def inner(x):
            nonlocal forward_seconds
            t0 = time.perf_counter()
            out = fn(x)
            if device.type == "cuda":
                torch.cuda.synchronize()
            forward_seconds += time.perf_counter() - t0
            return out

        return inner

    burn = steps // 2
    s = SamplerSettings(
        particles=n,
        steps=steps,
        burn_in=burn,
        samples=min(100, n),
        thin=max(1, (steps - burn) // 20),
        device=str(device),
        progress=False,
        seed=seed,
    )
    cpu0 = time.process_time()
    res = sample_level_set(prior, timed(decoder), timed(classifier), target, s)
    cpu = time.process_time() - cpu0
    summ = summarize(res, target)
    return {
        "particles": n,
        "steps": steps,
        "burn_in": burn,
        "wall_seconds": res.wall_seconds,
        "cpu_seconds": cpu,
        "particle_steps_per_second": res.particle_steps_per_second,
        "particle_steps_per_cpu_second": n * steps / max(cpu, 1e-9),
        "forward_share_of_wall": forward_seconds / res.wall_seconds,
        "forward_evaluations": res.forward_evaluations,
        "ess_bulk_min": summ["ess_bulk_min"],
        "ess_per_second": summ["ess_per_second"],
        "acceptance_rate": summ["acceptance_rate"],
        "delta": summ["delta"],
        "within_tolerance": summ["within_tolerance"],
        "target_classes_share": summ["target_classes_share"],
        "rhat_max": summ["rhat_max"],
    }


def run_nuts(
    prior, diff_decoder, diff_classifier, target, warmup: int, samples: int, seed: int, max_tree_depth: int = 10
) -> dict:
    """Pyro NUTS on one chain, one particle, on the same Pyro model."""
    import pyro
    from pyro.infer import MCMC, NUTS

    from levelsets.inference import level_set_model

    if diff_decoder is None or diff_classifier is None:
        return {"skipped": "decoder or classifier is not differentiable (NUTS needs gradients)"}
    pyro.set_rng_seed(seed)
    tgt = torch.as_tensor(target, dtype=torch.float32)

    def model():
        return level_set_model(prior, diff_decoder, diff_classifier, tgt, 100.0, num_particles=1)

    kernel = NUTS(model, max_tree_depth=max_tree_depth)
    mcmc = MCMC(kernel, num_samples=samples, warmup_steps=warmup, disable_progbar=True)
    start = time.perf_counter()
    mcmc.run()
    wall = time.perf_counter() - start
    z = mcmc.get_samples(group_by_chain=True)["z"].detach().cpu().numpy()  # (1, samples, 1, d)
    z = z.reshape(1, samples, -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import arviz as az

        ess = az.ess(az.convert_to_dataset({"z": z}), method="bulk")["z"].values
    ess_min = float(np.nanmin(ess))
    return {
        "warmup": warmup,
        "samples": samples,
        "max_tree_depth": max_tree_depth,
        "wall_seconds": wall,
        "iterations_per_second": (warmup + samples) / wall,
        "samples_per_second": samples / wall,
        "ess_bulk_min": ess_min,
        "ess_per_second": ess_min / wall,
    }


def machine_info(device: torch.device) -> dict:
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def print_table(record: dict) -> None:
    rows = record["rows"]
    m = record["machine"]
    print(
        f"\nworld: {record['world']}  target: {record['target']['spec']}  machine: {m['platform']}, "
        f"{m['cpus']} CPUs, {m['torch_threads']} torch threads, {m['device']}"
    )
    head = (
        f"{'N':>7} {'fwd img/s':>10} {'MH p-steps/s':>13} {'MH/fwd':>7} {'MH/fwd cpu':>11} {'fwd share':>10} "
        f"{'MH ESS/s':>9} {'accept':>7} {'Δ':>7} {'peak MiB':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        mh = r["mh"]
        print(
            f"{r['particles']:>7} {r['forward_images_per_second']:>10.0f} {mh['particle_steps_per_second']:>13.0f} "
            f"{r['mh_over_forward']:>7.2f} {r['mh_over_forward_cpu']:>11.2f} {mh['forward_share_of_wall']:>10.2f} "
            f"{mh['ess_per_second']:>9.1f} {mh['acceptance_rate']:>7.2f} {mh['delta']:>7.4f} {r['peak_rss_mib']:>9.0f}"
        )
    nuts = record["nuts"]
    if "skipped" in nuts:
        print(f"NUTS (1 chain): skipped — {nuts['skipped']}")
    else:
        print(
            f"NUTS (1 chain): {nuts['iterations_per_second']:.2f} it/s, {nuts['samples_per_second']:.2f} samples/s, "
            f"ESS/s {nuts['ess_per_second']:.3f}"
        )
    for key, value in record["ratios"].items():
        print(f"{key}: {value:.3g}" if isinstance(value, float) else f"{key}: {value}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", choices=["synthetic", "shapes", "mnist"], default="synthetic")
    parser.add_argument("--particles", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--steps", type=int, default=100, help="MH steps per particle (half burn-in)")
    parser.add_argument("--nuts-warmup", type=int, default=100)
    parser.add_argument("--nuts-samples", type=int, default=100)
    parser.add_argument("--nuts-max-tree-depth", type=int, default=10, help="Pyro's default is 10")
    parser.add_argument("--forward-seconds", type=float, default=2.0, help="minimum timing window per batch size")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "results", help="directory for the JSON result")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run: N in {20, 50}, few steps")
    args = parser.parse_args(argv)

    from levelsets.artifacts import provenance, write_json
    from levelsets.devices import resolve_device
    from levelsets.targets import parse_target

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.particles, args.steps, args.forward_seconds = [20, 50], 12, 0.05
        args.nuts_warmup, args.nuts_samples, args.nuts_max_tree_depth = 5, 8, 4
    device = resolve_device(args.device)
    prior, decoder, classifier, diff_dec, diff_clf, class_names, target_spec, data = build_world(args.world, device)
    target = parse_target(target_spec, class_names)

    rows = []
    for n in args.particles:
        fwd = forward_throughput(prior, decoder, classifier, n, device, args.forward_seconds)
        mh = run_mh(prior, decoder, classifier, target.probs, n, args.steps, device, args.seed)
        rows.append(
            {
                "particles": n,
                "forward_images_per_second": fwd["wall"],
                "forward_images_per_cpu_second": fwd["cpu"],
                "mh": mh,
                "mh_over_forward": mh["particle_steps_per_second"] / fwd["wall"],
                "mh_over_forward_cpu": mh["particle_steps_per_cpu_second"] / fwd["cpu"],
                "peak_rss_mib": peak_rss_mb(),
                "cuda_peak_mib": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None,
            }
        )
        print(
            f"N={n}: forward {fwd['wall']:.0f} img/s, MH {mh['particle_steps_per_second']:.0f} particle-steps/s, "
            f"forward share of MH wall time {mh['forward_share_of_wall']:.2f}",
            file=sys.stderr,
        )

    nuts = run_nuts(
        prior, diff_dec, diff_clf, target.probs, args.nuts_warmup, args.nuts_samples, args.seed, args.nuts_max_tree_depth
    )
    ref = next((r for r in rows if r["particles"] == 1000), rows[-1])
    ratios = {
        "reference_particles": ref["particles"],
        "mh_over_forward_at_reference": ref["mh_over_forward"],
        "mh_over_forward_cpu_at_reference": ref["mh_over_forward_cpu"],
        "forward_share_of_mh_wall_at_reference": ref["mh"]["forward_share_of_wall"],
        "mh_ess_per_second_over_nuts": (ref["mh"]["ess_per_second"] / nuts["ess_per_second"])
        if "ess_per_second" in nuts and nuts["ess_per_second"] > 0
        else None,
    }
    record = {
        "world": args.world,
        "data": data,
        "target": target.to_dict(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine_info(device),
        "rows": rows,
        "nuts": nuts,
        "ratios": ratios,
        "peak_rss_mib": peak_rss_mb(),
        "provenance": provenance(settings=vars(args), seed=args.seed, data=data),
    }
    print_table(record)
    path = Path(args.out) / f"sampler_throughput_{args.world}{'_quick' if args.quick else ''}.json"
    write_json(path, record)
    print(f"\nwrote {path}")
    return record


if __name__ == "__main__":
    main()

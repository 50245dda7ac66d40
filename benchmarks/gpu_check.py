"""One run that checks levelsets on a GPU (issue 12, item 5), in at most 8 minutes; runs on the CPU too.

Stages, in this order (each one's failure is recorded and the run goes on; a stage that would start
after ``--budget-seconds`` is skipped with that reason, so the run ends in time):

1. **Sampler vs forward pass**, for each world (``mnist``: 5-d VAE under the MNIST CNN; ``mnist32``:
   32-d VAE under the pre-activation ResNet, when that world is registered — else skipped with the
   reason printed) and each N in ``--particles`` (default 10^3, 10^4, 10^5):

   * forward: images/s of ``world.classifier(world.decoder(z))`` for a batch of N prior draws — the
     exact callables the sampler is given (``sampler_throughput.forward_throughput``: one warm-up
     batch, then at least ``--forward-seconds``, synchronized), timed before and after the sampler
     run and averaged;
   * sampler: particle-steps/s of :func:`levelsets.inference.sampler.sample_level_set` at N
     particles with ``levelsets sample``'s defaults (band relaxation, 300 steps of which 200 burn-in,
     target 1vs7), N · steps / wall seconds of the whole call (burn-in, adaptation and the copy of
     the results to the host included; synchronized);
   * ``mh_over_forward`` = sampler particle-steps/s ÷ forward images/s. The issue's goal on a GPU is
     ≥ 0.9 at N = 10^5 (``goal``). A ratio above 1 is possible: some moves evaluate only half of the
     particles per step; ``forward_calls_per_particle_step`` says how many images the sampler
     classified per particle-step.

2. **One soft-label training epoch** of the MNIST CNN with Ent-WC (mixup with the entropy-weighted
   loss; soft targets) through :func:`levelsets.softlabels.soft_training.train_with_soft_labels`,
   i.e. ``levelsets train classifier --dataset mnist --method ent-wc --epochs 1``: float16 autocast
   with a GradScaler on CUDA (``amp``), float32 on the CPU; training images/s and the epoch's loss.
   Then the same epoch with ``mixed_precision=False`` (``float32_baseline``, same seed and data) and
   ``amp_speedup``, the ratio of the two images/s (≈ 1 on a CPU, where both run in float32).

3. **The notebooks in quick mode** (``LEVELSETS_NOTEBOOK_QUICK=1``, as ``tests/notebooks`` runs them),
   each executed with nbclient in a temporary directory: seconds and outcome.

Output: ``<out>/gpu_check.json`` on a GPU (``_tiny`` added with ``--tiny``, ``_cpu`` for a run on the
CPU: ``gpu_check_tiny_cpu.json``) with the device name,
torch and CUDA versions, the date, load averages, settings and every stage's figures, plus a
provenance sidecar. The JSON is rewritten after every stage, so a killed run keeps what it measured.

``--tiny``: a CPU smoke run in well under a minute (N in {32, 64}, 8 steps, a 128-image epoch, no
notebooks), whose models are tiny ones trained in seconds in a model home of their own
(``$LEVELSETS_HOME/gpu-check-tiny``), never the real cache; ``mnist32`` is used only if its models are
already cached there (tiny mode trains nothing big). The tiny figures exercise the code; they say
nothing about a GPU.

Usage::

    python benchmarks/gpu_check.py                       # on the GPU machine (≤ 8 min; trains missing models first)
    python benchmarks/gpu_check.py --tiny --out /tmp/g   # CPU smoke run (tests/benchmarks/test_gpu_check.py)
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
WORLDS = ("mnist", "mnist32")
GOAL_MH_OVER_FORWARD = 0.9
"""The issue's goal on a GPU: sampler particle-steps/s ≥ 0.9 × forward images/s at N = 10^5."""
GOAL_PARTICLES = 100_000
TARGET = "1vs7"
TINY = {"particles": [32, 64], "steps": 8, "burn_in": 4, "forward_seconds": 0.02, "train_examples": 128,
        "notebooks": []}
"""``--tiny``'s settings (the budget stays ``--budget-seconds``: a loaded CPU must not skip stages)."""
TINY_EPOCHS = {"classifier": 1, "vae": 1}
"""Epochs of the tiny models ``--tiny`` trains for the mnist world (seconds on a CPU)."""


def _sibling(name: str):
    """Load ``benchmarks/<name>.py`` (benchmarks/ holds scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"{name.replace('/', '_')}_for_gpu_check", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_throughput = _sibling("sampler_throughput")
forward_throughput, load_average, peak_rss_mb = (
    _throughput.forward_throughput, _throughput.load_average, _throughput.peak_rss_mb)
run_notebook = _sibling("gpu/notebooks").run_notebook
amp_and_sync_check = _sibling("gpu/amp_check").amp_and_sync_check


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _error(exc: BaseException) -> str:
    """One line naming the exception (a CUDA out-of-memory message is long)."""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]


def device_info(device: torch.device) -> dict[str, Any]:
    """Device name, torch/CUDA versions and the date (UTC) of this run."""
    info = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({os.cpu_count()} cores)",
        "torch": torch.__version__,
        "torch_cuda_build": torch.version.cuda,
        "cuda_runtime_available": torch.cuda.is_available(),
        "torch_threads": torch.get_num_threads(),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info["gpu_memory_gib"] = round(props.total_memory / 2**30, 1)
    return info


def world_or_reason(name: str, device: torch.device, *, tiny: bool, seed: int) -> tuple[Any, str | None]:
    """Load world ``name`` on ``device``; ``(None, reason)`` when it is not registered or (tiny) not cached."""
    from levelsets.errors import LevelsetsError
    from levelsets.logs import enable
    from levelsets.worlds import load_world, validate_world

    try:
        validate_world(name)
    except LevelsetsError as exc:
        return None, f"world {name!r} is not registered here ({exc})"
    try:
        if tiny and name == "mnist":
            _tiny_models(seed)
        enable()  # levelsets' notes (models trained on first use) on stderr
        return load_world(name, device=device, seed=seed, train_if_missing=not tiny or name == "mnist", progress=False), None
    except LevelsetsError as exc:  # a missing checkpoint under --tiny, a plugin that fails to load
        why = "its models are not cached and --tiny trains none" if tiny and name != "mnist" else "failed to load"
        return None, f"world {name!r}: {why} ({str(exc).splitlines()[0]})"


def sampler_row(world: Any, target: Any, n: int, args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """Forward images/s (before and after) and sampler particle-steps/s at N = n, and their ratio."""
    from levelsets.inference.sampler import SamplerSettings, sample_level_set

    before = forward_throughput(world, n, device, args.forward_seconds)
    settings = SamplerSettings(particles=n, steps=args.steps, burn_in=args.burn_in, samples=min(100, n),
                               relaxation=args.relaxation, device=str(device), progress=False, seed=args.seed)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    load0 = load_average()
    _sync(device)
    start = time.perf_counter()
    result = sample_level_set(world.prior, world.decoder, world.classifier, target.probs, settings)
    _sync(device)
    wall = time.perf_counter() - start
    after = forward_throughput(world, n, device, args.forward_seconds)
    forward = 0.5 * (before["wall"] + after["wall"])
    steps_per_second = n * args.steps / wall
    return {
        "particles": n,
        "forward_images_per_second": forward,
        "forward_before": before,
        "forward_after": after,
        "mh_particle_steps_per_second": steps_per_second,
        "mh_wall_seconds": wall,
        "mh_wall_seconds_inside": result.wall_seconds,
        "forward_calls_per_particle_step": result.forward_evaluations / (n * args.steps),
        "mh_over_forward": steps_per_second / forward,
        "load_average_before": load0,
        "cuda_peak_mib": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None,
        "peak_rss_mib": peak_rss_mb(),
    }


def training_epoch(args: argparse.Namespace, device: torch.device, out_dir: Path, *, mixed_precision: bool = True) -> dict[str, Any]:
    """One Ent-WC epoch of the MNIST CNN (``levelsets train classifier --method ent-wc --epochs 1``).

    ``mixed_precision=False`` is the float32 baseline (the same on a CPU, where AMP is never used).
    """
    from levelsets.softlabels.soft_training import train_with_soft_labels

    n_train = args.train_examples
    _sync(device)
    start = time.perf_counter()
    _, card = train_with_soft_labels("mnist", method="ent-wc", n_train=n_train, seed=args.seed, device=str(device),
                                     out=out_dir / f"classifier-{int(mixed_precision)}" / "model.pt", epochs=1,
                                     progress=False, mixed_precision=mixed_precision)
    _sync(device)
    total = time.perf_counter() - start
    history = card.get("history", {})
    examples = int(card.get("training_data", {}).get("total_examples") or n_train or 0)
    seconds = float(history.get("seconds") or total)
    amp = bool(history.get("mixed_precision"))
    return {
        "method": "ent-wc", "amp": amp, "amp_dtype": "float16" if amp else None,
        "examples": examples, "epoch_seconds": seconds, "images_per_second": examples / seconds if seconds > 0 else None,
        "seconds_with_data_and_evaluation": total, "train_loss": (history.get("train_loss") or [None])[-1],
        "heldout_accuracy": card.get("heldout_accuracy"), "device": history.get("device"),
    }


def training_stage(args: argparse.Namespace, device: torch.device, out_dir: Path) -> dict[str, Any]:
    """The epoch with mixed precision (where available), its float32 baseline, and the speed ratio.

    The baseline runs second, on the same seed and data: ``amp_speedup`` = images/s with AMP ÷
    images/s in float32 (about 1 on a CPU, where both are float32).
    """
    amp = training_epoch(args, device, out_dir, mixed_precision=True)
    base = training_epoch(args, device, out_dir, mixed_precision=False)
    ratio = amp["images_per_second"] / base["images_per_second"] if amp["images_per_second"] and base["images_per_second"] else None
    note = None if device.type == "cuda" else "mixed precision is CUDA-only: both epochs ran in float32 here"
    return {**amp, "float32_baseline": base, "amp_speedup": ratio, "note": note, "cuda_checks": amp_and_sync_check(device)}


@contextlib.contextmanager
def _env(**values: str):
    """Set environment variables for the block, then restore them."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _tiny_models(seed: int) -> None:
    """Train the mnist world's tiny models (seconds) into the current (tiny) model home, if missing."""
    from levelsets.classifiers.zoo import get_classifier
    from levelsets.generative.zoo import get_generator

    get_classifier("mnist", epochs=TINY_EPOCHS["classifier"], n_train=1000, seed=seed, device="cpu", progress=False)
    get_generator("vae", "mnist", epochs=TINY_EPOCHS["vae"], seed=seed, device="cpu", progress=False)


def goal_check(worlds: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """The issue's GPU goal at N = 10^5 per world: met / not met, or why it cannot be judged."""
    verdict: dict[str, Any] = {"goal_mh_over_forward": GOAL_MH_OVER_FORWARD, "particles": GOAL_PARTICLES}
    for name, record in worlds.items():
        row = next((r for r in record.get("rows", []) if r.get("particles") == GOAL_PARTICLES and "mh_over_forward" in r), None)
        if device.type != "cuda":
            verdict[name] = "not judged: no GPU in this run"
        elif row is None:
            verdict[name] = "not judged: no N = 100,000 row"
        else:
            verdict[name] = bool(row["mh_over_forward"] >= GOAL_MH_OVER_FORWARD)
    return verdict


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line settings; ``--tiny`` replaces the sizes with :data:`TINY`'s."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worlds", nargs="+", default=list(WORLDS), help="worlds to measure (absent ones are skipped, with the reason)")
    p.add_argument("--particles", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    p.add_argument("--steps", type=int, default=300, help="sampler steps, burn-in included (levelsets sample's default)")
    p.add_argument("--burn-in", type=int, default=200)
    p.add_argument("--relaxation", default="band", help="band (levelsets sample's default), dirichlet or normal")
    p.add_argument("--forward-seconds", type=float, default=1.0, help="minimum timing window of each forward measurement")
    p.add_argument("--train-examples", type=int, default=None, help="MNIST training images of the epoch (default: all)")
    p.add_argument("--notebooks", nargs="*", default=None, help="notebook files (default: every notebooks/*.ipynb)")
    p.add_argument("--budget-seconds", type=float, default=480.0, help="stages that would start later are skipped")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=HERE / "results")
    p.add_argument("--tiny", action="store_true", help="CPU smoke run in well under a minute (see the module docstring)")
    args = p.parse_args(argv)
    if args.tiny:
        for key, value in TINY.items():
            setattr(args, key, value)
    if args.notebooks is None:
        args.notebooks = [str(q) for q in sorted((HERE.parent / "notebooks").glob("*.ipynb"))]
    if not 0 <= args.burn_in < args.steps:
        p.error("need 0 ≤ --burn-in < --steps")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the stages, print a summary and write ``gpu_check[_tiny][_cpu].json``; returns the record."""
    args = parse_args(argv)
    from levelsets.artifacts import provenance, write_json, write_sidecar
    from levelsets.devices import resolve_device
    from levelsets.home import model_home
    from levelsets.seeding import seed_everything
    from levelsets.targets import parse_target

    device = resolve_device(args.device)
    seed_everything(args.seed)
    start = time.perf_counter()
    suffix = ("_tiny" if args.tiny else "") + ("" if device.type == "cuda" else f"_{device.type}")
    path = Path(args.out) / f"gpu_check{suffix}.json"  # a run off the GPU says so in its name
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    record: dict[str, Any] = {"machine": device_info(device), "settings": settings, "load_average": {"start": load_average()},
                              "worlds": {}, "training": None, "notebooks": [], "skipped": []}

    def save() -> None:
        record["seconds"] = time.perf_counter() - start
        record["load_average"]["end"] = load_average()
        record["goal"] = goal_check(record["worlds"], device)
        write_json(path, record)

    def in_budget(stage: str) -> bool:
        if time.perf_counter() - start < args.budget_seconds:
            return True
        record["skipped"].append(f"{stage}: past the {args.budget_seconds:.0f} s budget")
        print(f"skipped {stage}: past the {args.budget_seconds:.0f} s budget", file=sys.stderr)
        return False

    home = Path(model_home()) / "gpu-check-tiny" if args.tiny else Path(model_home())
    with _env(LEVELSETS_HOME=str(home)), tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        record["model_home"] = str(home)
        for name in args.worlds:
            if not in_budget(f"world {name}"):
                continue
            setup = time.perf_counter()
            world, reason = world_or_reason(name, device, tiny=args.tiny, seed=args.seed)
            if world is None:
                print(f"skipped world {name}: {reason}", file=sys.stderr)
                record["worlds"][name] = {"skipped": reason}
                save()
                continue
            target = parse_target(TARGET, world.class_names)
            entry = record["worlds"][name] = {"data": world.data, "latent_dim": int(world.prior.event_shape[0]),
                                              "target": TARGET, "setup_seconds": time.perf_counter() - setup, "rows": []}
            for n in args.particles:
                if not in_budget(f"world {name} N={n}"):
                    continue
                try:
                    row = sampler_row(world, target, n, args, device)
                    print(f"{name} N={n}: forward {row['forward_images_per_second']:.0f} img/s, sampler "
                          f"{row['mh_particle_steps_per_second']:.0f} particle-steps/s, ratio {row['mh_over_forward']:.2f}",
                          file=sys.stderr)
                except Exception as exc:  # out of memory at 10^5, say: recorded, the run goes on
                    row = {"particles": n, "error": _error(exc)}
                    if device.type == "cuda":
                        torch.cuda.empty_cache()
                    print(f"{name} N={n}: {row['error']}", file=sys.stderr)
                entry["rows"].append(row)
                save()
            del world
            if device.type == "cuda":
                torch.cuda.empty_cache()
        if in_budget("training epoch"):
            try:
                record["training"] = training_stage(args, device, Path(tmp))
            except Exception as exc:
                record["training"] = {"error": _error(exc)}
            print(f"training epoch: {record['training']}", file=sys.stderr)
            save()
    for nb in args.notebooks:
        if in_budget(f"notebook {Path(nb).name}"):
            left = args.budget_seconds - (time.perf_counter() - start)
            record["notebooks"].append(run_notebook(Path(nb), timeout=left))
            print(f"notebook {record['notebooks'][-1]}", file=sys.stderr)
            save()
    record["provenance"] = provenance(settings=settings, seed=args.seed, data="MNIST (see each world's data)")
    save()
    write_sidecar(path, record["provenance"])
    print(f"wrote {path} ({record['seconds']:.0f} s on {record['machine']['device_name']}); goal: {record['goal']}")
    return record


if __name__ == "__main__":
    main()

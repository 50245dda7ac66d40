"""A whole sampling job: world → sampler → diagnostics → artifacts (what ``levelsets sample`` runs).

Formerly ``levelsets.sampling``; no re-export is kept (the notebooks and docs import this module).

Notebooks call :func:`run_sample_job` directly (or the pieces: :func:`levelsets.worlds.load_world`,
:func:`levelsets.inference.sampler.sample_level_set`). A job writes into ``out``:

``samples.npz``   latents, images, probabilities, target (see :mod:`levelsets.runs`)
``grid.png``      the samples with their predicted probabilities
``latents.png``   prior vs posterior latents in 2-D, coloured by predicted class (seed 003 figs. 3–4)
``trace.nc``      ArviZ InferenceData (particles = chains, thinned post-burn-in draws)
``summary.json``  settings, diagnostics and provenance

For a graded strip (``graded:AvsB``) each β gets its own run directory ``beta_<β>/`` and the top
directory holds ``strip.png`` and a ``summary.json`` listing the runs. Output appears only when the
whole job succeeded (:func:`levelsets.artifacts.atomic_output_dir`).
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from levelsets.errors import LevelsetsError
from levelsets.job_fields import (
    device_field,
    out_field,
    overwrite_field,
    progress_field,
    relaxation_field,
    seed_field,
    tolerance_field,
)
from levelsets.sampler_checks import check_sampler_settings

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from levelsets.inference.sampler import SamplerSettings

MNIST_WORLDS = ("mnist", "mnist32")
"""Worlds whose images are MNIST digits: their samples are scored against real digits of the target's classes."""


@dataclass
class SampleJob:
    """Settings of one ``levelsets sample`` job (validated on construction).

    Each field is one option of ``levelsets sample`` (and of ``levelsets sweep``): its name, type
    and default are the option's, its docstring is the option's ``--help``
    (:mod:`levelsets.cli.options`), and ``flags`` in its metadata adds short names; the fields
    every job shares (``seed``, ``device``, ``out``, ...) come from :mod:`levelsets.job_fields`. The
    fields it shares with the sampler are checked by the sampler's own checks
    (:func:`~levelsets.sampler_checks.check_sampler_settings`). After construction ``alpha`` and
    ``out`` hold their resolved values; the job is written, resolved, into every ``summary.json``
    (``settings``).
    """

    target: str = field(default="1vs7", metadata={"flags": ("-t",)})
    """ambiguous | AvsB (e.g. 1vs7) | confident:C | graded:AvsB:β | graded:AvsB (a strip) | a vector like 0.2,0.8"""
    world: str = "mnist"
    """mnist, shapes (the house/rocket world with an exact posterior), a registered world, or a plugin:
    FILE.py:FUNC or package.module:FUNC returning a levelsets.World (docs/worlds.md)."""
    prior: str | None = None
    """mnist: vae (default) or gan; shapes: exact (default) or exact-circle."""
    alpha: float | None = None
    """Dirichlet tolerance α: larger = tighter level set. Default: 100 for mnist (seed 003), 300 for shapes."""
    relaxation: str = relaxation_field()
    particles: int = field(default=1000, metadata={"flags": ("-N",)})
    """Particles N advanced in parallel."""
    steps: int = field(default=300, metadata={"flags": ("-T",)})
    """Total MH steps per particle (burn-in included)."""
    burn_in: int = 200
    """Steps of tempering + proposal adaptation before the kept draws."""
    samples: int = field(default=100, metadata={"flags": ("-n",)})
    """Samples n ≤ N returned (resampled from the final particles)."""
    thin: int = 5
    """Keep every thin-th post-burn-in state for diagnostics."""
    tolerance: float = tolerance_field()
    moves: str = "auto"
    """auto (MALA gradient moves for a smooth relaxation above 16 latent dimensions when the decoder and classifier are
    differentiable, black-box moves otherwise), gradient (MALA or an error saying why not) or black-box. summary.json
    says which ran and why."""
    compare_prior: bool = False
    """Also run prior rejection on the same classifier budget and report both yields."""
    exclude_class: int | None = None
    """mnist: use a generator trained without this class."""
    classifier: Path | None = None
    """Classifier checkpoint to use instead of the cached one (e.g. from `levelsets loop`)."""
    shards: int = 1
    """Split the particles across K Ray actors (K CPU cores; a local Ray cluster is started) and pool them;
    1 = this process. See docs/sweeps.md."""
    seed: int = seed_field()
    device: str = device_field()
    out: Path | None = out_field("runs/<time>-<world>-<prior>-<target>-seed<S>")
    overwrite: bool = overwrite_field()
    progress: bool = progress_field()  # not an option: the CLI's --quiet

    def __post_init__(self) -> None:
        from levelsets.worlds import validate_world, world_slug

        choice = validate_world(self.world, self.prior)  # built-in, registered or FILE.py:FUNC / package.module:FUNC
        if self.alpha is None:
            self.alpha = choice.default_alpha
        check_sampler_settings(vars(self), options=True)  # the sampler's checks on the fields it shares (--particles, ...)
        if int(self.shards) != self.shards or not 1 <= self.shards <= self.particles:
            raise LevelsetsError(f"--shards must be an integer from 1 to --particles ({self.particles}); got {self.shards}")
        if self.out is None:
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            safe = self.target.replace(":", "_").replace(",", "_").replace("[", "").replace("]", "").replace(" ", "")
            self.out = Path("runs") / f"{stamp}-{world_slug(self.world)}-{self.prior or 'default'}-{safe}-seed{self.seed}"
        self.out = Path(self.out)

    def sampler_settings(self, *, seed: int | None = None, device: str | None = None) -> SamplerSettings:
        """The :class:`~levelsets.inference.sampler.SamplerSettings` of this job.

        Every field the two dataclasses share by name (``particles``, ``steps``, ``burn_in``,
        ``samples``, ``alpha``, ``relaxation``, ``tolerance``, ``moves``, ``thin``, ``seed``, ``device``,
        ``progress``) is taken from the job; the sampler's other settings keep their defaults.
        ``seed`` and ``device`` override the job's (a graded strip's β-th run uses ``seed + i``;
        ``device`` is the resolved one). The shared fields were checked when the job was made, by the
        same checks (:func:`~levelsets.sampler_checks.check_sampler_settings`).
        """
        from levelsets.inference.sampler import SamplerSettings

        mine = {f.name for f in fields(self)}
        shared = {f.name: getattr(self, f.name) for f in fields(SamplerSettings) if f.init and f.name in mine}
        if seed is not None:
            shared["seed"] = seed
        if device is not None:
            shared["device"] = device
        return SamplerSettings(**shared)


@dataclass
class SampleJobResult:
    """What a job produced: the output directory and its summary (also in ``summary.json``)."""

    out: Path
    summary: dict[str, Any]
    runs: list[dict[str, Any]] = field(default_factory=list)


def _class_names(world: str, prior: str | None = None) -> tuple[str, ...]:
    from levelsets.worlds import class_names

    return class_names(world, prior)


def run_sample_job(job: SampleJob) -> SampleJobResult:
    """Run a sampling job end to end and write its artifacts into ``job.out``.

    Inputs are validated before any model is loaded or trained, and the output directory appears
    only if everything succeeded. Progress notes (the data, each target being sampled) are logged at
    INFO and a run with no sample within tolerance at WARNING (:func:`tolerance_note`), on the
    ``levelsets.workflows.sample`` logger; the caller reports ``job.out`` (the CLI prints "Wrote <out>").
    """
    from levelsets.artifacts import atomic_output_dir, check_writable_dir, provenance, write_json
    from levelsets.devices import resolve_device
    from levelsets.seeding import seed_everything
    from levelsets.targets import (
        check_relaxation_target,
        graded_strip,
        is_graded_strip,
        parse_target,
    )
    from levelsets.worlds import default_prior, load_world

    names = _class_names(job.world, job.prior)
    targets = graded_strip(job.target, names) if is_graded_strip(job.target) else [parse_target(job.target, names)]
    for t in targets:
        check_relaxation_target(t, job.relaxation)
    check_writable_dir(job.out, overwrite=job.overwrite)
    device = resolve_device(job.device)
    seed_everything(job.seed)
    world = load_world(job.world, job.prior or default_prior(job.world), device=device, seed=job.seed,
                       exclude_class=job.exclude_class, classifier_path=job.classifier, progress=job.progress)
    log.info(f"Data: {world.data}")

    started = time.perf_counter()
    with atomic_output_dir(job.out, overwrite=job.overwrite) as tmp:
        runs = []
        for i, target in enumerate(targets):
            run_dir = tmp if len(targets) == 1 else tmp / f"beta_{target.spec.split(':')[-1]}"
            run_dir.mkdir(parents=True, exist_ok=True)
            log.info(f"Sampling {target.describe()} with {job.particles} particles × {job.steps} steps on {device} ...")
            runs.append(_sample_one(world, target, job, device, run_dir, seed=job.seed + i))
        if len(targets) == 1:
            summary = runs[0]
        else:
            summary = _strip_summary(world, targets, runs, job, tmp)
        summary["wall_seconds_total"] = time.perf_counter() - started
        summary["notes"] = [note for target, run in zip(targets, runs) if (note := tolerance_note(target.spec, run, job.tolerance))]
        summary.update(provenance(settings=asdict(job), seed=job.seed, data=world.data))
        write_json(tmp / "summary.json", summary)
    for note in summary["notes"]:
        log.warning(note)
    return SampleJobResult(out=Path(job.out), summary=summary, runs=runs)


def tolerance_note(spec: str, run: dict[str, Any], tolerance: float) -> str | None:
    """One line for a run none of whose samples is within ``tolerance`` of the target on every class, else None.

    That usually means the generator and classifier cannot produce such outputs at all (the
    level set is empty and the samples are its nearest approximations), not that sampling failed.
    """
    if run.get("within_tolerance", 1.0) > 0.0:
        return None
    return (f"Note: no sample of {spec} is within ±{tolerance:g} of the target on every class (mean Δ {run['delta']:.2%}); "
            "this generator and classifier may not produce such outputs at all. A larger --alpha concentrates the "
            "samples; benchmarks/delta_floor.py measures the smallest Δ any single latent reaches.")


def _sample_one(world, target, job: SampleJob, device, run_dir: Path, *, seed: int) -> dict[str, Any]:
    """Sample one target into ``run_dir``; return its summary dict (also written there)."""
    import torch

    from levelsets.artifacts import provenance, write_json
    from levelsets.inference.diagnostics import sampling_yield, summarize, to_inference_data
    from levelsets.inference.sampler import prior_rejection, sample_level_set
    from levelsets.plots import plot_latents, plot_sample_grid
    from levelsets.runs import SampleRun

    settings = job.sampler_settings(seed=seed, device=str(device))
    target_t = torch.as_tensor(target.probs, dtype=torch.float32, device=device)
    if job.shards > 1:
        from levelsets.workflows.shards import sample_sharded

        result = sample_sharded(world.prior, world.decoder, world.classifier, target_t, settings, shards=job.shards)
    else:
        result = sample_level_set(world.prior, world.decoder, world.classifier, target_t, settings)
    latents = result.latents
    with torch.no_grad():
        images = world.decoder(latents.to(device)).float().cpu().numpy()
    probs = result.probs.detach().cpu().numpy()
    exact = world.exact_posterior(latents.to(torch.float64)).cpu().numpy() if world.exact_posterior else None

    summary: dict[str, Any] = {
        "target": target.to_dict(),
        "alpha": job.alpha,
        "relaxation": job.relaxation,
        "particles": job.particles,
        "steps": job.steps,
        "burn_in": job.burn_in,
        "samples": job.samples,
        "tolerance": job.tolerance,
        **world.describe(),
        "seed": seed,
        "sampler": result.settings_dict(),
        "moves": getattr(result, "moves", None),  # which move kernels ran, and why
    }
    summary.update(summarize(result, target, tolerance=job.tolerance))
    if result.band is not None:
        summary["band"] = result.band
    summary["quality"] = _quality(world, target, images)
    summary["mean_probs"] = {name: float(probs[:, k].mean()) for k, name in enumerate(world.class_names)}
    summary["mean_confidence"] = float(probs.max(axis=1).mean())
    summary["wall_seconds"] = result.wall_seconds
    summary["particle_steps_per_second"] = job.particles * job.steps / max(result.wall_seconds, 1e-9)
    summary["forward_evaluations"] = result.forward_evaluations
    if exact is not None:
        summary["exact_posterior_mean"] = {name: float(exact[:, k].mean()) for k, name in enumerate(world.class_names)}
        summary["exact_posterior_mean_abs_deviation"] = float(np.abs(exact - target.probs[None, :]).mean())
    if job.compare_prior:
        generator = torch.Generator(device=device).manual_seed(seed + 7919)
        baseline = prior_rejection(world.prior, world.decoder, world.classifier, target_t,
                                   budget=result.forward_evaluations, tolerance=job.tolerance,
                                   batch_size=min(job.particles, 4096), generator=generator)
        summary["compare_prior"] = sampling_yield(result, baseline, target)

    SampleRun(
        latents=latents.cpu().numpy(), images=images, probs=probs, target=target.probs, class_names=world.class_names,
        particle_index=result.particle_index.cpu().numpy(), exact_posterior=exact,
    ).save(run_dir)
    to_inference_data(result, latent_names=world.latent_names, class_names=world.class_names).to_netcdf(str(run_dir / "trace.nc"), engine="h5netcdf")
    title = f"{world.name}/{world.prior_name} · target {target.spec} · Δ={summary['delta'] * 100:.2f}%"
    plot_sample_grid(images, probs, world.class_names, title=title, path=run_dir / "grid.png")

    n_prior = 1500 if world.latent_dim <= 3 else 600
    with torch.no_grad():  # torch distributions draw from the global RNG, seeded by the job
        prior_z = world.prior.sample((n_prior,)).to(device)
        prior_classes = world.classifier(world.decoder(prior_z)).argmax(-1).cpu().numpy()
    plot_latents(prior_z.cpu().numpy(), prior_classes, latents.cpu().numpy(), world.class_names,
                 latent_names=world.latent_names, title=f"prior vs level-set latents · {target.spec}",
                 seed=seed, path=run_dir / "latents.png")
    record = dict(summary)
    record.update(provenance(settings=asdict(job), seed=seed, data=world.data))
    write_json(run_dir / "summary.json", record)
    return summary


def _quality(world, target, images) -> dict[str, Any]:
    """What a person sees in the samples (:mod:`levelsets.evaluation.sample_quality`)."""
    from levelsets.evaluation import sample_quality

    if world.name in MNIST_WORLDS:
        reference = sample_quality.mnist_reference(sample_quality.target_classes(target))
    else:
        reference = sample_quality.generator_reference(world.prior, world.decoder)
    return sample_quality.quality_report(images, reference)


def _strip_summary(world, targets, runs, job: SampleJob, out: Path) -> dict[str, Any]:
    from levelsets.plots import plot_graded_strip
    from levelsets.runs import load_run

    betas = [float(t.spec.split(":")[-1]) for t in targets]
    loaded = [load_run(out / f"beta_{t.spec.split(':')[-1]}") for t in targets]
    plot_graded_strip([r.images for r in loaded], [r.probs for r in loaded], betas, world.class_names,
                      targets[0].classes, path=out / "strip.png")
    return {
        "target": {"spec": job.target, "betas": betas},
        "runs": [{"beta": b, "dir": f"beta_{t.spec.split(':')[-1]}", "delta": r["delta"],
                  "within_tolerance": r["within_tolerance"], "distinct": r["distinct"]}
                 for b, t, r in zip(betas, targets, runs)],
        **world.describe(),
    }

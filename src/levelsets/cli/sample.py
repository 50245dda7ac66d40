"""``levelsets sample``: draw prediction-level-set images (the headline command)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from levelsets.cli.common import DeviceOption, SeedOption


def sample(
    target: str = typer.Option(
        "1vs7", "--target", "-t",
        help="ambiguous | AvsB (e.g. 1vs7) | confident:C | graded:AvsB:β | graded:AvsB (a strip) | a vector like 0.2,0.8",
    ),
    world: str = typer.Option("mnist", "--world", help="mnist, shapes (the house/rocket world with an exact posterior), a registered world, or a plugin: FILE.py:FUNC or package.module:FUNC returning a levelsets.World (docs/worlds.md)."),
    prior: str | None = typer.Option(None, "--prior", help="mnist: vae (default) or gan; shapes: exact (default) or exact-circle."),
    alpha: float | None = typer.Option(
        None, "--alpha", help="Dirichlet tolerance α: larger = tighter level set. Default: 100 for mnist (seed 003), 300 for shapes.",
    ),
    relaxation: str = typer.Option("band", "--relaxation", help="band (default: the prior restricted to max_l |f_l − p_l| ≤ --tolerance, i.e. the generator's own images within the tolerance; adaptive-level SMC, reports the band's prior mass), dirichlet (seed 003's relaxation, Table 1; uses --alpha) or normal (Bayes-TrEx constraints)."),
    particles: int = typer.Option(1000, "--particles", "-N", help="Particles N advanced in parallel."),
    steps: int = typer.Option(300, "--steps", "-T", help="Total MH steps per particle (burn-in included)."),
    burn_in: int = typer.Option(200, "--burn-in", help="Steps of tempering + proposal adaptation before the kept draws."),
    samples: int = typer.Option(100, "--samples", "-n", help="Samples n ≤ N returned (resampled from the final particles)."),
    thin: int = typer.Option(5, "--thin", help="Keep every thin-th post-burn-in state for diagnostics."),
    tolerance: float = typer.Option(0.05, "--tolerance", help="Within tolerance: max_l |f(x)_l − p_l| ≤ this."),
    compare_prior: bool = typer.Option(False, "--compare-prior", help="Also run prior rejection on the same classifier budget and report both yields."),
    exclude_class: int | None = typer.Option(None, "--exclude-class", help="mnist: use a generator trained without this class."),
    classifier: Path | None = typer.Option(None, "--classifier", help="Classifier checkpoint to use instead of the cached one (e.g. from `levelsets loop`)."),
    shards: int = typer.Option(1, "--shards", help="Split the particles across K Ray actors (K CPU cores; a local Ray cluster is started) and pool them; 1 = this process. See docs/sweeps.md."),
    seed: int = SeedOption,
    device: str = DeviceOption,
    out: Path | None = typer.Option(None, "--out", "-o", help="Output directory (default: runs/<time>-<world>-<prior>-<target>-seed<S>)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty --out."),
    json_output: bool = typer.Option(False, "--json", help="Print summary.json to stdout instead of a table."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Sample images whose predicted probabilities match TARGET, staying in-distribution.

    Writes samples.npz, grid.png, latents.png, trace.nc (ArviZ) and summary.json into --out.
    Missing models are trained first (and cached in $LEVELSETS_HOME).
    """
    from levelsets.sampling import SampleJob, run_sample_job

    job = SampleJob(
        world=world, prior=prior, target=target, alpha=alpha, relaxation=relaxation, particles=particles,
        steps=steps, burn_in=burn_in, samples=samples, thin=thin, tolerance=tolerance, seed=seed, device=device,
        out=out, overwrite=overwrite, compare_prior=compare_prior, exclude_class=exclude_class, classifier=classifier, progress=not quiet,
        shards=shards,
    )
    echo = (lambda msg: typer.echo(msg, err=True)) if json_output else typer.echo
    result = run_sample_job(job, echo=echo)
    if json_output:
        typer.echo(json.dumps(result.summary, indent=2))
    else:
        _print_table(result.summary)


_SHOWN = (
    ("delta", "Δ (mean |p − f(x)|)", "{:.2%}"),
    ("within_tolerance", "within tolerance", "{:.1%}"),
    ("target_classes_share", "target pair on top", "{:.1%}"),
    ("families", "visual families", "{}"),
    ("effective_families", "effective families", "{:.1f}"),
    ("largest_family_share", "largest family", "{:.0%}"),
    ("intensity_ratio", "intensity vs real", "{:.0%}"),
    ("coverage", "coverage of real", "{:.2f}"),
    ("distinct", "distinct latents", "{}"),
    ("acceptance_rate", "acceptance rate", "{:.2f}"),
    ("rhat_max", "max split R-hat", "{:.3f}"),
    ("ess_bulk_min", "min bulk ESS", "{:.0f}"),
    ("wall_seconds", "sampling seconds", "{:.1f}"),
    ("particle_steps_per_second", "particle-steps/s", "{:,.0f}"),
)


def _print_table(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if "runs" in summary:
        table = Table(title=f"graded strip {summary['target']['spec']}")
        for col in ("β", "Δ", "within tolerance", "distinct"):
            table.add_column(col)
        for run in summary["runs"]:
            table.add_row(f"{run['beta']:g}", f"{run['delta']:.2%}", f"{run['within_tolerance']:.1%}", str(run["distinct"]))
        console.print(table)
        return
    table = Table(title=f"level set {summary['target']['spec']} · {summary['world']}/{summary['prior']}")
    table.add_column("diagnostic")
    table.add_column("value", justify="right")
    flat = {**summary, **(summary.get("quality") or {})}
    for key, label, fmt in _SHOWN:
        value = flat.get(key)
        if value is not None:
            table.add_row(label, fmt.format(value))
    if summary.get("band"):
        band = summary["band"]
        table.add_row(f"prior mass of the ±{band['tolerance']:g} band", f"{band['mass']:.3g} ± {band['mass_se']:.2g}")
    for name, value in (summary.get("exact_posterior_mean") or {}).items():
        table.add_row(f"exact p({name} | z), mean", f"{value:.3f}")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``levelsets sample``."""
    app.command("sample")(sample)

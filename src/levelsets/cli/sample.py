"""``levelsets sample``: draw prediction-level-set images (the headline command).

The job's options are the fields of :class:`levelsets.workflows.sample.SampleJob` (declared there once,
with their help; :mod:`levelsets.cli.options`); only the presentation options (``--json``,
``--quiet``) are declared here.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from levelsets.cli.options import job_options
from levelsets.workflows.sample import SampleJob


@job_options(SampleJob, exclude=("progress",))
def sample(
    *,
    json_output: bool = typer.Option(False, "--json", help="Print summary.json to stdout instead of a table."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars, and notes only at warning level."),
    **job: Any,
) -> None:
    """Sample images whose predicted probabilities match TARGET, staying in-distribution.

    Writes samples.npz, grid.png, latents.png, trace.nc (ArviZ) and summary.json into --out.
    Missing models are trained first (and cached in $LEVELSETS_HOME).
    """
    from levelsets.logs import configure_cli
    from levelsets.workflows.sample import run_sample_job

    configure_cli(quiet=quiet)
    result = run_sample_job(SampleJob(**job, progress=not quiet))
    if json_output:  # stdout holds the JSON alone
        typer.echo(json.dumps(result.summary, indent=2))
        typer.echo(f"Wrote {result.out}", err=True)
    else:
        _print_table(result.summary)
        typer.echo(f"Wrote {result.out}")


_SHOWN = (
    ("delta", "Δ (mean |p − f(x)|)", "{:.2%}"),
    ("within_tolerance", "within tolerance", "{:.1%}"),
    ("target_classes_share", "target pair on top", "{:.1%}"),
    ("families", "visual families", "{}"),
    ("effective_families", "effective families", "{:.1f}"),
    ("largest_family_share", "largest family", "{:.0%}"),
    ("near_copy_share", "near copies", "{:.0%}"),
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

"""`levelsets stimuli` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from levelsets.cli.common import SeedOption


def register(app: typer.Typer) -> None:
    """Add the `stimuli` command(s) to the top-level app."""
    group = typer.Typer(help="Turn sample runs into elicitation stimuli.", no_args_is_help=True)

    @group.command("export")
    def export(
        run_dirs: Annotated[list[Path], typer.Argument(help="Output directories of `levelsets sample` (one classifier).")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Stimulus directory to create (PNGs, manifest.json, batches.json).")],
        size: Annotated[int, typer.Option("--size", help="Side of the PNGs in pixels (Lanczos upscaling).")] = 160,
        per_participant: Annotated[int, typer.Option("--per-participant", help="Trials per participant batch.")] = 27,
        repeats: Annotated[int, typer.Option("--repeats", help="Repeated trials per batch (consistency checks).")] = 2,
        catch: Annotated[int | None, typer.Option("--catch", help="Catch trials per batch from confident: runs [default: 3 if any, else 0].")] = None,
        mixed: Annotated[int, typer.Option("--mixed", help="Mixed (mixup) images to add, for the mixing-coefficient interface.")] = 0,
        per_run: Annotated[int | None, typer.Option("--per-run", help="Stimuli per run [default: every stored sample].")] = None,
        select: Annotated[str, typer.Option("--select", help="How --per-run stimuli are chosen: diverse (k-center spread over the run's final population, in pixel space; default) or random (a random sample of the level set).")] = "diverse",
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --out directory.")] = False,
        seed: int = SeedOption,
    ) -> None:
        """Export PNG stimuli, a manifest and per-participant batches from sample runs."""
        from levelsets.elicitation.manifest import load_stimuli
        from levelsets.elicitation.stimuli import StimuliSettings, export_stimuli

        settings = StimuliSettings(size=size, per_participant=per_participant, repeats=repeats, catch=catch,
                                   mixed=mixed, seed=seed, per_run=per_run, select=select)
        path = export_stimuli(run_dirs, out, settings, overwrite=overwrite)
        made = load_stimuli(path)
        kinds: dict[str, int] = {}
        for record in made.stimuli.values():
            kinds[record["kind"]] = kinds.get(record["kind"], 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        typer.echo(f"wrote {len(made.stimuli)} stimuli ({summary}) and {len(made.batches)} batches of "
                   f"{len(made.batches[0]['trials'])} trials to {path} (study {made.study_id})")

    app.add_typer(group, name="stimuli")

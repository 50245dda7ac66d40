"""`levelsets stimuli` commands.

``stimuli export``'s settings are the fields of :class:`levelsets.elicitation.stimuli.StimuliSettings`,
declared there once with their help (:mod:`levelsets.cli.options`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from levelsets.cli.options import job_options
from levelsets.elicitation.stimuli import StimuliSettings


def register(app: typer.Typer) -> None:
    """Add the `stimuli` command(s) to the top-level app."""
    group = typer.Typer(help="Turn sample runs into elicitation stimuli.", no_args_is_help=True)

    @group.command("export")
    @job_options(StimuliSettings)
    def export(
        run_dirs: Annotated[list[Path], typer.Argument(help="Output directories of `levelsets sample` (one classifier).")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Stimulus directory to create (PNGs, manifest.json, batches.json).")],
        *,
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --out directory.")] = False,
        **settings: Any,
    ) -> None:
        """Export PNG stimuli, a manifest and per-participant batches from sample runs."""
        from levelsets.elicitation.manifest import load_stimuli
        from levelsets.elicitation.stimuli import export_stimuli

        path = export_stimuli(run_dirs, out, StimuliSettings(**settings), overwrite=overwrite)
        made = load_stimuli(path)
        kinds: dict[str, int] = {}
        for record in made.stimuli.values():
            kinds[record["kind"]] = kinds.get(record["kind"], 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        typer.echo(f"wrote {len(made.stimuli)} stimuli ({summary}) and {len(made.batches)} batches of "
                   f"{len(made.batches[0]['trials'])} trials to {path} (study {made.study_id})")

    app.add_typer(group, name="stimuli")

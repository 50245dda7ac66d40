"""`levelsets elicit` commands: ``serve`` (the study's web app) and ``export`` (its responses).

Their options are the fields of :class:`levelsets.elicitation.elicit_settings.ServeJob` and
:class:`~levelsets.elicitation.elicit_settings.ExportJob`, declared there once with their help
(:mod:`levelsets.cli.options`).
"""

from __future__ import annotations

from typing import Any

import typer

from levelsets.cli.options import job_options
from levelsets.elicitation.elicit_settings import ExportJob, ServeJob


def register(app: typer.Typer) -> None:
    """Add the `elicit` command(s) to the top-level app."""
    group = typer.Typer(help="Run an elicitation study and export its responses.", no_args_is_help=True)

    @group.command("serve")
    @job_options(ServeJob)
    def serve(**settings: Any) -> None:
        """Serve the participant web app (consent, instructions, comprehension check, trials, debrief)."""
        from levelsets.elicitation.server import serve as run

        run(**settings)  # builds and checks the ServeJob

    @group.command("export")
    @job_options(ExportJob)
    def export(**settings: Any) -> None:
        """Export responses as CIFAR-10S JSON plus a details file (participants, RTs, repeats, catch trials)."""
        from levelsets.elicitation.export import export_responses

        path, side, counts = export_responses(**settings)  # builds and checks the ExportJob
        typer.echo(f"wrote {counts['cifar10s_responses']} responses on {counts['stimuli_with_responses']} stimuli "
                   f"to {path}; details ({counts['responses']} trials, {counts['participants']} participants) in {side}")

    app.add_typer(group, name="elicit")

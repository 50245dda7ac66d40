"""``levelsets loop``: sample → label → train → evaluate, for several rounds.

The options are the fields of :class:`levelsets.workflows.loop_settings.LoopSettings`, declared
there once with their help (:mod:`levelsets.cli.options`); only ``--quiet`` is declared here.
"""

from __future__ import annotations

from typing import Any

import typer

from levelsets.cli.options import job_options
from levelsets.workflows.loop_settings import LoopSettings


@job_options(LoopSettings, exclude=("progress",))
def loop(
    *,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars, and notes only at warning level."),
    **settings: Any,
) -> None:
    """Close the loop: each round samples level sets of the current classifier, labels them, retrains and evaluates.

    Writes a per-round table (table.json, table.md), rounds.png, and every round's classifier and runs.
    With --labeler elicited --study DIR --db FILE the loop runs against a live study: each round adds
    stimuli to DIR (the running `levelsets elicit serve DIR` takes them up), waits for the responses
    and trains on them.
    """
    from levelsets.logs import configure_cli
    from levelsets.workflows.loop import run_loop

    configure_cli(quiet=quiet)
    result = run_loop(LoopSettings(**settings, progress=not quiet))
    typer.echo(f"Wrote {result.out}")
    typer.echo((result.out / "table.md").read_text())


def register(app: typer.Typer) -> None:
    """Add ``levelsets loop``."""
    app.command("loop")(loop)

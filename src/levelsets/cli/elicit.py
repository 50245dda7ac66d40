"""`levelsets elicit` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the `elicit` command(s) to the top-level app."""
    group = typer.Typer(help="Run an elicitation study and export its responses.", no_args_is_help=True)

    @group.command("serve")
    def serve(
        stimulus_dir: Annotated[Path, typer.Argument(help="Directory written by `levelsets stimuli export`.")],
        db: Annotated[Path, typer.Option("--db", help="SQLite file for the responses (created when missing).")],
        host: Annotated[str, typer.Option("--host", help="Interface to bind; the default is this machine only.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
        admin_token: Annotated[str | None, typer.Option(
            "--admin-token", envvar="LEVELSETS_ADMIN_TOKEN",
            help="Token for /admin pages [default: a random one, printed at start].")] = None,
        allowed_host: Annotated[list[str] | None, typer.Option(
            "--allowed-host", help="Host name participants use (behind a reverse proxy), besides the loopback names; "
            "repeatable. Requests with any other Host header get 400.")] = None,
        completion_code: Annotated[str | None, typer.Option(
            "--completion-code", help="Completion code shown once the last answer is stored.")] = None,
        completion_url: Annotated[str | None, typer.Option(
            "--completion-url", help="Where to send participants once the last answer is stored "
            "(the platform's completion link; {code} is replaced by --completion-code).")] = None,
        lease_minutes: Annotated[float, typer.Option(
            "--lease-minutes", help="A participant holds their batch this long after their last request; "
            "then (or when they return the study) it goes to the next newcomer.")] = 60.0,
        allowlist: Annotated[Path | None, typer.Option(
            "--allowlist", help="Text file of allowed participant ids, one per line; others get 403.")] = None,
    ) -> None:
        """Serve the participant web app (consent, instructions, comprehension check, trials, debrief)."""
        from levelsets.elicitation.server import serve as run

        run(stimulus_dir, db, host=host, port=port, admin_token=admin_token, allowed_host=allowed_host or (),
            completion_code=completion_code, completion_url=completion_url, lease_minutes=lease_minutes,
            allowlist=allowlist)

    @group.command("export")
    def export(
        db: Annotated[Path, typer.Option("--db", help="SQLite file written by `levelsets elicit serve`.")],
        out: Annotated[Path, typer.Option("--out", "-o", help="CIFAR-10S JSON to write, e.g. responses.json.")],
        exclude_flagged: Annotated[bool, typer.Option(
            "--exclude-flagged", help="Leave out participants who failed a catch trial (always listed in the details).")] = False,
    ) -> None:
        """Export responses as CIFAR-10S JSON plus a details file (participants, RTs, repeats, catch trials)."""
        from levelsets.elicitation.export import export_responses

        path, side, counts = export_responses(db, out, exclude_flagged=exclude_flagged)
        typer.echo(f"wrote {counts['cifar10s_responses']} responses on {counts['stimuli_with_responses']} stimuli "
                   f"to {path}; details ({counts['responses']} trials, {counts['participants']} participants) in {side}")

    app.add_typer(group, name="elicit")

"""`levelsets labels` commands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `labels` command(s) to the top-level app."""

"""`levelsets loop` commands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `loop` command(s) to the top-level app."""

"""`levelsets sample` commands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `sample` command(s) to the top-level app."""

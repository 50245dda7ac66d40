"""`levelsets train` commands (train_generative)."""

from __future__ import annotations

import typer


def register(train_app: typer.Typer) -> None:
    """Add commands to the `train` group."""

"""Command-line interface (Typer), a thin layer over the Python API."""

from levelsets.cli.app import app, main

__all__ = ["app", "main"]

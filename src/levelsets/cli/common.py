"""Options shared by several commands."""

from __future__ import annotations

import typer

SeedOption = typer.Option(0, "--seed", help="Random seed; the same seed and settings give the same output.")
DeviceOption = typer.Option("auto", "--device", help="auto (CUDA when present, else CPU), cpu, cuda or cuda:N.")

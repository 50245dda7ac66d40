"""`levelsets train vae|gan --dataset mnist`: train a generator and cache it (or write it to --out).

The options of both commands are the fields of
:class:`levelsets.generative.training_job.TrainGeneratorJob`, declared there once with their help
(:mod:`levelsets.cli.options`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from levelsets.cli.options import job_options
from levelsets.generative.training_job import KINDS, TrainGeneratorJob


def _train(job: TrainGeneratorJob) -> None:
    from levelsets.generative.zoo import train_generator

    trained = train_generator(**job.train_kwargs())
    card = trained.card
    losses = ", ".join(f"{k} {v:.3g}" for k, v in card.get("final_losses", {}).items())
    typer.echo(f"trained the {job.kind.upper()} in {card.get('train_seconds', 0):.1f} s on {card.get('data')}")
    typer.echo(f"final losses: {losses}")
    if card.get("heldout_losses"):
        held = ", ".join(f"{k} {v:.3g}" for k, v in card["heldout_losses"].items())
        typer.echo(f"held-out losses: {held}")
    typer.echo(f"checkpoint:  {trained.checkpoint}")
    typer.echo(f"model card:  {trained.card_path}")
    typer.echo(f"sample grid: {trained.sample_grid}")
    typer.echo(f"loss curve:  {trained.loss_curve}")


def _command(kind: str) -> Callable[..., None]:
    """The ``levelsets train <kind>`` command (the VAE and the GAN take the same options)."""

    @job_options(TrainGeneratorJob)
    def command(**job: Any) -> None:
        _train(TrainGeneratorJob(kind=kind, **job))

    command.__name__ = f"train_{kind}_cmd"
    command.__doc__ = f"Train the MNIST {kind.upper()} (5-d latent, prior N(0, I_5)) and cache it for `levelsets sample`."
    return command


def register(train_app: typer.Typer) -> None:
    """Add ``vae`` and ``gan`` to the ``train`` group."""
    for kind in KINDS:
        train_app.command(kind)(_command(kind))

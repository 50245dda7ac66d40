"""`levelsets train classifier`: train the shapes / MNIST CNN or the CIFAR-10 PreAct ResNet-18 and cache it (or write it to --out).

The options are the fields of :class:`levelsets.classifiers.training_job.TrainClassifierJob`,
declared there once with their help (:mod:`levelsets.cli.options`); only ``--quiet`` is declared
here. Torch is imported inside the job, so that ``levelsets --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

import typer

from levelsets.classifiers.training_job import TrainClassifierJob
from levelsets.cli.options import job_options


@job_options(TrainClassifierJob)
def classifier(
    *,
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars, and notes only at warning level."),
    **job: Any,
) -> None:
    """Train a classifier (progress bar), report held-out accuracy, save checkpoint + model card."""
    from levelsets.classifiers.training_job import run_training_job
    from levelsets.logs import configure_cli

    configure_cli(quiet=quiet)
    card = run_training_job(TrainClassifierJob(**job, progress=not quiet))
    _report(card)


def _report(card: dict) -> None:
    """The command's result on stdout: held-out accuracy, where the checkpoint and its model card are."""
    from levelsets.checkpoints import card_path
    from levelsets.classifiers.zoo import training_summary

    typer.echo(f"{training_summary(card)}\ncheckpoint: {card['path']}\nmodel card: {card_path(card['path'])}")


def register(train_app: typer.Typer) -> None:
    """Add ``classifier`` to the ``train`` group."""
    train_app.command("classifier")(classifier)

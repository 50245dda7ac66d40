"""`levelsets train ...`: train classifiers and generative models (cached in the model home)."""

from __future__ import annotations

import typer

train_app = typer.Typer(help="Train a classifier, VAE or GAN and cache it in the model home.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``train`` group; its commands live in train_classifier.py and train_generative.py."""
    from levelsets.cli import train_classifier, train_generative

    train_classifier.register(train_app)
    train_generative.register(train_app)
    app.add_typer(train_app, name="train")

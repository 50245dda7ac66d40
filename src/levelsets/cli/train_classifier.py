"""`levelsets train classifier`: train the shapes or MNIST CNN and cache it (or write it to --out).

Thin over :func:`levelsets.classifiers.zoo.train_classifier`; torch is imported inside the
command so that ``levelsets --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from levelsets.cli.common import DeviceOption, SeedOption
from levelsets.errors import LevelsetsError

WORLDS = ("shapes",)
DATASETS = ("mnist",)


def classifier(
    world: Annotated[str | None, typer.Option("--world", help="Train the house/rocket CNN on images drawn from this world (shapes).")] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Train on this dataset (mnist: full MNIST from --data-dir, else the offline subset).")] = None,
    n_train: Annotated[int | None, typer.Option("--n-train", help="Training examples (shapes default 16000; mnist default: the whole training split).")] = None,
    n_heldout: Annotated[int | None, typer.Option("--n-heldout", help="shapes: held-out images generated for the accuracy check (default 4000).")] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Passes over the training data (default: the recipe's, 4 for shapes, 10 for mnist).")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Examples per optimizer step (default: the recipe's).")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Peak learning rate of the one-cycle schedule (default: the recipe's).")] = None,
    seed: int = SeedOption,
    device: str = DeviceOption,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="mnist: a directory with the standard MNIST files (default: the offline subset).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the checkpoint here (a .pt file or a directory) instead of the model-home cache.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
) -> None:
    """Train a classifier (progress bar), report held-out accuracy, save checkpoint + model card."""
    if (world is None) == (dataset is None):
        raise LevelsetsError("give exactly one of --world shapes or --dataset mnist")
    if world is not None and world not in WORLDS:
        raise LevelsetsError(f"unknown --world {world!r}; classifiers exist for: {', '.join(WORLDS)}")
    if dataset is not None and dataset not in DATASETS:
        raise LevelsetsError(f"unknown --dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    name = world or dataset
    if epochs is not None and epochs < 1:
        raise LevelsetsError(f"--epochs must be >= 1, got {epochs}")
    if n_train is not None and n_train < 1:
        raise LevelsetsError(f"--n-train must be >= 1, got {n_train}")
    if n_heldout is not None and (n_heldout < 1 or name != "shapes"):
        raise LevelsetsError(f"--n-heldout must be >= 1 and applies to --world shapes only (got {n_heldout})")

    from levelsets.classifiers.zoo import train_classifier

    typer.echo(f"training the {name} classifier ...")
    train_classifier(
        name,
        n_train=n_train,
        n_heldout=n_heldout,
        seed=seed,
        device=device,
        data_dir=data_dir,
        out=out,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        progress=not quiet,
        echo=typer.echo,
    )


def register(train_app: typer.Typer) -> None:
    """Add ``classifier`` to the ``train`` group."""
    train_app.command("classifier")(classifier)

"""`levelsets train vae|gan --dataset mnist`: train a generator and cache it (or write it to --out)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from levelsets.cli.common import DeviceOption, SeedOption


def _train(
    kind: str,
    dataset: str,
    epochs: int | None,
    seed: int,
    device: str,
    data_dir: Path | None,
    download: bool,
    exclude_class: int | None,
    out: Path | None,
) -> None:
    from levelsets.generative.zoo import train_generator

    trained = train_generator(
        kind,
        dataset,
        exclude_class=exclude_class,
        epochs=epochs,
        seed=seed,
        device=device,
        data_dir=data_dir,
        download=download,
        out=out,
    )
    card = trained.card
    losses = ", ".join(f"{k} {v:.3g}" for k, v in card.get("final_losses", {}).items())
    typer.echo(f"trained the {kind.upper()} in {card.get('train_seconds', 0):.1f} s on {card.get('data')}")
    typer.echo(f"final losses: {losses}")
    if card.get("heldout_losses"):
        held = ", ".join(f"{k} {v:.3g}" for k, v in card["heldout_losses"].items())
        typer.echo(f"held-out losses: {held}")
    typer.echo(f"checkpoint:  {trained.checkpoint}")
    typer.echo(f"model card:  {trained.card_path}")
    typer.echo(f"sample grid: {trained.sample_grid}")
    typer.echo(f"loss curve:  {trained.loss_curve}")


_DATASET = typer.Option("mnist", "--dataset", help="Training data; only mnist for now.")
_EPOCHS = typer.Option(None, "--epochs", min=1, help="Training epochs (default: VAE 40, GAN 60).")
_DATA_DIR = typer.Option(
    None, "--data-dir", help="Directory with the standard MNIST IDX files (full MNIST); default: the offline subset."
)
_DOWNLOAD = typer.Option(False, "--download", help="Download full MNIST with torchvision (needs internet).")
_EXCLUDE = typer.Option(None, "--exclude-class", min=0, max=9, help="Train without this digit (0-9).")
_OUT = typer.Option(
    None, "--out", help="Write the model to this new directory instead of the model cache."
)


def _command(kind: str) -> Callable[..., None]:
    """The ``levelsets train <kind>`` command (the VAE and the GAN take the same options)."""

    def command(
        dataset: str = _DATASET,
        epochs: int | None = _EPOCHS,
        seed: int = SeedOption,
        device: str = DeviceOption,
        data_dir: Path | None = _DATA_DIR,
        download: bool = _DOWNLOAD,
        exclude_class: int | None = _EXCLUDE,
        out: Path | None = _OUT,
    ) -> None:
        _train(kind, dataset, epochs, seed, device, data_dir, download, exclude_class, out)

    command.__name__ = f"train_{kind}_cmd"
    command.__doc__ = f"Train the MNIST {kind.upper()} (5-d latent, prior N(0, I_5)) and cache it for `levelsets sample`."
    return command


def register(train_app: typer.Typer) -> None:
    """Add ``vae`` and ``gan`` to the ``train`` group."""
    for kind in ("vae", "gan"):
        train_app.command(kind)(_command(kind))

"""`levelsets train classifier`: train the shapes / MNIST CNN or the CIFAR-10 PreAct ResNet-18 and cache it (or write it to --out).

Thin over :func:`levelsets.classifiers.zoo.train_classifier`; torch is imported inside the
command so that ``levelsets --help`` stays fast.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from levelsets.cli.common import DeviceOption, SeedOption
from levelsets.errors import LevelsetsError

log = logging.getLogger(__name__)

WORLDS = ("shapes",)
DATASETS = ("mnist", "mnist-resnet", "cifar10")


def classifier(
    world: Annotated[str | None, typer.Option("--world", help="Train the house/rocket CNN on images drawn from this world (shapes).")] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Train on this dataset (mnist: full MNIST from --data-dir, else the offline subset; mnist-resnet: the same digits, the small PreAct ResNet of the world mnist32; cifar10: the PreAct ResNet-18 on CIFAR-10 from --data-dir or --download).")] = None,
    n_train: Annotated[int | None, typer.Option("--n-train", help="Training examples (shapes default 16000; mnist default: the whole training split).")] = None,
    n_heldout: Annotated[int | None, typer.Option("--n-heldout", help="shapes: held-out images generated for the accuracy check (default 4000).")] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Passes over the training data (default: the recipe's, 4 for shapes, 10 for mnist).")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Examples per optimizer step (default: the recipe's).")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Peak learning rate of the one-cycle schedule (default: the recipe's).")] = None,
    seed: int = SeedOption,
    device: str = DeviceOption,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="mnist: a directory with the standard MNIST files (default: the offline subset); cifar10: the folder holding cifar-10-batches-py/ (default: the model home's datasets/).")] = None,
    download: Annotated[bool, typer.Option("--download", help="cifar10: fetch CIFAR-10 with torchvision into --data-dir (or the model home) when it is not there (needs internet).")] = False,
    width: Annotated[int | None, typer.Option("--width", help="Channels of the network's first stage (default: the architecture's; 64 for the ResNet-18). Small values make quick test models.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the checkpoint here (a .pt file or a directory) instead of the model-home cache.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars, and notes only at warning level.")] = False,
    method: Annotated[str, typer.Option("--method", help="Training objective: ce, label-smoothing, mixup, mix-maxent or ent-wc.")] = "ce",
    soft_labels: Annotated[Path | None, typer.Option("--soft-labels", help="Soft-label JSON (levelsets labels build); its ids index the training examples.")] = None,
    augment: Annotated[list[Path] | None, typer.Option("--augment", metavar="RUN_DIR", help="A `levelsets sample` run directory whose samples are added (repeatable).")] = None,
    label_source: Annotated[str, typer.Option("--label-source", help="Labels of augmenting samples: auto (exact posterior if present, else target), posterior or target.")] = "auto",
    deaggregate: Annotated[bool, typer.Option("--deaggregate", help="Draw one annotator's label per example each time it is used, instead of the mean.")] = False,
    alpha: Annotated[float | None, typer.Option("--alpha", help="Beta(alpha, alpha) of the mixing methods (defaults: mixup 1, mix-maxent 10, ent-wc 0.2).")] = None,
    smoothing: Annotated[float, typer.Option("--smoothing", help="Label-smoothing factor beta.")] = 0.05,
    kappa: Annotated[float, typer.Option("--kappa", help="Ent-WC weight floor.")] = 0.7,
    entropy_weight: Annotated[float, typer.Option("--entropy-weight", help="Mix-MaxEnt entropy weight.")] = 0.5,
    endpoints: Annotated[str, typer.Option("--endpoints", help="Mixup / Ent-WC endpoints: hard (one-hot of the argmax) or soft (labels as given).")] = "hard",
) -> None:
    """Train a classifier (progress bar), report held-out accuracy, save checkpoint + model card."""
    from levelsets.logs import configure_cli

    configure_cli(quiet=quiet)
    if (world is None) == (dataset is None):
        raise LevelsetsError("give exactly one of --world shapes or --dataset mnist|cifar10")
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
    if download and name != "cifar10":
        raise LevelsetsError("--download applies to --dataset cifar10 (MNIST downloads through `levelsets train vae --download`)")
    if width is not None and width < 1:
        raise LevelsetsError(f"--width must be >= 1, got {width}")

    if out is not None:
        from levelsets.classifiers.zoo import resolve_out

        resolve_out(out, name)  # refuse a bad --out before anything is trained
    if name == "cifar10":
        from levelsets.data.cifar10 import load_cifar10

        # fails here, in one line, when the data is absent (and fetches it first with --download)
        load_cifar10("heldout", data_dir=data_dir, download=download)

    # what both training paths take
    common = dict(n_train=n_train, n_heldout=n_heldout, seed=seed, device=device, data_dir=data_dir, out=out,
                  epochs=epochs, batch_size=batch_size, lr=lr, width=width, progress=not quiet)
    if method != "ce" or soft_labels is not None or augment or deaggregate:
        # Soft-label training (levelsets.softlabels): writes to --out, or to the model home's
        # "<name>-<method>" entry, never over the default classifier.
        from levelsets.softlabels.soft_training import train_with_soft_labels

        log.info(f"training the {name} classifier with --method {method} ...")
        options = {"alpha": alpha, "beta": smoothing, "kappa": kappa, "weight": entropy_weight, "endpoints": endpoints}
        _, card = train_with_soft_labels(name, method=method, method_options=options, soft_labels=soft_labels,
                                         augment=augment or (), label_source=label_source, deaggregate=deaggregate,
                                         **common)
    else:
        from levelsets.classifiers.zoo import train_classifier

        log.info(f"training the {name} classifier ...")
        _, card = train_classifier(name, **common)
    _report(card)


def _report(card: dict) -> None:
    """The command's result on stdout: held-out accuracy, where the checkpoint and its model card are."""
    from levelsets.checkpoints import card_path
    from levelsets.classifiers.zoo import training_summary

    typer.echo(f"{training_summary(card)}\ncheckpoint: {card['path']}\nmodel card: {card_path(card['path'])}")


def register(train_app: typer.Typer) -> None:
    """Add ``classifier`` to the ``train`` group."""
    train_app.command("classifier")(classifier)

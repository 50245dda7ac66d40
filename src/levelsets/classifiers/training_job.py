"""What ``levelsets train classifier`` runs: its settings (:class:`TrainClassifierJob`) and the job.

Each field of :class:`TrainClassifierJob` is one option of the command (its docstring the option's
``--help``, :mod:`levelsets.cli.options`); a bad value is refused in one line on construction,
before anything is loaded. :func:`run_training_job` trains through
:func:`levelsets.classifiers.zoo.train_classifier`, or, for a soft-label method or extra labelled
data, :func:`levelsets.softlabels.soft_training.train_with_soft_labels`. Torch is imported inside
the job, so the CLI can build its options from this module cheaply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from levelsets.errors import LevelsetsError
from levelsets.job_fields import device_field, progress_field, seed_field

log = logging.getLogger(__name__)

WORLDS = ("shapes",)
"""Worlds whose classifier can be trained on images drawn from the world (``--world``)."""
DATASETS = ("mnist", "mnist-resnet", "cifar10")
"""Datasets a classifier can be trained on (``--dataset``)."""


@dataclass
class TrainClassifierJob:
    """Settings of ``levelsets train classifier`` (validated on construction)."""

    world: str | None = None
    """Train the house/rocket CNN on images drawn from this world (shapes)."""
    dataset: str | None = None
    """Train on this dataset (mnist: full MNIST from --data-dir, else the offline subset; mnist-resnet: the same
    digits, the small PreAct ResNet of the world mnist32; cifar10: the PreAct ResNet-18 on CIFAR-10 from --data-dir
    or --download)."""
    n_train: int | None = None
    """Training examples (shapes default 16000; mnist default: the whole training split)."""
    n_heldout: int | None = None
    """shapes: held-out images generated for the accuracy check (default 4000)."""
    epochs: int | None = None
    """Passes over the training data (default: the recipe's, 4 for shapes, 10 for mnist)."""
    batch_size: int | None = None
    """Examples per optimizer step (default: the recipe's)."""
    lr: float | None = None
    """Peak learning rate of the one-cycle schedule (default: the recipe's)."""
    seed: int = seed_field()
    device: str = device_field()
    data_dir: Path | None = None
    """mnist: a directory with the standard MNIST files (default: the offline subset); cifar10: the folder holding
    cifar-10-batches-py/ (default: the model home's datasets/)."""
    download: bool = False
    """cifar10: fetch CIFAR-10 with torchvision into --data-dir (or the model home) when it is not there (needs
    internet)."""
    width: int | None = None
    """Channels of the network's first stage (default: the architecture's; 64 for the ResNet-18). Small values make
    quick test models."""
    out: Path | None = None
    """Write the checkpoint here (a .pt file or a directory) instead of the model-home cache."""
    progress: bool = progress_field()  # not an option: the CLI's --quiet
    method: str = "ce"
    """Training objective: ce, label-smoothing, mixup, mix-maxent or ent-wc."""
    soft_labels: Path | None = None
    """Soft-label JSON (levelsets labels build); its ids index the training examples."""
    augment: list[Path] | None = field(default=None, metadata={"metavar": "RUN_DIR"})
    """A `levelsets sample` run directory whose samples are added (repeatable)."""
    label_source: str = "auto"
    """Labels of augmenting samples: auto (exact posterior if present, else target), posterior or target."""
    deaggregate: bool = False
    """Draw one annotator's label per example each time it is used, instead of the mean."""
    alpha: float | None = None
    """Beta(alpha, alpha) of the mixing methods (defaults: mixup 1, mix-maxent 10, ent-wc 0.2)."""
    smoothing: float = 0.05
    """Label-smoothing factor beta."""
    kappa: float = 0.7
    """Ent-WC weight floor."""
    entropy_weight: float = 0.5
    """Mix-MaxEnt entropy weight."""
    endpoints: str = "hard"
    """Mixup / Ent-WC endpoints: hard (one-hot of the argmax) or soft (labels as given)."""

    def __post_init__(self) -> None:
        if (self.world is None) == (self.dataset is None):
            raise LevelsetsError("give exactly one of --world shapes or --dataset mnist|cifar10")
        if self.world is not None and self.world not in WORLDS:
            raise LevelsetsError(f"unknown --world {self.world!r}; classifiers exist for: {', '.join(WORLDS)}")
        if self.dataset is not None and self.dataset not in DATASETS:
            raise LevelsetsError(f"unknown --dataset {self.dataset!r}; choose one of {', '.join(DATASETS)}")
        for name in ("epochs", "n_train", "width"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise LevelsetsError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
        if self.n_heldout is not None and (self.n_heldout < 1 or self.name != "shapes"):
            raise LevelsetsError(f"--n-heldout must be >= 1 and applies to --world shapes only (got {self.n_heldout})")
        if self.download and self.name != "cifar10":
            raise LevelsetsError("--download applies to --dataset cifar10 (MNIST downloads through "
                                 "`levelsets train vae --download`)")

    @property
    def name(self) -> str:
        """The zoo entry trained: the world or the dataset."""
        return self.world or self.dataset  # type: ignore[return-value]  # exactly one is set

    @property
    def soft(self) -> bool:
        """Whether the soft-label path trains (a method other than ce, soft labels, extra data or deaggregation)."""
        return self.method != "ce" or self.soft_labels is not None or bool(self.augment) or self.deaggregate


def run_training_job(job: TrainClassifierJob) -> dict[str, Any]:
    """Train the job's classifier, write its checkpoint and model card, and return the card.

    A bad ``--out`` and absent CIFAR-10 data are refused before anything is trained. Soft-label
    training writes to ``out``, or to the model home's ``<name>-<method>`` entry, never over the
    default classifier.
    """
    if job.out is not None:
        from levelsets.classifiers.zoo import resolve_out

        resolve_out(job.out, job.name)  # refuse a bad --out before anything is trained
    if job.name == "cifar10":
        from levelsets.data.cifar10 import load_cifar10

        # fails here, in one line, when the data is absent (and fetches it first with --download)
        load_cifar10("heldout", data_dir=job.data_dir, download=job.download)

    common = dict(n_train=job.n_train, n_heldout=job.n_heldout, seed=job.seed, device=job.device, data_dir=job.data_dir,
                  out=job.out, epochs=job.epochs, batch_size=job.batch_size, lr=job.lr, width=job.width,
                  progress=job.progress)
    if job.soft:
        from levelsets.softlabels.soft_training import train_with_soft_labels

        log.info(f"training the {job.name} classifier with --method {job.method} ...")
        options = {"alpha": job.alpha, "beta": job.smoothing, "kappa": job.kappa, "weight": job.entropy_weight,
                   "endpoints": job.endpoints}
        _, card = train_with_soft_labels(job.name, method=job.method, method_options=options, soft_labels=job.soft_labels,
                                         augment=job.augment or (), label_source=job.label_source,
                                         deaggregate=job.deaggregate, **common)
    else:
        from levelsets.classifiers.zoo import train_classifier

        log.info(f"training the {job.name} classifier ...")
        _, card = train_classifier(job.name, **common)
    return card

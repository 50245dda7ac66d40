"""Train a zoo classifier with a soft-label method, soft-label files and augmenting runs.

:func:`train_with_soft_labels` is what ``levelsets train classifier --method ... [--soft-labels
FILE] [--augment RUN_DIR ...] [--deaggregate]`` calls. It builds the training set first (so every
input mistake is reported before any training), then hands it and the method to
:func:`levelsets.classifiers.zoo.train_classifier`, which trains, evaluates on the recipe's
held-out data and writes the checkpoint and model card (with the method, the label sources and
the training-set counts added).

Base data (ids of a soft-label file index these examples):

* ``shapes``: ``make_shapes_dataset(n_train, seed)`` (hard labels, as in the zoo recipe);
* ``mnist``: the training split of :func:`levelsets.data.mnist.load_mnist` (all of it);
* ``cifar10`` without a soft-label file: CIFAR-10's 50,000 training images (hard labels);
* ``cifar10`` **with** a soft-label file (CIFAR-10H via ``levelsets labels cifar10h``, or
  CIFAR-10S responses via ``levelsets labels build --classes cifar10``): ids are CIFAR-10
  *test-set* indices, as in both published label sets, so the training images are the test images
  the file names, and the held-out accuracy is measured on the test images it does not name
  (seed 001's 70 % / 30 % split when the file was made with ``--split train``). A file naming
  every test image leaves nothing to hold out and is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from levelsets.errors import LevelsetsError
from levelsets.softlabels.methods import METHOD_NAMES, make_method
from levelsets.softlabels.training_data import TrainingData, build_training_set


def recipe_base_data(name: str, *, n_train: int | None = None, seed: int = 0, data_dir: str | Path | None = None) -> tuple[torch.utils.data.Dataset, tuple[str, ...]]:
    """Return the zoo recipe's (hard-labelled) training data and class names for ``name``."""
    if name == "shapes":
        from levelsets.classifiers.zoo import DEFAULT_N_TRAIN
        from levelsets.data.shapes import make_shapes_dataset
        from levelsets.generative.shapes import SHAPES_CLASSES

        return make_shapes_dataset(n_train or DEFAULT_N_TRAIN["shapes"], seed), tuple(SHAPES_CLASSES)
    if name == "mnist":
        from levelsets.data.mnist import load_mnist
        from levelsets.softlabels.class_sets import MNIST_CLASSES

        data = load_mnist("train", data_dir=data_dir)
        x, y = torch.as_tensor(data.images).float(), torch.as_tensor(data.labels).long()
        if n_train is not None and n_train < len(y):
            x, y = x[:n_train], y[:n_train]
        return torch.utils.data.TensorDataset(x, y), MNIST_CLASSES
    if name == "cifar10":
        from levelsets.data.cifar10 import load_cifar10
        from levelsets.softlabels.class_sets import CIFAR10_CLASSES

        data = load_cifar10("train", data_dir=data_dir)
        x, y = torch.as_tensor(data.images), torch.as_tensor(data.labels)
        if n_train is not None and n_train < len(y):
            x, y = x[:n_train], y[:n_train]
        return torch.utils.data.TensorDataset(x, y), CIFAR10_CLASSES
    raise LevelsetsError(f"unknown classifier {name!r}; choose shapes, mnist or cifar10")


class _IdentifiedImages(torch.utils.data.TensorDataset):
    """A TensorDataset whose examples carry ids (matched against soft-label file ids)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, ids: list[str]) -> None:
        super().__init__(images, labels)
        self.ids = ids


def cifar10_test_split(soft_labels: str | Path, *, data_dir: str | Path | None = None) -> tuple[_IdentifiedImages, tuple[torch.utils.data.Dataset, str]]:
    """CIFAR-10 test images named by a soft-label file (training base) and the others (held out).

    Returns
    -------
    (base, (heldout, description))
        ``base``: the named test images with their hard labels and ``ids`` (test indices as
        strings); ``heldout``: the remaining test images with their hard labels.

    Raises
    ------
    LevelsetsError
        The file's ids are not test indices of the data, or it names every test image.
    """
    from levelsets.data.cifar10 import load_cifar10
    from levelsets.softlabels.class_sets import CIFAR10_CLASSES
    from levelsets.softlabels.label_files import load_soft_labels

    labels = load_soft_labels(soft_labels, class_names=CIFAR10_CLASSES)
    test = load_cifar10("heldout", data_dir=data_dir)
    n = len(test)
    bad = [k for k in labels.ids if not k.isdigit() or int(k) >= n]
    if bad:
        raise LevelsetsError(
            f"{soft_labels}: id {bad[0]!r} is not a CIFAR-10 test index 0..{n - 1} (CIFAR-10H and CIFAR-10S label the test images)"
        )
    named = sorted({int(k) for k in labels.ids})
    rest = sorted(set(range(n)) - set(named))
    if not rest:
        raise LevelsetsError(
            f"{soft_labels} labels all {n} CIFAR-10 test images, so none is left to hold out; "
            "build it with `levelsets labels cifar10h --split train` (seed 001's 70 %)"
        )
    x, y = torch.as_tensor(test.images), torch.as_tensor(test.labels)
    base = _IdentifiedImages(x[named], y[named], [str(i) for i in named])
    heldout = torch.utils.data.TensorDataset(x[rest], y[rest])
    return base, (heldout, f"{len(rest):,} CIFAR-10 test images not in {soft_labels} ({test.source})")


def soft_label_training_set(
    name: str,
    *,
    soft_labels: str | Path | None = None,
    augment: Sequence[str | Path] = (),
    augment_labels: Sequence[str | Path | None] | None = None,
    label_source: str = "auto",
    deaggregate: bool = False,
    n_train: int | None = None,
    seed: int = 0,
    data_dir: str | Path | None = None,
) -> TrainingData:
    """Build the training set of :func:`train_with_soft_labels` (recipe data + labels + runs)."""
    if name == "cifar10" and soft_labels is not None:
        from levelsets.softlabels.class_sets import CIFAR10_CLASSES

        base, class_names = cifar10_test_split(soft_labels, data_dir=data_dir)[0], CIFAR10_CLASSES
    else:
        base, class_names = recipe_base_data(name, n_train=n_train, seed=seed, data_dir=data_dir)
    return build_training_set(
        base,
        class_names=class_names,
        soft_labels=soft_labels,
        augment=augment,
        augment_labels=augment_labels,
        label_source=label_source,
        deaggregate=deaggregate,
        seed=seed,
    )


def train_with_soft_labels(
    name: str,
    *,
    method: str = "ce",
    method_options: dict[str, Any] | None = None,
    soft_labels: str | Path | None = None,
    augment: Sequence[str | Path] = (),
    augment_labels: Sequence[str | Path | None] | None = None,
    label_source: str = "auto",
    deaggregate: bool = False,
    n_train: int | None = None,
    seed: int = 0,
    device: str = "auto",
    data_dir: str | Path | None = None,
    out: str | Path | None = None,
    **overrides: Any,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train ``shapes`` or ``mnist`` with a soft-label method and extra labelled data.

    Parameters
    ----------
    name:
        ``shapes``, ``mnist`` or ``cifar10`` (see the module docstring for its data).
    method:
        ``ce``, ``label-smoothing``, ``mixup``, ``mix-maxent`` or ``ent-wc``.
    method_options:
        Keyword arguments of :func:`~levelsets.softlabels.methods.make_method` (``alpha``,
        ``beta``, ``kappa``, ``weight``, ``endpoints``).
    soft_labels, augment, augment_labels, label_source, deaggregate:
        See :func:`~levelsets.softlabels.training_data.build_training_set`.
    out:
        Checkpoint path (file or directory). Default ``<model home>/classifier/<name>-<method>/
        model.pt``, so that the zoo's default ``<name>`` classifier is never replaced by a model
        trained another way.
    n_train, seed, device, data_dir, overrides:
        Passed to :func:`levelsets.classifiers.zoo.train_classifier` (``overrides`` are
        :class:`~levelsets.classifiers.training.TrainSettings` fields such as ``epochs``).

    Returns
    -------
    (model, card)
    """
    from levelsets.classifiers.zoo import train_classifier
    from levelsets.home import model_dir

    if method not in METHOD_NAMES:
        raise LevelsetsError(f"unknown --method {method!r}; choose one of {', '.join(METHOD_NAMES)}")
    objective = make_method(method, **(method_options or {}))
    heldout = None
    if name == "cifar10" and soft_labels is not None:
        if n_train is not None:
            raise LevelsetsError("--n-train does not apply with CIFAR-10 soft labels: the file's ids choose the training images")
        heldout = cifar10_test_split(soft_labels, data_dir=data_dir)[1]
    data = soft_label_training_set(
        name,
        soft_labels=soft_labels,
        augment=augment,
        augment_labels=augment_labels,
        label_source=label_source,
        deaggregate=deaggregate,
        n_train=n_train,
        seed=seed,
        data_dir=data_dir,
    )
    if out is None:
        out = model_dir("classifier", f"{name}-{method}") / "model.pt"
    extra = {
        "method": method,
        "method_settings": {k: v for k, v in vars(objective).items() if k != "transform"},
        "training_data": data.info,
    }
    return train_classifier(
        name,
        n_train=n_train,
        seed=seed,
        device=device,
        data_dir=data_dir,
        out=out,
        method=objective,
        train_data=data.dataset,
        heldout_data=heldout,
        extra_card=extra,
        **overrides,
    )

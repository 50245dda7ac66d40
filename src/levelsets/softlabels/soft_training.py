"""Train a zoo classifier with a soft-label method, soft-label files and augmenting runs.

:func:`train_with_soft_labels` is what ``levelsets train classifier --method ... [--soft-labels
FILE] [--augment RUN_DIR ...] [--deaggregate]`` calls. It builds the training set first (so every
input mistake is reported before any training), then hands it and the method to
:func:`levelsets.classifiers.zoo.train_classifier`, which trains, evaluates on the recipe's
held-out data and writes the checkpoint and model card (with the method, the label sources and
the training-set counts added).

Base data (ids of a soft-label file index these examples):

* ``shapes``: ``make_shapes_dataset(n_train, seed)`` (hard labels, as in the zoo recipe);
* ``mnist``: the training split of :func:`levelsets.data.mnist.load_mnist` (all of it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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

        data = load_mnist("train", data_dir=data_dir, echo=None)
        x, y = torch.as_tensor(data.images).float(), torch.as_tensor(data.labels).long()
        if n_train is not None and n_train < len(y):
            x, y = x[:n_train], y[:n_train]
        return torch.utils.data.TensorDataset(x, y), MNIST_CLASSES
    raise LevelsetsError(f"unknown classifier {name!r}; choose shapes or mnist")


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
    echo: Callable[[str], object] | None = print,
    **overrides: Any,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train ``shapes`` or ``mnist`` with a soft-label method and extra labelled data.

    Parameters
    ----------
    name:
        ``shapes`` or ``mnist``.
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
    n_train, seed, device, data_dir, echo, overrides:
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
        extra_card=extra,
        echo=echo,
        **overrides,
    )

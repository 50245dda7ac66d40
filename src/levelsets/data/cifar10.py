"""CIFAR-10 images from the standard python-pickle batches, read with a restricted unpickler.

Source: the ``cifar-10-batches-py`` folder of the CIFAR-10 python release (Krizhevsky 2009), as
torchvision's downloader leaves it: ``data_batch_1`` ... ``data_batch_5`` (50,000 training
images), ``test_batch`` (10,000 test images) and ``batches.meta`` (the class names). Give
``data_dir`` as that folder or the folder holding it, or ``download=True`` (online only) to fetch
it with torchvision into ``data_dir`` (default ``<model home>/datasets``); later calls without
``data_dir`` find it there. There is no offline subset: CIFAR-10 results need the real data, and
every :class:`Cifar10Data` says in ``source`` which files it came from.

Each batch is a Python 2 pickle of a dict ``{"data": uint8 array (N, 3072), "labels": [int] * N,
"batch_label": str, "filenames": [str] * N}``; a row of ``data`` is the 1,024 red, then green,
then blue pixels of a 32 × 32 image in row-major order. **Unpickling runs code named by the file**,
so these files are never passed to :func:`pickle.load`: :class:`RestrictedUnpickler` resolves
only the three globals the real format needs to rebuild a numpy array (``_reconstruct`` of
numpy's ``multiarray``, ``numpy.ndarray``, ``numpy.dtype``) and refuses every other one, so a
tampered file raises :class:`LevelsetsError` instead of running anything. The result is then
checked for shape, dtype and label range.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from levelsets.data.labelled_images import LabelledImages
from levelsets.errors import LevelsetsError
from levelsets.softlabels.class_sets import CIFAR10_CLASSES

log = logging.getLogger(__name__)

IMAGE_SHAPE: tuple[int, int, int] = (3, 32, 32)
"""(channels, height, width) of one CIFAR-10 image."""

FOLDER = "cifar-10-batches-py"
"""Name of the folder the python release unpacks to."""

TRAIN_BATCHES: tuple[str, ...] = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
"""The python release of CIFAR-10 (about 163 MB; torchvision's ``CIFAR10.url``)."""

EXPECTED = f"{FOLDER}/ with {', '.join(TRAIN_BATCHES[:1])}..{TRAIN_BATCHES[-1]}, {TEST_BATCH}, {META}"
"""The files a ``--data-dir`` must hold, in words."""

_FIX = (
    f"get {URL} (or add --download when online), unpack it and point --data-dir at the folder holding {EXPECTED}"
)


def _allowed_globals() -> dict[tuple[str, str], Any]:
    """The only globals a CIFAR-10 batch may name: what numpy needs to rebuild an array."""
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,  # how Python 2 numpy named it
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # how numpy >= 2 names it
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only plain data and numpy arrays.

    :meth:`find_class` returns numpy's array reconstructor, ``numpy.ndarray`` and ``numpy.dtype``
    (exactly what a CIFAR-10 batch needs) and raises :class:`pickle.UnpicklingError` for any other
    global, so no function named by the file (``os.system``, ``builtins.eval``, ...) is ever
    looked up, let alone called. Persistent ids are refused too.
    """

    def __init__(self, file: io.BufferedIOBase) -> None:
        super().__init__(file, encoding="latin1")  # Python 2 str -> str, as numpy's docs advise
        self._allowed = _allowed_globals()

    def find_class(self, module: str, name: str) -> Any:  # noqa: D102
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused global {module}.{name}") from None

    def persistent_load(self, pid: Any) -> Any:  # noqa: D102
        raise pickle.UnpicklingError("refused persistent id")


def restricted_load(path: str | Path) -> Any:
    """Unpickle ``path`` with :class:`RestrictedUnpickler`.

    Raises
    ------
    LevelsetsError
        The file is missing or unreadable, truncated, not a pickle, or names a global other than
        numpy's array constructors (a file that is not a genuine CIFAR-10 batch).
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return RestrictedUnpickler(fh).load()
    except FileNotFoundError:
        raise LevelsetsError(f"{path} is missing; {_FIX}") from None
    except pickle.UnpicklingError as exc:
        raise LevelsetsError(
            f"{path} is not a genuine CIFAR-10 batch ({exc}; only numpy arrays and plain data are "
            f"allowed); re-download it: {_FIX}"
        ) from None
    except (OSError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError) as exc:
        reason = str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__
        raise LevelsetsError(f"could not read {path} ({reason}); the file is truncated or corrupt; re-download it: {_FIX}") from None


@dataclass(frozen=True)
class Cifar10Data(LabelledImages):
    """A set of CIFAR-10 images.

    Attributes
    ----------
    images:
        (N, 3, 32, 32) float32 in [0, 1] (pixel value / 255).
    labels:
        (N,) int64 class indices 0-9 (:data:`CIFAR10_CLASSES`).
    source:
        Which data this is, in words, e.g. ``"CIFAR-10 from /data/cifar-10-batches-py
        (test_batch: 10,000 test images)"``.
    """

    image_shape: ClassVar[tuple[int, ...]] = IMAGE_SHAPE
    num_classes: ClassVar[int] = len(CIFAR10_CLASSES)


def _get(d: Mapping, key: str) -> Any:
    """``d[key]`` whether the pickle's keys came back as str (latin1) or bytes."""
    if key in d:
        return d[key]
    return d.get(key.encode("latin1"))


def read_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one batch file: images (N, 3, 32, 32) uint8 and labels (N,) int64, validated.

    Raises
    ------
    LevelsetsError
        Unreadable or unsafe file (see :func:`restricted_load`), a missing ``data`` / ``labels``
        entry, ``data`` that is not uint8 of shape (N, 3072), or labels that are not N integers
        in 0-9.
    """
    path = Path(path)
    batch = restricted_load(path)
    if not isinstance(batch, Mapping):
        raise LevelsetsError(f"{path} holds a {type(batch).__name__}, not a CIFAR-10 batch dict; re-download it: {_FIX}")
    data, labels = _get(batch, "data"), _get(batch, "labels")
    if data is None or labels is None:
        raise LevelsetsError(f"{path} has no 'data' and 'labels' entries, so it is not a CIFAR-10 batch; {_FIX}")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        what = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise LevelsetsError(f"{path}: 'data' is a {what}, not uint8 of shape (N, 3072); re-download it: {_FIX}")
    if not isinstance(labels, (list, tuple, np.ndarray)) or len(labels) != data.shape[0]:
        raise LevelsetsError(f"{path}: {data.shape[0]} images but {len(labels) if hasattr(labels, '__len__') else 'no'} labels; re-download it: {_FIX}")
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in labels):
        raise LevelsetsError(f"{path}: labels must be integers; re-download it: {_FIX}")
    y = np.asarray(labels, dtype=np.int64).reshape(-1)
    if y.size and (y.min() < 0 or y.max() >= len(CIFAR10_CLASSES)):
        hint = " (CIFAR-100 has 100 classes: this loader is for CIFAR-10)" if y.max() >= len(CIFAR10_CLASSES) else ""
        raise LevelsetsError(f"{path}: labels outside 0-9{hint}; {_FIX}")
    return data.reshape(-1, *IMAGE_SHAPE), y


def read_meta(path: str | Path) -> tuple[str, ...]:
    """Read ``batches.meta`` and check it lists CIFAR-10's ten classes in order."""
    path = Path(path)
    meta = restricted_load(path)
    names = _get(meta, "label_names") if isinstance(meta, Mapping) else None
    if not isinstance(names, (list, tuple)):
        raise LevelsetsError(f"{path} has no 'label_names' list, so it is not CIFAR-10's batches.meta; {_FIX}")
    decoded = tuple(n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names)
    if decoded != CIFAR10_CLASSES:
        raise LevelsetsError(
            f"{path} lists classes {', '.join(decoded[:12])}, not CIFAR-10's {', '.join(CIFAR10_CLASSES)}; {_FIX}"
        )
    return decoded


def default_download_dir() -> Path:
    """Where ``download=True`` without ``data_dir`` puts CIFAR-10: ``<model home>/datasets``."""
    from levelsets.home import model_home

    return model_home() / "datasets"


def find_batches_dir(root: str | Path) -> Path | None:
    """The ``cifar-10-batches-py`` folder at or directly under ``root`` holding ``batches.meta``."""
    root = Path(root)
    for candidate in (root, root / FOLDER):
        if (candidate / META).is_file():
            return candidate
    return None


def load_cifar10(
    split: Literal["train", "heldout"] = "train",
    *,
    data_dir: str | Path | None = None,
    download: bool = False,
) -> Cifar10Data:
    """Load CIFAR-10's training set (``"train"``, 50,000) or test set (``"heldout"``, 10,000).

    Parameters
    ----------
    split:
        ``"train"`` (``data_batch_1`` ... ``data_batch_5``) or ``"heldout"`` (``test_batch``).
    data_dir:
        The ``cifar-10-batches-py`` folder or the folder holding it; default
        ``<model home>/datasets`` (where ``download=True`` puts it).
    download:
        Fetch the python release with torchvision when it is not there yet (needs internet;
        a failed download is an error, not a fallback); a download is announced by a note
        (INFO, logger ``levelsets.data.cifar10``).

    Returns
    -------
    Cifar10Data
        ``images`` (N, 3, 32, 32) float32 in [0, 1], ``labels`` (N,) int64, ``source``.

    Raises
    ------
    LevelsetsError
        Unknown split; no CIFAR-10 in ``data_dir``; a missing, truncated, corrupt or unsafe batch
        file; inconsistent batches; a failed download. Each message says how to fix it.
    """
    if split not in ("train", "heldout"):
        raise LevelsetsError(f"unknown CIFAR-10 split {split!r}; use 'train' or 'heldout'")
    root = Path(data_dir).expanduser() if data_dir is not None else default_download_dir()
    if root.exists() and not root.is_dir():
        raise LevelsetsError(f"--data-dir {root} is a file; give the folder holding cifar-10-batches-py")
    folder = find_batches_dir(root)
    if folder is None and download:
        log.info(f"downloading CIFAR-10 (python release, about 170 MB) into {root} with torchvision ...")
        _download(root)
        folder = find_batches_dir(root)
    if folder is None:
        tar = " (it holds the .tar.gz: unpack it first)" if any(root.glob("cifar-10-python.tar.gz")) else ""
        where = f"--data-dir {root}" if data_dir is not None else f"the model home's {root}"
        raise LevelsetsError(f"{where} holds no {FOLDER}/{META}{tar}; {_FIX}")
    read_meta(folder / META)
    names = TRAIN_BATCHES if split == "train" else (TEST_BATCH,)
    parts = [read_batch(folder / name) for name in names]
    pixels = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
    labels = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
    which = "data_batch_1-5" if split == "train" else "test_batch"
    kind = "training images" if split == "train" else "test images, used as held-out"
    return Cifar10Data(
        images=pixels.astype(np.float32) / np.float32(255.0),
        labels=labels,
        source=f"CIFAR-10 from {folder} ({which}: {labels.size:,} {kind})",
    )


def _download(root: Path) -> None:
    """Fetch the python release into ``root/cifar-10-batches-py`` with torchvision's downloader."""
    import torchvision

    archive = root / torchvision.datasets.CIFAR10.filename
    existed = archive.exists()
    try:
        root.mkdir(parents=True, exist_ok=True)
        # torchvision checks the archive's MD5; we read the batches ourselves (restricted unpickler)
        torchvision.datasets.utils.download_and_extract_archive(
            torchvision.datasets.CIFAR10.url, os.fspath(root), filename=torchvision.datasets.CIFAR10.filename,
            md5=torchvision.datasets.CIFAR10.tgz_md5,
        )
    except Exception as exc:  # network errors come in many types
        if not existed and archive.is_file():
            archive.unlink()  # a partial or failed download of ours: do not leave it to be mistaken for the release
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise LevelsetsError(
            f"could not download CIFAR-10 into {root} ({reason}); check the internet connection, "
            "or point --data-dir at the folder holding cifar-10-batches-py"
        ) from None

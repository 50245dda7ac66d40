"""CIFAR-10H soft labels (Peterson et al. 2019) and their conversion to levelsets label files.

CIFAR-10H gives, for each of the 10,000 CIFAR-10 *test* images, the classes chosen by about 51
human annotators (2,571 annotators, each shown 200 images and 10 attention checks). Published
files (``data/`` of the CIFAR-10H release; give their folder as ``--data-dir``):

``cifar10h-counts.npy``
    (10,000, 10) number of annotators who chose each class, row i = test image i.
``cifar10h-probs.npy``
    (10,000, 10) the counts normalized per row.
``cifar10h-raw.csv``
    One row per trial, with (among others) ``annotator_id``, ``true_label``, ``chosen_label``,
    ``cifar10_test_test_idx`` (-99999 for attention checks), ``is_attn_check``,
    ``reaction_time``. :func:`counts_from_raw` rebuilds the counts from it, excluding attention
    checks, and keeps every annotator's choice (for de-aggregated training).

All ``.npy`` files are read with ``numpy.load(..., allow_pickle=False)`` (no code can run).

Ids: a label file made here names each image by its index in the CIFAR-10 test set (``"0"`` ...
``"9999"``), which is also what CIFAR-10S uses. Seed 001 (following Uma et al. 2020) trains on
a 70 % split of those images and evaluates against the held-out 30 %; :func:`test_set_split`
draws that split from a seed, and :func:`cifar10h_label_set` can write either part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from levelsets.data.cifar10 import CIFAR10_CLASSES
from levelsets.errors import LevelsetsError

COUNTS_FILE = "cifar10h-counts.npy"
PROBS_FILE = "cifar10h-probs.npy"
RAW_FILE = "cifar10h-raw.csv"
RAW_REQUIRED = ("annotator_id", "chosen_label", "cifar10_test_test_idx", "is_attn_check")
"""Columns :func:`counts_from_raw` needs (the published file has more; ``true_label`` is checked when present)."""

TRAIN_FRACTION = 0.7
"""Share of the test images in seed 001's training split (7,000 of 10,000)."""

SPLITS = ("all", "train", "heldout")
SOURCE_URL = "https://github.com/jcpeterson/cifar-10h"
"""Where CIFAR-10H is published (its ``data/`` folder; the raw CSV is zipped there)."""
_FIX = (
    f"get CIFAR-10H's data/ folder from {SOURCE_URL} (unzip cifar10h-raw.zip) and point --data-dir at the "
    "folder holding cifar10h-counts.npy (and cifar10h-raw.csv for --source raw)"
)


@dataclass(frozen=True)
class Cifar10hCounts:
    """CIFAR-10H annotations.

    Attributes
    ----------
    counts:
        (N, 10) float64 number of annotators choosing each class for test image i.
    source:
        Which file(s) they came from.
    choices:
        From the raw CSV only: per image, the list of chosen classes in file order (one per
        annotator), for de-aggregated training; ``None`` from the counts file.
    """

    counts: np.ndarray
    source: str
    choices: tuple[tuple[int, ...], ...] | None = None

    def __len__(self) -> int:
        return int(self.counts.shape[0])

    @property
    def probs(self) -> np.ndarray:
        """(N, 10) counts / row sums."""
        return self.counts / self.counts.sum(axis=1, keepdims=True)


def _load_npy(path: Path, what: str) -> np.ndarray:
    if not path.is_file():
        raise LevelsetsError(f"{path} is missing; {_FIX}")
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        reason = str(exc).splitlines()[0][:100]
        raise LevelsetsError(f"{path} is not a plain numeric .npy file ({reason}); re-download the {what} file") from None
    except (OSError, EOFError) as exc:
        raise LevelsetsError(f"could not read {path} ({exc}); the file is truncated or corrupt; re-download the {what} file") from None
    if not isinstance(array, np.ndarray) or array.ndim != 2 or array.shape[1] != len(CIFAR10_CLASSES) or array.shape[0] < 1:
        raise LevelsetsError(
            f"{path} has shape {getattr(array, 'shape', '?')}, not (10000, 10) (one row per CIFAR-10 test image); re-download the {what} file"
        )
    if array.dtype.kind not in "iuf":
        raise LevelsetsError(f"{path} holds {array.dtype} values, not numbers; re-download the {what} file")
    array = array.astype(np.float64)
    if not np.isfinite(array).all() or (array < 0).any():
        raise LevelsetsError(f"{path} has negative or non-finite entries; re-download the {what} file")
    if (array.sum(axis=1) <= 0).any():
        row = int(np.flatnonzero(array.sum(axis=1) <= 0)[0])
        raise LevelsetsError(f"{path}: image {row} has no annotations (its row sums to 0); re-download the {what} file")
    return array


def load_counts(data_dir: str | Path) -> Cifar10hCounts:
    """Read ``cifar10h-counts.npy`` (whole numbers ≥ 0, every image annotated at least once)."""
    path = _folder(data_dir) / COUNTS_FILE
    counts = _load_npy(path, "counts")
    if not np.array_equal(counts, np.round(counts)):
        raise LevelsetsError(f"{path} has non-integer counts (is it the probs file?); re-download the counts file")
    return Cifar10hCounts(counts=counts, source=f"CIFAR-10H counts {path} ({counts.shape[0]:,} images)")


def load_probs(data_dir: str | Path) -> np.ndarray:
    """Read ``cifar10h-probs.npy``: (N, 10) float64 rows summing to 1 (checked to 1e-6)."""
    path = _folder(data_dir) / PROBS_FILE
    probs = _load_npy(path, "probs")
    if np.abs(probs.sum(axis=1) - 1.0).max() > 1e-6:
        raise LevelsetsError(f"{path} has rows that do not sum to 1 (is it the counts file?); re-download the probs file")
    return probs


def counts_from_raw(path_or_dir: str | Path, *, num_images: int | None = None) -> Cifar10hCounts:
    """Rebuild the counts from ``cifar10h-raw.csv``, excluding attention checks.

    Parameters
    ----------
    path_or_dir:
        The CSV, or the folder holding ``cifar10h-raw.csv``.
    num_images:
        Rows of the result (default: the largest test index + 1; the published data has 10,000).

    Returns
    -------
    Cifar10hCounts
        With ``choices``: each image's chosen classes, one per annotator, in file order.

    Raises
    ------
    LevelsetsError
        Missing file or columns; a non-check trial with a test index or chosen label out of
        range; a ``true_label`` that differs between trials of one image.
    """
    import pandas as pd

    path = Path(path_or_dir)
    if path.is_dir():
        path = path / RAW_FILE
    if not path.is_file():
        raise LevelsetsError(f"{path} is missing; {_FIX}")
    try:
        frame = pd.read_csv(path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise LevelsetsError(f"could not read {path} as CSV ({str(exc).splitlines()[0][:100]}); re-download cifar10h-raw.csv") from None
    missing = [c for c in RAW_REQUIRED if c not in frame.columns]
    if missing:
        raise LevelsetsError(f"{path} lacks column(s) {', '.join(missing)}; it is not CIFAR-10H's raw file; re-download cifar10h-raw.csv")
    try:
        checks = frame["is_attn_check"].astype(int).to_numpy()
        trials = frame[checks == 0]
        idx = trials["cifar10_test_test_idx"].astype(np.int64).to_numpy()
        chosen = trials["chosen_label"].astype(np.int64).to_numpy()
    except (ValueError, TypeError):
        raise LevelsetsError(f"{path}: is_attn_check, cifar10_test_test_idx and chosen_label must be integers; re-download cifar10h-raw.csv") from None
    if idx.size == 0:
        raise LevelsetsError(f"{path} has no trials apart from attention checks")
    n = int(idx.max()) + 1 if num_images is None else int(num_images)
    bad = (idx < 0) | (idx >= n)
    if bad.any():
        raise LevelsetsError(f"{path}: a non-check trial has test index {int(idx[bad][0])}, outside 0..{n - 1}; re-download cifar10h-raw.csv")
    if ((chosen < 0) | (chosen >= len(CIFAR10_CLASSES))).any():
        raise LevelsetsError(f"{path}: chosen_label outside 0-9; re-download cifar10h-raw.csv")
    if "true_label" in trials.columns:
        truth = pd.DataFrame({"i": idx, "t": trials["true_label"].to_numpy()})
        if (truth.groupby("i")["t"].nunique() > 1).any():
            raise LevelsetsError(f"{path}: an image has two different true_label values; re-download cifar10h-raw.csv")
    counts = np.zeros((n, len(CIFAR10_CLASSES)), dtype=np.float64)
    np.add.at(counts, (idx, chosen), 1.0)
    if (counts.sum(axis=1) == 0).any():
        row = int(np.flatnonzero(counts.sum(axis=1) == 0)[0])
        raise LevelsetsError(f"{path}: test image {row} has no trials; the file is incomplete; re-download cifar10h-raw.csv")
    per_image: list[list[int]] = [[] for _ in range(n)]
    for i, c in zip(idx.tolist(), chosen.tolist(), strict=True):
        per_image[i].append(c)
    n_checks = int((checks != 0).sum())
    return Cifar10hCounts(
        counts=counts,
        source=f"CIFAR-10H raw trials {path} ({idx.size:,} trials over {n:,} images; {n_checks:,} attention checks excluded)",
        choices=tuple(tuple(c) for c in per_image),
    )


def _folder(data_dir: str | Path) -> Path:
    folder = Path(data_dir).expanduser()
    if not folder.is_dir():
        raise LevelsetsError(f"--data-dir {folder} is not a folder; {_FIX}")
    return folder


def load_cifar10h(data_dir: str | Path, *, source: Literal["counts", "raw"] = "counts") -> Cifar10hCounts:
    """Read CIFAR-10H from the counts file (default) or rebuild it from the raw trials."""
    if source == "counts":
        return load_counts(data_dir)
    if source == "raw":
        return counts_from_raw(_folder(data_dir))
    raise LevelsetsError(f"unknown CIFAR-10H source {source!r}; use counts or raw")


def test_set_split(num_images: int = 10_000, *, seed: int = 0, train_fraction: float = TRAIN_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """Seed 001's split of the CIFAR-10 test images: sorted (train, held-out) index arrays.

    ``numpy.random.default_rng(seed).permutation(num_images)``; its first
    ``round(train_fraction * num_images)`` entries are the training images (7,000 of 10,000).
    """
    if not 0.0 < train_fraction < 1.0:
        raise LevelsetsError(f"train fraction must be in (0, 1), got {train_fraction}")
    order = np.random.default_rng(seed).permutation(num_images)
    k = int(round(train_fraction * num_images))
    return np.sort(order[:k]), np.sort(order[k:])


test_set_split.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def cifar10h_label_set(
    data: Cifar10hCounts,
    *,
    split: str = "all",
    seed: int = 0,
    per_annotator: bool = False,
    ids: Sequence[int] | None = None,
):
    """Turn CIFAR-10H annotations into a :class:`~levelsets.softlabels.label_construction.SoftLabelSet`.

    Parameters
    ----------
    data:
        From :func:`load_cifar10h`.
    split:
        ``all``, or seed 001's ``train`` (70 %) / ``heldout`` (30 %) part (:func:`test_set_split`).
    seed:
        Seed of the split.
    per_annotator:
        Keep each annotator's choice as a one-hot label (needs the raw CSV), so that
        ``--deaggregate`` draws one annotator per use; otherwise one label per image, the
        normalized counts.
    ids:
        Only these test indices (after the split).

    Returns
    -------
    SoftLabelSet
        Ids are test-set indices as strings; the aggregate of every example is counts / total
        (for ``per_annotator`` the mean of the one-hot rows is the same).
    """
    from levelsets.softlabels.label_construction import SoftLabelSet

    if split not in SPLITS:
        raise LevelsetsError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if per_annotator and data.choices is None:
        raise LevelsetsError("per-annotator labels need the raw trials; use --source raw (cifar10h-raw.csv)")
    n = len(data)
    if split == "all":
        chosen = np.arange(n)
    else:
        train, heldout = test_set_split(n, seed=seed)
        chosen = train if split == "train" else heldout
    if ids is not None:
        wanted = np.asarray(sorted(set(int(i) for i in ids)), dtype=np.int64)
        chosen = np.intersect1d(chosen, wanted)
    if chosen.size == 0:
        raise LevelsetsError("no CIFAR-10H images are left after the split and id selection")
    eye = np.eye(len(CIFAR10_CLASSES))
    probs = data.probs
    per: dict[str, np.ndarray] = {}
    for i in chosen.tolist():
        per[str(i)] = eye[list(data.choices[i])] if per_annotator else probs[i][None].copy()
    return SoftLabelSet(class_names=CIFAR10_CLASSES, per_annotator=per, settings=None, source=data.source)

"""Training sets for soft-label training: a base dataset, soft-label files, augmenting sample runs.

:func:`build_training_set` assembles the ``(image, soft label (K,))`` dataset that
:func:`levelsets.classifiers.training.fit` trains on:

* the **base** dataset's examples, hard labels one-hot encoded (or soft labels kept);
* a **soft-label file** (``levelsets labels build``) replaces the labels of the examples it names.
  Ids are matched against the base dataset's ``ids`` attribute when it has one, otherwise they
  are 0-based example indices (``"0"``, ``"17"``, ...);
* **augmenting runs** (``levelsets sample`` output directories) add their images, labelled by the
  run's exact posterior when present (``label_source="auto"`` or ``"posterior"``), by the run's
  target vector (``"target"``), or by a soft-label file whose ids are sample indices in that run.

With ``deaggregate=True`` every example keeps all its annotators' labels and each access draws
one of them (:class:`DeaggregatedDataset`), as in seed 001 §3.3.2; otherwise the mean is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from levelsets.errors import LevelsetsError
from levelsets.softlabels.label_construction import SoftLabelSet
from levelsets.softlabels.label_files import load_soft_labels, validate_label_rows

LABEL_SOURCES = ("auto", "posterior", "target")


class DeaggregatedDataset(torch.utils.data.Dataset):
    """Each access to example i returns one annotator's label, drawn uniformly from its pool.

    The draw for the a-th access of example i uses ``numpy.random.default_rng([seed, i, a])``,
    so a run is reproducible whatever order the loader visits the examples in.

    Parameters
    ----------
    images:
        (N, C, H, W) float32.
    pools:
        N arrays (M_i, K): the labels to draw from (M_i ≥ 1).
    seed:
        Seed of the draws.
    """

    def __init__(self, images: torch.Tensor, pools: Sequence[np.ndarray], seed: int = 0) -> None:
        if len(pools) != images.shape[0]:
            raise LevelsetsError(f"{images.shape[0]} images but {len(pools)} label pools")
        self.images = images
        self.pools = [torch.as_tensor(np.asarray(p), dtype=torch.float32) for p in pools]
        self.seed = int(seed)
        self._accesses = np.zeros(len(pools), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.pools)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = int(index)
        pool = self.pools[index]
        count = int(self._accesses[index])
        self._accesses[index] += 1
        m = 0 if pool.shape[0] == 1 else int(np.random.default_rng([self.seed, index, count]).integers(pool.shape[0]))
        return self.images[index], pool[m]

    def mean_labels(self) -> torch.Tensor:
        """Return the aggregate (mean) label of every example, (N, K)."""
        return torch.stack([p.mean(dim=0) for p in self.pools])


@dataclass
class TrainingData:
    """A training set and a description of how it was made (for model cards).

    Attributes
    ----------
    dataset:
        ``(image, soft label)`` items: a ``TensorDataset`` or a :class:`DeaggregatedDataset`.
    info:
        Counts and sources: base examples, soft-labelled examples, augmenting samples per run.
    """

    dataset: torch.utils.data.Dataset
    info: dict = field(default_factory=dict)


def _base_tensors(base, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    tensors = getattr(base, "tensors", None)
    if isinstance(tensors, (tuple, list)) and len(tensors) == 2:
        images, labels = tensors
    else:
        if len(base) == 0:
            raise LevelsetsError("the base training set is empty")
        images, labels = zip(*[base[i] for i in range(len(base))], strict=True)
        images = torch.stack([torch.as_tensor(x) for x in images])
        labels = torch.stack([torch.as_tensor(y) for y in labels])
    labels = torch.as_tensor(labels)
    if labels.dim() == 1:
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
            raise LevelsetsError(f"base labels must be class indices in 0..{num_classes - 1}")
        labels = torch.nn.functional.one_hot(labels.long(), num_classes).float()
    elif labels.shape[1] != num_classes:
        raise LevelsetsError(f"base labels have {labels.shape[1]} classes but {num_classes} are needed")
    return torch.as_tensor(images).float(), labels.float()


def _match_ids(label_ids: Sequence[str], base, n: int, source: str) -> list[int]:
    base_ids = getattr(base, "ids", None)
    lookup = {str(k): i for i, k in enumerate(base_ids)} if base_ids is not None else {str(i): i for i in range(n)}
    missing = [k for k in label_ids if k not in lookup]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        what = "the dataset's ids" if base_ids is not None else f"example indices 0..{n - 1}"
        raise LevelsetsError(f"{source}: id {missing[0]!r}{more} matches no example (ids are {what}); fix the ids or the dataset")
    return [lookup[k] for k in label_ids]


def _run_labels(run, label_source: str, labels_file: str | Path | None, class_names: Sequence[str]) -> list[np.ndarray]:
    n = len(run)
    where = str(run.path)
    if labels_file is not None:
        labels = load_soft_labels(labels_file, class_names=class_names)
        indices = _match_ids(labels.ids, None, n, str(labels_file))
        if sorted(indices) != list(range(n)):
            raise LevelsetsError(f"{labels_file} labels {len(set(indices))} of the {n} samples in {where}; label every sample")
        pools: list[np.ndarray] = [np.empty(0)] * n
        for i, key in zip(indices, labels.ids, strict=True):
            pools[i] = labels.per_annotator[key]
        return pools
    if label_source in ("auto", "posterior") and run.exact_posterior is not None:
        rows = np.asarray(run.exact_posterior, dtype=np.float64)
    elif label_source == "posterior":
        raise LevelsetsError(f"augment run {where} has no exact posterior; use the target as label or give a label file")
    else:
        rows = np.repeat(np.asarray(run.target, dtype=np.float64)[None], n, axis=0)
    checked = validate_label_rows({str(i): list(r) for i, r in enumerate(rows)}, len(class_names), source=where)
    return [checked[str(i)] for i in range(n)]


def build_training_set(
    base: torch.utils.data.Dataset | None,
    *,
    class_names: Sequence[str],
    soft_labels: str | Path | SoftLabelSet | None = None,
    augment: Sequence[str | Path] = (),
    augment_labels: Sequence[str | Path | None] | None = None,
    label_source: str = "auto",
    deaggregate: bool = False,
    seed: int = 0,
) -> TrainingData:
    """Assemble the training set (see the module docstring).

    Parameters
    ----------
    base:
        ``(image, label)`` dataset (integer classes or soft labels), or ``None`` for runs only.
    class_names:
        The K classes, in the classifier's output order; augment runs must have the same.
    soft_labels:
        A soft-label file or set whose ids name base examples.
    augment:
        Sample-run directories whose images are added.
    augment_labels:
        One entry per run: a soft-label file keyed by sample index, or ``None`` for the run's own
        labels (see ``label_source``).
    label_source:
        ``auto`` (exact posterior when the run has one, else the target), ``posterior`` or
        ``target``.
    deaggregate:
        Draw one annotator's label per access instead of using the mean.
    seed:
        Seed of the de-aggregated draws.

    Raises
    ------
    LevelsetsError
        Labels of the wrong length or not summing to 1, ids matching no example, an empty or
        missing augment directory, mismatched classes or image shapes; nothing is built.
    """
    from levelsets.runs import load_run

    if label_source not in LABEL_SOURCES:
        raise LevelsetsError(f"unknown label source {label_source!r}; use one of {', '.join(LABEL_SOURCES)}")
    k = len(class_names)
    augment = list(augment)
    augment_labels = list(augment_labels) if augment_labels is not None else [None] * len(augment)
    if len(augment_labels) != len(augment):
        raise LevelsetsError(f"{len(augment)} augment runs but {len(augment_labels)} augment label files")
    info: dict = {"class_names": list(class_names), "deaggregate": deaggregate, "seed": seed}

    image_blocks: list[torch.Tensor] = []
    pools: list[np.ndarray] = []
    if base is not None:
        images, labels = _base_tensors(base, k)
        base_pools = [row[None].numpy().astype(np.float64) for row in labels]
        info["base_examples"] = int(images.shape[0])
        if soft_labels is not None:
            label_set = soft_labels if isinstance(soft_labels, SoftLabelSet) else load_soft_labels(soft_labels, class_names=class_names)
            if label_set.num_classes != k:
                raise LevelsetsError(f"{label_set.source}: labels have {label_set.num_classes} classes but {k} are needed")
            indices = _match_ids(label_set.ids, base, images.shape[0], label_set.source or "soft labels")
            for i, key in zip(indices, label_set.ids, strict=True):
                base_pools[i] = label_set.per_annotator[key]
            info["soft_labelled_examples"] = len(indices)
            info["soft_labels"] = str(label_set.source)
        image_blocks.append(images)
        pools.extend(base_pools)
    elif soft_labels is not None:
        raise LevelsetsError("soft labels name examples of a base dataset; give the dataset too")

    info["augment"] = []
    for run_dir, labels_file in zip(augment, augment_labels, strict=True):
        run_dir = Path(run_dir)
        if run_dir.is_dir() and not any(run_dir.iterdir()):
            raise LevelsetsError(f"augment directory {run_dir} is empty; give the --out directory of a `levelsets sample` run")
        run = load_run(run_dir)
        if len(run) == 0:
            raise LevelsetsError(f"augment run {run_dir} holds no samples")
        if [c.lower() for c in run.class_names] != [str(c).lower() for c in class_names]:
            raise LevelsetsError(
                f"augment run {run_dir} has classes {', '.join(run.class_names)} but {', '.join(class_names)} are needed"
            )
        run_images = torch.as_tensor(run.images).float()
        if image_blocks and run_images.shape[1:] != image_blocks[0].shape[1:]:
            raise LevelsetsError(
                f"augment run {run_dir} has images of shape {tuple(run_images.shape[1:])} but the training images are "
                f"{tuple(image_blocks[0].shape[1:])}"
            )
        run_pools = _run_labels(run, label_source, labels_file, class_names)
        source = str(labels_file) if labels_file else ("posterior" if label_source != "target" and run.exact_posterior is not None else "target")
        info["augment"].append({"run": str(run_dir), "samples": len(run), "labels": source})
        image_blocks.append(run_images)
        pools.extend(run_pools)

    if not pools:
        raise LevelsetsError("the training set is empty; give a dataset or at least one augment run")
    images = torch.cat(image_blocks)
    info["total_examples"] = int(images.shape[0])
    if deaggregate:
        return TrainingData(DeaggregatedDataset(images, pools, seed=seed), info)
    means = torch.as_tensor(np.stack([p.mean(axis=0) for p in pools]), dtype=torch.float32)
    return TrainingData(torch.utils.data.TensorDataset(images, means), info)

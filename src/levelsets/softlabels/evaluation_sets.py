"""Evaluation sets: images with evaluation soft labels (and optionally a reference distribution).

* :func:`near_boundary_shapes` — held-out shapes-world images drawn near the class boundary,
  labelled by their exact posterior p(class | z) (the ground truth of this world);
* :func:`eval_set_from_run` — a ``levelsets sample`` run, labelled by its exact posterior when it
  has one, else by its target vector;
* :func:`eval_set_from_labels` — a soft-label file whose ids index a sample run's samples, the
  offline MNIST held-out split, or the CIFAR-10 test set (CIFAR-10H / CIFAR-10S labels).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from levelsets.errors import LevelsetsError
from levelsets.softlabels.label_files import load_soft_labels

DEFAULT_MAX_CONFIDENCE = 0.9
"""Near-boundary shapes have max_c p(c | z) ≤ this."""


@dataclass
class EvalSet:
    """Images and labels to evaluate a classifier on.

    Attributes
    ----------
    images:
        (N, C, H, W) float32 in [0, 1].
    labels:
        (N, K) float64 evaluation soft labels.
    class_names:
        The K classes.
    reference:
        (N, K) reference distribution for the KL, or ``None`` (= ``labels``).
    description:
        What the set is (recorded in the output JSON).
    classes:
        (N,) the true class of each example when the set has one (the shapes world's generating
        class), else ``None``; adds the true-class metrics of
        :func:`~levelsets.evaluation.classifier.evaluate_classifier`.
    """

    images: torch.Tensor
    labels: np.ndarray
    class_names: tuple[str, ...]
    reference: np.ndarray | None = None
    description: dict = field(default_factory=dict)
    classes: np.ndarray | None = None


def near_boundary_shapes(
    n: int,
    *,
    seed: int = 0,
    max_confidence: float = DEFAULT_MAX_CONFIDENCE,
    circle: bool = False,
    chunk: int = 20_000,
) -> EvalSet:
    """Draw ``n`` shapes-world examples whose exact posterior has max_c p(c | z) ≤ ``max_confidence``.

    Latents are drawn from the exact prior in chunks (seeded), filtered on the exact posterior, and
    only the kept ones are rendered. Labels and reference are the exact posterior.

    Parameters
    ----------
    n:
        Number of examples (≥ 1).
    seed:
        Seed of the draws; use a different seed from training data.
    max_confidence:
        In (0.5, 1]; smaller is closer to the boundary.
    circle:
        The circle variant of the world.
    """
    from levelsets.data.shapes import CLASS_SEED_OFFSET
    from levelsets.generative import shapes as world

    if n < 1:
        raise LevelsetsError(f"--near-boundary needs N >= 1 examples, got {n}")
    if not 0.5 < max_confidence <= 1.0:
        raise LevelsetsError(f"max confidence must be in (0.5, 1], got {max_confidence}")
    kept: list[torch.Tensor] = []
    found, drawn = 0, 0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        prior = world.ShapesPrior(circle=circle, dtype=torch.float64)
        while found < n:
            z = prior.sample((chunk,))
            post = world.exact_posterior(z)
            keep = z[post.max(dim=1).values <= max_confidence]
            kept.append(keep)
            found += keep.shape[0]
            drawn += chunk
            if drawn > 1000 * max(n, chunk):
                raise LevelsetsError(f"too few shapes with confidence <= {max_confidence}; raise the threshold")
    z = torch.cat(kept)[:n]
    post_t = world.exact_posterior(z)
    post = post_t.numpy()
    classes = world.sample_classes(post_t, seed + CLASS_SEED_OFFSET).numpy()
    images = torch.cat([world.render(z[i : i + 4096].float()) for i in range(0, n, 4096)])
    return EvalSet(
        images=images,
        labels=post,
        reference=post,
        class_names=tuple(world.SHAPES_CLASSES),
        description={
            "kind": "shapes near boundary",
            "n": n,
            "seed": seed,
            "max_confidence": max_confidence,
            "circle": circle,
            "labels": "exact posterior p(class | z)",
            "classes": "true classes: the generating class, drawn from p(class | z)",
            "share_of_prior_kept": found / drawn,
        },
        classes=classes,
    )


def eval_set_from_run(run_dir: str | Path, *, label_source: str = "auto") -> EvalSet:
    """Evaluate on a sample run: labels = exact posterior (``auto``/``posterior``) or the target."""
    from levelsets.runs import load_run

    run = load_run(run_dir)
    if len(run) == 0:
        raise LevelsetsError(f"sample run {run_dir} holds no samples")
    if label_source in ("auto", "posterior") and run.exact_posterior is not None:
        labels, used = np.asarray(run.exact_posterior, dtype=np.float64), "exact posterior"
    elif label_source == "posterior":
        raise LevelsetsError(f"sample run {run_dir} has no exact posterior; use its target or a label file")
    elif label_source in ("auto", "target"):
        labels, used = np.repeat(np.asarray(run.target, dtype=np.float64)[None], len(run), axis=0), "target"
    else:
        raise LevelsetsError(f"unknown label source {label_source!r}; use auto, posterior or target")
    return EvalSet(
        images=torch.as_tensor(run.images).float(),
        labels=labels,
        reference=labels,
        class_names=run.class_names,
        description={"kind": "sample run", "run": str(run_dir), "n": len(run), "labels": used},
    )


def eval_set_from_labels(
    labels_path: str | Path,
    images: str | Path,
    *,
    class_names: tuple[str, ...] | None = None,
    seed: int = 0,
    data_dir: str | Path | None = None,
) -> EvalSet:
    """Pair a soft-label file (aggregate labels) with images from a sample run, ``mnist`` or ``cifar10``.

    Parameters
    ----------
    labels_path:
        Soft-label JSON; ids are sample indices of the run, indices into the offline MNIST
        held-out split for ``images="mnist"``, or CIFAR-10 test-set indices for
        ``images="cifar10"`` (as in CIFAR-10H and CIFAR-10S).
    images:
        A ``levelsets sample`` run directory, ``"mnist"`` or ``"cifar10"``.
    class_names:
        Required for plain label files that carry no class names.
    seed:
        Seed of the MNIST held-out split.
    data_dir:
        ``cifar10``: the folder holding ``cifar-10-batches-py`` (default the model home's
        ``datasets/``); the examples' true classes are the test set's labels.
    """
    if data_dir is not None and str(images) != "cifar10":
        raise LevelsetsError("--data-dir applies to --images cifar10")
    if str(images) == "cifar10":
        from levelsets.data.cifar10 import load_cifar10
        from levelsets.softlabels.class_sets import CIFAR10_CLASSES

        test = load_cifar10("heldout", data_dir=data_dir)
        pool, names, what = torch.as_tensor(test.images), CIFAR10_CLASSES, test.source
        true_classes = np.asarray(test.labels, dtype=np.int64)
    elif str(images) == "mnist":
        from levelsets.data.mnist import load_mnist
        from levelsets.softlabels.class_sets import MNIST_CLASSES

        data = load_mnist("heldout", seed=seed)
        pool, names, what = data.images, MNIST_CLASSES, f"MNIST held-out ({data.source})"
        true_classes = np.asarray(data.labels, dtype=np.int64)
    else:
        from levelsets.runs import load_run

        run = load_run(images)
        pool, names, what = torch.as_tensor(run.images).float(), run.class_names, f"sample run {images}"
        true_classes = None
    labels = load_soft_labels(labels_path, class_names=class_names or names)
    if [c.lower() for c in labels.class_names] != [c.lower() for c in names]:
        raise LevelsetsError(f"{labels_path} has classes {', '.join(labels.class_names)} but {what} has {', '.join(names)}")
    n = pool.shape[0]
    indices = []
    for key in labels.ids:
        if not key.isdigit() or int(key) >= n:
            raise LevelsetsError(f"{labels_path}: id {key!r} matches no example of {what} (ids are indices 0..{n - 1})")
        indices.append(int(key))
    return EvalSet(
        images=pool[torch.as_tensor(indices, dtype=torch.long)].float(),
        labels=labels.aggregate_matrix(),
        class_names=tuple(names),
        description={"kind": "soft-label file", "labels": str(labels_path), "images": what, "n": len(indices)},
        classes=None if true_classes is None else true_classes[indices],
    )

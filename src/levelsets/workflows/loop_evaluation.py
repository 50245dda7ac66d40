"""The loop's evaluation: the held-out sets every round is evaluated on, the per-round metrics, the table.

See :mod:`levelsets.workflows.loop` for what each metric means and how the loop is judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

ROUND_METRICS = ("kl", "ce", "calibration_rmse_true_class", "calibration_rmse_expected", "calibration_rmse",
                 "fgsm_ce", "accuracy", "heldout_accuracy", "heldout_calibration_rmse")

NEAR_BOUNDARY_SEED_OFFSET = 2_000_003
HELDOUT_SEED_OFFSET = 3_000_017


@dataclass
class EvalSets:
    """The held-out sets every round is evaluated on.

    Attributes
    ----------
    near_images, near_labels:
        (N, C, H, W) images and (N, K) labels of the near-boundary set (shapes: exact posterior;
        mnist: one-hot held-out digits).
    near_classes:
        (N,) true classes of the near-boundary set (shapes: the generating class, drawn from the
        exact posterior; mnist: the held-out digits' classes).
    heldout_images, heldout_classes:
        (M, C, H, W) images and (M,) true classes of the ordinary held-out set.
    heldout_posteriors:
        (M, K) exact posterior of the held-out set (shapes), else ``None``.
    description:
        What the sets are (recorded in ``summary.json``).
    """

    near_images: Any
    near_labels: np.ndarray
    heldout_images: Any
    heldout_classes: np.ndarray
    description: dict[str, Any]
    heldout_posteriors: np.ndarray | None = None
    near_classes: np.ndarray | None = None


def loop_eval_sets(world: str, *, eval_size: int = 2000, heldout_size: int = 2000, seed: int = 0) -> EvalSets:
    """Build the loop's evaluation sets (seeded apart from all training data).

    Parameters
    ----------
    world:
        ``shapes``: ``eval_size`` near-boundary shapes (max_c p(c | z) ≤ 0.9, labelled by the exact
        posterior, seed ``seed + 2,000,003``) and ``heldout_size`` shapes from the prior (seed
        ``seed + 3,000,017``); ``mnist``: the offline held-out split for both (sizes ignored).
    """
    import torch

    if world == "shapes":
        from levelsets.data.shapes import make_shapes_dataset
        from levelsets.softlabels.evaluation_sets import near_boundary_shapes

        near = near_boundary_shapes(eval_size, seed=seed + NEAR_BOUNDARY_SEED_OFFSET)
        held = make_shapes_dataset(heldout_size, seed=seed + HELDOUT_SEED_OFFSET)
        return EvalSets(near.images, np.asarray(near.labels), held.images, np.asarray(held.labels),
                        {"near_boundary": near.description,
                         "heldout": {"kind": "shapes from the prior", "n": heldout_size, "seed": seed + HELDOUT_SEED_OFFSET}},
                        heldout_posteriors=held.posteriors.double().numpy(), near_classes=near.classes)
    from levelsets.data.mnist import load_mnist

    held = load_mnist("heldout")
    images = torch.as_tensor(held.images).float()
    onehot = np.eye(10)[np.asarray(held.labels)]
    return EvalSets(images, onehot, images, np.asarray(held.labels),
                    {"near_boundary": f"MNIST held-out split ({held.source}); hard labels", "heldout": held.source},
                    near_classes=np.asarray(held.labels))


def evaluate_round(model, sets: EvalSets, device="cpu") -> dict[str, float]:
    """Evaluate one round's classifier on the loop's sets.

    Returns the metrics of :func:`levelsets.evaluation.classifier.evaluate_classifier` on the
    near-boundary set (``kl`` is KL(exact posterior ‖ classifier) for shapes), plus on the
    ordinary held-out set with its true classes: ``heldout_accuracy`` and
    ``heldout_calibration_rmse`` (adaptive-binning RMSE calibration error against the true class).
    """
    from levelsets.classifiers.training import predict_probs
    from levelsets.evaluation.classifier import evaluate_classifier, true_class_metrics

    metrics = dict(evaluate_classifier(model, sets.near_images, sets.near_labels, classes=sets.near_classes, device=device).metrics)
    probs = predict_probs(model, sets.heldout_images, batch_size=512, device=device).cpu().numpy()
    held = true_class_metrics(probs, sets.heldout_classes)
    metrics["heldout_accuracy"] = held["accuracy_true_class"]
    metrics["heldout_calibration_rmse"] = held["calibration_rmse_true_class"]
    return metrics


def markdown_table(table: Sequence[dict[str, Any]], metrics: Sequence[str] = ROUND_METRICS) -> str:
    """The per-round table as GitHub markdown."""
    cols = ["round", "augmenting_runs", *[m for m in metrics if table and m in table[0]]]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in table:
        cells = [f"{row[c]:.4f}" if isinstance(row[c], float) else str(row[c]) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

r"""What participants see: mixed (mixup) images and the batches of trials (``levelsets stimuli export``).

*Mixed* images are made as in mixup, :math:`\tilde x = \lambda x_a + (1 - \lambda) x_b` for two
chosen samples the classifier puts in different classes, with :math:`\lambda \in` :data:`MIX_LAMBDAS`
(seed 001 §4.2.1).

Each batch holds ``per_participant`` trials = ``per_participant - repeats - catch`` distinct regular
stimuli (samples and mixed images), ``catch`` catch trials, and ``repeats`` second showings of
regular stimuli of the same batch (always later than the first showing). The regular stimuli are
dealt out from one seeded permutation, so every regular stimulus is in at least one batch; the
last batch is topped up from the start of the permutation. Trial order and class-button order are
shuffled per batch with the seed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from levelsets.elicitation.stimulus_selection import Pick
from levelsets.errors import LevelsetsError

if TYPE_CHECKING:
    from levelsets.elicitation.stimuli import StimuliSettings

MIX_LAMBDAS = (0.1, 0.25, 0.5, 0.75, 0.9)
"""Generating mixing coefficients of mixed images (seed 001 §4.2.1: 0.5, {0.1, 0.25}, {0.75, 0.9})."""


def mixed_records(
    samples: list[tuple[str, Pick]], count: int, rng: np.random.Generator, class_names: tuple[str, ...]
) -> list[tuple[dict, np.ndarray]]:
    """Draw ``count`` mixed images from pairs of chosen samples with different classifier argmax."""
    if count == 0:
        return []
    labels = np.array([int(np.argmax(pick.probs)) for _, pick in samples])
    if len(np.unique(labels)) < 2:
        raise LevelsetsError(
            "--mixed needs samples the classifier puts in at least two different classes; add runs with other targets"
        )
    out = []
    for k in range(count):
        a = int(rng.integers(len(samples)))
        others = np.flatnonzero(labels != labels[a])
        b = int(others[rng.integers(len(others))])
        lam = float(MIX_LAMBDAS[int(rng.integers(len(MIX_LAMBDAS)))])
        (name_a, pick_a), (name_b, pick_b) = samples[a], samples[b]
        image = lam * pick_a.image.astype(np.float64) + (1.0 - lam) * pick_b.image.astype(np.float64)
        record = {
            "id": f"mix-{k:04d}",
            "kind": "mixed",
            "source": None,
            "latent": None,
            "probs": None,
            "target": None,
            "target_spec": None,
            "expected": None,
            "mixing": {
                "lambda": lam,
                "endpoints": [
                    {"run": name_a, "index": pick_a.index, "class": class_names[labels[a]], "probs": pick_a.probs}
                    | ({} if pick_a.index is not None else {"particle": pick_a.particle}),
                    {"run": name_b, "index": pick_b.index, "class": class_names[labels[b]], "probs": pick_b.probs}
                    | ({} if pick_b.index is not None else {"particle": pick_b.particle}),
                ],
            },
        }
        out.append((record, image))
    return out


def make_batches(
    regular: list[str], catch_pool: list[str], settings: StimuliSettings, catch: int,
    class_names: tuple[str, ...], rng: np.random.Generator,
) -> list[dict]:
    """Deal the regular stimuli into participant batches (module docstring); each batch a dict with
    ``batch``, ``label_order`` (class-button order) and ``trials`` (``trial``, ``stimulus``,
    ``repeat``, ``catch``).
    """
    distinct = min(settings.per_participant - settings.repeats - catch, len(regular))
    n_batches = math.ceil(len(regular) / distinct)
    perm = [regular[j] for j in rng.permutation(len(regular))]
    batches = []
    for b in range(n_batches):
        chosen = [perm[j % len(perm)] for j in range(b * distinct, (b + 1) * distinct)]
        checks = [catch_pool[j] for j in rng.choice(len(catch_pool), size=catch, replace=False)] if catch else []
        order = [(sid, False, False) for sid in chosen] + [(sid, False, True) for sid in checks]
        order = [order[j] for j in rng.permutation(len(order))]
        repeated = [chosen[j] for j in rng.choice(len(chosen), size=min(settings.repeats, len(chosen)), replace=False)]
        for sid in repeated:
            first = next(i for i, (s, rep, _) in enumerate(order) if s == sid and not rep)
            position = int(rng.integers(min(first + 2, len(order)), len(order) + 1))
            order.insert(position, (sid, True, False))
        label_order = [class_names[j] for j in rng.permutation(len(class_names))]
        batches.append({
            "batch": b,
            "label_order": label_order,
            "trials": [
                {"trial": t, "stimulus": sid, "repeat": rep, "catch": is_catch}
                for t, (sid, rep, is_catch) in enumerate(order)
            ],
        })
    return batches

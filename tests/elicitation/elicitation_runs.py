"""Tiny sample runs for the elicitation tests, written with SampleRun as `levelsets sample` would."""

from __future__ import annotations

import json

import numpy as np

from levelsets.runs import SUMMARY_FILE, SampleRun

CLASSES = ("cat", "dog", "frog")


def make_run(directory, *, n=12, spec="ambiguous", seed=0, classes=CLASSES, channels=1, side=8):
    """Write a run: random images, probabilities near the target, and a summary naming the target."""
    rng = np.random.default_rng(seed)
    k = len(classes)
    if spec.startswith("confident:"):
        c = classes.index(spec.split(":")[1])
        target = np.full(k, 0.01)
        target[c] = 1 - 0.01 * (k - 1)
    else:
        target = np.full(k, 1.0 / k)
    probs = rng.dirichlet(50 * target + 0.1, size=n)
    run = SampleRun(
        latents=rng.normal(size=(n, 5)),
        images=rng.uniform(size=(n, channels, side, side)),
        probs=probs,
        target=target,
        class_names=tuple(classes),
        particle_index=np.arange(n),
    )
    directory.mkdir(parents=True, exist_ok=True)
    run.save(directory)
    summary = {"target": {"spec": spec, "probs": target.tolist()}, "world": "test", "seed": seed}
    (directory / SUMMARY_FILE).write_text(json.dumps(summary))
    return directory

"""A tiny shapes-world sample run on disk, for the tests that train on runs (imported by name: tests/ is on the path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from levelsets.runs import SampleRun


def make_run(path: Path, n: int = 16) -> SampleRun:
    """Write an n-sample shapes run (random latents and 64 × 64 images, probs 0.5/0.5, an exact posterior) to ``path``."""
    rng = np.random.default_rng(0)
    path.mkdir()
    run = SampleRun(
        latents=rng.normal(size=(n, 3)),
        images=rng.uniform(size=(n, 1, 64, 64)),
        probs=np.full((n, 2), 0.5),
        target=np.array([0.5, 0.5]),
        class_names=("rocket", "house"),
        exact_posterior=rng.dirichlet([2, 2], size=n),
    )
    run.save(path)
    return run

"""The on-disk form of a sample run (the output directory of ``levelsets sample``).

A run directory holds

``samples.npz``
    ``latents`` (n, d) float32; ``images`` (n, C, H, W) float32 in [0, 1]; ``probs`` (n, K) float32,
    the classifier's probabilities for each image; ``target`` (K,) float64; ``class_names`` (K,) str;
    ``particle_index`` (n,) int64, the particle each returned sample came from; and, for worlds with
    a known posterior, ``exact_posterior`` (n, K) float64; optionally the sampler's whole final
    population, ``population_latents`` (N, d) float32 and ``population_probs`` (N, K) float32
    (``stimuli export --select diverse`` picks from it, decoding the latents with the run's generator).
``summary.json``
    settings, diagnostics and provenance (see :func:`levelsets.inference.summary`).

Elicitation (stimuli export) and the soft-label loop read runs through :func:`load_run`.

Formerly ``levelsets.sample_runs``; no re-export is kept (the notebooks and docs import this module).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from levelsets.errors import LevelsetsError

SAMPLES_FILE = "samples.npz"
SUMMARY_FILE = "summary.json"
_REQUIRED = ("latents", "images", "probs", "target", "class_names")


@dataclass
class SampleRun:
    """Samples of one level-set run, as arrays. Shapes are documented in the module docstring."""

    latents: np.ndarray
    images: np.ndarray
    probs: np.ndarray
    target: np.ndarray
    class_names: tuple[str, ...]
    particle_index: np.ndarray | None = None
    exact_posterior: np.ndarray | None = None
    population_latents: np.ndarray | None = None
    population_probs: np.ndarray | None = None
    summary: dict = field(default_factory=dict)
    path: Path | None = None

    def __post_init__(self) -> None:
        n = self.latents.shape[0]
        k = len(self.class_names)
        if self.images.shape[0] != n or self.probs.shape[0] != n:
            raise LevelsetsError(
                f"sample run {self.path or ''}: latents, images and probs disagree on the number of samples "
                f"({n}, {self.images.shape[0]}, {self.probs.shape[0]})"
            )
        if self.probs.shape[1] != k or self.target.shape[0] != k:
            raise LevelsetsError(
                f"sample run {self.path or ''}: {k} class names but probs have {self.probs.shape[1]} columns "
                f"and the target {self.target.shape[0]} entries"
            )
        if (self.population_latents is None) != (self.population_probs is None):
            raise LevelsetsError(f"sample run {self.path or ''}: population_latents and population_probs come together")
        if self.population_latents is not None and (
            self.population_latents.ndim != 2 or self.population_latents.shape[1] != self.latents.shape[1]
            or self.population_probs.shape != (self.population_latents.shape[0], k)
        ):
            raise LevelsetsError(
                f"sample run {self.path or ''}: the final population has latents {self.population_latents.shape} and "
                f"probs {self.population_probs.shape}; expected (N, {self.latents.shape[1]}) and (N, {k})"
            )
        if self.images.ndim != 4:
            raise LevelsetsError(f"sample run {self.path or ''}: images must be (n, C, H, W), got {self.images.shape}")

    def __len__(self) -> int:
        return int(self.latents.shape[0])

    def save(self, directory: str | Path) -> Path:
        """Write ``samples.npz`` into ``directory`` (the summary is written by the caller)."""
        directory = Path(directory)
        arrays = {
            "latents": self.latents.astype(np.float32),
            "images": self.images.astype(np.float32),
            "probs": self.probs.astype(np.float32),
            "target": self.target.astype(np.float64),
            "class_names": np.asarray(self.class_names, dtype=str),
        }
        if self.particle_index is not None:
            arrays["particle_index"] = self.particle_index.astype(np.int64)
        if self.exact_posterior is not None:
            arrays["exact_posterior"] = self.exact_posterior.astype(np.float64)
        if self.population_latents is not None:
            arrays["population_latents"] = self.population_latents.astype(np.float32)
            arrays["population_probs"] = self.population_probs.astype(np.float32)
        path = directory / SAMPLES_FILE
        np.savez_compressed(path, **arrays)
        return path


def load_run(directory: str | Path) -> SampleRun:
    """Read a run directory written by ``levelsets sample``.

    Raises
    ------
    LevelsetsError
        When the directory or its ``samples.npz`` is missing, unreadable, or lacks an array.
    """
    directory = Path(directory)
    path = directory / SAMPLES_FILE
    if not directory.is_dir():
        raise LevelsetsError(f"{directory} is not a directory; give the --out directory of a `levelsets sample` run")
    if not path.is_file():
        raise LevelsetsError(f"{directory} has no {SAMPLES_FILE}; is it the output of `levelsets sample`?")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise LevelsetsError(f"{path} is corrupt or truncated ({exc}); re-run `levelsets sample` to recreate it") from None
    missing = [key for key in _REQUIRED if key not in arrays]
    if missing:
        raise LevelsetsError(f"{path} lacks {', '.join(missing)}; re-run `levelsets sample` to recreate it")
    summary: dict = {}
    summary_path = directory / SUMMARY_FILE
    if summary_path.is_file():
        try:
            summary = json.loads(summary_path.read_text())
        except json.JSONDecodeError as exc:
            raise LevelsetsError(f"{summary_path} is not valid JSON ({exc}); re-run `levelsets sample`") from None
    return SampleRun(
        latents=arrays["latents"],
        images=arrays["images"],
        probs=arrays["probs"],
        target=arrays["target"],
        class_names=tuple(str(c) for c in arrays["class_names"]),
        particle_index=arrays.get("particle_index"),
        exact_posterior=arrays.get("exact_posterior"),
        population_latents=arrays.get("population_latents"),
        population_probs=arrays.get("population_probs"),
        summary=summary,
        path=directory,
    )

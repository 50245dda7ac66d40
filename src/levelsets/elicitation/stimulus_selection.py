"""Which of a run's images become stimuli: ``random`` or ``diverse`` selection (``levelsets stimuli export --select``).

``random`` is a seeded uniform choice among the run's stored samples; ``diverse`` is greedy k-center
(:func:`levelsets.evaluation.image_features.select_diverse`) in the pixel space of
:data:`~levelsets.evaluation.image_features.FEATURE_SPACE`, over the run's *final population* when
``samples.npz`` stores it (its latents decoded by the run's generator, after checking that the
generator reproduces the stored images within :data:`DECODE_ATOL`) and over the stored samples
otherwise (:mod:`levelsets.elicitation.stimuli`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from levelsets.errors import LevelsetsError
from levelsets.runs import SampleRun

if TYPE_CHECKING:
    from levelsets.elicitation.stimuli import StimuliSettings

DECODE_ATOL = 1e-3
"""Largest pixel difference allowed between the stored sample images and the same latents decoded
again, before a run's final population is decoded for ``select="diverse"``."""


@dataclass
class Pick:
    """One chosen image of a run: a stored sample (``index``) or a member of the final population."""

    index: int | None
    particle: int | None
    latent: np.ndarray
    probs: np.ndarray
    image: np.ndarray


def run_decoder(run: SampleRun, name: str):
    """The generator of ``run`` (from its summary: world, prior, excluded class), latents → images (numpy)."""
    import torch

    world = run.summary.get("world")
    prior = run.summary.get("prior")
    excluded = (run.summary.get("settings") or {}).get("exclude_class")
    if run.summary.get("world_plugin"):  # a plugin world: reload it from the file/module the run recorded
        from levelsets.worlds import plugin_decoder

        model = plugin_decoder(run.summary)
    elif world == "shapes":
        from levelsets.generative.shapes_render import render

        model = render
    elif world == "mnist":
        from levelsets.devices import prepare_for_inference
        from levelsets.generative.zoo import get_generator

        generator, _ = get_generator(prior or "vae", "mnist", exclude_class=excluded, train_if_missing=False,
                                     device="cpu", progress=False)
        model = prepare_for_inference(generator, torch.device("cpu"))
    else:
        raise LevelsetsError(
            f"run {name} stores its final population as latents, but its summary names no built-in world "
            f"({world!r}) whose generator could decode them; use --select random"
        )

    def decode(latents: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            z = torch.as_tensor(np.asarray(latents), dtype=torch.float32)
            return np.concatenate([model(chunk).float().cpu().numpy() for chunk in torch.split(z, 1024)])

    return decode


def population_picks(run: SampleRun, name: str) -> list[Pick]:
    """Decode the final population of ``run``, after checking the decoder reproduces the stored samples."""
    decode = run_decoder(run, name)
    again = decode(run.latents)
    if again.shape != run.images.shape or float(np.abs(again - run.images).max()) > DECODE_ATOL:
        diff = float(np.abs(again - run.images).max()) if again.shape == run.images.shape else float("inf")
        raise LevelsetsError(
            f"run {name}: the cached generator decodes the run's samples differently from their stored images "
            f"(largest pixel difference {diff:.3g}); it was retrained since the run — use --select random"
        )
    images = decode(run.population_latents)
    by_particle = {} if run.particle_index is None else {int(p): i for i, p in enumerate(run.particle_index)}
    return [Pick(index=by_particle.get(j), particle=j, latent=run.population_latents[j],
                  probs=run.population_probs[j], image=images[j]) for j in range(images.shape[0])]


def select_stimuli(name: str, run: SampleRun, settings: StimuliSettings, run_number: int) -> tuple[list[Pick], dict]:
    """Choose the stimuli of one run (``settings.select``, ``per_run``, ``seed``; the ``run_number``-th run).

    Returns the chosen images and a record of how they were chosen (for the manifest).
    """
    from levelsets.evaluation.image_features import FEATURE_SPACE, features, select_diverse

    def stored(i: int) -> Pick:
        particle = None if run.particle_index is None else int(run.particle_index[i])
        return Pick(index=i, particle=particle, latent=run.latents[i], probs=run.probs[i], image=run.images[i])

    use_population = settings.select == "diverse" and run.population_latents is not None
    pool = population_picks(run, name) if use_population else [stored(i) for i in range(len(run))]
    n = len(run) if settings.per_run is None else settings.per_run
    info = {"pool": "final population" if use_population else "stored samples", "pool_size": len(pool), "selected": n}
    if n > len(pool):
        raise LevelsetsError(
            f"--per-run {n} but run {name} holds only {len(pool)} {info['pool']}; lower --per-run"
        )
    if settings.select == "diverse":
        chosen = select_diverse(features(np.stack([p.image for p in pool])), n, seed=settings.seed)
        info["feature_space"] = FEATURE_SPACE
    elif n == len(pool):
        chosen = np.arange(n)  # every stored sample, in order: the export of earlier versions
    else:
        chosen = np.sort(np.random.default_rng([settings.seed, run_number]).choice(len(pool), size=n, replace=False))
    return [pool[int(c)] for c in chosen], info


def selection_rule(settings: StimuliSettings) -> dict:
    """The selection rule of an export, as recorded in its manifest."""
    from levelsets.evaluation.image_features import FEATURE_SPACE

    if settings.select == "diverse":
        how = ("greedy k-center (farthest-point) selection, first point drawn with the seed, over each run's final "
               "population (decoded by the run's generator) when samples.npz stores it, else over its stored samples")
        return {"rule": "diverse", "per_run": settings.per_run, "feature_space": FEATURE_SPACE, "description": how}
    how = ("every stored sample of every run" if settings.per_run is None else
           "a seeded uniform choice, without replacement, among each run's stored samples")
    return {"rule": "random", "per_run": settings.per_run, "feature_space": None, "description": how}

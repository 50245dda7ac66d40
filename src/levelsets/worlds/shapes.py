"""The shapes world (seed 003): house/rocket renderer with its exact prior and exact posterior.

Registered as the world ``shapes`` (entry point ``levelsets.worlds``); priors ``exact`` (w, h, t)
and ``exact-circle`` (adds r, cx, cy). The classifier is the model zoo's shapes CNN, trained and
cached on first use.
"""

from __future__ import annotations

from pathlib import Path

from levelsets.errors import LevelsetsError
from levelsets.worlds.world import World

PRIORS = ("exact", "exact-circle")
DEFAULT_ALPHA = 300.0
"""Dirichlet α when none is given: the shapes CNN is near-certain on almost all of its prior, so at
α = 100 the posterior's extra prior mass on the confident side pulls the ambiguous level set's mean
confidence to 0.54; at 300 it is 0.52 (seed 003 reports 51.0 %). README § "Shapes level sets"."""


def make_world(
    prior: str = "exact",
    *,
    device="cpu",
    seed: int = 0,
    exclude_class: int | None = None,
    classifier_path: str | Path | None = None,
    train_if_missing: bool = True,
    progress: bool = True,
) -> World:
    """The shapes world with prior ``exact`` or ``exact-circle`` (see :func:`levelsets.worlds.load_world`)."""
    import torch

    from levelsets.classifiers.black_box import as_probability_fn
    from levelsets.classifiers.zoo import get_classifier, load_classifier
    from levelsets.devices import forward_batch_size, prepare_for_inference
    from levelsets.generative import shapes

    if exclude_class is not None:
        raise LevelsetsError("--exclude-class applies to learned priors (mnist), not the shapes world")
    device = torch.device(device)
    if classifier_path is not None:
        model, card = load_classifier(classifier_path, "shapes", device=device)
    else:
        model, card = get_classifier("shapes", train_if_missing=train_if_missing, seed=seed, device=device,
                                     progress=progress)
    circle = prior == "exact-circle"
    return World(
        name="shapes",
        prior_name=prior,
        prior=shapes.ShapesPrior(circle=circle),
        decoder=lambda z: shapes.render(z),
        classifier=as_probability_fn(prepare_for_inference(model, device), num_classes=2, device=device, logits=True,
                                     batch_size=forward_batch_size(device)),
        class_names=tuple(shapes.SHAPES_CLASSES),
        latent_names=("w", "h", "t", "r", "cx", "cy") if circle else ("w", "h", "t"),
        exact_posterior=shapes.exact_posterior,
        data="shapes world: images rendered from the exact generative process (no external data)",
        cards={"classifier": card},
    )


make_world.priors = PRIORS  # type: ignore[attr-defined]
make_world.default_alpha = DEFAULT_ALPHA  # type: ignore[attr-defined]

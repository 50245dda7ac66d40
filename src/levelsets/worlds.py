"""Worlds: a latent prior, a decoder, a classifier and class names, ready for the sampler.

``load_world("shapes")`` is the procedural house/rocket world of seed 003 with its exact prior and
exact posterior; ``load_world("mnist", prior="vae"|"gan")`` puts a learned 5-d latent prior under
an MNIST CNN. Missing models are trained on first use (and cached in the model home), with a note
of what is being trained on which data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from levelsets.errors import LevelsetsError

WORLDS = ("shapes", "mnist")
PRIORS = {"shapes": ("exact", "exact-circle"), "mnist": ("vae", "gan")}
DEFAULT_ALPHA = {"mnist": 100.0, "shapes": 300.0}
"""Dirichlet tolerance α used when none is given. MNIST: seed 003's α = 100. Shapes: 300, because
the shapes CNN is near-certain on almost all of its prior, so at α = 100 the posterior's extra
prior mass on the confident side pulls the ambiguous level set's mean confidence to 0.54; at 300
it is 0.52 (seed 003 reports 51.0 %). Measured in README § "Shapes level sets"."""


@dataclass
class World:
    """Everything the sampler needs about one world.

    Attributes
    ----------
    name:
        ``"shapes"`` or ``"mnist"``.
    prior_name:
        ``"exact"`` / ``"exact-circle"`` (shapes) or ``"vae"`` / ``"gan"`` (MNIST).
    prior:
        Latent prior p(z), a torch distribution with event shape ``(d,)``.
    decoder:
        z ``(N, d)`` → images ``(N, C, H, W)`` in [0, 1] (a renderer or a generator network).
    classifier:
        images → probabilities ``(N, K)``; a black box (no gradients).
    class_names:
        The K class names, in the classifier's output order.
    latent_names:
        Names of the d latent coordinates (``w, h, t`` for shapes; ``z1..z5`` otherwise).
    exact_posterior:
        z ``(N, d)`` → exact p(class | z) ``(N, K)`` when the world knows it (shapes), else None.
    data:
        One line saying which data the models were trained on.
    cards:
        Model cards of the classifier and the generator (what was trained, how, how well).
    """

    name: str
    prior_name: str
    prior: torch.distributions.Distribution
    decoder: Callable[[torch.Tensor], torch.Tensor]
    classifier: Callable[[torch.Tensor], torch.Tensor]
    class_names: tuple[str, ...]
    latent_names: tuple[str, ...]
    exact_posterior: Callable[[torch.Tensor], torch.Tensor] | None = None
    data: str = ""
    cards: dict[str, Any] = field(default_factory=dict)

    @property
    def latent_dim(self) -> int:
        """d, the latent dimension."""
        return len(self.latent_names)

    def describe(self) -> dict[str, Any]:
        """JSON-ready description for summaries: names, data, and the model cards' key facts."""
        return {
            "world": self.name,
            "prior": self.prior_name,
            "class_names": list(self.class_names),
            "latent_names": list(self.latent_names),
            "data": self.data,
            "classifier": _card_digest(self.cards.get("classifier")),
            "generator": _card_digest(self.cards.get("generator")) if "generator" in self.cards else self.prior_name,
        }


def _card_digest(card: dict | None) -> dict | None:
    if not card:
        return None
    keys = ("kind", "name", "path", "data", "heldout_accuracy", "bayes_accuracy", "seed", "exclude_class", "config")
    return {k: card[k] for k in keys if k in card}


def default_prior(world: str) -> str:
    """The prior used when ``--prior`` is not given: exact for shapes, VAE for MNIST."""
    return PRIORS[world][0]


def load_world(
    world: str = "mnist",
    prior: str | None = None,
    *,
    device: torch.device | str = "cpu",
    seed: int = 0,
    exclude_class: int | None = None,
    classifier_path: str | Path | None = None,
    train_if_missing: bool = True,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> World:
    """Build a :class:`World`, training and caching missing models first.

    Parameters
    ----------
    world:
        ``"shapes"`` or ``"mnist"``.
    prior:
        ``None`` for the world's default; see :data:`PRIORS`.
    device:
        Where the decoder and classifier run.
    seed:
        Seed used if a model has to be trained.
    exclude_class:
        MNIST only: use a generator trained without this class (in-distribution adversarial use).
    classifier_path:
        Use this classifier checkpoint (e.g. one trained by the soft-label loop) instead of the
        cached zoo classifier of the world.
    train_if_missing:
        Train missing models (else raise a CheckpointError naming the training command).
    progress:
        Show progress bars while training missing models.
    echo:
        Where one-line notes go ("training a VAE on ...").
    """
    from levelsets.classifiers.black_box import as_probability_fn
    from levelsets.classifiers.zoo import get_classifier, load_classifier
    from levelsets.devices import forward_batch_size, prepare_for_inference

    def classifier_for(name: str):
        if classifier_path is not None:
            return load_classifier(classifier_path, name, device=device)
        return get_classifier(name, train_if_missing=train_if_missing, seed=seed, device=device, echo=echo, progress=progress)

    if world not in WORLDS:
        raise LevelsetsError(f"unknown world {world!r}; choose one of {', '.join(WORLDS)}")
    prior = prior or default_prior(world)
    if prior not in PRIORS[world]:
        raise LevelsetsError(f"world {world} has no prior {prior!r}; choose one of {', '.join(PRIORS[world])}")
    device = torch.device(device)

    if world == "shapes":
        from levelsets.generative import shapes

        if exclude_class is not None:
            raise LevelsetsError("--exclude-class applies to learned priors (mnist), not the shapes world")
        model, card = classifier_for("shapes")
        circle = prior == "exact-circle"
        shapes_prior = shapes.ShapesPrior(circle=circle)
        names = ("w", "h", "t", "r", "cx", "cy") if circle else ("w", "h", "t")
        return World(
            name="shapes",
            prior_name=prior,
            prior=shapes_prior,
            decoder=lambda z: shapes.render(z),
            classifier=as_probability_fn(prepare_for_inference(model, device), num_classes=2, device=device, logits=True,
                                         batch_size=forward_batch_size(device)),
            class_names=tuple(shapes.SHAPES_CLASSES),
            latent_names=names,
            exact_posterior=shapes.exact_posterior,
            data="shapes world: images rendered from the exact generative process (no external data)",
            cards={"classifier": card},
        )

    from levelsets.data.mnist import MNIST_CLASSES
    from levelsets.generative.zoo import get_generator

    model, card = classifier_for("mnist")
    decoder, gen_card = get_generator(
        prior, "mnist", exclude_class=exclude_class, train_if_missing=train_if_missing, seed=seed, device=device, echo=echo,
        progress=progress,
    )
    decoder = prepare_for_inference(decoder, device)
    latent_dim = int(gen_card.get("config", {}).get("latent_dim", 5))
    latent_prior = torch.distributions.Independent(
        torch.distributions.Normal(torch.zeros(latent_dim, device=device), torch.ones(latent_dim, device=device)), 1
    )

    @torch.no_grad()
    def decode(z: torch.Tensor) -> torch.Tensor:
        return decoder(z)

    return World(
        name="mnist",
        prior_name=prior,
        prior=latent_prior,
        decoder=decode,
        classifier=as_probability_fn(prepare_for_inference(model, device), num_classes=10, device=device, logits=True,
                                     batch_size=forward_batch_size(device)),
        class_names=tuple(MNIST_CLASSES),
        latent_names=tuple(f"z{i + 1}" for i in range(latent_dim)),
        exact_posterior=None,
        data=f"classifier: {card.get('data', 'unknown')}; {prior}: {gen_card.get('data', 'unknown')}",
        cards={"classifier": card, "generator": gen_card},
    )

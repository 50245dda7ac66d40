"""The MNIST world: a learned 5-d latent prior (VAE or GAN decoder) under the zoo's MNIST CNN.

Registered as the world ``mnist`` (entry point ``levelsets.worlds``); priors ``vae`` and ``gan``.
Missing models are trained on first use (offline MNIST subset unless torchvision's copy is
present) and cached in the model home.
"""

from __future__ import annotations

from pathlib import Path

from levelsets.worlds.world import World

PRIORS = ("vae", "gan")
DEFAULT_ALPHA = 100.0
"""Dirichlet α when none is given: seed 003's α = 100."""


def make_world(
    prior: str = "vae",
    *,
    device="cpu",
    seed: int = 0,
    exclude_class: int | None = None,
    classifier_path: str | Path | None = None,
    train_if_missing: bool = True,
    progress: bool = True,
) -> World:
    """The MNIST world with prior ``vae`` or ``gan`` (see :func:`levelsets.worlds.load_world`)."""
    import torch

    from levelsets.classifiers.zoo import get_classifier, load_classifier
    from levelsets.devices import prepare_for_inference
    from levelsets.generative.zoo import get_generator

    device = torch.device(device)
    if classifier_path is not None:
        model, card = load_classifier(classifier_path, "mnist", device=device)
    else:
        model, card = get_classifier("mnist", train_if_missing=train_if_missing, seed=seed, device=device,
                                     progress=progress)
    decoder, gen_card = get_generator(
        prior, "mnist", exclude_class=exclude_class, train_if_missing=train_if_missing, seed=seed, device=device,
        progress=progress,
    )
    latent_dim = int(gen_card.get("config", {}).get("latent_dim", 5))
    return digit_world("mnist", prior, prepare_for_inference(decoder, device), prepare_for_inference(model, device),
                       latent_dim, card, gen_card, device)


def digit_world(name: str, prior: str, decoder, model, latent_dim: int, card: dict, gen_card: dict, device) -> World:
    """A world of MNIST digits: prior N(0, I_d), the generator's ``decoder`` (a module, differentiable —
    the sampler decides when to use gradients), the logits ``model`` as a checked probability function
    with the ten digit classes; ``card`` / ``gen_card`` are the models' cards (their data is recorded).
    """
    import torch

    from levelsets.classifiers.black_box import as_probability_fn
    from levelsets.data.mnist import MNIST_CLASSES
    from levelsets.devices import forward_batch_size

    latent_prior = torch.distributions.Independent(
        torch.distributions.Normal(torch.zeros(latent_dim, device=device), torch.ones(latent_dim, device=device)), 1
    )
    return World(
        name=name,
        prior_name=prior,
        prior=latent_prior,
        decoder=decoder,
        classifier=as_probability_fn(model, num_classes=10, device=device, logits=True,
                                     batch_size=forward_batch_size(device)),
        class_names=tuple(MNIST_CLASSES),
        latent_names=tuple(f"z{i + 1}" for i in range(latent_dim)),
        exact_posterior=None,
        data=f"classifier: {card.get('data', 'unknown')}; {prior}: {gen_card.get('data', 'unknown')}",
        cards={"classifier": card, "generator": gen_card},
    )


make_world.priors = PRIORS  # type: ignore[attr-defined]
make_world.default_alpha = DEFAULT_ALPHA  # type: ignore[attr-defined]

"""The world ``mnist32``: a 32-d latent MNIST VAE (deeper decoder) under a small pre-activation ResNet.

A bigger MNIST world than :mod:`levelsets.worlds.mnist` (5-d latent, a two-layer CNN), to show
the sampler beyond 5 dimensions: prior z ~ N(0, I_32); decoder the zoo's ``mnist32`` VAE
(:data:`levelsets.generative.zoo.RECIPES`: channels 16/32, one extra 3×3 convolution at each of
the 7×7 and 14×14 stages), z (N, 32) → images (N, 1, 28, 28) in [0, 1]; classifier the zoo's
``mnist-resnet`` (:class:`~levelsets.classifiers.mnist_resnet.MnistPreActResNet`), images →
probabilities (N, 10) over the digits 0-9.

Registered as the world ``mnist32`` (entry point ``levelsets.worlds`` in ``pyproject.toml``); its
only prior is ``vae``. Missing models are trained on first use (offline MNIST subset unless
torchvision's copy is present; a few minutes on two CPU cores, with progress bars) and cached in
the model home (``vae/mnist32/``, ``classifier/mnist-resnet/``).

Both models are differentiable torch modules and nothing here turns gradients off: the decoder is
called as it is (the sampler evaluates black-box moves under ``torch.no_grad()`` itself) and the
classifier goes through :func:`levelsets.classifiers.black_box.as_probability_fn`, so a
gradient-based move can differentiate f(g(z)) with respect to z.
"""

from __future__ import annotations

from pathlib import Path

from levelsets.worlds.world import World

NAME = "mnist32"
PRIORS = ("vae",)
DEFAULT_ALPHA = 100.0
"""Dirichlet α when none is given: seed 003's α = 100, as for the 5-d MNIST world."""
GENERATOR_RECIPE = "mnist32"
"""The generator zoo's recipe (:data:`levelsets.generative.zoo.RECIPES`) this world decodes with."""
CLASSIFIER = "mnist-resnet"
"""The classifier zoo's entry (:mod:`levelsets.classifiers.zoo`) this world classifies with."""


def make_world(
    prior: str = "vae",
    *,
    device="cpu",
    seed: int = 0,
    classifier_path: str | Path | None = None,
    train_if_missing: bool = True,
    progress: bool = True,
) -> World:
    """Build the world ``mnist32``, training and caching its two models first when missing.

    Parameters
    ----------
    prior:
        ``"vae"`` (the only prior).
    device:
        Where the decoder and classifier run.
    seed:
        Seed used if a model has to be trained.
    classifier_path:
        Use this ``mnist-resnet`` checkpoint (e.g. one written by ``levelsets train classifier
        --dataset mnist-resnet --out ...``) instead of the cached one.
    train_if_missing:
        Train missing models (else raise a CheckpointError naming the training command).
    progress:
        Show progress bars while training (training is announced on the ``levelsets`` logger).

    Returns
    -------
    World
        prior N(0, I_32) (event shape (32,)); decoder z (N, 32) → (N, 1, 28, 28) in [0, 1];
        classifier (N, 1, 28, 28) → (N, 10) probabilities; class names ``"0"``..``"9"``.
    """
    import torch

    from levelsets.classifiers.zoo import get_classifier, load_classifier
    from levelsets.devices import prepare_for_inference
    from levelsets.errors import LevelsetsError
    from levelsets.generative.zoo import get_generator
    from levelsets.worlds.mnist import digit_world

    if prior not in PRIORS:
        raise LevelsetsError(f"world {NAME} has no prior {prior!r}; choose one of {', '.join(PRIORS)}")
    device = torch.device(device)
    if classifier_path is not None:
        model, card = load_classifier(classifier_path, CLASSIFIER, device=device)
    else:
        model, card = get_classifier(CLASSIFIER, train_if_missing=train_if_missing, seed=seed, device=device,
                                     progress=progress)
    decoder, gen_card = get_generator(prior, GENERATOR_RECIPE, train_if_missing=train_if_missing, seed=seed,
                                      device=device, progress=progress)
    # weights frozen (a freshly trained model still has requires_grad on); gradients w.r.t. z and x still flow
    decoder = prepare_for_inference(decoder, device).requires_grad_(False)
    model = prepare_for_inference(model, device).requires_grad_(False)
    # the decoder is passed as a module: differentiable, no torch.no_grad() here (see the module docstring)
    return digit_world(NAME, prior, decoder, model, int(decoder.latent_dim), card, gen_card, device)


make_world.priors = PRIORS  # type: ignore[attr-defined]
make_world.default_alpha = DEFAULT_ALPHA  # type: ignore[attr-defined]

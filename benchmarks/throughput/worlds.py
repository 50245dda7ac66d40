"""The worlds of the throughput benchmark: the sampler's callables and NUTS's differentiable versions.

``synthetic`` = an MNIST-sized conv decoder (5-d latent -> 1x28x28) and a small CNN with fixed
random weights (no training, no data); ``shapes`` / ``mnist`` load the trained models through
:func:`levelsets.worlds.load_world` (training them first if missing; ``LEVELSETS_HOME`` chooses the
model home).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch


class SyntheticDecoder(torch.nn.Module):
    """5-d latent -> (1, 28, 28) image in [0, 1]; the layout of a small MNIST VAE decoder."""

    def __init__(self, latent_dim: int = 5) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(latent_dim, 64 * 7 * 7)
        self.up1 = torch.nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)
        self.up2 = torch.nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fc(z)).view(-1, 64, 7, 7)
        return torch.sigmoid(self.up2(torch.relu(self.up1(h))))


class SyntheticCNN(torch.nn.Module):
    """A small MNIST-style CNN (2 conv + 2 dense layers), 10 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 32, 3, padding=1)
        self.c2 = torch.nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = torch.nn.Linear(64 * 7 * 7, 128)
        self.fc2 = torch.nn.Linear(128, 10)
        self.register_buffer("shift", torch.zeros(10))
        self.register_buffer("gain", torch.ones(()))

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.max_pool2d(torch.relu(self.c1(x)), 2)
        h = torch.max_pool2d(torch.relu(self.c2(h)), 2)
        return self.fc2(torch.relu(self.fc1(h.flatten(1))))

    def calibrate(self, x: torch.Tensor, spread: float = 3.0) -> None:
        """Standardize the logits over prior images so predictions vary with z (random weights alone
        give near-uniform probabilities, and then no level set is reachable)."""
        logits = self.raw(x)
        self.shift.copy_(logits.mean(0))
        self.gain.copy_(spread / (logits - logits.mean(0)).std())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.raw(x) - self.shift) * self.gain


class BenchWorld(NamedTuple):
    """What the three stages need: the sampler's callables and NUTS's differentiable versions."""

    prior: torch.distributions.Distribution
    decoder: Callable[[torch.Tensor], torch.Tensor]
    """The decoder the sampler is given (no gradients needed)."""
    classifier: Callable[[torch.Tensor], torch.Tensor]
    """The black-box classifier the sampler is given (images -> probabilities)."""
    diff_decoder: Callable[[torch.Tensor], torch.Tensor] | None
    """The same decoder with gradients (NUTS only); None when there is none."""
    diff_classifier: Callable[[torch.Tensor], torch.Tensor] | None
    """The same classifier with gradients, images -> probabilities (NUTS only)."""
    class_names: tuple[str, ...]
    target_spec: str
    data: str
    forward: str
    """How the forward pass runs (memory format, chunking), for the record."""


def build_world(name: str, device: torch.device) -> BenchWorld:
    """Load a world; for ``synthetic`` build the fixed random models, prepared as the worlds are."""
    from levelsets.classifiers.black_box import as_probability_fn
    from levelsets.devices import forward_batch_size, prepare_for_inference

    chunk = forward_batch_size(device)
    layout = "channels-last" if device.type == "cpu" else "default layout"
    forward = f"decoder + classifier as the sampler calls them: CNNs in {layout}, classifier in chunks of {chunk or 'all'}"
    if name == "synthetic":
        torch.manual_seed(0)
        dec = SyntheticDecoder().to(device).eval()
        cnn = SyntheticCNN().to(device).eval()
        for p in list(dec.parameters()) + list(cnn.parameters()):
            p.requires_grad_(False)
        prior = torch.distributions.Independent(
            torch.distributions.Normal(torch.zeros(5, device=device), torch.ones(5, device=device)), 1
        )
        with torch.no_grad():
            cnn.calibrate(dec(prior.sample((2000,))))
        dec = prepare_for_inference(dec, device)
        cnn = prepare_for_inference(cnn, device)

        @torch.no_grad()
        def decoder(z):
            return dec(z)

        classifier = as_probability_fn(cnn, num_classes=10, device=device, logits=True, batch_size=chunk)
        # pick the pair target from the two classes the random CNN predicts most often
        with torch.no_grad():
            top = torch.softmax(cnn(dec(prior.sample((2000,)))), 1).argmax(1)
        counts = torch.bincount(top, minlength=10)
        a, b = sorted(int(i) for i in torch.argsort(counts, descending=True)[:2])
        return BenchWorld(
            prior=prior,
            decoder=decoder,
            classifier=classifier,
            diff_decoder=dec,
            diff_classifier=lambda x: torch.softmax(cnn(x), 1),
            class_names=tuple(str(i) for i in range(10)),
            target_spec=f"{a}vs{b}",
            data="synthetic: MNIST-sized conv decoder (5-d latent) + small CNN, fixed random weights (seed 0)",
            forward=forward,
        )
    from levelsets.logs import enable
    from levelsets.worlds import load_world

    enable()  # levelsets' notes (models trained on first use) on stderr
    world = load_world(name, device=device)
    if name == "shapes":
        from levelsets.generative import shapes

        diff_dec = shapes.render  # the world's decoder is ``lambda z: shapes.render(z)``; it is differentiable
    else:
        diff_dec = getattr(world.decoder, "__wrapped__", None)  # the undecorated (no no_grad) decoder
    module = getattr(world.classifier, "__wrapped__", None)
    diff_clf = (lambda x: torch.softmax(module(x), 1)) if isinstance(module, torch.nn.Module) else None
    return BenchWorld(
        prior=world.prior,
        decoder=world.decoder,
        classifier=world.classifier,
        diff_decoder=diff_dec,
        diff_classifier=diff_clf,
        class_names=world.class_names,
        target_spec="ambiguous" if name == "shapes" else "1vs7",
        data=world.data,
        forward=forward,
    )

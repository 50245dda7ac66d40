"""The source of a tiny plugin world (a file with ``make_world()``, docs/worlds.md), shared by the tests that load one.

A ``d``-dimensional Gaussian prior, a tanh decoder to 8x8 grey images and a two-class softmax
classifier, with weights fixed by ``weight_seed``. Tests edit :data:`MY_WORLD` (the default) by
text replacement to make broken plugins, so its lines are part of what they rely on.
"""

from __future__ import annotations

from pathlib import Path

TEMPLATE = '''
import torch
from levelsets import World

D, SIDE = {d}, 8


def make_world(seed: int = 0):
    """A {d}-d Gaussian prior, a tanh decoder to 8x8 grey images and a softmax classifier."""
    g = torch.Generator().manual_seed({weight_seed})  # fixed weights: the world is the same on every call
    w = torch.randn(D, SIDE * SIDE, generator=g){weight_scale}
    v = torch.randn(SIDE * SIDE, generator=g) / SIDE
    prior = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(D), torch.ones(D)), 1)

    def decoder(z):
        return (0.5 + 0.5 * torch.tanh(z @ w)).reshape(-1, 1, SIDE, SIDE)

    def classifier(x):
        s = 4 * (x.reshape(x.shape[0], -1) - 0.5) @ v
        return torch.softmax(torch.stack([s, -s], dim=1), dim=1){output}

    return World(prior=prior, decoder=decoder, classifier=classifier, class_names=["left", "right"])
'''


def world_source(d: int = 3, *, weight_seed: int = 1234, scaled: bool = False, black_box: bool = False) -> str:
    """The plugin's source text.

    Parameters
    ----------
    d:
        Latent dimension.
    weight_seed:
        Seed of the decoder's and classifier's fixed weights.
    scaled:
        Divide the decoder's weights by √d (keeps tanh out of saturation for large ``d``).
    black_box:
        The classifier returns a NumPy array, so no gradient reaches the latents.
    """
    return TEMPLATE.format(d=d, weight_seed=weight_seed, weight_scale=" / D ** 0.5" if scaled else "",
                           output=".detach().numpy()" if black_box else "")


MY_WORLD = world_source()
"""The default: 3-d, weights from seed 1234."""


def write_world(path: Path, source: str = MY_WORLD) -> str:
    """Write ``source`` to ``path`` and return the ``--world`` spec ``PATH:make_world``."""
    path.write_text(source)
    return f"{path}:make_world"

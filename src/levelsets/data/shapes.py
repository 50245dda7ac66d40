"""Datasets drawn from the shapes world (seed 003): images, labels, latents, exact posteriors.

No external data: every example is drawn from the exact generative process of
:mod:`levelsets.generative.shapes` and is a deterministic function of the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from levelsets.errors import LevelsetsError
from levelsets.generative import shapes as world

CLASS_SEED_OFFSET = 1_000_003
"""The classes of a dataset drawn with ``seed`` come from a generator seeded ``seed + CLASS_SEED_OFFSET``."""
SHAPES_DATA_NOTE = "shapes world: images rendered from the exact generative process (no external data)"


@dataclass
class ShapesDataset(torch.utils.data.Dataset):
    """Shapes images with their class, latents and exact class posterior.

    Attributes
    ----------
    images:
        ``(n, 1, 64, 64)`` float32 in [0, 1].
    labels:
        ``(n,)`` int64 true class c (0 = rocket, 1 = house).
    latents:
        ``(n, 3)`` = (w, h, t) or ``(n, 6)`` with the circle, float32, world units.
    posteriors:
        ``(n, 2)`` float32 exact p(c | z).
    seed:
        The seed the dataset was drawn with.

    Indexing returns ``(image, label)`` like a ``TensorDataset``; :meth:`soft` gives
    ``(image, one-hot)`` or ``(image, exact posterior)`` pairs for the soft-label training loop.
    """

    images: torch.Tensor
    labels: torch.Tensor
    latents: torch.Tensor
    posteriors: torch.Tensor
    seed: int

    class_names = world.SHAPES_CLASSES

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, index):
        return self.images[index], self.labels[index]

    @property
    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(images, labels)``, as ``TensorDataset.tensors``."""
        return self.images, self.labels

    def bayes_accuracy(self) -> float:
        """Bayes-optimal accuracy on this dataset: mean over examples of max_c p(c | z)."""
        return float(self.posteriors.double().max(dim=-1).values.mean())

    def soft(self, kind: str = "onehot") -> torch.utils.data.TensorDataset:
        """``(image, soft label (2,))`` pairs: ``"onehot"`` of the true class, or ``"posterior"``."""
        if kind == "onehot":
            y = torch.nn.functional.one_hot(self.labels, 2).float()
        elif kind == "posterior":
            y = self.posteriors
        else:
            raise LevelsetsError(f"unknown soft-label kind {kind!r}; use onehot or posterior")
        return torch.utils.data.TensorDataset(self.images, y)


def make_shapes_dataset(
    n: int,
    seed: int,
    circle: bool = False,
    *,
    size: int = world.IMAGE_SIZE,
    batch_size: int = 4096,
) -> ShapesDataset:
    """Draw ``n`` examples (c, z, image) from the shapes world, deterministically from ``seed``.

    Uses a private ``torch.Generator``-seeded fork of the RNG, so the global RNG state of the
    caller is left untouched and the same ``(n, seed, circle)`` always gives the same data.

    Parameters
    ----------
    n:
        Number of examples (≥ 1).
    seed:
        Seed for the class and latent draws.
    circle:
        Use the circle variant (6-d latents, a circle outline over each image).
    size:
        Image side in pixels.
    batch_size:
        Rendering batch size (memory only; the result does not depend on it).
    """
    if n < 1:
        raise LevelsetsError(f"a shapes dataset needs n >= 1 examples, got {n}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        z = world.ShapesPrior(circle=circle, dtype=torch.float64).sample((n,))
    post = world.exact_posterior(z)
    labels = world.sample_classes(post, seed + CLASS_SEED_OFFSET)
    images = torch.cat([world.render(z[i : i + batch_size].float(), size) for i in range(0, n, batch_size)])
    return ShapesDataset(images=images, labels=labels, latents=z.float(), posteriors=post.float(), seed=seed)

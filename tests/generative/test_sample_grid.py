"""The sample grid beside every trained generator (levelsets.generative.sample_grid)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from levelsets.generative.sample_grid import save_sample_grid


class Constant(torch.nn.Module):
    """A decoder that draws every z as the same grey level, recording the z it was given."""

    def __init__(self, level: float, latent_dim: int | None = None):
        super().__init__()
        self.level = level
        self.seen: list[torch.Tensor] = []
        if latent_dim is not None:
            self.latent_dim = latent_dim

    def forward(self, z):
        self.seen.append(z)
        return torch.full((z.shape[0], 3, 6, 6), self.level)  # extra channels are dropped by the grid


def test_grid_draws_rows_squared_latents_of_the_decoders_size(tmp_path):
    with_dim = Constant(0.5, latent_dim=3)
    path = save_sample_grid(with_dim, tmp_path / "a.png", torch.Generator().manual_seed(0), title="t", rows=4)
    assert path == tmp_path / "a.png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [tuple(z.shape) for z in with_dim.seen] == [(16, 3)]
    fallback = Constant(0.5)
    save_sample_grid(fallback, tmp_path / "b.png", torch.Generator().manual_seed(0), title="t", rows=2, latent_dim=7)
    assert [tuple(z.shape) for z in fallback.seen] == [(4, 7)]
    torch.testing.assert_close(with_dim.seen[0], torch.randn(16, 3, generator=torch.Generator().manual_seed(0)))


def test_grid_is_reproducible_from_its_generator(tmp_path):
    def draw(name, seed):
        module = Constant(0.5, latent_dim=2)
        save_sample_grid(module, tmp_path / name, torch.Generator().manual_seed(seed), title="same", rows=3)
        return module.seen[0]

    a, b, c = draw("a.png", 1), draw("b.png", 1), draw("c.png", 2)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_grid_shows_the_decoded_images_in_grey(tmp_path):
    def pixels(level):
        path = save_sample_grid(Constant(level, latent_dim=2), tmp_path / f"{level}.png", torch.Generator(),
                                title="", rows=2)
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB")).astype(int)
        return rgb[rgb.shape[0] // 2, rgb.shape[1] // 2]  # the centre of the grid

    assert pixels(1.0).tolist() == [255, 255, 255]
    assert pixels(0.0).tolist() == [0, 0, 0]
    mid = pixels(0.5)
    assert mid[0] == mid[1] == mid[2] and 120 <= mid[0] <= 135  # vmin 0, vmax 1: 0.5 is mid-grey

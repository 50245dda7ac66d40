"""The sample grid written beside every trained generator: rows × rows images g(z), z ~ N(0, I_d)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def save_sample_grid(module: Any, path: Path, gen: Any, *, title: str, rows: int = 8, latent_dim: int = 5) -> Path:
    """Save a rows × rows grid of g(z), z ~ N(0, I_d), as a titled PNG; return ``path``.

    Parameters
    ----------
    module:
        The decoder: z (N, d) → images (N, 1, H, W) in [0, 1].
    path:
        The PNG to write.
    gen:
        The ``torch.Generator`` z is drawn with (the grid is reproducible from it).
    title:
        The figure title.
    rows:
        Grid side: ``rows * rows`` samples, in row-major order.
    latent_dim:
        d, when ``module`` has no ``latent_dim`` attribute.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import torch
    from torchvision.utils import make_grid

    with torch.no_grad():
        z = torch.randn(rows * rows, int(getattr(module, "latent_dim", latent_dim)), generator=gen)
        images = module(z).cpu()[:, :1]  # (rows², 1, H, W)
    tiles = make_grid(images, nrow=rows, padding=0)[0].numpy()  # (rows·H, rows·W), row-major tiles
    fig, ax = plt.subplots(figsize=(6, 6.3))
    ax.imshow(tiles, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

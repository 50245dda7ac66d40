r"""A small convolutional VAE for 28×28 digits with a 5-dimensional latent (seed 003).

Model
-----
Prior :math:`p(z) = \mathcal N(0, I_5)`; decoder :math:`p_\theta(x \mid z) = \prod_j
\mathrm{Bernoulli}(x_j \mid \sigma(\ell_\theta(z)_j))` on pixel intensities in [0, 1];
encoder :math:`q_\phi(z \mid x) = \mathcal N(\mu_\phi(x), \operatorname{diag} \sigma^2_\phi(x))`.
Training maximises the ELBO, i.e. minimises, per image,

.. math::

    \mathcal L(x) = \underbrace{-\mathbb E_{q_\phi(z\mid x)} \log p_\theta(x \mid z)}_{\text{recon:
    binary cross-entropy summed over the 784 pixels}}
    + \underbrace{\mathrm{KL}\big(q_\phi(z\mid x)\,\|\,\mathcal N(0, I_5)\big)}_{\text{closed form}}

with one reparameterised sample :math:`z = \mu + \sigma \odot \varepsilon`.

Why this choice
---------------
* **Bernoulli (logit) likelihood**, not the squared error mentioned in seed 003: MNIST pixels are
  nearly binary, and the cross-entropy gives sharper strokes for the same latent size; the
  decoder's *mean* :math:`\sigma(\ell_\theta(z))` is the image the sampler sees, in [0, 1].
* **Small conv net** (encoder 1→16→32 channels with stride-2 convolutions, decoder the mirror
  image with transposed convolutions, ~0.41 M parameters each, mostly in the 256 × 1,568 linear
  layer): convolutions share weights across the image, so the model generalises from the 4,000
  offline digits without memorising them (held-out negative ELBO within ~5 nats of the training
  value), and the decoder stays cheap for the level-set sampler (a forward pass for 256
  particles takes tens of milliseconds on one CPU core; halving the channels again costs
  visibly blurrier digits, doubling them costs 3× the time).
* **No KL annealing / β**: with a 5-d latent the KL term is small relative to the 784-pixel
  reconstruction term, all 5 dimensions stay active, and the aggregate posterior stays close
  to :math:`\mathcal N(0, I_5)`, which is what makes the prior a sensible data distribution for the
  sampler.

References
----------
Kingma & Welling (2013), *Auto-Encoding Variational Bayes*; seed 003, section "MNIST".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class VaeConfig:
    """Architecture of :class:`VAE` (saved in the checkpoint to rebuild the model).

    Attributes
    ----------
    latent_dim:
        Size d of the latent z; seed 003 uses 5.
    channels:
        Channels of the two stride-2 convolution stages (28→14→7 pixels).
    hidden:
        Width of the fully connected layer between the 7×7 feature map and the latent.
    image_shape:
        (channels, height, width); only (1, 28, 28) is supported.
    decoder_depth:
        Extra 3×3 convolution layers (each with a LeakyReLU) in the decoder at each of its 7×7 and
        14×14 stages: 0 is seed 003's small decoder; each unit adds two weight layers (one per
        stage), for larger latents such as the 32-d world ``mnist32``.
    """

    latent_dim: int = 5
    channels: tuple[int, int] = (16, 32)
    hidden: int = 256
    image_shape: tuple[int, int, int] = (1, 28, 28)
    decoder_depth: int = 0

    def __post_init__(self) -> None:
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {self.latent_dim}")
        if len(self.channels) != 2 or min(self.channels) < 1 or self.hidden < 1:
            raise ValueError("channels must be two positive ints and hidden a positive int")
        if tuple(self.image_shape) != (1, 28, 28):
            raise ValueError(f"only 1×28×28 images are supported, got {self.image_shape}")
        if self.decoder_depth < 0:
            raise ValueError(f"decoder_depth must be >= 0, got {self.decoder_depth}")

    def to_dict(self) -> dict:
        """Plain JSON-able form, as stored in checkpoints."""
        d = asdict(self)
        d["channels"] = list(self.channels)
        d["image_shape"] = list(self.image_shape)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> VaeConfig:
        """Rebuild from :meth:`to_dict` output (ignores unrelated keys)."""
        return cls(
            latent_dim=int(d["latent_dim"]),
            channels=tuple(int(c) for c in d.get("channels", (16, 32))),
            hidden=int(d.get("hidden", 256)),
            image_shape=tuple(int(s) for s in d.get("image_shape", (1, 28, 28))),
            decoder_depth=int(d.get("decoder_depth", 0)),
        )


class VaeEncoder(nn.Module):
    """x (N, 1, 28, 28) in [0, 1] → (mu, logvar), each (N, d)."""

    def __init__(self, config: VaeConfig) -> None:
        super().__init__()
        c1, c2 = config.channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 4, stride=2, padding=1),  # 28 → 14
            nn.LeakyReLU(0.2),
            nn.Conv2d(c1, c2, 4, stride=2, padding=1),  # 14 → 7
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(c2 * 7 * 7, config.hidden),
            nn.LeakyReLU(0.2),
        )
        self.head = nn.Linear(config.hidden, 2 * config.latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: D102
        mu, logvar = self.head(self.features(x)).chunk(2, dim=-1)
        return mu, logvar.clamp(-12.0, 8.0)


def _refine(channels: int, depth: int) -> list[nn.Module]:
    """``depth`` × (3×3 convolution keeping size and channels, LeakyReLU) — the deeper decoder's extra layers."""
    out: list[nn.Module] = []
    for _ in range(depth):
        out += [nn.Conv2d(channels, channels, 3, padding=1), nn.LeakyReLU(0.2)]
    return out


class VaeDecoder(nn.Module):
    r"""The generator g: z (N, d) → images (N, 1, 28, 28) in [0, 1] (the Bernoulli means).

    ``forward`` returns :math:`\sigma(\ell_\theta(z))`; :meth:`logits` the pre-sigmoid values
    used by the training loss (numerically stabler).
    """

    def __init__(self, config: VaeConfig) -> None:
        super().__init__()
        c1, c2 = config.channels
        self.latent_dim = config.latent_dim
        self.image_shape = tuple(config.image_shape)
        layers: list[nn.Module] = [
            nn.Linear(config.latent_dim, config.hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(config.hidden, c2 * 7 * 7),
            nn.LeakyReLU(0.2),
            nn.Unflatten(1, (c2, 7, 7)),
            *_refine(c2, config.decoder_depth),  # depth 0 (the default) adds nothing: old checkpoints load
            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1),  # 7 → 14
            nn.LeakyReLU(0.2),
            *_refine(c1, config.decoder_depth),
            nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1),  # 14 → 28
        ]
        self.net = nn.Sequential(*layers)

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel logits (N, 1, 28, 28) for latents z (N, d)."""
        return self.net(z)

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return torch.sigmoid(self.net(z))


class VAE(nn.Module):
    """Encoder + decoder; :meth:`loss` is the negative ELBO per image (nats)."""

    def __init__(self, config: VaeConfig | None = None) -> None:
        super().__init__()
        self.config = config or VaeConfig()
        self.encoder = VaeEncoder(self.config)
        self.decoder = VaeDecoder(self.config)

    @property
    def latent_dim(self) -> int:
        """Latent size d."""
        return self.config.latent_dim

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction logits (N, 1, 28, 28), mu (N, d), logvar (N, d) for images x."""
        mu, logvar = self.encoder(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decoder.logits(z), mu, logvar

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Negative ELBO and its parts, each averaged over the batch (nats per image).

        Parameters
        ----------
        x:
            (N, 1, 28, 28) images in [0, 1].

        Returns
        -------
        dict
            ``loss`` = ``recon`` + ``kl`` (scalars).
        """
        logits, mu, logvar = self(x)
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum() / x.shape[0]
        return {"loss": recon + kl, "recon": recon, "kl": kl}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode n draws from the prior N(0, I_d): images (n, 1, 28, 28) in [0, 1]."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator)
        return self.decoder(z.to(device))

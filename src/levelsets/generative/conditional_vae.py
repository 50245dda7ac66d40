r"""A small class-conditional convolutional VAE for 32 × 32 × 3 images (CIFAR-10).

Model
-----
For a class :math:`c \in \{0, \dots, K-1\}` with one-hot :math:`e_c`: prior
:math:`p(z) = \mathcal N(0, I_d)`; decoder :math:`p_\theta(x \mid z, c) = \prod_j
\mathrm{Bernoulli}(x_j \mid \sigma(\ell_\theta(z, e_c)_j))` on intensities in [0, 1] (the
continuous-intensity cross-entropy, as in the MNIST VAE of :mod:`levelsets.generative.vae`);
encoder :math:`q_\phi(z \mid x, c) = \mathcal N(\mu_\phi(x, e_c), \operatorname{diag}
\sigma^2_\phi(x, e_c))`. Training minimises the negative conditional ELBO per image,

.. math::

    \mathcal L(x, c) = -\mathbb E_{q_\phi(z\mid x, c)} \log p_\theta(x \mid z, c)
    + \mathrm{KL}\big(q_\phi(z\mid x, c)\,\|\,\mathcal N(0, I_d)\big),

with one reparameterised sample :math:`z = \mu + \sigma \odot \varepsilon` (Sohn, Lee & Yan 2015,
*Learning Structured Output Representation using Deep Conditional Generative Models*).

Architecture: encoder 3 → c → 2c → 4c channels with stride-2 4 × 4 convolutions (32 → 16 → 8 → 4
pixels), the class one-hot concatenated to the flattened features before the latent head;
decoder the mirror image with the one-hot concatenated to z. With the defaults (d = 32, c = 32):
about 1.2 M parameters each. A level-set sampler uses :func:`class_decoder`: for a fixed class
it is a generator g(z) = σ(ℓ_θ(z, e_c)), (N, d) → (N, 3, 32, 32) in [0, 1]; mixing two classes'
one-hots (``weights``) gives images between them.

CIFAR-10 images need the real data: trained on the stand-in of :mod:`levelsets.data.standins`
the model only learns the stand-in's coloured noise (the tests use it to check training runs).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from levelsets.devices import resolve_device
from levelsets.errors import LevelsetsError


@dataclass(frozen=True)
class ConditionalVaeConfig:
    """Architecture of :class:`ConditionalVAE` (saved in checkpoints).

    Attributes
    ----------
    latent_dim:
        Size d of z.
    num_classes:
        K, the length of the class one-hot.
    width:
        Channels c of the first convolution (then 2c, 4c).
    image_shape:
        (channels, height, width); only (3, 32, 32).
    """

    latent_dim: int = 32
    num_classes: int = 10
    width: int = 32
    image_shape: tuple[int, int, int] = (3, 32, 32)

    def __post_init__(self) -> None:
        if self.latent_dim < 1 or self.num_classes < 2 or self.width < 1:
            raise ValueError(f"need latent_dim >= 1, num_classes >= 2, width >= 1; got {self.latent_dim}, {self.num_classes}, {self.width}")
        if tuple(self.image_shape) != (3, 32, 32):
            raise ValueError(f"only 3×32×32 images are supported, got {self.image_shape}")

    def to_dict(self) -> dict:
        """Plain JSON-able form."""
        d = asdict(self)
        d["image_shape"] = list(self.image_shape)
        return d


class ConditionalVAE(nn.Module):
    """Encoder + class-conditional decoder; :meth:`loss` is the negative ELBO per image (nats)."""

    def __init__(self, config: ConditionalVaeConfig | None = None) -> None:
        super().__init__()
        self.config = config or ConditionalVaeConfig()
        c, d, k = self.config.width, self.config.latent_dim, self.config.num_classes
        flat = 4 * c * 4 * 4
        self.encoder = nn.Sequential(
            nn.Conv2d(3, c, 4, 2, 1), nn.LeakyReLU(0.2),  # 32 -> 16
            nn.Conv2d(c, 2 * c, 4, 2, 1), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2),  # 16 -> 8
            nn.Conv2d(2 * c, 4 * c, 4, 2, 1), nn.BatchNorm2d(4 * c), nn.LeakyReLU(0.2),  # 8 -> 4
            nn.Flatten(),
        )
        self.head = nn.Linear(flat + k, 2 * d)
        self.project = nn.Sequential(nn.Linear(d + k, flat), nn.LeakyReLU(0.2), nn.Unflatten(1, (4 * c, 4, 4)))
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(4 * c, 2 * c, 4, 2, 1), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2),  # 4 -> 8
            nn.ConvTranspose2d(2 * c, c, 4, 2, 1), nn.BatchNorm2d(c), nn.LeakyReLU(0.2),  # 8 -> 16
            nn.ConvTranspose2d(c, 3, 4, 2, 1),  # 16 -> 32
        )

    @property
    def latent_dim(self) -> int:
        """Latent size d."""
        return self.config.latent_dim

    def one_hot(self, labels: torch.Tensor) -> torch.Tensor:
        """(N,) class indices, or (N, K) class weights passed through, as (N, K) float."""
        if labels.dim() == 2:
            return labels.float()
        return F.one_hot(labels.long(), self.config.num_classes).float()

    def encode(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar), each (N, d), for images (N, 3, 32, 32) and classes (N,) or (N, K)."""
        h = torch.cat([self.encoder(x), self.one_hot(labels).to(x.dtype)], dim=1)
        mu, logvar = self.head(h).chunk(2, dim=-1)
        return mu, logvar.clamp(-12.0, 8.0)

    def logits(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Pixel logits (N, 3, 32, 32) for latents (N, d) and classes (N,) or weights (N, K)."""
        return self.decoder(self.project(torch.cat([z, self.one_hot(labels).to(z.dtype)], dim=1)))

    def decode(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Images (N, 3, 32, 32) in [0, 1]: the decoder means σ(ℓ_θ(z, e_c))."""
        return torch.sigmoid(self.logits(z, labels))

    def loss(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """Negative ELBO ``loss`` = ``recon`` + ``kl`` (scalars, nats per image, batch means)."""
        mu, logvar = self.encode(x, labels)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        logits = self.logits(z, labels).float()
        recon = F.binary_cross_entropy_with_logits(logits, x.float(), reduction="sum") / x.shape[0]
        kl = 0.5 * (mu.float().pow(2) + logvar.float().exp() - 1.0 - logvar.float()).sum() / x.shape[0]
        return {"loss": recon + kl, "recon": recon, "kl": kl}

    @torch.no_grad()
    def sample(self, labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode one prior draw per class in ``labels`` (N,): images (N, 3, 32, 32) in [0, 1]."""
        device = next(self.parameters()).device
        z = torch.randn(labels.shape[0], self.latent_dim, generator=generator).to(device)
        return self.decode(z, labels.to(device))


def class_decoder(model: ConditionalVAE, label: int | torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """The generator g(z) of one class (or a fixed mixture of classes) for a level-set sampler.

    Parameters
    ----------
    model:
        A trained :class:`ConditionalVAE` (put in eval mode here).
    label:
        A class index, or a (K,) weight vector (e.g. half airplane, half bird).

    Returns
    -------
    callable
        ``g(z)``: (N, d) latents → (N, 3, 32, 32) images in [0, 1], no gradients kept by the model
        beyond what the caller asks for.
    """
    model.eval()
    k = model.config.num_classes
    if isinstance(label, int):
        if not 0 <= label < k:
            raise LevelsetsError(f"class {label} is outside 0..{k - 1}")
        weights = F.one_hot(torch.tensor(label), k).float()
    else:
        weights = torch.as_tensor(label, dtype=torch.float32)
        if weights.shape != (k,) or (weights < 0).any() or abs(float(weights.sum()) - 1.0) > 1e-6:
            raise LevelsetsError(f"class weights must be {k} non-negative numbers summing to 1")

    def g(z: torch.Tensor) -> torch.Tensor:
        w = weights.to(z.device, z.dtype).expand(z.shape[0], k)
        return model.decode(z, w)

    return g


@dataclass
class ConditionalVaeTrainSettings:
    """How to train :class:`ConditionalVAE` (Adam; mixed precision only on CUDA).

    Attributes
    ----------
    epochs, batch_size, lr:
        Passes over the data, images per step, Adam learning rate.
    seed:
        Seeds initialisation, shuffling and the reparameterisation noise.
    device:
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``...
    """

    epochs: int = 50
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise LevelsetsError(f"need epochs >= 1, batch size >= 1 and lr > 0; got {self.epochs}, {self.batch_size}, {self.lr}")


@dataclass
class ConditionalVaeHistory:
    """Per-epoch mean negative ELBO and its parts (nats per image), wall seconds, device."""

    loss: list[float] = field(default_factory=list)
    recon: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"


def train_conditional_vae(
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    config: ConditionalVaeConfig | None = None,
    settings: ConditionalVaeTrainSettings | None = None,
) -> tuple[ConditionalVAE, ConditionalVaeHistory]:
    """Train a :class:`ConditionalVAE` on images (N, 3, 32, 32) in [0, 1] with classes (N,).

    On CUDA the forward pass runs under :func:`torch.autocast` with a gradient scaler; on other
    devices in float32. Returns the model (eval mode, on the device) and its history.

    Raises
    ------
    LevelsetsError
        Images not (N, 3, 32, 32) in [0, 1], labels not N classes in range, or a diverging loss.
    """
    config = config or ConditionalVaeConfig()
    settings = settings or ConditionalVaeTrainSettings()
    images, labels = torch.as_tensor(images).float(), torch.as_tensor(labels).long()
    if images.dim() != 4 or tuple(images.shape[1:]) != (3, 32, 32):
        raise LevelsetsError(f"images must have shape (N, 3, 32, 32), got {tuple(images.shape)}")
    if images.shape[0] < 2 or labels.shape != (images.shape[0],):
        raise LevelsetsError(f"need at least 2 images and one class per image; got {images.shape[0]} images, labels {tuple(labels.shape)}")
    if float(images.min()) < 0.0 or float(images.max()) > 1.0:
        raise LevelsetsError("images must be in [0, 1]")
    if int(labels.min()) < 0 or int(labels.max()) >= config.num_classes:
        raise LevelsetsError(f"classes must be in 0..{config.num_classes - 1}")
    device = resolve_device(settings.device)
    torch.manual_seed(settings.seed)
    gen = torch.Generator().manual_seed(settings.seed)
    model = ConditionalVAE(config).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    history = ConditionalVaeHistory(device=str(device))
    n = images.shape[0]
    start = time.perf_counter()
    for epoch in range(settings.epochs):
        model.train()
        order = torch.randperm(n, generator=gen)
        sums = {"loss": 0.0, "recon": 0.0, "kl": 0.0}
        seen = 0
        for i in range(0, n, settings.batch_size):
            idx = order[i : i + settings.batch_size]
            if idx.numel() < 2:
                continue  # batch norm needs two images
            x, y = images[idx].to(device, non_blocking=True), labels[idx].to(device, non_blocking=True)
            with torch.autocast(device_type="cuda", enabled=use_amp):
                parts = model.loss(x, y)
            opt.zero_grad(set_to_none=True)
            scaler.scale(parts["loss"]).backward()
            scaler.step(opt)
            scaler.update()
            for key in sums:
                sums[key] += float(parts[key].detach()) * idx.numel()
            seen += idx.numel()
        if not torch.isfinite(torch.tensor(sums["loss"])):
            raise LevelsetsError(f"conditional VAE training diverged in epoch {epoch + 1}; lower the learning rate")
        history.loss.append(sums["loss"] / seen)
        history.recon.append(sums["recon"] / seen)
        history.kl.append(sums["kl"] / seen)
    history.seconds = time.perf_counter() - start
    return model.eval(), history


def save_conditional_vae(path, model: ConditionalVAE, card: dict) -> None:
    """Write ``model`` as a levelsets checkpoint of kind ``"conditional-vae"`` (+ model card)."""
    from levelsets.checkpoints import save_checkpoint

    save_checkpoint(path, kind="conditional-vae", config=model.config.to_dict(), state_dict=model.state_dict(), card=card)


def load_conditional_vae(path, *, device: str = "cpu") -> ConditionalVAE:
    """Load a :func:`save_conditional_vae` checkpoint (``torch.load(weights_only=True)``); eval mode."""
    from levelsets.checkpoints import load_checkpoint, load_state
    from levelsets.errors import CheckpointError

    payload = load_checkpoint(path, kind="conditional-vae")
    cfg = dict(payload["config"])
    try:
        config = ConditionalVaeConfig(
            latent_dim=int(cfg["latent_dim"]), num_classes=int(cfg["num_classes"]), width=int(cfg["width"]),
            image_shape=tuple(int(s) for s in cfg.get("image_shape", (3, 32, 32))),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path} has an unusable configuration ({exc})") from None
    model = ConditionalVAE(config)
    load_state(model, payload, path)
    return model.to(resolve_device(device)).eval()

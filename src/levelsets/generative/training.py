"""Training loops for the MNIST VAE and GAN: seeded, device-agnostic, with tqdm progress.

Both functions take the training digits (:class:`~levelsets.data.mnist.MnistData` or an
(N, 1, 28, 28) array in [0, 1]) and a settings dataclass, and return a :class:`TrainResult`
holding the trained model, the per-epoch loss history and the wall time.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from levelsets.devices import resolve_device
from levelsets.errors import LevelsetsError
from levelsets.generative.gan import GAN, GanConfig, hinge_d_loss, hinge_g_loss
from levelsets.generative.vae import VAE, VaeConfig
from levelsets.seeding import seed_everything


@dataclass
class VaeTrainSettings:
    """How to train the VAE.

    Attributes
    ----------
    epochs:
        Passes over the training digits (default tuned for ~1 minute on 2 CPU cores, 4,000 digits).
    batch_size:
        Digits per optimisation step.
    lr:
        Adam learning rate.
    seed:
        Seeds initialisation, shuffling and the reparameterisation noise.
    device:
        ``"auto"``, ``"cpu"``, ``"cuda"``...
    """

    epochs: int = 40
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        _check_common(self.epochs, self.batch_size, self.lr)


@dataclass
class GanTrainSettings:
    """How to train the GAN (hinge loss, spectral-norm discriminator, EMA generator).

    Attributes
    ----------
    epochs:
        Passes over the training digits.
    batch_size:
        Real digits (and fakes) per step.
    lr_g, lr_d:
        Adam learning rates of the generator and the discriminator.
    betas:
        Adam betas (β1 = 0.5 is the usual, stable GAN choice).
    ema_decay:
        Decay of the exponential moving average of the generator weights that is returned.
    seed:
        Seeds initialisation, shuffling and latent draws.
    device:
        ``"auto"``, ``"cpu"``, ``"cuda"``...
    """

    epochs: int = 60
    batch_size: int = 32
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    ema_decay: float = 0.999
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        _check_common(self.epochs, self.batch_size, min(self.lr_g, self.lr_d))
        if not 0.0 <= self.ema_decay < 1.0:
            raise LevelsetsError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise LevelsetsError(f"betas must be two numbers in [0, 1), got {self.betas}")


def _check_common(epochs: int, batch_size: int, lr: float) -> None:
    if int(epochs) < 1:
        raise LevelsetsError(f"--epochs must be at least 1, got {epochs}")
    if int(batch_size) < 2:
        raise LevelsetsError(f"batch size must be at least 2, got {batch_size}")
    if not lr > 0:
        raise LevelsetsError(f"learning rate must be positive, got {lr}")


@dataclass
class TrainResult:
    """What a training run returns.

    Attributes
    ----------
    model:
        The trained :class:`~levelsets.generative.vae.VAE` or :class:`~levelsets.generative.gan.GAN`
        (in eval mode; for the GAN, ``model.generator`` holds the EMA weights).
    history:
        Per-epoch means, e.g. ``{"loss": [...], "recon": [...], "kl": [...]}`` for the VAE and
        ``{"d_loss": [...], "g_loss": [...], "d_real": [...], "d_fake": [...]}`` for the GAN.
    seconds:
        Wall time of the training loop.
    device:
        The device used.
    """

    model: torch.nn.Module
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0
    device: str = "cpu"

    def final(self) -> dict[str, float]:
        """Last epoch's value of every tracked loss."""
        return {k: float(v[-1]) for k, v in self.history.items() if v}


def _as_tensor(data: Any) -> torch.Tensor:
    images = getattr(data, "images", data)
    images = torch.as_tensor(np.asarray(images), dtype=torch.float32)
    if images.ndim != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise LevelsetsError(f"training images must have shape (N, 1, 28, 28), got {tuple(images.shape)}")
    if images.shape[0] < 2:
        raise LevelsetsError("need at least 2 training images")
    return images


def _batches(n: int, batch_size: int, gen: torch.Generator) -> list[torch.Tensor]:
    order = torch.randperm(n, generator=gen)
    return [order[i : i + batch_size] for i in range(0, n, batch_size) if i + batch_size <= n or i == 0]


def _progress(total: int, desc: str, enabled: bool):
    from levelsets.progress import progress_bar

    return progress_bar(total=total, desc=desc, unit="epoch", enabled=enabled)


def train_vae(
    data: Any,
    settings: VaeTrainSettings | None = None,
    *,
    config: VaeConfig | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train a :class:`~levelsets.generative.vae.VAE` by minimising the negative ELBO.

    Parameters
    ----------
    data:
        :class:`~levelsets.data.mnist.MnistData` or (N, 1, 28, 28) float images in [0, 1].
    settings:
        :class:`VaeTrainSettings` (defaults when ``None``).
    config:
        Architecture (:class:`~levelsets.generative.vae.VaeConfig`, 5-d latent by default).
    progress:
        Show a tqdm bar over epochs with the running losses.

    Returns
    -------
    TrainResult
        ``history`` has per-epoch ``loss``, ``recon``, ``kl`` (nats per image).
    """
    settings = settings or VaeTrainSettings()
    device = resolve_device(settings.device)
    images = _as_tensor(data)
    seed_everything(settings.seed)
    gen = torch.Generator().manual_seed(settings.seed)
    model = VAE(config or VaeConfig()).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    history: dict[str, list[float]] = {"loss": [], "recon": [], "kl": []}
    start = time.perf_counter()
    model.train()
    with _progress(settings.epochs, "train vae", progress) as bar:
        for _ in range(settings.epochs):
            sums = dict.fromkeys(history, 0.0)
            batches = _batches(images.shape[0], settings.batch_size, gen)
            for idx in batches:
                x = images[idx].to(device)
                parts = model.loss(x)
                opt.zero_grad(set_to_none=True)
                parts["loss"].backward()
                opt.step()
                for k in sums:
                    sums[k] += float(parts[k].detach())
            for k in history:
                history[k].append(sums[k] / len(batches))
            bar.set_postfix(loss=f"{history['loss'][-1]:.1f}", kl=f"{history['kl'][-1]:.1f}", refresh=False)
            bar.update(1)
    model.eval()
    return TrainResult(model=model, history=history, seconds=time.perf_counter() - start, device=str(device))


@torch.no_grad()
def vae_heldout_loss(model: VAE, data: Any, *, seed: int = 0, batch_size: int = 500) -> dict[str, float]:
    """Mean negative ELBO and its parts on held-out digits (nats per image, one z draw each).

    Parameters
    ----------
    model:
        A trained :class:`~levelsets.generative.vae.VAE`.
    data:
        :class:`~levelsets.data.mnist.MnistData` or (N, 1, 28, 28) images in [0, 1].
    seed:
        Seeds the reparameterisation noise.
    batch_size:
        Digits per forward pass.

    Returns
    -------
    dict
        ``{"loss", "recon", "kl"}`` averaged over the digits.
    """
    images = _as_tensor(data)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    torch.manual_seed(seed)
    sums = {"loss": 0.0, "recon": 0.0, "kl": 0.0}
    for i in range(0, images.shape[0], batch_size):
        x = images[i : i + batch_size].to(device)
        parts = model.loss(x)
        for k in sums:
            sums[k] += float(parts[k]) * x.shape[0]
    model.train(was_training)
    return {k: v / images.shape[0] for k, v in sums.items()}


def train_gan(
    data: Any,
    settings: GanTrainSettings | None = None,
    *,
    config: GanConfig | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train a :class:`~levelsets.generative.gan.GAN` with the hinge loss; return the EMA generator.

    One discriminator step and one generator step per batch of real digits; the generator's
    weights are averaged with decay ``settings.ema_decay`` and the average replaces the raw
    generator at the end.

    Parameters
    ----------
    data, progress:
        As for :func:`train_vae`.
    settings:
        :class:`GanTrainSettings` (defaults when ``None``).
    config:
        Architecture (:class:`~levelsets.generative.gan.GanConfig`, 5-d latent by default).

    Returns
    -------
    TrainResult
        ``history`` has per-epoch ``d_loss``, ``g_loss``, ``d_real``, ``d_fake`` (mean scores).
    """
    settings = settings or GanTrainSettings()
    device = resolve_device(settings.device)
    images = _as_tensor(data)
    seed_everything(settings.seed)
    gen = torch.Generator().manual_seed(settings.seed)
    model = GAN(config or GanConfig()).to(device)
    g, d = model.generator, model.discriminator
    ema = copy.deepcopy(g).eval().requires_grad_(False)
    opt_g = torch.optim.Adam(g.parameters(), lr=settings.lr_g, betas=settings.betas)
    opt_d = torch.optim.Adam(d.parameters(), lr=settings.lr_d, betas=settings.betas)
    history: dict[str, list[float]] = {"d_loss": [], "g_loss": [], "d_real": [], "d_fake": []}
    latent_dim = model.latent_dim
    step = 0
    start = time.perf_counter()
    model.train()
    with _progress(settings.epochs, "train gan", progress) as bar:
        for _ in range(settings.epochs):
            sums = dict.fromkeys(history, 0.0)
            batches = _batches(images.shape[0], settings.batch_size, gen)
            for idx in batches:
                real = images[idx].to(device)
                n = real.shape[0]
                z = torch.randn(n, latent_dim, generator=gen).to(device)
                fake = g(z)
                real_scores = d(real)
                fake_scores = d(fake.detach())
                d_loss = hinge_d_loss(real_scores, fake_scores)
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()

                z = torch.randn(n, latent_dim, generator=gen).to(device)
                g_loss = hinge_g_loss(d(g(z)))
                opt_g.zero_grad(set_to_none=True)
                g_loss.backward()
                opt_g.step()

                step += 1
                decay = min(settings.ema_decay, (1.0 + step) / (10.0 + step))  # warm start
                with torch.no_grad():
                    for p_ema, p in zip(ema.parameters(), g.parameters(), strict=True):
                        p_ema.lerp_(p, 1.0 - decay)
                sums["d_loss"] += float(d_loss.detach())
                sums["g_loss"] += float(g_loss.detach())
                sums["d_real"] += float(real_scores.detach().mean())
                sums["d_fake"] += float(fake_scores.detach().mean())
            for k in history:
                history[k].append(sums[k] / len(batches))
            bar.set_postfix(d=f"{history['d_loss'][-1]:.2f}", g=f"{history['g_loss'][-1]:.2f}", refresh=False)
            bar.update(1)
    model.generator.load_state_dict(ema.state_dict())
    model.eval()
    return TrainResult(model=model, history=history, seconds=time.perf_counter() - start, device=str(device))

"""The MNIST VAE: shapes, ranges, the ELBO, and a tiny training run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from levelsets.errors import LevelsetsError
from levelsets.generative.training import VaeTrainSettings, train_vae
from levelsets.generative.vae import VAE, VaeConfig, VaeDecoder


def test_decoder_maps_latents_to_images_in_unit_interval():
    torch.manual_seed(0)
    dec = VaeDecoder(VaeConfig()).eval()
    z = torch.randn(7, 5) * 3.0
    with torch.no_grad():
        x = dec(z)
    assert x.shape == (7, 1, 28, 28)
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    with torch.no_grad():
        torch.testing.assert_close(x, torch.sigmoid(dec.logits(z)))


def test_encoder_and_loss_parts():
    torch.manual_seed(0)
    vae = VAE()
    x = torch.rand(4, 1, 28, 28)
    logits, mu, logvar = vae(x)
    assert logits.shape == (4, 1, 28, 28) and mu.shape == (4, 5) and logvar.shape == (4, 5)
    with torch.no_grad():
        parts = vae.loss(x)
    assert set(parts) == {"loss", "recon", "kl"}
    assert torch.isfinite(parts["loss"])
    assert float(parts["kl"]) >= 0.0
    torch.testing.assert_close(parts["loss"], parts["recon"] + parts["kl"])


def test_kl_is_zero_for_standard_normal_posterior():
    vae = VAE()
    with torch.no_grad():
        vae.encoder.head.weight.zero_()
        vae.encoder.head.bias.zero_()
    with torch.no_grad():
        parts = vae.loss(torch.rand(3, 1, 28, 28))
    assert abs(float(parts["kl"])) < 1e-6


def test_sample_is_seeded():
    vae = VAE().eval()
    a = vae.sample(5, torch.Generator().manual_seed(3))
    b = vae.sample(5, torch.Generator().manual_seed(3))
    assert a.shape == (5, 1, 28, 28)
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("bad", [{"latent_dim": 0}, {"channels": (32,)}, {"image_shape": (3, 32, 32)}])
def test_config_validation(bad):
    with pytest.raises(ValueError):
        VaeConfig(**bad)


def test_config_round_trip():
    cfg = VaeConfig(latent_dim=5, channels=(8, 16), hidden=32)
    assert VaeConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"batch_size": 1}, {"lr": 0.0}])
def test_train_settings_validation(bad):
    with pytest.raises(LevelsetsError):
        VaeTrainSettings(**bad)


def _digits(n: int = 256) -> np.ndarray:
    from levelsets.data.mnist import load_mnist

    return load_mnist("train").images[:n]


@pytest.mark.slow
def test_tiny_training_lowers_the_loss_and_is_seeded():
    x = _digits(256)
    small = VaeConfig(channels=(8, 16), hidden=64)
    settings = VaeTrainSettings(epochs=6, batch_size=32, lr=2e-3, seed=1, device="cpu")
    r = train_vae(x, settings, config=small, progress=False)
    loss = r.history["loss"]
    assert len(loss) == 6 and r.seconds > 0
    assert loss[-1] < 0.7 * loss[0]  # a 784-pixel BCE drops from ~500 to well under 350 nats
    assert not r.model.training
    again = train_vae(x, VaeTrainSettings(epochs=1, batch_size=32, lr=2e-3, seed=1, device="cpu"), config=small, progress=False)
    first = train_vae(x, VaeTrainSettings(epochs=1, batch_size=32, lr=2e-3, seed=1, device="cpu"), config=small, progress=False)
    for p, q in zip(again.model.parameters(), first.model.parameters(), strict=True):
        torch.testing.assert_close(p, q)

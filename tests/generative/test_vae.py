"""The MNIST VAE (levelsets.generative.vae): shapes, ranges, the ELBO, its config."""

from __future__ import annotations

import pytest
import torch

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

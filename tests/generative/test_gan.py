"""The MNIST GAN (levelsets.generative.gan): shapes, ranges, hinge losses, its config."""

from __future__ import annotations

import pytest
import torch

from levelsets.generative.gan import (
    Discriminator,
    GanConfig,
    Generator,
    MinibatchStd,
    hinge_d_loss,
    hinge_g_loss,
)


def test_generator_maps_latents_to_images_in_unit_interval():
    torch.manual_seed(0)
    g = Generator().eval()
    with torch.no_grad():
        x = g(torch.randn(6, 5) * 3.0)
    assert x.shape == (6, 1, 28, 28)
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0


def test_generator_output_does_not_depend_on_the_batch():
    torch.manual_seed(0)
    g = Generator().eval()
    z = torch.randn(5, 5)
    with torch.no_grad():
        torch.testing.assert_close(g(z)[:2], g(z[:2]))


def test_discriminator_scores_shape():
    d = Discriminator()
    assert d(torch.rand(4, 1, 28, 28)).shape == (4,)


def test_minibatch_std_feature():
    h = torch.zeros(3, 2)
    h[0] = 1.0
    out = MinibatchStd()(h)
    assert out.shape == (3, 3)
    torch.testing.assert_close(out[:, :2], h)
    expected = float(torch.tensor([1.0, 0.0, 0.0]).std(unbiased=False))
    torch.testing.assert_close(out[:, 2], torch.full((3,), expected))


def test_hinge_losses():
    real = torch.tensor([2.0, 0.5])
    fake = torch.tensor([-2.0, 0.0])
    # relu(1-2)=0, relu(1-0.5)=0.5 -> 0.25 ; relu(1-2)=0, relu(1+0)=1 -> 0.5
    assert float(hinge_d_loss(real, fake)) == pytest.approx(0.75)
    assert float(hinge_g_loss(fake)) == pytest.approx(1.0)


def test_config_round_trip_and_validation():
    cfg = GanConfig(gen_channels=(16, 8), disc_hidden=(8, 16), hidden=32)
    assert GanConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        GanConfig(latent_dim=0)

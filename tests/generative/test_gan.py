"""The MNIST GAN: shapes, ranges, hinge losses, and a tiny training run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from levelsets.errors import LevelsetsError
from levelsets.generative.gan import (
    GAN,
    Discriminator,
    GanConfig,
    Generator,
    MinibatchStd,
    hinge_d_loss,
    hinge_g_loss,
)
from levelsets.generative.training import GanTrainSettings, train_gan


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
    with pytest.raises(LevelsetsError):
        GanTrainSettings(ema_decay=1.0)


@pytest.mark.slow
def test_tiny_training_moves_generator_towards_the_data():
    from levelsets.data.mnist import load_mnist

    x = load_mnist("train").images[:512]
    small = GanConfig(gen_channels=(32, 16), disc_hidden=(128, 64), hidden=64)
    untrained = GAN(small).eval()
    before = float(untrained.sample(256, torch.Generator().manual_seed(0)).mean())
    r = train_gan(x, GanTrainSettings(epochs=8, batch_size=32, lr_g=1e-3, lr_d=1e-3, ema_decay=0.9, seed=0, device="cpu"), config=small, progress=False)
    assert set(r.history) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(len(v) == 8 and np.isfinite(v).all() for v in r.history.values())
    after = float(r.model.sample(256, torch.Generator().manual_seed(0)).mean())
    data_mean = float(x.mean())  # ~0.13: MNIST is mostly black
    # the sigmoid generator starts near 0.5 everywhere; training must pull its mean brightness
    # most of the way to the data's
    assert abs(before - data_mean) > 0.25
    assert abs(after - data_mean) < 0.5 * abs(before - data_mean)
    assert not r.model.training
